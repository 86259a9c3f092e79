"""Keyed character-trigram sets of display names, for fuzzy name matching without names.

A returning actor often picks a name close to the banned one (``John Smith`` ->
``john smith 2``, ``Jon Smith``). Exact ``name_key`` equality misses those, and raw
names must never be stored, so each normalised name becomes the set of keyed hashes of
its character trigrams (letters and single spaces only, padded with a space at each
end): two names' trigram Jaccard similarity survives hashing, the names do not.

The trigram vocabulary of a population is small (thousands of distinct trigrams
however many names), so :func:`name_gram_table` hashes each distinct trigram once and
filters letters with column operations; :func:`name_grams` does the same for one name
at check time, with the same result (checked against each other in the tests).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ringscope.ingest.normalize import normalize_name
from ringscope.privacy import HASH_HEX_LEN, Keyring

__all__ = ["GRAM_KIND", "gram_text", "name_gram_table", "name_grams"]

#: Pseudonym kind of one name trigram (see :meth:`Keyring.hash`).
GRAM_KIND = "name_gram"
_N = 3
#: Anything but a letter (Unicode category L*, as ``str.isalpha``) or a space.
_NOT_LETTER = r"[^\p{L} ]"


def gram_text(value: str) -> str | None:
    """The text trigrams are taken from: normalised, letters and single spaces, padded.

    >>> gram_text("  John   SMITH 2 ✨")
    ' john smith '
    """
    name = normalize_name(value)
    if name is None:
        return None
    letters = " ".join("".join(c if c.isalpha() else " " for c in name).split())
    return f" {letters} " if len(letters) >= 2 else None


def _trigrams(text: str) -> list[str]:
    return sorted({text[i : i + _N] for i in range(len(text) - _N + 1)})


def _as_ints(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=">u8").astype(np.uint64)


def name_grams(keyring: Keyring, value: str) -> np.ndarray:
    """Sorted keyed trigram hashes (uint64) of one display name; empty if it has none."""
    text = gram_text(value)
    if text is None:
        return np.empty(0, dtype=np.uint64)
    assert HASH_HEX_LEN == 16  # 8-byte digests read as one uint64 each
    return np.sort(_as_ints(keyring.hash_digests(GRAM_KIND, _trigrams(text))))


def name_gram_table(keyring: Keyring, names: pl.Series, name_keys: pl.Series) -> pl.DataFrame:
    """One row per distinct ``name_key``: its keyed trigram hashes (``name_grams``).

    Args:
        keyring: The keys (the same as for ``name_key``).
        names: Display names already normalised (:func:`normalize_name`; nulls allowed),
            so the caller's one normalisation serves the keys and the trigrams.
        name_keys: Their ``name_key`` (keyed hash of the normalised name).

    Returns:
        Columns ``name_key`` (str) and ``name_grams`` (list of uint64, sorted).
    """
    pairs = (
        pl.DataFrame({"name": names, "name_key": name_keys})
        .drop_nulls()
        .unique(subset="name_key", keep="first", maintain_order=True)
    )
    schema = {"name_key": pl.Utf8(), "name_grams": pl.List(pl.UInt64())}
    if pairs.height == 0:
        return pl.DataFrame(schema=schema)
    letters = (
        pairs["name"]
        .str.replace_all(_NOT_LETTER, " ")
        .str.replace_all(" +", " ")
        .str.strip_chars(" ")
    )
    exploded = (
        pairs.with_columns(text=pl.lit(" ") + letters + pl.lit(" "))
        .filter(letters.str.len_chars() >= 2)
        .with_columns(pos=pl.int_ranges(0, pl.col("text").str.len_chars() - _N + 1))
        .explode("pos")
        .select("name_key", gram=pl.col("text").str.slice(pl.col("pos"), _N))
    )
    vocab = exploded["gram"].unique()
    hashes = pl.Series(
        "hash", _as_ints(keyring.hash_digests(GRAM_KIND, vocab.to_list())), dtype=pl.UInt64
    )
    lookup = pl.DataFrame({"gram": vocab, "hash": hashes})
    table = (
        exploded.join(lookup, on="gram")
        .group_by("name_key")
        .agg(pl.col("hash").unique().sort().alias("name_grams"))
        .sort("name_key")
    )
    return table.cast(schema)
