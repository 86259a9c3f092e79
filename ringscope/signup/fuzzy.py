"""The keyed match keys of a signup attempt, made exactly as ingest makes them.

Exact keys: ``device``, ``email`` (normalised: lower-case, ``+tag`` and Gmail dots
removed), ``phone``, ``ip``, ``subnet`` (/24 or /48) and ``name``. Fuzzy keys, which
survive the small mutations returning actors use: ``email_pattern`` (the local part's
digits and separators removed, so ``johnsmith82`` and ``john.smith83`` match) and the
keyed character trigrams of the display name (:mod:`ringscope.ingest.name_grams`),
compared by Jaccard similarity. Each uses ingest's normaliser and pseudonym kind under
the same keyring, so a key made here equals the key the snapshot holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ringscope.ingest.name_grams import name_grams
from ringscope.ingest.normalize import (
    email_pattern,
    normalize_email,
    normalize_ip,
    normalize_name,
    normalize_phone,
)
from ringscope.privacy import Keyring
from ringscope.signup.attempt import SignupAttempt

__all__ = ["EXACT_KINDS", "AttemptKeys", "attempt_keys", "jaccard"]

#: Kinds of exact keys, in the order reasons are listed (strongest first).
EXACT_KINDS = ("device", "email", "phone", "email_pattern", "ip", "subnet", "name")


@dataclass(frozen=True, repr=False)
class AttemptKeys:
    """Keyed hashes of an attempt: ``keys[kind]`` per exact kind present, name trigrams."""

    keys: dict[str, str]
    grams: np.ndarray


def attempt_keys(attempt: SignupAttempt, keyring: Keyring) -> AttemptKeys:
    """Normalise and hash an attempt's identifiers (the raw values are not kept)."""
    keys: dict[str, str] = {}

    def put(kind: str, value: str | None) -> None:
        if value is not None:
            keys[kind] = keyring.hash(kind, value)

    put("device", attempt.device_id)
    if attempt.email is not None:
        put("email", normalize_email(attempt.email))
        put("email_pattern", email_pattern(attempt.email))
    if attempt.phone is not None:
        put("phone", normalize_phone(attempt.phone))
    if attempt.ip is not None:
        address = normalize_ip(attempt.ip)
        if address is not None:
            put("ip", address[0])
            put("subnet", address[1])
    grams = np.empty(0, dtype=np.uint64)
    if attempt.display_name is not None:
        put("name", normalize_name(attempt.display_name))
        grams = name_grams(keyring, attempt.display_name)
    return AttemptKeys(keys=keys, grams=grams)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted sets of trigram hashes (0 when both are empty)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
