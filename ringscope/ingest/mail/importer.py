"""Raw mail -> an event file plus a rejects file, every message accounted for.

Mail has no account ids, only addresses, and an event's ``actor_id`` is carried into
every snapshot table as it is. So the sender's ``actor_id`` and the ``recipients`` are
written as keyed pseudonyms of the normalised addresses (:meth:`Keyring.hash`, kind
``account``, the operator's key): raw addresses never reach a snapshot, an investigator
with the key can still find an address's actor (hash it the same way), and a recipient
still matches the actor of the same address, so replies are recognised. The address
itself is kept in ``email``, which ingest hashes like any email.

Each message becomes exactly one ``message`` event or one reject. Rejects use the
format of a snapshot's ``rejects.jsonl.gz`` (:func:`write_rejects`): source, position,
reason, a preview that names only the header fields present (never their values), and
the whole message sealed with the operator's key. Both files are written under a
temporary name and renamed when complete, so a failed import leaves no half file.
"""

from __future__ import annotations

import collections
import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl

from ringscope.ingest.mail.sources import RawMessage, iter_messages
from ringscope.ingest.mail.workers import parse_all
from ringscope.ingest.normalize import normalize_account
from ringscope.ingest.rejects import PREVIEW_CHARS, REJECT_SCHEMA, scrub_text, write_rejects
from ringscope.privacy import Keyring

__all__ = ["ImportStats", "default_rejects_path", "import_mail", "mail_preview"]

_HEADER_NAME = re.compile(rb"^([!-9;-~]+):")
_EVENT_SUFFIXES = (".jsonl.gz", ".ndjson.gz", ".jsonl", ".ndjson")


@dataclass
class ImportStats:
    """What an import read and wrote; ``messages == events + rejected_total`` always."""

    messages: int = 0
    events: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    with_ip: int = 0
    with_urls: int = 0
    time_sources: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def rejected_total(self) -> int:
        """Messages that went to the rejects file."""
        return sum(self.rejected.values())


def default_rejects_path(out: Path) -> Path:
    """Where rejects go by default: next to ``out``, as ``<name>.rejects.gz``.

    The name is deliberately not an event-file extension, so ``ringscope run`` on the
    directory does not read the rejects as events.
    """
    name = out.name
    for suffix in _EVENT_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(f"{name}.rejects.gz")


def mail_preview(data: bytes) -> str:
    """A personal-data-free view of a rejected message: its size and header field names."""
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    names = [
        m.group(1).decode("ascii") for line in head.splitlines() if (m := _HEADER_NAME.match(line))
    ]
    text = f"{len(data)} bytes; headers: {', '.join(names) if names else 'none'}"
    text = scrub_text(text)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _reject(raw: RawMessage, reason: str, keyring: Keyring) -> dict[str, object]:
    return {
        "source": raw.source,
        "position": raw.position,
        "reason": reason,
        "preview": mail_preview(raw.data),
        "raw": keyring.seal(raw.data),
    }


class _Accounts:
    """Pseudonyms of addresses as account ids, each distinct address hashed once."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._known: dict[str, str] = {}

    def __call__(self, address: str) -> str:
        known = self._known.get(address)
        if known is None:
            normalized = normalize_account(address) or address
            known = self._known[address] = self._keyring.hash("account", normalized)
        return known

    def apply(self, fields: dict[str, object]) -> None:
        """Replace ``actor_id`` and ``recipients`` in an event by their pseudonyms."""
        fields["actor_id"] = self(str(fields["actor_id"]))
        recipients = fields.get("recipients")
        if isinstance(recipients, list):
            fields["recipients"] = list(dict.fromkeys(self(r) for r in recipients))


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def import_mail(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    keyring: Keyring,
    rejects_out: str | os.PathLike[str] | None = None,
    label_from_folder: bool = False,
    workers: int = 1,
) -> ImportStats:
    """Turn raw messages into a ``.jsonl.gz`` event file and a rejects file.

    Args:
        path: A directory tree, a tar archive of one, an mbox, or one message file
            (see :func:`iter_messages`).
        out: The event file to write (gzip-compressed JSON Lines); missing parent
            directories are created.
        keyring: Pseudonymises the account ids and seals the rejected messages; use
            the key the events will be run with.
        rejects_out: The rejects file; by default :func:`default_rejects_path`. Always
            written, empty when nothing was rejected.
        label_from_folder: Give each event a ``folder`` field (see :func:`parse_message`).
        workers: Processes that parse messages (see :func:`parse_all`); the output
            does not depend on it.

    Returns:
        The counts; ``messages == events + rejected_total``.

    Raises:
        InputError: ``path`` is missing or an archive or file cannot be read.
    """
    out = Path(out)
    rejects_path = Path(rejects_out) if rejects_out is not None else default_rejects_path(out)
    stats = ImportStats()
    accounts = _Accounts(keyring)
    rejects: list[dict[str, object]] = []
    for directory in {out.parent, rejects_path.parent}:
        directory.mkdir(parents=True, exist_ok=True)
    partial = _partial(out)
    try:
        with gzip.open(partial, "wb", compresslevel=6) as sink:
            parsed = parse_all(
                iter_messages(path), workers=workers, label_from_folder=label_from_folder
            )
            for raw, mail in parsed:
                stats.messages += 1
                if isinstance(mail, str):
                    stats.rejected[mail] += 1
                    rejects.append(_reject(raw, mail, keyring))
                    continue
                accounts.apply(mail.fields)
                sink.write(orjson.dumps(mail.fields) + b"\n")
                stats.events += 1
                stats.with_ip += "ip" in mail.fields
                stats.with_urls += bool(mail.fields["urls"])
                stats.time_sources[mail.time_source] += 1
        rejects_partial = _partial(rejects_path)
        write_rejects(pl.DataFrame(rejects, schema=REJECT_SCHEMA), rejects_partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        _partial(rejects_path).unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    os.replace(rejects_partial, rejects_path)
    return stats
