"""Page cursors: a position written so clients pass it back unchanged.

The queue pages by rank (``rank > n``), so a page boundary stays meaningful when the
server switches snapshots between two page requests; member lists page by offset. A
cursor is the listing's letter and the position (``r25``, ``m100``); its query
parameter declares :data:`CURSOR_PATTERNS`, so a malformed cursor is a 422 naming the
parameter, and every cursor the schema allows is one the server reads.
"""

from __future__ import annotations

import re

from fastapi import HTTPException, status

__all__ = ["CURSOR_PATTERNS", "decode_cursor", "encode_cursor"]

_LETTER = {"rank": "r", "members": "m"}
#: The pattern of each listing's cursors (for the query parameter's schema).
CURSOR_PATTERNS = {kind: rf"^{letter}[0-9]{{1,12}}$" for kind, letter in _LETTER.items()}


def encode_cursor(kind: str, position: int) -> str:
    """The cursor for ``position`` of a listing of ``kind`` (``rank`` or ``members``)."""
    return f"{_LETTER[kind]}{position}"


def decode_cursor(cursor: str | None, kind: str) -> int:
    """The position in a cursor (0 without one); one of another form is a 400."""
    if not cursor:
        return 0
    if not re.fullmatch(CURSOR_PATTERNS[kind], cursor):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "invalid cursor: pass back the next_cursor of the previous page unchanged",
        )
    return int(cursor[1:])
