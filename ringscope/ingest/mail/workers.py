"""Parse messages on several processes, results in input order.

Parsing is pure Python (the ``email`` package, BeautifulSoup), about 3 ms of CPU per
message, so a large mailbox is parsed by forked worker processes, a bounded window of
chunks at a time: memory stays flat however large the input, and the output order
(hence the event file) is the same as a serial parse. Without ``fork`` the parse is
serial.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from ringscope.ingest.mail.parse import MailEvent, MailRejected, parse_message
from ringscope.ingest.mail.sources import RawMessage
from ringscope.lifetime import parent_watch

__all__ = ["UNREADABLE", "parse_all"]

log = logging.getLogger(__name__)

#: Reject reason of a message the email package could not process at all.
UNREADABLE = "unreadable_message"
_CHUNK = 64  # messages per task
_WINDOW = 4  # tasks in flight per worker


def _parse_one(raw: RawMessage, label_from_folder: bool) -> MailEvent | str:
    """The event of one message, or its reject reason; never raises for bad input."""
    try:
        return parse_message(raw, label_from_folder=label_from_folder)
    except MailRejected as rejected:
        return rejected.reason
    except Exception as exc:  # a message the email package cannot handle
        log.warning("%s: message %d unreadable (%s)", raw.source, raw.position, type(exc).__name__)
        return UNREADABLE


def _parse_chunk(chunk: list[RawMessage], label_from_folder: bool) -> list[MailEvent | str]:
    return [_parse_one(raw, label_from_folder) for raw in chunk]


def _batched(items: Iterable[RawMessage], size: int) -> Iterator[list[RawMessage]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def parse_all(
    messages: Iterable[RawMessage], *, workers: int = 1, label_from_folder: bool = False
) -> Iterator[tuple[RawMessage, MailEvent | str]]:
    """Each message with its event or reject reason, in input order.

    Args:
        messages: Raw messages (read lazily, a window at a time).
        workers: Worker processes; 1 (or no ``fork`` on this platform) parses here.
        label_from_folder: See :func:`parse_message`.
    """
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for raw in messages:
            yield raw, _parse_one(raw, label_from_folder)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, **parent_watch()) as pool:
        for window in _batched(messages, _CHUNK * _WINDOW * workers):
            chunks = list(_batched(window, _CHUNK))
            results = pool.map(_parse_chunk, chunks, itertools.repeat(label_from_folder))
            for chunk, parsed in zip(chunks, results, strict=True):
                yield from zip(chunk, parsed, strict=True)
