"""Check-time keys equal the keys ingest made for the same raw values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from ringscope.ingest import ingest
from ringscope.ingest.name_grams import gram_text, name_gram_table, name_grams
from ringscope.ingest.normalize import normalize_name
from ringscope.privacy import Keyring
from ringscope.signup.attempt import parse_attempt
from ringscope.signup.fuzzy import attempt_keys, jaccard
from ringscope.signup.index import KEY_COLUMNS

KEYRING = Keyring(b"a test secret of some length")
RAW = {
    "email": "John.Smith82+promo@GoogleMail.com",
    "phone": "0044 (20) 7946-0958",
    "display_name": "  Ｊｏｈｎ   SMITH ✨",
    "ip": "::ffff:10.1.2.3",
    "device_id": "dev-42",
}


def test_attempt_keys_match_ingest(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    record = {"ts": 1_790_000_000, "actor_id": "a1", "event_type": "signup", **RAW}
    path.write_text(json.dumps(record) + "\n")
    result = ingest([path], keyring=KEYRING)
    row = result.events.row(0, named=True)
    keys = attempt_keys(parse_attempt({"actor_id": "n1", **RAW}), KEYRING)
    assert keys.keys == {kind: row[column] for kind, column in KEY_COLUMNS.items()}
    table_grams = result.names.filter(pl.col("name_key") == row["name_key"])["name_grams"]
    assert np.array_equal(keys.grams, np.asarray(table_grams[0], dtype=np.uint64))


def test_email_pattern_survives_serial_and_dot_tricks() -> None:
    def pattern(email: str) -> str:
        return attempt_keys(parse_attempt({"actor_id": "n", "email": email}), KEYRING).keys[
            "email_pattern"
        ]

    assert pattern("johnsmith82@gmail.com") == pattern("john.smith83@gmail.com")
    assert pattern("johnsmith82@gmail.com") == pattern("j.ohnsmith_1+x@googlemail.com")
    assert pattern("johnsmith82@gmail.com") != pattern("johnsmith82@outlook.com")


def test_name_trigram_similarity_is_graded() -> None:
    def grams(name: str) -> np.ndarray:
        return name_grams(KEYRING, name)

    assert gram_text("John SMITH 2") == " john smith "
    assert jaccard(grams("John Smith"), grams("john smith 7")) == 1.0
    close = jaccard(grams("Kateryna Wolfeschlegel"), grams("Kateryna Wolfeschlegl"))
    far = jaccard(grams("Kateryna Wolfeschlegel"), grams("Bob Ray"))
    assert 0.6 < close < 1.0
    assert far < 0.1
    assert jaccard(grams("✨"), grams("John")) == 0.0


def test_name_gram_table_equals_one_name_at_a_time() -> None:
    names = [
        "John Smith",
        "  john   SMITH 2 ",
        "Ｊｏｈｎ_Smith",
        "Zoë O'Brien-Łukasz",
        "ΣΊΣΥΦΟΣ ß straße",
        "李小龍",
        "✨🙂",
        "a",
        "Jo 1 2 3 An",
        "x\u00a0y\tz",
        "Ǆemal İlkay",
    ]
    keys = [f"k{i}" for i in range(len(names))]
    normal = pl.Series([normalize_name(name) for name in names], dtype=pl.Utf8)
    table = name_gram_table(KEYRING, normal, pl.Series(keys))
    by_key = {k: np.asarray(g, dtype=np.uint64) for k, g in table.iter_rows()}
    for name, key in zip(names, keys, strict=True):
        expected = name_grams(KEYRING, name)
        assert np.array_equal(by_key.get(key, np.empty(0, np.uint64)), expected), name
