"""Content fingerprints: normalisation, exact LSH behaviour, determinism."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from ringscope.ingest.fingerprint import (
    BANDS,
    MIN_TOKENS,
    collision_probability,
    content_bands,
    normalize_content,
)


def _normalize(subject: str | None, text: str | None) -> str | None:
    result = normalize_content(
        pl.Series([subject], dtype=pl.Utf8), pl.Series([text], dtype=pl.Utf8)
    )
    return result.item()


def _bands(texts: list[str | None]) -> list[list[int] | None]:
    return content_bands(pl.Series(texts, dtype=pl.Utf8)).to_list()


def _shingles(words: list[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


def _jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_normalisation_lowercases_maps_digits_and_keeps_word_tokens() -> None:
    assert _normalize("Your CODE:", "is 4821 -- call +1 (555) now!") == (
        "your code is 0000 call 0 000 now"
    )
    assert _normalize(None, "Héllo   Wörld") == "héllo wörld"
    assert _normalize("", "!!!") is None
    assert _normalize(None, None) is None


def test_parameters_meet_the_targets() -> None:
    assert collision_probability(0.6) >= 0.95
    assert collision_probability(0.2) <= 0.05


def test_near_duplicates_share_a_band_and_unrelated_texts_do_not() -> None:
    rng = random.Random(7)
    vocab = [f"word{i}" for i in range(4000)]
    base = [rng.choice(vocab) for _ in range(30)]
    variant = list(base)
    variant[rng.randrange(30)] = "changed"
    unrelated = [rng.choice(vocab) for _ in range(30)]
    a, b, c = _bands([" ".join(base), " ".join(variant), " ".join(unrelated)])
    assert a is not None and b is not None and c is not None
    assert set(a) & set(b)
    assert not set(a) & set(c)


def test_share_rate_follows_the_banding_curve() -> None:
    rng = random.Random(11)
    vocab = [f"w{i}" for i in range(5000)]
    pairs = []
    for _ in range(1500):
        a = [rng.choice(vocab) for _ in range(30)]
        b = list(a)
        for _ in range(rng.choice([2, 16])):
            b[rng.randrange(30)] = rng.choice(vocab)
        pairs.append((a, b))
    bands = _bands([" ".join(w) for pair in pairs for w in pair])
    high, low = [], []
    for i, (a, b) in enumerate(pairs):
        shared = bool(set(bands[2 * i] or []) & set(bands[2 * i + 1] or []))
        jaccard = _jaccard(a, b)
        if jaccard >= 0.6:
            high.append(shared)
        elif jaccard <= 0.2:
            low.append(shared)
    assert len(high) > 300 and len(low) > 300
    assert np.mean(high) >= 0.95
    assert np.mean(low) <= 0.06


def test_short_texts_get_no_bands_and_nulls_stay_null() -> None:
    short = " ".join(["a"] * (MIN_TOKENS - 1))
    long = " ".join(["a", "b", "c", "d"])
    result = _bands([short, None, long, ""])
    assert result[0] == []
    assert result[1] is None
    assert result[2] is not None and len(result[2]) == BANDS
    assert result[3] == []


def test_band_index_is_in_the_key_so_positions_never_collide() -> None:
    keys = np.array(
        _bands(["the same words repeated in the same order every time"])[0], dtype=np.uint64
    )
    assert len(set((keys >> np.uint64(59)).tolist())) == BANDS
    assert (keys >> np.uint64(59)).tolist() == list(range(BANDS))


def test_chunking_does_not_change_the_result() -> None:
    rng = random.Random(3)
    texts = [
        " ".join(rng.choice("abcdefgh") for _ in range(rng.randint(2, 20))) for _ in range(500)
    ]
    series = pl.Series(texts)
    assert content_bands(series, chunk_size=7).to_list() == content_bands(series).to_list()


def test_bands_are_identical_in_another_process() -> None:
    texts = ["free money click here now to claim your prize", "a b c d e f g"]
    here = _bands(texts)
    code = (
        "import polars as pl, json;"
        "from ringscope.ingest.fingerprint import content_bands;"
        f"print(json.dumps(content_bands(pl.Series({texts!r})).to_list()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(here).replace("'", '"')


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n: int) -> None:
    assert len(content_bands(pl.Series(["one two three four five"] * n, dtype=pl.Utf8))) == n
