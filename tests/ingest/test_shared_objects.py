"""Shared objects: URL normalisation, object kinds, repetition, chance significance,
label-free ranking and receive-only targets, on built events and on the real German
election posts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringscope.config import CoordinationConfig, RunConfig
from ringscope.graph.coordination import build_evidence, chance_significance
from ringscope.graph.hetero import build_hetero_graph
from ringscope.ingest import ingest
from ringscope.ingest.objects import normalize_url, object_kind
from ringscope.ingest.sharing import sharing_events, write_sharing_events
from ringscope.pipeline import run_pipeline
from ringscope.privacy import Keyring
from tests.conftest import SHARED_DATA, T0, make_events

GERMAN = SHARED_DATA / "german_elections_posts.csv.gz"
KEY = Keyring(b"test-secret-key-0123456789")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "HTTPS://News.Example.COM:443/a/b?utm_source=x&id=7#top",
            "https://news.example.com/a/b?id=7",
        ),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("example.com/a?fbclid=1&gclid=2&q=3", "http://example.com/a?q=3"),
        ("//cdn.example.org/i.png?UTM_medium=m", "http://cdn.example.org/i.png"),
        ("https://[2001:db8::1]:443/p", "https://[2001:db8::1]/p"),
        ("https://:80/", None),
        (
            "http://mail.example.com/wrapped/li\nnk?a=1\r\n&b=2",
            "http://mail.example.com/wrapped/link?a=1&b=2",
        ),
        ("http://example.com/ads/MAP BBQ.gif", "http://example.com/ads/MAP%20BBQ.gif"),
        ("http://bad host.com/x", None),
        ("http://w%77%77.Example.com/a", "http://www.example.com/a"),
        ("http://Win.com%40w%77%77%2E%74erra%2Ees/p", "http://www.terra.es/p"),
    ],
)
def test_urls_fold_to_one_spelling(raw: str, expected: str | None) -> None:
    assert normalize_url(raw) == expected


_LABEL = st.text("abcxyzAZ019-_.%", min_size=1, max_size=8)
_PATH = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@given(
    scheme=st.sampled_from(["http", "https"]),
    labels=st.lists(_LABEL, min_size=1, max_size=4),
    path=_PATH,
)
def test_links_already_canonical_skip_the_parse_and_keep_its_result(
    scheme: str, labels: list[str], path: str
) -> None:
    """A link the fast path returns as it is must be what the full parse makes of it (the
    same link with its scheme in capitals, which the fast path does not take)."""
    url = f"{scheme}://{'.'.join(labels)}/{path}"
    assert normalize_url(url) == normalize_url(scheme.upper() + url[len(scheme) :])


def test_object_ids_have_kinds_and_stay_exact() -> None:
    assert object_kind("#Wahl2021") == ("hashtag", "#Wahl2021")
    assert object_kind("repost:123") == ("post", "123")
    assert object_kind("PHASH:ab") == ("media", "ab")
    assert object_kind("meeting-77") == ("object", "meeting-77")
    assert object_kind("weird:x") == ("object", "weird:x")


def _shares(pairs: list[tuple[str, str, int]]) -> pl.DataFrame:
    """Events from (actor, object key, seconds after T0)."""
    rows = [
        {"ts": T0 + s * 1000, "actor_id": a, "event_type": "post", "urls": [f"url:{k}"]}
        for a, k, s in pairs
    ]
    return make_events(rows)


def _background(n: int = 300) -> list[tuple[str, str, int]]:
    """Unrelated accounts posting their own links, so chance rates are realistic."""
    return [(f"bg{i}", f"own{i}-{j}", 5000 * i + 700 * j) for i in range(n) for j in range(3)]


def test_one_coincidence_is_no_evidence_two_distinct_objects_are() -> None:
    once = _shares([("a", "x", 0), ("b", "x", 5), *_background()])
    ev = build_evidence(build_hetero_graph(once), CoordinationConfig())
    assert ev.evidence.filter(pl.col("layer") == "url").is_empty()

    twice = _shares(
        [("a", "x", 0), ("b", "x", 5), ("a", "y", 900), ("b", "y", 930), *_background()]
    )
    hg = build_hetero_graph(twice)
    ev = build_evidence(hg, CoordinationConfig())
    row = ev.evidence.filter(pl.col("layer") == "url").row(0, named=True)
    assert (row["n_items"], row["co_shares"]) == (2, 2)
    assert row["median_gap_ms"] == pytest.approx(17_500) and row["max_gap_ms"] == 30_000
    assert row["significance"] >= CoordinationConfig().layers["url"].min_significance
    assert row["expected"] < 0.01


def test_a_topic_corroborates_shared_objects_but_makes_no_tie_by_itself() -> None:
    # a and b use the same four hashtags within seconds, days apart: far beyond what
    # their activity predicts, yet the same topic is not the same object
    tags = [(a, f"hashtag:t{d}", d * 86_400 + k) for d in range(4) for a, k in (("a", 0), ("b", 9))]
    background = [
        (f"bg{i}", f"{kind}:own{i}-{j}", 5000 * i + 700 * j)
        for i in range(300)
        for j in range(3)
        for kind in ("url", "hashtag")
    ]
    links = [("a", "url:x", 900), ("b", "url:x", 905), ("a", "url:y", 1800), ("b", "url:y", 1830)]

    def evidence(rows: list[tuple[str, str, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
        events = make_events(
            [
                {
                    "ts": T0 + s * 1000,
                    "actor_id": a,
                    "event_type": "post",
                    "urls" if key.startswith("url:") else "object_ids": [key],
                }
                for a, key, s in rows
            ]
        )
        ev = build_evidence(build_hetero_graph(events), CoordinationConfig(min_edge_weight=0.0))
        return ev.edges, ev.evidence

    edges, ledger = evidence(tags + background)
    tag = ledger.filter(pl.col("layer") == "hashtag").row(0, named=True)
    assert tag["n_items"] == 4 and tag["significance"] >= 3  # recorded in the ledger ...
    assert edges["strength"].to_list() == [0.0]  # ... but no tie beyond chance
    edges, ledger = evidence(tags + links + background)
    weights = {n: x.strength_weight or x.weight for n, x in CoordinationConfig().layers.items()}
    expected = max(r["significance"] * weights[r["layer"]] for r in ledger.iter_rows(named=True))
    assert set(ledger["layer"]) == {"url", "hashtag"}
    assert edges["strength"].to_list() == [pytest.approx(expected)]


def test_busy_accounts_co_sharing_by_chance_are_not_significant() -> None:
    # two accounts that each share 300 of the same 400 popular links over a day: they
    # meet on many links within the minute by chance alone
    busy = [
        (a, f"pop{(i * 7 + k) % 400}", i * 280 + k * 10)
        for a, k in (("a", 0), ("b", 3))
        for i in range(300)
    ]
    crowd = [(f"c{i}", f"pop{i % 400}", 40 * i) for i in range(2000)]
    hg = build_hetero_graph(_shares(busy + crowd))
    ev = build_evidence(hg, CoordinationConfig(min_edge_weight=0.0))
    ids = hg.nodes["actor"]["actor_id"].to_list()
    pairs = {frozenset((ids[s], ids[d])) for s, d in ev.edges.select("src", "dst").iter_rows()}
    assert frozenset(("a", "b")) not in pairs


def test_chance_significance_is_a_poisson_tail() -> None:
    sig = chance_significance([1, 2, 3, 0], [0.1, 0.1, 1e-12, 5.0])
    assert sig[0] == pytest.approx(-math.log10(1 - math.exp(-0.1)))
    assert sig[1] > sig[0] and sig[2] == pytest.approx(36.8, abs=0.1) and sig[3] == 0.0


def test_co_targeting_ring_lists_its_targets_as_receive_only_actors(tmp_path: Path) -> None:
    rows = [
        {
            "ts": 1_700_000_000 + k * 86_400 + 60 * j,
            "actor_id": f"r{j}",
            "event_type": "rate",
            "target_id": f"seller{k}",
        }
        for k in range(4)
        for j in range(5)
    ]
    rows += [
        {
            "ts": 1_700_000_000 + 3_600 * i + 7 * j,
            "actor_id": f"u{i}",
            "event_type": "rate",
            "target_id": f"p{(i * 13 + j) % 500}",
        }
        for i in range(200)
        for j in range(3)
    ]
    events = tmp_path / "ratings.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in rows))
    snap = run_pipeline([events], tmp_path / "out", config=RunConfig(), keyring=KEY)
    actors = pl.read_parquet(snap / "actors.parquet")
    receivers = actors.filter(pl.col("receive_only"))
    assert receivers["actor_id"].to_list() == [f"seller{k}" for k in range(4)]
    clusters = pl.read_parquet(snap / "clusters.parquet")
    assert clusters.filter(pl.col("rank") == 1)["flagged"].item()
    assert receivers["risk_score"].min() > 0.3
    assert set(receivers["targeted_by"]) == {
        clusters.filter(pl.col("rank") == 1)["cluster_id"].item()
    }


@pytest.fixture(scope="module")
def german_snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    table = pl.read_csv(GERMAN)
    root = tmp_path_factory.mktemp("german")
    write_sharing_events(table, root / "posts.parquet")
    snap = run_pipeline([root / "posts.parquet"], root / "out", config=RunConfig(), keyring=KEY)
    return snap, table


def test_german_posts_convert_to_one_event_per_post() -> None:
    table = pl.read_csv(GERMAN, n_rows=5000)
    events = sharing_events(table)
    assert events.height == table["post_id"].n_unique()
    post = events.filter(pl.col("urls").list.len() > 0).row(0, named=True)
    assert post["urls"][0].startswith("https://d") and post["event_type"] == "post"
    tagged = events.filter(pl.col("object_ids").list.len() > 0)["object_ids"].explode()
    assert tagged.str.starts_with("#h").any() and tagged.str.starts_with("phash:").any()
    assert events["ts"].dtype == pl.Float64


def _repeated_pairs(table: pl.DataFrame, window: int = 60) -> pl.DataFrame:
    """Pairs that co-shared >= 2 distinct URLs within ``window`` seconds."""
    shares = table.drop_nulls("url_id").select("account_id", "url_id", "timestamp").unique()
    return (
        shares.join(shares, on="url_id", suffix="_y")
        .filter(
            (pl.col("account_id") < pl.col("account_id_y"))
            & ((pl.col("timestamp") - pl.col("timestamp_y")).abs() <= window)
        )
        .group_by("account_id", "account_id_y")
        .agg(pl.col("url_id").n_unique().alias("n"))
        .filter(pl.col("n") >= 2)
    )


def _repeated_core(table: pl.DataFrame) -> set[str]:
    """Accounts that co-shared >= 2 distinct URLs within 60 s with the same partner."""
    pairs = _repeated_pairs(table)
    return set(pairs["account_id"]) | set(pairs["account_id_y"])


@pytest.mark.slow
def test_german_posts_rank_label_free_by_repeated_coordination(german_snapshot) -> None:
    snap, table = german_snapshot
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["steps"]["ranking"]["ranking"] == "label_free"
    assert manifest["rejected"] == 0
    assert {"urls", "object_ids", "message_id"} <= set(manifest["input_fields"]["used"])
    clusters = pl.read_parquet(snap / "clusters.parquet").sort("rank")
    top = clusters.head(20)
    assert top["flagged"].all() and top["score"].n_unique() >= 18  # no mass of size ties
    # clusters with equal evidence (same co-share counts, same activity) tie on score and
    # strength; they follow their ids, never their sizes
    for _, tied in top.filter(pl.col("score").is_duplicated()).group_by("score"):
        assert tied.sort("rank")["cluster_id"].is_sorted()
    # no cluster without repeated co-sharing is said to act in lockstep
    lockstep = clusters.filter(pl.col("summary").str.contains("lockstep"))
    assert (lockstep["max_shared_items"] >= 2).all()
    members = pl.read_parquet(snap / "members.parquet")
    core = _repeated_core(table)
    top_members = members.filter(pl.col("cluster_id").is_in(top["cluster_id"].implode()))
    assert top_members["actor_id"].is_in(list(core)).mean() >= 0.85
    evidence = pl.read_parquet(snap / "evidence.parquet")
    url = evidence.filter(pl.col("layer") == "url")
    assert (url["n_items"] >= 2).all() and (url["max_gap_ms"] <= 60_000).all()


@pytest.mark.slow
def test_german_textbook_network_is_one_top_ring_and_its_associates_are_flagged(
    german_snapshot,
) -> None:
    import networkx as nx

    snap, table = german_snapshot
    pairs = _repeated_pairs(table, window=10)
    graph = nx.Graph(pairs.select("account_id", "account_id_y").rows())
    network = max(nx.connected_components(graph), key=len)
    assert len(network) == 45  # the textbook network
    clusters = pl.read_parquet(snap / "clusters.parquet").sort("rank")
    members = pl.read_parquet(snap / "members.parquet")
    holding = members.filter(pl.col("actor_id").is_in(list(network)))
    assert holding["cluster_id"].n_unique() == 1  # kept whole, not split or trimmed
    rank = clusters.filter(pl.col("cluster_id") == holding["cluster_id"][0])["rank"].item()
    assert rank <= 20
    actors = pl.read_parquet(snap / "actors.parquet")
    flagged = actors.filter(pl.col("flagged"))
    rings = clusters.filter(pl.col("flagged"))["cluster_id"]
    in_rings = members.filter(pl.col("cluster_id").is_in(rings.implode()))
    assert set(in_rings["actor_id"]) < set(flagged["actor_id"])  # members and associates
    assert flagged["flagged_via"].is_in(rings.implode()).all()
    assert not actors.filter(~pl.col("flagged"))["flagged_via"].is_not_null().any()


def test_ingest_rejects_malformed_shared_objects_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        "ts,actor_id,event_type,urls,object_ids,target_id,lang\n"
        "1629600000.25,a,post,HTTPS://X.com/a?utm_source=t|https://y.org/b,#t|phash:9,,de\n"
        "1629600001,b,post,not a url,,,de\n"
        "1629600002,c,post,,bad\x01id,,de\n"
        "1629600003,d,review,,,prod\x02uct,de\n"
        "1629600004,e,review,,,product-1,de\n"
    )
    result = ingest([path], keyring=KEY, max_reject_rate=1.0)
    assert dict(zip(result.rejects["position"], result.rejects["reason"], strict=True)) == {
        3: "invalid_url",
        4: "invalid_object_id",
        5: "invalid_target_id",
    }
    first = result.events.filter(pl.col("actor_id") == "a").row(0, named=True)
    assert first["ts"] == 1_629_600_000_250
    assert len(first["urls"]) == 2 and first["domains"] == ["x.com", "y.org"]
    assert sorted(k.split(":")[0] for k in first["object_ids"]) == ["hashtag", "media"]
    assert result.input_fields["unused"] == ["lang"]
    assert "target_id" in result.input_fields["used"]


def test_import_sharing_command_converts_the_coortweet_layout(tmp_path: Path) -> None:
    from ringscope.cli import main

    table = tmp_path / "shares.csv"
    table.write_text(
        "object_id,account_id,content_id,timestamp_share\n"
        "t1,a,p1,1623900000\n"
        "t1,b,p2,1623900004.5\n"
        "p3,c,p3,1623900009\n"  # an original post: its object is itself, no share
        "https://Example.com/x?utm_source=z,c,p4,1623900010\n"
    )
    out = tmp_path / "events.parquet"
    assert main(["import-sharing", str(table), "--out", str(out)]) == 0
    events = pl.read_parquet(out).sort("message_id")
    assert events["message_id"].to_list() == ["p1", "p2", "p3", "p4"]
    assert events["object_ids"].to_list() == [["post:t1"], ["post:t1"], [], []]
    assert events["urls"].to_list()[3] == ["https://Example.com/x?utm_source=z"]
    assert main(["import-sharing", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    assert main(["import-sharing", str(out), "--out", str(tmp_path / "again.parquet")]) == 2
