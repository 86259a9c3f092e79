"""Keyed hashed-term vectors: the same text under one key matches, under two keys not."""

from __future__ import annotations

import numpy as np
import polars as pl

from ringscope.ingest.content_terms import (
    BUCKETS,
    MAX_TOKENS,
    _vocab_rows,
    hash_terms,
    merge_terms,
)
from ringscope.ingest.fingerprint import normalize_content
from ringscope.privacy import Keyring

TEXTS = [
    "cheap watches shipped overnight visit our store",
    "are we still on for lunch tomorrow at noon",
    "cheap watches shipped overnight visit our shop",
]


def _vectors(secret: bytes, texts: list[str] = TEXTS):
    content = normalize_content(pl.Series([None] * len(texts), dtype=pl.Utf8), pl.Series(texts))
    keys = pl.Series([f"k{i}" for i in range(len(texts))])
    return merge_terms([hash_terms(content, keys, Keyring(secret))])


def test_vectors_hold_buckets_and_near_texts_are_near():
    vectors = _vectors(b"operator-secret-one-0123456789")
    x = vectors.rows(np.arange(3)).toarray()
    assert x.shape == (3, BUCKETS)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=0.35)  # scaled to about unit length
    similar, unrelated = float(x[0] @ x[2]), float(x[0] @ x[1])
    assert similar > 0.6 > unrelated
    w = np.random.default_rng(0).normal(size=BUCKETS)
    assert np.allclose(vectors.dot(w), x @ w, rtol=1e-4, atol=1e-4)


def test_two_secrets_give_different_vectors():
    a = _vectors(b"operator-secret-one-0123456789").rows(np.arange(3))
    b = _vectors(b"operator-secret-two-0123456789").rows(np.arange(3))
    assert set(a[0].indices) != set(b[0].indices)
    again = _vectors(b"operator-secret-one-0123456789").rows(np.arange(3))
    assert (a != again).nnz == 0


def test_duplicate_contents_across_batches_are_kept_once():
    one = _vectors(b"operator-secret-one-0123456789", TEXTS[:2])
    keyring = Keyring(b"operator-secret-one-0123456789")
    content = normalize_content(pl.Series([None, None], dtype=pl.Utf8), pl.Series(TEXTS[:2]))
    batch = hash_terms(content, pl.Series(["k0", "k1"]), keyring)
    both = merge_terms([batch, batch])
    assert both.n_rows == 2
    assert (both.rows(np.arange(2)) != one.rows(np.arange(2))).nnz == 0


def test_terms_every_content_holds_weigh_least():
    texts = [f"{w} and the offer {i}" for i, w in enumerate(["cheap", "lunch", "meeting", "prize"])]
    vectors = _vectors(b"operator-secret-one-0123456789", texts)
    idf = vectors.idf()
    assert idf.shape == (BUCKETS,) and idf.min() >= 1.0
    x = vectors.rows(np.arange(len(texts))).toarray()
    # a bucket in every text gets the least weight; the bucket of a word in one text more
    shared = np.flatnonzero((x > 0).all(axis=0))
    only_first = np.flatnonzero((x[0] > 0) & ~(x[1:] > 0).any(axis=0))
    assert len(shared) and len(only_first)
    assert idf[shared].max() < idf[only_first].min()
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=0.35)


def test_a_long_message_is_hashed_to_its_end_and_a_huge_one_is_bounded():
    filler = " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(2000))
    long_texts = [f"{filler} cheap watches", f"{filler} lunch tomorrow"]
    x = _vectors(b"operator-secret-one-0123456789", long_texts).rows(np.arange(2))
    assert (x[0] != x[1]).nnz > 0  # the texts differ only after 2,000 tokens
    huge = pl.Series([" ".join([filler] * (MAX_TOKENS // 1000))])
    batch = hash_terms(huge, pl.Series(["k0"]), Keyring(b"operator-secret-one-0123456789"))
    assert batch.lengths.tolist() == [MAX_TOKENS] and len(batch.tokens) == MAX_TOKENS


def test_vocabulary_rows_are_those_of_a_binary_search(shared_data):
    """The table lookup of merge_terms gives each token the row a binary search would,
    on real messages (SMS corpus) split into batches with overlapping vocabularies."""
    texts = [line.split("\t", 1)[1] for line in (shared_data / "sms_spam_collection.tsv").open()]
    keyring = Keyring(b"operator-secret-one-0123456789")
    batches = []
    for start in range(0, len(texts), 1500):
        part = pl.Series(texts[start : start + 1500])
        content = normalize_content(pl.Series([None] * len(part), dtype=pl.Utf8), part)
        distinct = content.drop_nulls().unique(maintain_order=True)
        keys = pl.Series([f"k{start}-{i}" for i in range(len(distinct))])
        batches.append(hash_terms(distinct, keys, keyring))
    vocab = np.unique(np.concatenate([b.vocab for b in batches]))
    for batch in batches:
        expected = np.searchsorted(vocab, batch.tokens)
        assert np.array_equal(_vocab_rows(vocab, batch.vocab, batch.tokens), expected)


def test_batches_merged_onto_earlier_vectors_equal_one_merge_of_all(shared_data):
    """Merging batches onto the vectors of the earlier ones (a stream's append) gives
    exactly one merge of every batch: real messages (SMS corpus) whose later batches bring
    new words (columns renumbered), repeat earlier contents and repeat each other."""
    texts = [line.split("\t", 1)[1] for line in (shared_data / "sms_spam_collection.tsv").open()]
    keyring = Keyring(b"operator-secret-one-0123456789")
    batches = []
    for start, stop in [(0, 2000), (2000, 2001), (1500, 3500), (3000, 3000), (3400, len(texts))]:
        part = pl.Series(texts[start:stop], dtype=pl.Utf8)
        content = normalize_content(pl.Series([None] * len(part), dtype=pl.Utf8), part)
        distinct = content.drop_nulls().unique(maintain_order=True)
        batches.append(hash_terms(distinct, distinct.hash().cast(pl.Utf8), keyring))
    merged = None
    for n in range(1, len(batches) + 1):
        merged = merge_terms(batches[n - 1 : n], onto=merged)
        whole = merge_terms(batches[:n])
        assert merged.keys.equals(whole.keys)
        assert np.array_equal(merged.token_hashes, whole.token_hashes)
        for name in ("words", "vocab", "pairs"):
            x, y = getattr(merged, name), getattr(whole, name)
            assert x.shape == y.shape and x.dtype == y.dtype
            for array in ("indptr", "indices", "data"):  # the same stored entries, in order
                assert np.array_equal(getattr(x, array), getattr(y, array))
    assert len(merged.token_hashes) > len(merge_terms(batches[:1]).token_hashes)
    assert merged.n_rows < sum(len(b.keys) for b in batches)  # repeats kept once
