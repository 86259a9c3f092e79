"""One raw RFC 5322 message -> one ``message`` event of the input contract, or a reject.

The message is split into headers and MIME parts by the standard library's ``email``
package (``compat32``: it never raises, and it does not parse the dozens of trace
headers a message carries, which would be most of an import's time). The headers
people read (``From``, ``To``, ``Cc``, ``Subject``...) are parsed with
``policy.default``'s header classes (decoded words, structured addresses). Real mail
is full of headers that trips over; such a header is read the ``compat32`` way
instead (lenient address splitting, RFC 2047 words decoded where possible), so one
broken header never costs the message. Raw 8-bit bytes in headers
are read as UTF-8 (else replaced), so every output string is valid Unicode.

What becomes what:

- actor: the ``From`` address (``Sender`` when there is no ``From``), also as ``email``,
  its display name as ``display_name`` (:func:`~.importer.import_mail` then replaces
  the account ids by pseudonyms);
- ``recipients``: the ``To``, ``Cc`` and ``Bcc`` addresses;
- ``ts``: the ``Date`` header in UTC. When ``Date`` is missing, unparseable or outside
  1970-2099, the time the receiving server stamped on the newest ``Received`` header
  (what a mail client shows for such a message), then the mbox envelope date;
- ``message_id``: ``Message-ID`` without its angle brackets; a message without one gets
  ``sha256:<digest of its bytes>``, so the same message imported twice is still one;
- ``ip``: the first public relay address (:mod:`.relays`);
- ``subject``, ``text`` and ``urls``: see :mod:`.body`;
- ``traits``: structural and header facts (HTML only, attachment kinds, Received-path
  length, Message-ID shape, From vs Return-Path / Reply-To domains, Date skew, reply):
  see :mod:`.traits`.

Reject reasons: ``empty_message``, ``not_a_message`` (no header could be read: binary
or truncated data), ``missing_field: From``, and ``missing_field: Date`` /
``bad_timestamp`` when there is no usable time at all.
"""

from __future__ import annotations

import collections
import email.errors
import email.header
import email.policy
import email.utils
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from typing import Any

from ringscope.ingest.mail.body import message_body
from ringscope.ingest.mail.relays import first_public_ip, received_time
from ringscope.ingest.mail.sources import RawMessage
from ringscope.ingest.mail.traits import message_traits

__all__ = ["MailEvent", "MailRejected", "parse_message"]

_FIRST_YEAR, _END_YEAR = 1970, 2100  # the event contract's plausible range
_RECIPIENT_HEADERS = ("To", "Cc", "Bcc")
# policy.default's header classes (structured addresses, decoded words), used per header.
_PARSE_HEADER = email.policy.default.header_factory


class MailRejected(Exception):
    """A message that cannot become an event; ``reason`` is its reject code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MailEvent:
    """A message's event record and which clock gave its ``ts``.

    ``time_source`` is ``date`` (the ``Date`` header), ``received`` (the newest
    ``Received`` stamp) or ``envelope`` (the mbox envelope line).
    """

    fields: dict[str, Any]
    time_source: str


class _Headers:
    """Header values of one message: raw for the trace, ``policy.default`` for what people read.

    ``Received``, ``Date`` and ``Message-ID`` are used raw (unfolded). ``Subject`` and
    the address headers are parsed by ``policy.default``'s header classes (encoded
    words, structured addresses); when that raises on a malformed value, the raw value
    is read the ``compat32`` way (lenient address splitting, RFC 2047 words decoded
    where possible).
    """

    def __init__(self, message: Message) -> None:
        self._raw: dict[str, list[str]] = collections.defaultdict(list)
        for name, value in message.raw_items():
            self._raw[name.lower()].append(_unfold(_repair(str(value))))

    @property
    def all_raw(self) -> dict[str, list[str]]:
        """Every header's raw values by lower-cased name."""
        return self._raw

    def raw(self, name: str) -> list[str]:
        """Every value of header ``name`` as written, unfolded."""
        return self._raw.get(name.lower(), [])

    def first_raw(self, name: str) -> str | None:
        """The first non-empty raw value of header ``name``, or None."""
        return next((v for v in self.raw(name) if v), None)

    def decoded(self, name: str) -> str | None:
        """The first value of header ``name`` with encoded words decoded, or None."""
        first = self.first_raw(name)
        if first is None:
            return None
        try:
            text = _unfold(_repair(str(_PARSE_HEADER(name, first))))
        except Exception:  # the email package raises assorted errors on malformed headers
            text = _decode_words(first)
        return text or None

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, address) pairs of every ``name`` header, empty addresses dropped."""
        try:
            pairs = [
                (_repair(a.display_name), _repair(a.addr_spec))
                for value in self.raw(name)
                for a in _PARSE_HEADER(name, value).addresses
            ]
        except Exception:  # a malformed address list: the classic, lenient parser
            pairs = [(_decode_words(n), a) for n, a in email.utils.getaddresses(self.raw(name))]
        cleaned = [(n.strip(), a.strip()) for n, a in pairs]
        return [(n, a) for n, a in cleaned if a and a != "<>"]


def _repair(value: str) -> str:
    """Text with undecodable raw bytes (surrogate escapes) read as UTF-8, else U+FFFD."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return value.encode("utf-8", "replace").decode("utf-8")


def _unfold(value: str) -> str:
    """A header value on one line (folding whitespace collapsed)."""
    return " ".join(value.split())


def _decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; the raw text when they are broken."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return value


def _plausible(when: datetime) -> datetime | None:
    """``when`` in UTC (no zone = UTC) if it lies in the contract's range, else None."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when if _FIRST_YEAR <= when.year < _END_YEAR else None


def _parse_date(text: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _plausible(when)


def _envelope_time(message: Message) -> datetime | None:
    """The date on an mbox envelope line (``From sender Thu Aug 22 13:17:22 2002``)."""
    envelope = message.get_unixfrom()
    if not envelope:
        return None
    parts = envelope.split(None, 2)
    return _parse_date(parts[2]) if len(parts) == 3 else None


def _sent_time(headers: _Headers, message: Message) -> tuple[datetime, str]:
    """The event time and its source: ``Date``, the newest ``Received`` stamp, the envelope."""
    date = headers.first_raw("Date")
    if date is not None and (when := _parse_date(date)) is not None:
        return when, "date"
    for header in headers.raw("Received"):
        stamp = received_time(header)
        if stamp is not None and (when := _plausible(stamp)) is not None:
            return when, "received"
    if (when := _envelope_time(message)) is not None:
        return when, "envelope"
    raise MailRejected("missing_field: Date" if date is None else "bad_timestamp")


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _message_id(headers: _Headers, data: bytes) -> str:
    value = headers.first_raw("Message-ID")
    if value is not None:
        value = value.strip().removeprefix("<").removesuffix(">").strip()
    return value or "sha256:" + hashlib.sha256(data).hexdigest()


def parse_message(raw: RawMessage, *, label_from_folder: bool = False) -> MailEvent:
    """The ``message`` event of one raw message.

    Args:
        raw: The message's bytes and address.
        label_from_folder: Add a ``folder`` field with the top-level folder the message
            was found in (``spam``, ``ham``, ``Junk``), kept as an extra field.

    Raises:
        MailRejected: The message cannot become an event; its ``reason`` says why.
    """
    if not raw.data.strip():
        raise MailRejected("empty_message")
    message = BytesParser(policy=email.policy.compat32).parsebytes(raw.data)
    if not message.keys():
        raise MailRejected("not_a_message")
    headers = _Headers(message)
    senders = headers.addresses("From") or headers.addresses("Sender")
    if not senders:
        raise MailRejected("missing_field: From")
    display_name, sender = senders[0]
    when, time_source = _sent_time(headers, message)
    recipients = [a for name in _RECIPIENT_HEADERS for _, a in headers.addresses(name)]
    body = message_body(message)
    date = headers.first_raw("Date")
    traits = message_traits(
        message,
        raw=headers.all_raw,
        sender=sender,
        date=_parse_date(date) if date is not None else None,
        reply_to=[a for _, a in headers.addresses("Reply-To")],
        return_path=[a for _, a in headers.addresses("Return-Path")],
        to=[a for _, a in headers.addresses("To")],
    )
    event: dict[str, Any] = {
        "ts": _iso(when),
        "actor_id": sender,
        "event_type": "message",
        "message_id": _message_id(headers, raw.data),
        "email": sender,
        "recipients": list(dict.fromkeys(recipients)),
        "subject": headers.decoded("Subject"),
        "text": body.text or None,
        "urls": body.urls,
        "ip": first_public_ip(headers.raw("Received")),
        "display_name": display_name or None,
        "traits": traits,
    }
    if label_from_folder:
        event["folder"] = raw.folder
    return MailEvent({k: v for k, v in event.items() if v is not None}, time_source)
