"""Opaque page cursors: a position encoded so clients pass it back unchanged.

The queue pages by rank (``rank > n``), so a page boundary stays meaningful when the
server switches snapshots between two page requests; member lists page by offset.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import HTTPException, status

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(kind: str, position: int) -> str:
    """An opaque cursor for ``position`` of a listing of ``kind``."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> int:
    """The position in a cursor (0 without one); a bad cursor is a 400."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, position = raw.split(":", 1)
        value = int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value, found = -1, ""
    if found != kind or value < 0:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "invalid cursor: pass back the next_cursor of the previous page unchanged",
        )
    return value
