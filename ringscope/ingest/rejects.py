"""Rejected records: a scrubbed preview for humans, the full record sealed, one file.

The preview lets an operator see why a record was rejected without exposing personal
data or identifiers: values of the identifier fields (:data:`IDENTIFIER_FIELDS`: account,
device, message, target, recipient, link and personal fields) are replaced by
``[redacted]``, also in lines that are not valid JSON, and emails, links, IP addresses
and phone-like digit runs anywhere else are replaced by ``[email]``, ``[url]``, ``[ip]``
and ``[phone]``. Only a bounded head of each value is looked at, so a preview costs the
same for a 50 MB record as for a short one. The original bytes are kept too, sealed
with the operator's key (:meth:`Keyring.seal`), so nothing is lost and nothing is
readable without the secret.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from ringscope.ingest.fields import IDENTIFIER_FIELDS

__all__ = [
    "PREVIEW_CHARS",
    "REJECT_SCHEMA",
    "empty_rejects",
    "preview",
    "read_rejects",
    "scrub_text",
    "write_rejects",
]

PREVIEW_CHARS = 300
REDACTED = "[redacted]"
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.Utf8(),
    "position": pl.Int64(),
    "reason": pl.Utf8(),
    "preview": pl.Utf8(),
    "raw": pl.Utf8(),
}

#: Characters of one value (or of a line that is not JSON) that a preview looks at.
SCAN_CHARS = 4 * PREVIEW_CHARS
#: Items of one list value that a preview looks at.
SCAN_ITEMS = 20
# One pass, first alternative wins: ISO timestamps are kept so a preview still shows
# when a record happened; the others are personal data. Every alternative that can run
# long starts only where a token starts (look-behind), so a pass is linear in the text.
_SCRUB = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?)"
    r"|(?P<url>(?<![\w.+-])[A-Za-z][\w+.-]*+://\S*+)"
    r"|(?P<email>(?<![\w.+%-])[\w.+%-]++@[\w-]+(?:\.[\w-]+)*+)"
    r"|(?P<ipv6>(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:.]))"
    r"|(?P<ipv4>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.]))"
    r"|(?P<phone>(?<![\w])\+?\(?\d(?:[\s().-]{0,2}\d){6,}(?![\w]))"
)
_REPLACEMENT = {
    "url": "[url]",
    "email": "[email]",
    "ipv6": "[ip]",
    "ipv4": "[ip]",
    "phone": "[phone]",
}
# An identifier field's value (string, list or bare token) inside text that is not
# valid JSON (a truncated or mangled line); possessive, so it never backtracks.
_STRING = r'"(?:[^"\\]|\\.)*+(?:"|\\?$)'
_IDENTIFIER_VALUE = re.compile(
    r'"(' + "|".join(sorted(IDENTIFIER_FIELDS)) + r')"(\s*:\s*)'
    rf'(?:{_STRING}|\[(?:{_STRING}|[^\]"])*+(?:\]|$)|[^,}}\]\s]++)'
)
# Where a token may end: a cut text keeps only whole tokens.
_BOUNDARY = re.compile(r'[\s"\',;:\[\]{}()<>|]')


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup or ""
    return match.group(0) if kind == "ts" else _REPLACEMENT[kind]


def _whole_tokens(text: str) -> str:
    """``text`` without a last token that may be cut short (marked ``…``)."""
    last = max((m.end() for m in _BOUNDARY.finditer(text, max(0, len(text) - 200))), default=0)
    return text if last == len(text) else text[:last] + "…"


def _head(text: str) -> str:
    """The first :data:`SCAN_CHARS` characters, cut at a token boundary."""
    return text if len(text) <= SCAN_CHARS else _whole_tokens(text[:SCAN_CHARS])


def scrub_text(text: str) -> str:
    """Replace emails, links, IP addresses and phone-like digit runs in free text."""
    return _SCRUB.sub(_replace, text)


def _scrub_value(value: Any) -> Any:
    """Scrub strings (recursively, a bounded head of each); keep other JSON values."""
    if isinstance(value, str):
        return scrub_text(_head(value))
    if isinstance(value, list):
        return [_scrub_value(v) for v in value[:SCAN_ITEMS]]
    if isinstance(value, dict):
        return {
            k: REDACTED if k in IDENTIFIER_FIELDS else _scrub_value(v) for k, v in value.items()
        }
    return value


def _scrub_unparsed(text: str) -> str:
    """Scrub a line that is not JSON: identifier values redacted, then free-text scrub."""
    text = _whole_tokens(text[:SCAN_CHARS])
    redacted = _IDENTIFIER_VALUE.sub(lambda m: f'"{m.group(1)}"{m.group(2)}"{REDACTED}"', text)
    return scrub_text(redacted)


def _preview_object(record: dict[str, Any]) -> str:
    """Preview of a parsed record: personal fields redacted, other strings scrubbed."""
    cleaned = {
        str(k): REDACTED if k in IDENTIFIER_FIELDS and v is not None else _scrub_value(v)
        for k, v in record.items()
    }
    return orjson.dumps(cleaned).decode()


def _preview_csv_row(text: str, header: tuple[str, ...]) -> str:
    """Preview of a CSV row; cells past the first identifier column may be shifted, so hidden."""
    try:
        cells = next(csv.reader(io.StringIO(text)))
    except (csv.Error, StopIteration):
        cells = []
    if len(cells) == len(header):
        return _preview_object(dict(zip(header, cells, strict=True)))
    first_id = min(
        (i for i, name in enumerate(header) if name in IDENTIFIER_FIELDS), default=len(header)
    )
    shown = [scrub_text(_head(c)) if i < first_id else REDACTED for i, c in enumerate(cells)]
    return ",".join(shown)


def preview(raw: bytes, *, header: tuple[str, ...] | None = None) -> str:
    """A short, personal-data-free view of a rejected record's raw bytes.

    Args:
        raw: The record as read (a JSON line, a CSV row, or a Parquet row as JSON).
        header: For a CSV row, the file's column names.
    """
    text = raw.decode("utf-8", errors="replace")
    if header is not None:
        shown = _preview_csv_row(text, header)
    else:
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            shown = _preview_object(parsed)
        elif parsed is not None:
            shown = orjson.dumps(_scrub_value(parsed)).decode()
        else:
            shown = _scrub_unparsed(text)
    if len(shown) > PREVIEW_CHARS:
        shown = shown[: PREVIEW_CHARS - 1] + "…"
    return shown


def empty_rejects() -> pl.DataFrame:
    """A rejects table with no rows."""
    return pl.DataFrame(schema=REJECT_SCHEMA)


def write_rejects(rejects: pl.DataFrame, path: Path) -> None:
    """Write rejects as gzip-compressed JSON Lines (``rejects.jsonl.gz``).

    One object per line with ``source``, ``position``, ``reason``, ``preview`` and
    ``raw`` (the sealed original record).
    """
    path = Path(path)
    columns = list(REJECT_SCHEMA)
    # Level 1: most of a rejects file is sealed (incompressible) bytes, and one huge bad
    # record would otherwise cost seconds of futile compression.
    with gzip.open(path, "wb", compresslevel=1) as out:
        for batch in rejects.select(columns).iter_slices(50_000):
            rows = batch.rows()
            out.write(
                b"".join(orjson.dumps(dict(zip(columns, row, strict=True))) + b"\n" for row in rows)
            )


def read_rejects(path: Path) -> pl.DataFrame:
    """Read a file written by :func:`write_rejects` back into a rejects table."""
    with gzip.open(Path(path), "rb") as handle:
        rows = [orjson.loads(line) for line in handle if line.strip()]
    if not rows:
        return empty_rejects()
    return pl.DataFrame(rows, schema=REJECT_SCHEMA)
