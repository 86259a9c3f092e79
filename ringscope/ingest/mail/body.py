"""A message body as ringscope needs it: readable text and the links it carries.

Text comes from the ``text/plain`` parts; a message with only HTML gets its HTML turned
into text (BeautifulSoup, scripts and styles dropped). Links come from both: URLs
written in the text and the ``href`` / ``src`` targets in the HTML (a link hidden
behind "click here" is exactly what a spam campaign shares); only links ingest accepts
are kept (:func:`~ringscope.ingest.objects.valid_url`), so one garbled link in a
body does not quarantine the whole message. Attachments are skipped.
Parts whose transfer or character encoding is broken are decoded with replacement
characters rather than dropped: a near-duplicate fingerprint survives a few of them.
"""

from __future__ import annotations

import codecs
import re
import warnings
from dataclasses import dataclass
from email.message import Message

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

from ringscope.ingest.objects import valid_url

__all__ = ["MAX_TEXT_CHARS", "MAX_URLS", "Body", "extract_urls", "html_to_text", "message_body"]

#: Longest text kept per message (characters), for its fingerprints and term hashes.
MAX_TEXT_CHARS = 100_000
#: Most links kept per message, in order of appearance.
MAX_URLS = 200

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
_TRAILING = ".,;:!?)'\"*"
_LINK_ATTRIBUTES = ("href", "src")


@dataclass(frozen=True)
class Body:
    """The text of a message and its distinct links."""

    text: str
    urls: list[str]


def _clean_url(url: str) -> str | None:
    """A web link as written, trailing punctuation trimmed; None if it is not one."""
    url = url.strip().rstrip(_TRAILING)
    lower = url.lower()
    if lower.startswith(("http://", "https://")) and len(url) > len("https://"):
        return url
    if lower.startswith("www.") and "." in url[4:]:
        return url
    return None


def extract_urls(text: str) -> list[str]:
    """Web links (``http(s)://`` or ``www.``) written in plain text, in order."""
    return [u for m in _URL.finditer(text) if (u := _clean_url(m.group(0))) is not None]


def _soup(html: str) -> BeautifulSoup:
    with warnings.catch_warnings():  # a short HTML part that looks like a file name
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        return BeautifulSoup(html, "html.parser")


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Visible text of an HTML document and the links in its ``href``/``src`` attributes."""
    soup = _soup(html)
    links = []
    for tag in soup.find_all(True):
        for attribute in _LINK_ATTRIBUTES:
            value = tag.get(attribute)
            if isinstance(value, str) and (url := _clean_url(value)) is not None:
                links.append(url)
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    return soup.get_text(" ", strip=True), links


def _decoded(part: Message) -> str:
    """A text part's content as text, whatever its transfer and character encodings."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        if codecs.lookup(charset).name == "ascii":  # 8-bit text labelled ASCII is mostly UTF-8
            charset = "utf-8"
    except LookupError:  # an unknown or misspelt charset: UTF-8 is the best guess
        charset = "utf-8"
    return payload.decode(charset, errors="replace")


def message_body(message: Message) -> Body:
    """Text and links of a parsed message (any email policy)."""
    plain: list[str] = []
    html: list[str] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain":
            plain.append(_decoded(part))
        elif content_type == "text/html":
            html.append(_decoded(part))
    urls = [u for text in plain for u in extract_urls(text)]
    html_texts = []
    for document in html:
        text, links = html_to_text(document)
        html_texts.append(text)
        urls.extend(links)
        urls.extend(extract_urls(text))
    text = "\n".join(t for t in plain if t.strip()) or "\n".join(html_texts)
    distinct = [u for u in dict.fromkeys(urls) if valid_url(u)][:MAX_URLS]
    return Body(text=text[:MAX_TEXT_CHARS], urls=distinct)
