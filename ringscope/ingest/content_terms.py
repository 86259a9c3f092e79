"""Keyed feature hashing of message content: what a message says, without its words.

A content classifier needs the words of a message; a pseudonymised event table must not
hold them. So the words are hashed under the operator's key, per batch, right where the
text is normalised (:func:`hash_terms`), and only the hashes go on:

* every distinct token of the normalised text (see
  :func:`~ringscope.ingest.fingerprint.normalize_content`; up to
  :data:`MAX_TOKENS` tokens) gets a 64-bit keyed BLAKE2b hash (:meth:`Keyring.hash_digests`,
  kind ``content_token``); its bucket in :data:`BUCKETS` is the top :data:`BUCKET_BITS`
  bits of that hash;
* its character n-grams (:data:`CHAR_NGRAMS`, within the word padded with spaces, so
  ``v1agra`` and ``viagra`` share ``agr``) are hashed the same way (kind
  ``content_gram``) into the same buckets;
* word bigrams are a mix of the two tokens' keyed hashes, so they are keyed too.

Without the key nobody can tell which bucket a word lands in; with 2**18 buckets many
words share one, so even the key holder cannot read a text back from its vector.
:func:`merge_terms` joins the batches into :class:`ContentVectors` (one row per distinct
content, keyed by ``content_key``), the form the content model reads. Token hashes live
only in memory during the run (the vectors keep their vocabulary's, so that later batches
can be merged onto them); the vectors hold bucket numbers and counts, nothing else, and
the vocabulary rows are ordered by keyed hash, not by frequency or first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp

from ringscope.ingest.known import KnownValues
from ringscope.privacy import Keyring

__all__ = [
    "BUCKETS",
    "BUCKET_BITS",
    "CHAR_NGRAMS",
    "MAX_TOKENS",
    "ContentVectors",
    "TermBatch",
    "hash_terms",
    "merge_terms",
]

BUCKET_BITS = 18
BUCKETS = 1 << BUCKET_BITS
#: Most tokens hashed per text: a bound on one record, not a sample of a message. Every
#: token of a long message is evidence (a pitch often follows a bland opening; hashing
#: only the first 300 cut short a quarter of the SpamAssassin messages), but the token
#: hashes of a text are held until the end of ingest and become nonzeros of its row, so
#: one huge record must cost no more than a long message: a 9 MB text of 1M tokens took
#: 2 s, +0.4 GB peak and 455k row entries uncapped, 0.1 s and 20k entries under this cap
#: (~60 kB of prose, longer than all but 6 of the 13,249 messages of the SpamAssassin and
#: TREC 2007 slices measured; bench/RESULTS.md).
MAX_TOKENS = 10_000
#: Character n-gram lengths, taken within each word padded with one space each side.
CHAR_NGRAMS = (3, 4)
_MAX_GRAM_CHARS = 24  # longer tokens (base64, hashes) only give n-grams of their start
_PAIR_MULT = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - BUCKET_BITS)
_DOT_CHUNK = 200_000  # content rows scored at once


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _keyed(keyring: Keyring, kind: str, values: list[str]) -> np.ndarray:
    """64-bit keyed BLAKE2b hashes of ``values`` (uint64)."""
    if not values:
        return np.zeros(0, dtype=np.uint64)
    return np.frombuffer(keyring.hash_digests(kind, values), dtype="<u8").astype(np.uint64)


def _buckets(hashes: np.ndarray) -> np.ndarray:
    return (hashes >> _SHIFT).astype(np.int32)


@dataclass
class TermBatch:
    """Hashed terms of the distinct texts of one ingest batch (no text, no token).

    ``tokens`` holds the keyed hashes of every text's tokens back to back (``lengths``
    per text); ``vocab`` the batch's distinct token hashes and, per vocab entry, the
    buckets of its character n-grams (``gram_offsets`` into ``grams``).
    """

    keys: pl.Series
    lengths: np.ndarray
    tokens: np.ndarray
    vocab: np.ndarray
    gram_offsets: np.ndarray
    grams: np.ndarray

    def to_frame(self) -> pl.DataFrame:
        """The batch as one row of list columns (to ship it between processes as Arrow)."""
        arrays = {name: [pl.Series(getattr(self, name))] for name in _TERM_ARRAYS}
        return pl.DataFrame({"keys": [self.keys]} | arrays)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> TermBatch:
        """The batch :meth:`to_frame` made, with the same array types."""
        row = {name: frame[name][0] for name in frame.columns}
        arrays = {name: row[name].to_numpy() for name in _TERM_ARRAYS}
        return cls(keys=row["keys"].rename("content_key"), **arrays)


_TERM_ARRAYS = ("lengths", "tokens", "vocab", "gram_offsets", "grams")


def _char_grams(words: pl.Series, keyring: Keyring) -> tuple[np.ndarray, np.ndarray]:
    """Per word: the buckets of its padded character n-grams (offsets, buckets)."""
    frame = pl.DataFrame({"p": " " + words.str.slice(0, _MAX_GRAM_CHARS) + " "}).with_row_index("w")
    parts = []
    for n in CHAR_NGRAMS:
        parts.append(
            frame.with_columns(
                pl.int_ranges(0, (pl.col("p").str.len_chars() - n + 1).clip(0, None)).alias("o")
            )
            .explode("o", empty_as_null=False)
            .drop_nulls("o")
            .select("w", pl.col("p").str.slice(pl.col("o"), n).alias("g"))
        )
    grams = pl.concat(parts).sort("w", maintain_order=True)
    distinct = grams["g"].unique()
    hashes = pl.Series(_keyed(keyring, "content_gram", distinct.to_list()), dtype=pl.UInt64)
    buckets = _buckets(grams["g"].replace_strict(distinct, hashes).to_numpy())
    counts = np.bincount(grams["w"].to_numpy(), minlength=len(words))
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, buckets


def hash_terms(content: pl.Series, keys: pl.Series, keyring: Keyring) -> TermBatch:
    """Keyed term hashes of distinct normalised texts (``content``) with their ``keys``.

    Args:
        content: Distinct, non-null normalised texts (tokens joined by single spaces).
        keys: Their ``content_key`` s, in the same order.
        keyring: The operator's keys.
    """
    tokens = content.str.split(" ").list.head(MAX_TOKENS)
    lengths = tokens.list.len().to_numpy().astype(np.int32)
    flat = tokens.explode(empty_as_null=False).drop_nulls()
    words = flat.unique().sort()
    word_hashes = _keyed(keyring, "content_token", words.to_list())
    token_hashes = flat.replace_strict(words, pl.Series(word_hashes, dtype=pl.UInt64)).to_numpy()
    offsets, grams = _char_grams(words, keyring)
    return TermBatch(
        keys=keys.rename("content_key"),
        lengths=lengths,
        tokens=token_hashes.astype(np.uint64),
        vocab=word_hashes,
        gram_offsets=offsets,
        grams=grams,
    )


@dataclass
class ContentVectors:
    """Hashed-term vectors of a run's distinct contents, the content model's input.

    ``words`` (contents x vocabulary, token counts as uint8) times ``vocab`` (vocabulary
    x :data:`BUCKETS`: each token's own bucket and its n-gram buckets) plus ``pairs``
    (contents x BUCKETS, word-bigram counts as uint8) is the hashed term count vector of each
    content; ``keys`` names the rows (``content_key``), ``token_hashes`` the vocabulary's
    (the keyed token hashes, sorted: what :func:`merge_terms` appends new batches by,
    never written out). :meth:`rows` gives the
    normalised vectors (log counts times :meth:`idf`, unit length) of chosen rows;
    :meth:`dot` scores every row against a weight vector without building them all.
    """

    keys: pl.Series
    words: sp.csr_matrix
    vocab: sp.csr_matrix
    pairs: sp.csr_matrix
    token_hashes: np.ndarray
    _idf: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _known_keys: KnownValues | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n_rows(self) -> int:
        """Distinct contents held."""
        return self.words.shape[0]

    def known_keys(self) -> KnownValues:
        """The hashes of ``keys`` (:func:`merge_terms` checks an appended batch's contents
        against them); made on first use, kept by the vectors merged onto these."""
        if self._known_keys is None:
            self._known_keys = KnownValues.of(self.keys)
        return self._known_keys

    def idf(self) -> np.ndarray:
        """Smoothed inverse document frequency per bucket, ``log((1 + n) / (1 + df)) + 1``.

        Without it the unit-length vector of a message is mostly the character n-grams
        of its commonest words (`` th``, ``the ``, ``ing``), which every text shares, and
        the rare terms that tell spam from mail get little of the length (the reason
        TF-IDF weights terms). ``df`` counts, per bucket, the contents holding each word
        or word pair that lands there (one vectorised pass over the stored counts, no
        vectors built): an upper bound of the bucket's document frequency where words
        share it, capped at ``n``. Label-free, computed once per run and kept.
        """
        if self._idf is None:
            n = self.n_rows
            per_word = np.bincount(self.words.indices, minlength=self.words.shape[1])
            df = self.vocab.T @ per_word.astype(np.float64)
            df += np.bincount(self.pairs.indices, minlength=BUCKETS)
            self._idf = (np.log((1.0 + n) / (1.0 + np.minimum(df, n))) + 1.0).astype(np.float32)
        return self._idf

    def _norms(self, words: sp.csr_matrix, pairs: sp.csr_matrix, idf: np.ndarray) -> np.ndarray:
        """Row scale: 1 / sqrt(total idf-weighted weight), a cheap stand-in for the L2 norm."""
        total = words @ (self.vocab @ idf) + pairs @ idf
        return 1.0 / np.sqrt(np.maximum(total, 1.0))

    def _weighted(self, rows: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Log-count weights (float) of the chosen rows; the stored counts are uint8."""
        words, pairs = self.words[rows].astype(np.float32), self.pairs[rows].astype(np.float32)
        words.data, pairs.data = np.log1p(words.data), np.log1p(pairs.data)
        return words, pairs

    def rows(self, rows: np.ndarray) -> sp.csr_matrix:
        """Normalised hashed vectors (len(rows) x BUCKETS) of the given content rows."""
        words, pairs = self._weighted(np.asarray(rows))
        matrix = (words @ self.vocab + pairs).tocsr() @ sp.diags(self.idf())
        return sp.diags(self._norms(words, pairs, self.idf()).astype(np.float32)) @ matrix

    def dot(
        self, weights: np.ndarray, rows: np.ndarray | None = None, idf: np.ndarray | None = None
    ) -> np.ndarray:
        """``rows(rows) @ weights`` (every content by default), without building the vectors;
        ``idf``: weigh the terms by another :meth:`idf` (the one a kept model was fitted
        under) instead of these contents' own.

        Works through the rows in chunks, so the float copies stay small."""
        rows = np.arange(self.n_rows) if rows is None else np.asarray(rows)
        idf = self.idf() if idf is None else idf
        w = np.asarray(weights, dtype=np.float32) * idf
        per_word = self.vocab @ w
        out = np.empty(len(rows), dtype=np.float64)
        for start in range(0, len(rows), _DOT_CHUNK):
            words, pairs = self._weighted(rows[start : start + _DOT_CHUNK])
            part = (words @ per_word + pairs @ w) * self._norms(words, pairs, idf)
            out[start : start + _DOT_CHUNK] = part
        return out


def _csr(
    rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], dtype: type = np.float32
) -> sp.csr_matrix:
    """Counts of (row, col) pairs as a CSR matrix; ``uint8`` counts are capped at 255."""
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    if dtype is np.uint8:
        matrix.data = np.minimum(matrix.data, 255).astype(np.uint8)
    return matrix


def merge_terms(
    batches: list[TermBatch], onto: ContentVectors | None = None
) -> ContentVectors | None:
    """One :class:`ContentVectors` from every batch's terms (first copy of a content wins).

    ``onto``: the vectors an earlier call merged from the batches before these; the result
    is then the merge of those batches and these, made from the new batches alone (a
    stream appends each micro-batch's terms instead of merging every batch of its history
    again: ~2 s of CPU at 2M records). The old rows are kept; their vocabulary columns
    move where new words sort in between (a renumbering, not a recount).

    The count rows are built batch by batch and stacked, so the int64 temporaries of the
    token columns (positions, vocabulary rows, bigram hashes) exist for one batch at a
    time, not for every token of the run at once (at ~2M records they took +1.3 GB).
    """
    batches = [b for b in batches if len(b.keys)]
    if not batches:
        return onto
    keys = pl.concat([b.keys for b in batches])
    keep = keys.is_first_distinct()
    if onto is not None:
        keep &= ~onto.known_keys().held(keys, onto.keys)
    keys, keep = keys.filter(keep), keep.to_numpy()

    # vocabulary: distinct token hashes in hash order, each with its n-gram buckets; the
    # words ``onto`` has keep their rows, moved to their place among the new ones
    old = np.zeros(0, dtype=np.uint64) if onto is None else onto.token_hashes
    all_vocab = np.concatenate([b.vocab for b in batches])
    added, first = np.unique(all_vocab, return_index=True)
    del all_vocab
    if len(old):
        fresh = old[np.minimum(np.searchsorted(old, added), len(old) - 1)] != added
        added, first = added[fresh], first[fresh]
    gram_rows, gram_cols = [], []
    base = 0
    for b in batches:
        chosen = first[(first >= base) & (first < base + len(b.vocab))] - base
        counts = np.diff(b.gram_offsets)[chosen]
        starts = b.gram_offsets[chosen]
        index = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        gram_cols.append(b.grams[index + np.arange(counts.sum())])
        gram_rows.append(np.repeat(np.searchsorted(added, b.vocab[chosen]), counts))
        base += len(b.vocab)
    v_rows = np.concatenate([np.arange(len(added)), *gram_rows])
    v_cols = np.concatenate([_buckets(added), *gram_cols])
    del gram_rows, gram_cols
    vocab_matrix = _csr(v_rows, v_cols, (len(added), BUCKETS))
    del v_rows, v_cols
    vocab = np.union1d(old, added)

    word_parts, pair_parts = [], []
    if onto is not None:
        moved = np.searchsorted(vocab, old)  # increasing: each row's columns stay sorted
        order = np.empty(len(vocab), dtype=np.int64)
        order[moved] = np.arange(len(old))
        order[np.searchsorted(vocab, added)] = len(old) + np.arange(len(added))
        vocab_matrix = sp.vstack([onto.vocab, vocab_matrix], format="csr")[order]
        w = onto.words
        word_parts.append(
            sp.csr_matrix((w.data, moved[w.indices], w.indptr), shape=(w.shape[0], len(vocab)))
        )
        pair_parts.append(onto.pairs)
    start = 0
    for b in batches:
        mine = keep[start : start + len(b.keys)]
        start += len(b.keys)
        words, pairs = _count_rows(b, mine, vocab)
        word_parts.append(words)
        pair_parts.append(pairs)
    merged = ContentVectors(
        keys=keys if onto is None else pl.concat([onto.keys, keys], rechunk=True),
        words=_stacked(word_parts),
        vocab=vocab_matrix,
        pairs=_stacked(pair_parts),
        token_hashes=vocab,
    )
    if onto is not None:
        merged._known_keys = onto.known_keys().plus(keys)
    return merged


def _count_rows(
    batch: TermBatch, mine: np.ndarray, vocab: np.ndarray
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Token counts (texts x vocabulary) and word-bigram bucket counts (texts x BUCKETS),
    uint8, of the texts of one batch that ``mine`` keeps."""
    lengths = batch.lengths[mine]
    tokens = batch.tokens[np.repeat(mine, batch.lengths)]
    n = len(lengths)
    text_of = np.repeat(np.arange(n), lengths)
    words = _csr(text_of, _vocab_rows(vocab, batch.vocab, tokens), (n, len(vocab)), np.uint8)
    same = text_of[1:] == text_of[:-1]
    pair_hash = _mix64(tokens[:-1][same] * _PAIR_MULT ^ _mix64(tokens[1:][same]))
    pairs = _csr(text_of[1:][same], _buckets(pair_hash), (n, BUCKETS), np.uint8)
    return words, pairs


def _vocab_rows(vocab: np.ndarray, mine: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Row in ``vocab`` (sorted) of each of ``tokens``, all of which are in ``mine`` (a
    batch's vocabulary, itself within ``vocab``): ``np.searchsorted(vocab, tokens)``.

    A binary search per token into the run's vocabulary took half of :func:`merge_terms`
    (2 s for 24M tokens at 2M records). Keyed hashes are uniform, so their top bits
    address a table of the batch's few thousand words (8 slots per word) directly;
    only tokens whose slot another word took are searched (~4%): 0.25 s.
    """
    sorted_mine = np.sort(mine)
    bits = len(sorted_mine).bit_length() + 3
    shift = np.uint64(64 - bits)
    table = np.zeros(1 << bits, dtype=np.intp)
    table[(sorted_mine >> shift).astype(np.intp)] = np.arange(len(sorted_mine))
    at = table[(tokens >> shift).astype(np.intp)]
    taken = np.flatnonzero(sorted_mine[at] != tokens)
    at[taken] = np.searchsorted(sorted_mine, tokens[taken])
    return np.searchsorted(vocab, sorted_mine)[at]


def _stacked(parts: list[sp.csr_matrix]) -> sp.csr_matrix:
    """The batches' rows one under the other (the parts are dropped once stacked)."""
    matrix = sp.vstack(parts, format="csr")
    parts.clear()
    return matrix
