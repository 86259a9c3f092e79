"""Checking a file of signup attempts: one JSON result per input line, in order.

A line that is not a valid signup (bad JSON, wrong field types, a bad ``ip``) gets a
result too, with ``error`` (a reason code and the field, never the value) and null
``risk`` / ``decision``, so the output stays line-aligned and nothing is lost.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from ringscope.errors import InputError
from ringscope.signup.attempt import SignupInputError, parse_attempt
from ringscope.signup.check import SignupChecker

__all__ = ["check_file", "check_line"]


def check_line(checker: SignupChecker, line: bytes, number: int) -> dict[str, Any]:
    """The result for one input line (``number`` is 1-based, for error results)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _error(number, None, "malformed_json")
    try:
        return checker.check(parse_attempt(record))
    except SignupInputError as exc:
        actor = record.get("actor_id") if isinstance(record, dict) else None
        return _error(number, actor if isinstance(actor, str) else None, str(exc))


def _error(number: int, actor_id: str | None, reason: str) -> dict[str, Any]:
    return {
        "actor_id": actor_id,
        "line": number,
        "error": reason,
        "risk": None,
        "decision": None,
        "matches": [],
    }


def check_file(checker: SignupChecker, in_path: Path, out_path: Path) -> Counter[str]:
    """Check every line of a JSON Lines file; returns counts per decision (``error`` for
    rejected lines). Blank lines are skipped (they carry no signup).

    Raises:
        InputError: The input file cannot be read.
    """
    try:
        source = open(in_path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InputError(f"cannot read signups file {in_path}: {exc.strerror}") from None
    counts: Counter[str] = Counter()
    with source, open(out_path, "w", encoding="utf-8") as out:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            result = check_line(checker, line, number)
            counts[result["decision"] or "error"] += 1
            out.write(json.dumps(result, separators=(",", ":")) + "\n")
    return counts
