"""Kept values looked up by their hashes answer what ``is_in`` answers."""

from __future__ import annotations

import numpy as np
import polars as pl

from ringscope.ingest.known import KnownValues


def test_held_is_is_in_as_values_are_added(shared_data):
    texts = [line.split("\t", 1)[1] for line in (shared_data / "sms_spam_collection.tsv").open()]
    values = pl.Series("v", texts[:3000] + [None] * 5, dtype=pl.Utf8)
    kept, known = values[:1000], KnownValues.of(values[:1000])
    for start in range(1000, len(values), 700):
        batch = pl.concat([values[start : start + 700], values[start - 600 : start - 300]])
        held = known.held(batch, kept)
        expected = batch.is_in(kept.implode()).fill_null(False)
        assert held.to_list() == expected.to_list() and held.any() and not held.all()
        kept, known = pl.concat([kept, batch]), known.plus(batch)
        assert np.array_equal(known.hashes, KnownValues.of(kept).hashes)
    nothing = pl.Series("v", ["never sent", None], dtype=pl.Utf8)
    assert known.held(nothing, kept).to_list() == [False, False]
