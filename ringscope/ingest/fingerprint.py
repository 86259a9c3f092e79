"""Content fingerprints: an exact key and MinHash LSH band keys of subject + text.

Normalisation (:func:`normalize_content`): lower-case, every digit to ``0`` (so
templated messages that differ only in numbers, codes or amounts match), keep the word
tokens (``\\w+``), joined by single spaces. ``content_key`` is the keyed hash of that
string; ``content_bands`` are LSH band keys over its word-bigram shingles, so texts
that are near-duplicates (not only exact copies) share a band key.

MinHash (Broder 1997, "On the resemblance and containment of documents") with
banding (Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets", ch. 3): with
``b = 24`` bands of ``r = 4`` rows (``NUM_PERM = 96`` hash functions), two texts with
shingle Jaccard similarity ``J`` share at least one band with probability
``1 - (1 - J**4)**24``:

====  ==========
J     P(share)
====  ==========
0.8   1.000
0.6   0.964
0.5   0.79
0.3   0.18
0.2   0.038
0.1   0.0024
====  ==========

The computation is vectorised over chunks of texts, with no per-text Python object:
each bigram's hash is a polynomial rolling hash of its bytes, read off prefix sums
over the texts' shared byte buffer (then mixed with SplitMix64), and the 96 minima
per text are taken with
``np.minimum.reduceat`` over blocks of shingles, on all cores (hash functions
``x -> a*x mod 2**32`` with ``a`` odd, a permutation of the odd 32-bit words the
shingle hashes are mapped to; the shingle hashes are already uniformly mixed). Every
constant is derived from fixed seeds with SplitMix64, so keys are identical across
processes, machines and runs. Texts with fewer than :data:`MIN_TOKENS` tokens get no
bands (an empty list) but still a ``content_key``.

Band keys carry their band index in the top 5 bits, so a key from band 3 can never
equal a key from band 7. The raw text is never part of any output.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pyarrow as pa

__all__ = [
    "BANDS",
    "MIN_TOKENS",
    "NUM_PERM",
    "ROWS",
    "band_keys",
    "collision_probability",
    "content_bands",
    "normalize_content",
]

BANDS = 24
ROWS = 4
NUM_PERM = BANDS * ROWS
MIN_TOKENS = 4
_BAND_BITS = 5  # 2**5 >= BANDS
_BLOCK_SHINGLES = 4_096  # shingles per minhash block (keeps the work array in cache)
_CHUNK_TEXTS = 4096  # texts per chunk (bounds temporaries)
_MASK64 = (1 << 64) - 1


def _splitmix64(state: int) -> tuple[int, int]:
    """One SplitMix64 step on a Python int: (next state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def _constants(seed: int, n: int) -> list[int]:
    """``n`` pseudo-random 64-bit constants from a fixed seed (platform independent)."""
    out = []
    for _ in range(n):
        seed, value = _splitmix64(seed)
        out.append(value)
    return out


_MULT = np.array([c & 0xFFFFFFFF | 1 for c in _constants(0xA11CE, NUM_PERM)], dtype=np.uint32)
_BAND_SALT = np.array(_constants(0xBA4D5, BANDS), dtype=np.uint64)


def collision_probability(jaccard: float) -> float:
    """Probability that two texts with this shingle Jaccard share at least one band."""
    return 1.0 - (1.0 - jaccard**ROWS) ** BANDS


def normalize_content(subject: pl.Series, text: pl.Series) -> pl.Series:
    """Normalised ``subject + " " + text``: lower-case, digits -> 0, word tokens; null if none.

    Tokens are maximal runs of word characters (``\\w``, Unicode aware); they come out
    joined by single spaces.
    """
    joined = pl.DataFrame({"s": subject, "t": text}).select(
        pl.concat_str(["s", "t"], separator=" ", ignore_nulls=True)
        .str.to_lowercase()
        .str.replace_all(r"\d", "0")
        .str.replace_all(r"\W+", " ")
        .str.strip_chars(" ")
        .alias("content")
    )
    return joined.select(
        pl.when(pl.col("content").str.len_bytes() > 0).then(pl.col("content"))
    ).to_series()


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


class _Powers:
    """Powers of the rolling-hash base and of its inverse mod 2**64, grown on demand."""

    def __init__(self) -> None:
        self.up = np.ones(1, dtype=np.uint64)
        self.down = np.ones(1, dtype=np.uint64)

    def ensure(self, n: int) -> None:
        """Make at least ``n`` powers available."""
        if len(self.up) >= n:
            return
        size = max(n, 2 * len(self.up))
        self.up = np.cumprod(np.full(size, _BASE, dtype=np.uint64)) * _BASE_INV
        self.down = np.cumprod(np.full(size, _BASE_INV, dtype=np.uint64)) * _BASE


_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so it has an inverse mod 2**64
_BASE_INV = np.uint64(pow(int(_BASE), -1, 1 << 64))
_LENGTH_SALT = np.uint64(0xD6E8FEB86659FD93)
_POWERS = _Powers()


def _shingle_hashes(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word bigrams of texts stored back to back, without splitting them.

    Every text has single spaces between tokens and at least two tokens. A bigram is
    the substring from one token's start to the next token's end, hashed with a
    polynomial rolling hash through prefix sums (``S[k] = sum(b_i * B**-i)``, so
    ``hash(s, e) = (S[e] - S[s]) * B**(e-1)`` does not depend on where the substring
    sits), then mixed. Returns the odd uint32 shingle hashes and, for each text, the
    index of its first shingle.
    """
    n = len(values)
    _POWERS.ensure(n + 1)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(values * _POWERS.down[:n], out=prefix[1:])
    spaces = np.flatnonzero(values == 32)
    bound = np.zeros(n + 1, dtype=np.int8)
    bound[offsets[:-1]] |= 1  # token starts
    bound[spaces + 1] |= 1
    bound[spaces] |= 2  # token ends
    bound[offsets[1:]] |= 2
    bound[offsets[:-1]] |= 4  # text starts
    token_start = np.flatnonzero(bound & 1)[: len(spaces) + len(offsets) - 1]
    token_end = np.flatnonzero(bound & 2)
    opens_text = (bound[token_start] & 4) > 0
    same = ~opens_text[1:]  # token j and j+1 are in one text
    start, end = token_start[:-1][same], token_end[1:][same]
    h = (prefix[end] - prefix[start]) * _POWERS.up[end - 1]
    h ^= (end - start).astype(np.uint64) * _LENGTH_SALT
    h = _mix64(h)
    shingles = ((h >> np.uint64(32)) ^ h).astype(np.uint32) | np.uint32(1)
    # texts have >= 2 tokens, so text t's first shingle comes right after the shingles
    # of the texts before it: (index of its first token) - t
    first = np.flatnonzero(opens_text) - np.arange(len(offsets) - 1)
    return shingles, first


def _signature_block(
    shingles: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    first: int,
    last: int,
    out: np.ndarray,
) -> None:
    """MinHash signatures of texts ``first..last-1`` into ``out`` (one thread's share).

    The work arrays are allocated once and reused: fresh large allocations cost page
    faults that would dominate the arithmetic.
    """
    mult = _MULT[:, None]
    work = np.empty((NUM_PERM, _BLOCK_SHINGLES), dtype=np.uint32)
    mins = np.empty((NUM_PERM, _BLOCK_SHINGLES), dtype=np.uint32)
    while first < last:
        # as many whole texts as fit in one block (a longer text gets a block of its own)
        limit = starts[first] + _BLOCK_SHINGLES
        stop = min(last, max(first + 1, int(np.searchsorted(ends, limit, side="right"))))
        lo, hi = int(starts[first]), int(ends[stop - 1])
        count = stop - first
        if hi - lo > _BLOCK_SHINGLES:
            block = np.multiply(mult, shingles[lo:hi][None, :])
            out[first] = block.min(axis=1)
        else:
            np.multiply(mult, shingles[lo:hi][None, :], out=work[:, : hi - lo])
            np.minimum.reduceat(
                work[:, : hi - lo], starts[first:stop] - lo, axis=1, out=mins[:, :count]
            )
            out[first:stop] = mins[:, :count].T
        first = stop


def _signatures(shingles: np.ndarray, starts: np.ndarray, *, threads: bool = True) -> np.ndarray:
    """MinHash signatures (texts x NUM_PERM, uint32) of consecutive shingle segments.

    numpy releases the GIL in its loops, so the texts are split over threads.

    Args:
        shingles: Odd uint32 shingle hashes, grouped by text.
        starts: Index in ``shingles`` where each text's (non-empty) segment starts.
    """
    n_texts = len(starts)
    out = np.empty((n_texts, NUM_PERM), dtype=np.uint32)
    ends = np.append(starts[1:], len(shingles))
    workers = max(1, min(os.cpu_count() or 1, len(shingles) // (4 * _BLOCK_SHINGLES)))
    if not threads:
        workers = 1
    bounds = np.linspace(0, n_texts, workers + 1).astype(int).tolist()
    if workers == 1:
        _signature_block(shingles, starts, ends, 0, n_texts, out)
        return out
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ringscope-minhash") as pool:
        jobs = [
            pool.submit(_signature_block, shingles, starts, ends, a, b, out)
            for a, b in itertools.pairwise(bounds)
        ]
        for job in jobs:
            job.result()
    return out


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """Band keys (texts x BANDS, uint64) from MinHash signatures (texts x NUM_PERM, uint32)."""
    pairs = np.ascontiguousarray(signatures).view(np.uint64).reshape(len(signatures), BANDS, 2)
    key = _mix64(pairs[:, :, 0] ^ _mix64(pairs[:, :, 1] ^ _BAND_SALT[None, :]))
    band = np.arange(BANDS, dtype=np.uint64)[None, :] << np.uint64(64 - _BAND_BITS)
    return (key >> np.uint64(_BAND_BITS)) | band


def _chunk_bands(texts: pa.LargeStringArray, *, threads: bool = True) -> np.ndarray:
    """Band keys (len x BANDS) of texts that all have at least MIN_TOKENS tokens."""
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    values = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    shingles, first = _shingle_hashes(values, offsets - offsets[0])
    return band_keys(_signatures(shingles, first, threads=threads))


def _byte_length(texts: pa.LargeStringArray) -> int:
    """Bytes of text in a (sliced) large-string array."""
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)
    return int(offsets[texts.offset + len(texts)] - offsets[texts.offset])


def content_bands(texts: pl.Series, *, chunk_size: int = _CHUNK_TEXTS) -> pl.Series:
    """LSH band keys for normalised texts (see :func:`normalize_content`).

    Args:
        texts: Normalised texts (tokens joined by single spaces); null allowed.
        chunk_size: Texts processed at once; bounds the memory of temporaries.

    Returns:
        A ``List(UInt64)`` column: :data:`BANDS` keys per text, an empty list for a
        text with fewer than :data:`MIN_TOKENS` tokens, null for a null text.
    """
    n = len(texts)
    texts = texts.cast(pl.Utf8)
    tokens = (texts.str.count_matches(" ") + 1).fill_null(0).to_numpy()
    eligible = tokens >= MIN_TOKENS
    chosen = texts.filter(pl.Series(eligible)).to_arrow().cast(pa.large_string())
    slices = [chosen.slice(i, chunk_size) for i in range(0, len(chosen), chunk_size)]
    workers = min(os.cpu_count() or 1, len(slices))
    if workers > 1:  # whole chunks on all cores (numpy releases the GIL in its loops)
        # grow the shared powers table now: the threads must only read it
        _POWERS.ensure(max(_byte_length(chunk) for chunk in slices) + 1)
        with ThreadPoolExecutor(workers, thread_name_prefix="ringscope-bands") as pool:
            parts = list(pool.map(lambda chunk: _chunk_bands(chunk, threads=False), slices))
    else:
        parts = [_chunk_bands(chunk) for chunk in slices]
    keys = np.concatenate(parts) if parts else np.zeros((0, BANDS), dtype=np.uint64)
    lengths = np.where(eligible, BANDS, 0)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    mask = pa.array(texts.is_null().to_numpy())
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(keys.reshape(-1)), mask=mask)
    return pl.Series(texts.name, lists).cast(pl.List(pl.UInt64))
