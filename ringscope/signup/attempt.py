"""One signup attempt as the signup path sends it: validated, with raw identifiers.

The fields are those of a contract ``signup`` event (``actor_id``, ``ts``, ``email``,
``phone``, ``display_name``, ``ip``, ``device_id``); unknown extra fields are accepted
and ignored, as at ingest. Validation follows ingest: strings are stripped and an empty
string counts as absent, ``ip`` must be an address, ``ts`` an ISO-8601 string or epoch
seconds / milliseconds. The raw values live only in this object, for the time it takes
to hash them (:mod:`ringscope.signup.fuzzy`); no error message ever quotes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ringscope.errors import InputError
from ringscope.ingest.normalize import normalize_ip
from ringscope.ingest.timestamps import MAX_MS, MILLIS_THRESHOLD, MIN_MS

__all__ = [
    "IDENTIFIER_FIELDS",
    "SIGNUP_JSON_SCHEMA",
    "TS_JSON_SCHEMA",
    "SignupAttempt",
    "SignupInputError",
    "parse_attempt",
]

#: The identifier fields of a signup, each hashed (never kept) by the check.
IDENTIFIER_FIELDS = ("email", "phone", "display_name", "ip", "device_id")
_MAX_LEN = 1024
_MAX_S = MAX_MS // 1000 - 1
# ISO-8601 as accepted, years 1971..2098 so that no offset moves it out of 1970..2100.
_ISO_TS = (
    r"^(197[1-9]|19[89][0-9]|20[0-8][0-9]|209[0-8])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?)?$"
)
#: JSON Schema of ``ts`` (for the API's OpenAPI): what :func:`parse_attempt` accepts.
TS_JSON_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": _ISO_TS},
        {"type": "number", "minimum": 0, "maximum": _MAX_S},
        {"type": "number", "minimum": MILLIS_THRESHOLD, "maximum": MAX_MS - 1},
        {"type": "null"},
    ],
    "description": "ISO-8601 (no zone = UTC), epoch seconds (integer or fractional) or "
    "epoch milliseconds",
}
_TEXT = {"type": ["string", "null"], "maxLength": _MAX_LEN}
#: JSON Schema of one signup attempt (for the API's OpenAPI): what :func:`parse_attempt`
#: accepts; unknown fields are ignored.
SIGNUP_JSON_SCHEMA = {
    "type": "object",
    "required": ["actor_id"],
    "properties": {
        "actor_id": {"type": "string", "minLength": 1, "maxLength": _MAX_LEN, "pattern": r"\S"},
        "ts": TS_JSON_SCHEMA,
        "event_type": {"type": ["string", "null"], "enum": ["signup", None]},
        "email": _TEXT,
        "phone": _TEXT,
        "display_name": _TEXT,
        "device_id": _TEXT,
        "ip": {
            "anyOf": [
                {"type": "string", "format": "ipv4"},
                {"type": "string", "format": "ipv6"},
                {"type": "string", "pattern": r"^\s*$", "description": "blank: absent"},
                {"type": "null"},
            ]
        },
    },
}


class SignupInputError(InputError):
    """A signup attempt is not a valid signup event (the message names the field)."""


@dataclass(frozen=True, repr=False)
class SignupAttempt:
    """A validated signup attempt; ``repr`` hides the identifiers so logs cannot leak them."""

    actor_id: str
    ts_ms: int | None = None
    email: str | None = None
    phone: str | None = None
    display_name: str | None = None
    ip: str | None = None
    device_id: str | None = None

    def __repr__(self) -> str:
        given = [f for f in IDENTIFIER_FIELDS if getattr(self, f) is not None]
        return f"SignupAttempt(actor_id={self.actor_id!r}, fields={given})"


def _text(record: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise SignupInputError(f"missing_field: {name}")
        return None
    if not isinstance(value, str):
        raise SignupInputError(f"wrong_type: {name} must be a string")
    if len(value) > _MAX_LEN:
        raise SignupInputError(f"wrong_type: {name} is longer than {_MAX_LEN} characters")
    value = value.strip()
    if not value:
        if required:
            raise SignupInputError(f"missing_field: {name}")
        return None
    return value


def _timestamp(value: Any) -> int | None:
    """Epoch milliseconds UTC of a contract ``ts`` value (None if absent)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SignupInputError("bad_timestamp: ts must be ISO-8601 or epoch seconds/ms")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and math.isfinite(value):
        value = round(value if abs(value) >= MILLIS_THRESHOLD else value * 1000)
        ms = value
    elif isinstance(value, int):
        ms = value if abs(value) >= MILLIS_THRESHOLD else value * 1000
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise SignupInputError("bad_timestamp: ts is not ISO-8601") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        ms = int(parsed.timestamp() * 1000)
    else:
        raise SignupInputError("bad_timestamp: ts must be ISO-8601 or epoch seconds/ms")
    if not MIN_MS <= ms < MAX_MS:
        raise SignupInputError("bad_timestamp: ts is outside 1970..2100")
    return ms


def parse_attempt(record: Any) -> SignupAttempt:
    """Validate one signup record (a JSON object) into a :class:`SignupAttempt`.

    Raises:
        SignupInputError: The record is not an object, lacks ``actor_id``, has a field
            of the wrong type, an unparseable ``ts`` or an ``ip`` that is no address,
            or an ``event_type`` other than ``signup``.
    """
    if not isinstance(record, dict):
        raise SignupInputError("not_an_object: a signup must be a JSON object")
    event_type = _text(record, "event_type")
    if event_type is not None and event_type.lower() != "signup":
        raise SignupInputError("wrong_type: event_type must be 'signup' when given")
    fields = {name: _text(record, name) for name in IDENTIFIER_FIELDS}
    if fields["ip"] is not None and normalize_ip(fields["ip"]) is None:
        raise SignupInputError("invalid_ip: ip is not an IPv4 or IPv6 address")
    return SignupAttempt(
        actor_id=_text(record, "actor_id", required=True),
        ts_ms=_timestamp(record.get("ts")),
        **fields,
    )
