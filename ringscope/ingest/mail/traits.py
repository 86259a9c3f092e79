"""Structural and header facts of one message, as the ``traits`` of its event.

Spam filters have long read the envelope as much as the text: bulk mail is HTML without
a plain part, carries archives and executables, forges or omits the headers a mail
client writes, and is sent from domains other than the one in ``From``. Each fact is a
short token (no personal data: no address, name, host or value is ever part of one):

- ``html_only`` (HTML and no plain-text part), ``html`` (both);
- ``attach:<kind>`` per attachment: ``image``, ``archive``, ``document``,
  ``executable``, ``other``;
- ``received:<n>``: number of ``Received`` headers (``0`` .. ``5``, ``6+``);
- ``msgid:none`` (no ``Message-ID``), ``msgid:odd`` (not ``local@domain``),
  ``msgid:foreign`` (its domain differs from the ``From`` domain);
- ``return_path:mismatch``, ``reply_to:mismatch``: their domain differs from ``From``'s;
- ``date:future`` (``Date`` more than an hour after the newest ``Received`` stamp),
  ``date:past`` (more than a day before it), ``date:none``;
- ``reply`` (``In-Reply-To`` or ``References`` present), ``to:none`` (no ``To``
  address), ``from:digits`` (four or more digits in the sender's local part).

Domains are compared by registered domain (offline public-suffix list).
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from email.message import Message

import tldextract

from ringscope.ingest.mail.relays import received_time

__all__ = ["message_traits"]

_MESSAGE_ID = re.compile(r"^<?[^<>@\s]+@([^<>@\s]+?)>?$")
_DIGITS = re.compile(r"\d")
_ARCHIVES = ("zip", "rar", "gzip", "x-gzip", "x-tar", "x-7z-compressed", "x-zip-compressed")
_DOCUMENTS = ("pdf", "msword", "rtf", "vnd.", "x-msexcel", "x-excel")
_EXECUTABLES = ("x-msdownload", "x-msdos-program", "x-executable", "octet-stream", "x-sh")
_FUTURE = timedelta(hours=1)
_PAST = timedelta(days=1)


@functools.lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65_536)
def _registered(domain: str) -> str:
    """Registered domain of a host name (the name itself when it has no known suffix)."""
    host = domain.strip().strip(".<>[]").lower()
    return _extractor()(host).top_domain_under_public_suffix or host


def _domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return _registered(address.rsplit("@", 1)[1]) or None


def _attachment_kind(part: Message) -> str:
    main, sub = part.get_content_maintype(), part.get_content_subtype()
    if main == "image":
        return "image"
    if main == "application":
        if sub in _ARCHIVES:
            return "archive"
        if sub.startswith(_DOCUMENTS):
            return "document"
        if sub in _EXECUTABLES:
            return "executable"
    return "other"


def _structure(message: Message) -> list[str]:
    plain = html = False
    attachments: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if part.get_content_disposition() == "attachment" or not kind.startswith("text/"):
            attachments.append(f"attach:{_attachment_kind(part)}")
        elif kind == "text/plain":
            plain = True
        elif kind == "text/html":
            html = True
    out = ["html_only"] if html and not plain else ["html"] if html else []
    return out + sorted(set(attachments))


def _date_trait(date: datetime | None, received: list[str]) -> list[str]:
    if date is None:
        return ["date:none"]
    for header in received:
        stamp = received_time(header)
        if stamp is None:
            continue
        if stamp.tzinfo is None or date.tzinfo is None:
            return []
        if date - stamp > _FUTURE:
            return ["date:future"]
        if stamp - date > _PAST:
            return ["date:past"]
        return []
    return []


def message_traits(
    message: Message,
    *,
    raw: dict[str, list[str]],
    sender: str,
    date: datetime | None,
    reply_to: list[str],
    return_path: list[str],
    to: list[str],
) -> list[str]:
    """The traits of one parsed message (see the module docstring), sorted.

    Args:
        message: The parsed message (for its MIME structure).
        raw: Raw header values by lower-cased name (``received``, ``message-id``,
            ``in-reply-to``, ``references``).
        sender: The ``From`` address.
        date: The ``Date`` header's time, None when missing or unreadable.
        reply_to, return_path, to: The addresses of those headers.
    """
    traits = _structure(message)
    received = raw.get("received", [])
    traits.append(f"received:{len(received)}" if len(received) < 6 else "received:6+")
    from_domain = _domain(sender)
    message_id = next((v for v in raw.get("message-id", []) if v.strip()), None)
    if message_id is None:
        traits.append("msgid:none")
    elif (match := _MESSAGE_ID.match(message_id.strip())) is None:
        traits.append("msgid:odd")
    elif from_domain and _registered(match.group(1)) != from_domain:
        traits.append("msgid:foreign")
    for name, addresses in (("return_path", return_path), ("reply_to", reply_to)):
        domains = {d for a in addresses if (d := _domain(a))}
        if from_domain and domains and from_domain not in domains:
            traits.append(f"{name}:mismatch")
    traits += _date_trait(date, received)
    if raw.get("in-reply-to") or raw.get("references"):
        traits.append("reply")
    if not to:
        traits.append("to:none")
    if len(_DIGITS.findall(sender.split("@", 1)[0])) >= 4:
        traits.append("from:digits")
    return sorted(traits)
