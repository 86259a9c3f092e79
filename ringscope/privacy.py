"""Keyed hashing and sealing of personal data, so raw identifiers never reach an output.

Identifiers are pseudonymised with keyed BLAKE2b (RFC 7693's keyed mode, a MAC like
HMAC at half its cost per value) under a key derived from an operator secret taken from
the environment (``RINGSCOPE_SECRET_KEY``). Without the secret nobody can test a guessed
email against a snapshot, which a plain hash would allow. Rejected records are kept in
full but sealed with AES-GCM under a key derived from the same secret, so an operator
can recover them and a reader of the snapshot cannot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ringscope.errors import ConfigError

__all__ = ["SECRET_ENV", "Keyring", "load_keyring"]

SECRET_ENV = "RINGSCOPE_SECRET_KEY"
_DEMO_SECRET = b"ringscope-demo-key-NOT-SECRET"
_MIN_SECRET_LEN = 16
HASH_HEX_LEN = 16  # 64-bit pseudonyms: collisions negligible at platform scale

log = logging.getLogger(__name__)


class Keyring:
    """Hashes identifiers and seals records under keys derived from one operator secret."""

    def __init__(self, secret: bytes, *, is_demo: bool = False) -> None:
        self.is_demo = is_demo
        self._hash_key = hmac.new(secret, b"ringscope/hash/v1", hashlib.sha256).digest()
        self._seal_key = hmac.new(secret, b"ringscope/seal/v1", hashlib.sha256).digest()
        self.fingerprint = hmac.new(secret, b"ringscope/id/v1", hashlib.sha256).hexdigest()[:12]

    def _hasher(self, kind: str) -> hashlib.blake2b:
        """Keyed hash state after the ``kind`` prefix, to be copied per value."""
        base = hashlib.blake2b(key=self._hash_key, digest_size=HASH_HEX_LEN // 2)
        base.update(f"{kind}\x1f".encode())
        return base

    def hash(self, kind: str, value: str) -> str:
        """Pseudonym of one normalised identifier; ``kind`` keeps namespaces apart."""
        h = self._hasher(kind)
        h.update(value.encode())
        return h.hexdigest()

    def hash_values(self, kind: str, values: Iterable[str]) -> dict[str, str]:
        """Pseudonyms for many values (as :meth:`hash`), computed once per distinct value."""
        copy = self._hasher(kind).copy
        out = {}
        for value in set(values):
            h = copy()
            h.update(value.encode())
            out[value] = h.hexdigest()
        return out

    def hash_digests(self, kind: str, values: Sequence[str]) -> bytes:
        """Pseudonyms of ``values`` as raw bytes, ``HASH_HEX_LEN // 2`` per value, in order.

        The hex form of each slice is :meth:`hash`'s output; the prefixed state is copied
        per value, so a value costs one short BLAKE2b compression.
        """
        copy = self._hasher(kind).copy
        parts = []
        append = parts.append
        for value in values:
            h = copy()
            h.update(value.encode())
            append(h.digest())
        return b"".join(parts)

    def seal(self, data: bytes) -> str:
        """Encrypt ``data`` (AES-GCM, random nonce); base64 text safe for JSON."""
        nonce = os.urandom(12)
        return base64.b64encode(nonce + AESGCM(self._seal_key).encrypt(nonce, data, None)).decode()

    def unseal(self, token: str) -> bytes:
        """Decrypt a token made by :meth:`seal` with the same secret."""
        raw = base64.b64decode(token)
        return AESGCM(self._seal_key).decrypt(raw[:12], raw[12:], None)


def load_keyring(*, allow_demo: bool = False) -> Keyring:
    """Keyring from ``RINGSCOPE_SECRET_KEY``; the public demo key only when allowed."""
    secret = os.environ.get(SECRET_ENV, "")
    if secret:
        if len(secret) < _MIN_SECRET_LEN:
            raise ConfigError(f"{SECRET_ENV} must be at least {_MIN_SECRET_LEN} characters long")
        return Keyring(secret.encode())
    if not allow_demo:
        raise ConfigError(
            f"{SECRET_ENV} is not set: export a secret of {_MIN_SECRET_LEN}+ characters "
            "(or pass --insecure-demo-key for a throwaway run)"
        )
    log.warning(
        "using the public demo key: pseudonyms in this output are NOT protected; "
        "set %s for real data",
        SECRET_ENV,
    )
    return Keyring(_DEMO_SECRET, is_demo=True)
