"""Synthetic worlds: deterministic, schema-valid, complete ground truth, every format."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl
import pyarrow.parquet as pq
import pytest

from ringscope.errors import ConfigError
from ringscope.worlds import (
    LOOKALIKE_KINDS,
    RING_KINDS,
    WorldConfig,
    config_for_records,
    generate_world,
    write_world,
)

SMALL = WorldConfig(n_legit=600, days=10)
EVENT_TYPES = {"signup", "login", "message", "report", "suspension", "profile_update"}
STR_FIELDS = (
    "event_id",
    "actor_id",
    "event_type",
    "message_id",
    "subject",
    "text",
    "ip",
    "device_id",
    "email",
    "phone",
    "display_name",
    "target_id",
    "reason",
    "channel",
)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _read_jsonl(paths: list[Path]) -> list[dict]:
    out = []
    for p in paths:
        with gzip.open(p, "rb") as fh:
            out.extend(orjson.loads(line) for line in fh)
    return out


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict, list[Path]]:
    out = tmp_path_factory.mktemp("world")
    paths = write_world(generate_world(SMALL, seed=11), out)
    records = _read_jsonl(paths[:-1])
    truth = json.loads(paths[-1].read_text())
    return records, truth, paths


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = write_world(generate_world(SMALL, seed=5), tmp_path / "a")
    b = write_world(generate_world(SMALL, seed=5), tmp_path / "b")
    c = write_world(generate_world(SMALL, seed=6), tmp_path / "c")
    assert [_md5(p) for p in a] == [_md5(p) for p in b]
    assert _md5(a[0]) != _md5(c[0])


@pytest.mark.slow
def test_parallel_workers_write_the_same_bytes(tmp_path: Path) -> None:
    world = generate_world(SMALL, seed=5)
    one = write_world(world, tmp_path / "one", workers=1, shards=2)
    two = write_world(world, tmp_path / "two", workers=2, shards=2)
    assert [_md5(p) for p in one] == [_md5(p) for p in two]


def test_records_follow_the_contract(small_world: tuple[list[dict], dict, list[Path]]) -> None:
    records, truth, _ = small_world
    assert len(records) == truth["n_records"]
    id_pattern = re.compile(r"^u[0-9a-f]{8}$")
    for r in records:
        assert isinstance(r["actor_id"], str) and id_pattern.match(r["actor_id"])
        assert r["event_type"] in EVENT_TYPES
        ts = r["ts"]
        if isinstance(ts, int):
            assert 1_000_000_000 <= ts < 10**13
        else:
            assert isinstance(ts, str)
            parsed = datetime.fromisoformat(ts)
            assert parsed.year >= 2000
        for f in STR_FIELDS:
            if f in r:
                assert isinstance(r[f], str), (f, r)
        for f in ("recipients", "urls"):
            if f in r:
                assert isinstance(r[f], list) and all(isinstance(x, str) for x in r[f])
        if r["event_type"] == "message":
            assert r["message_id"] and r["recipients"]
        if r["event_type"] == "report":
            assert id_pattern.match(r["target_id"])
        if r["event_type"] == "signup":
            assert "@" in r["email"] and r["display_name"]


def test_timestamps_mix_formats_and_stay_in_window(
    small_world: tuple[list[dict], dict, list[Path]],
) -> None:
    records, _, _ = small_world
    kinds = Counter()
    for r in records:
        ts = r["ts"]
        if isinstance(ts, int):
            kinds["ms" if ts > 10**11 else "s"] += 1
        elif ts.endswith("Z"):
            kinds["z"] += 1
        elif re.search(r"[+-]\d\d:\d\d$", ts):
            kinds["offset"] += 1
        else:
            kinds["naive"] += 1
    assert kinds["z"] / len(records) > 0.85
    for k in ("s", "ms", "offset", "naive"):
        assert kinds[k] > 0, kinds
    end = SMALL.start_ms + SMALL.days * 86_400_000
    in_window = [r for r in records if r["event_type"] != "signup"]
    assert all(_ms(r["ts"]) < end for r in in_window)
    assert all(_ms(r["ts"]) >= SMALL.start_ms for r in in_window)


def _ms(ts: int | str) -> int:
    if isinstance(ts, int):
        return ts if ts > 10**11 else ts * 1000
    dt = datetime.fromisoformat(ts)
    if dt.tzinfo is None:  # no zone means UTC (CONTRACT.md)
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def test_ids_unique_except_injected_duplicates(
    small_world: tuple[list[dict], dict, list[Path]],
) -> None:
    records, _, _ = small_world
    by_id: dict[str, list[dict]] = {}
    for r in records:
        by_id.setdefault(r["event_id"], []).append(r)
    dups = [v for v in by_id.values() if len(v) > 1]
    assert 0.002 < len(dups) / len(records) < 0.01
    assert all(v[0] == v[1] for v in dups)  # exact copies
    sender: dict[str, str] = {}
    for r in records:
        if r["event_type"] == "message":
            assert sender.setdefault(r["message_id"], r["actor_id"]) == r["actor_id"]
    multi = Counter(r["message_id"] for r in records if r["event_type"] == "message")
    assert any(n > 1 for n in multi.values()), "some messages span several records"


def test_truth_is_complete(small_world: tuple[list[dict], dict, list[Path]]) -> None:
    records, truth, _ = small_world
    actors = {r["actor_id"] for r in records}
    assert truth["n_actors"] == len(actors)
    assert {"seed", "config", "rings", "lookalikes", "n_actors", "n_records"} <= set(truth)
    sizes = {
        "spam_blast": SMALL.spam_blast_size,
        "camouflaged": SMALL.camouflaged_size,
        "harassment": SMALL.harassment_size,
        "reregistration": (1 + SMALL.reregistration_new[0], 1 + SMALL.reregistration_new[1]),
    }
    assert {r["kind"] for r in truth["rings"]} == set(RING_KINDS)
    for ring in truth["rings"]:
        lo, hi = sizes[ring["kind"]]
        assert lo <= len(ring["members"]) <= hi, ring["kind"]
        assert set(ring["members"]) <= actors
    assert {g["kind"] for g in truth["lookalikes"]} == set(LOOKALIKE_KINDS)
    group_sizes = {"newsletter": (2, 5), "family": (2, 4), "nat": (50, 300), "viral": (50, 2000)}
    for g in truth["lookalikes"]:
        lo, hi = group_sizes[g["kind"]]
        assert lo <= len(g["members"]) <= hi, g["kind"]
        assert set(g["members"]) <= actors
    ring_members = [a for r in truth["rings"] for a in r["members"]]
    assert len(ring_members) == len(set(ring_members)), "rings are disjoint"
    legit_groups = {a for g in truth["lookalikes"] for a in g["members"]}
    assert not legit_groups & set(ring_members)


def test_labels_are_present_but_partial(small_world: tuple[list[dict], dict, list[Path]]) -> None:
    records, truth, _ = small_world
    ring_of = {a: r["kind"] for r in truth["rings"] for a in r["members"]}
    suspended = {r["actor_id"] for r in records if r["event_type"] == "suspension"}
    reported = {r["target_id"] for r in records if r["event_type"] == "report"}
    assert suspended & set(ring_of)
    assert len(suspended & set(ring_of)) < len(ring_of)
    assert reported - set(ring_of), "false reports hit legit accounts"
    banned = [r for r in truth["rings"] if r["kind"] == "reregistration"]
    assert all(set(r["members"]) & suspended for r in banned)


def test_every_format_is_readable(tmp_path: Path) -> None:
    world = generate_world(SMALL, seed=3)
    counts = {}
    for fmt in ("jsonl", "csv", "parquet"):
        paths = write_world(world, tmp_path / fmt, fmt=fmt, shards=2)
        names = [p.name for p in paths]
        ext = {"jsonl": ".jsonl.gz", "csv": ".csv.gz", "parquet": ".parquet"}[fmt]
        assert names == [f"events-000{ext}", f"events-001{ext}", "truth.json"]
        truth = json.loads(paths[-1].read_text())
        if fmt == "jsonl":
            n = len(_read_jsonl(paths[:-1]))
        elif fmt == "csv":
            frames = [pl.read_csv(p, infer_schema=False) for p in paths[:-1]]
            df = pl.concat(frames)
            msgs = df.filter(pl.col("event_type") == "message")
            assert msgs["recipients"].null_count() == 0
            n = df.height
        else:
            tables = [pq.read_table(p) for p in paths[:-1]]
            assert str(tables[0].schema.field("recipients").type) == "list<element: string>"
            assert str(tables[0].schema.field("ts").type) == "string"
            n = sum(t.num_rows for t in tables)
        assert n == truth["n_records"]
        counts[fmt] = n
    assert len(set(counts.values())) == 1


def test_record_count_scales_with_the_request() -> None:
    cfg = config_for_records(60_000, days=7)
    world = generate_world(cfg, seed=1)
    n = sum(len(b) for b in world.batches())
    assert 0.8 * 60_000 < n < 1.2 * 60_000
    assert WorldConfig.scaled(50_000).n_legit == 50_000
    assert (
        WorldConfig.scaled(50_000).ring_counts["spam_blast"]
        > WorldConfig().ring_counts["spam_blast"]
    )


def test_default_world_has_the_advertised_shape() -> None:
    cfg = WorldConfig()
    counts = cfg.ring_counts
    assert 8 <= sum(counts.values()) <= 14
    world = generate_world(cfg, seed=4)
    ring_actors = sum(len(g.members) for g in world.rings)
    assert 0.025 < ring_actors / world.n_actors < 0.07


def test_wide_worlds_draw_their_own_look_alike_mix(tmp_path: Path) -> None:
    from ringscope.worlds.lookalikes_wide import WIDE_KINDS

    mixes = []
    for seed in (1, 2, 3):
        world = generate_world(WorldConfig(n_legit=600, days=10, lookalike_mix="wide"), seed=seed)
        kinds = Counter(g.kind for g in world.lookalikes)
        assert set(LOOKALIKE_KINDS) <= set(kinds)
        assert sum(kinds[k] for k in WIDE_KINDS) == len(WIDE_KINDS)  # 600 legit: 6 groups
        assert all(len(g.members) >= 1 for g in world.lookalikes)
        mixes.append(tuple(kinds[k] for k in WIDE_KINDS))
    assert len(set(mixes)) > 1, "proportions are drawn per world"
    classic = generate_world(SMALL, seed=1)
    assert {g.kind for g in classic.lookalikes} == set(LOOKALIKE_KINDS)
    paths = write_world(world, tmp_path / "wide")
    truth = json.loads((tmp_path / "wide" / "truth.json").read_text())
    assert {g["kind"] for g in truth["lookalikes"]} & set(WIDE_KINDS)
    assert any(p.name.startswith("events") for p in paths)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_legit": 10},
        {"days": 3},
        {"spam_blast_size": (10, 5)},
        {"duplicate_rate": 2.0},
        {"lookalike_mix": "odd"},
        {"mobile_hosts": 0},
    ],
)
def test_invalid_config_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        WorldConfig(**kwargs)


def test_seed_must_be_a_non_negative_int() -> None:
    with pytest.raises(ConfigError):
        generate_world(SMALL, seed=-1)


def _users_per_address(cfg: WorldConfig, out: Path) -> Counter[str]:
    paths = [p for p in write_world(generate_world(cfg, seed=5), out) if p.name.startswith("ev")]
    users: dict[str, set[str]] = {}
    for r in _read_jsonl(paths):
        if r.get("ip"):
            users.setdefault(r["ip"], set()).add(r["actor_id"])
    return Counter({ip: len(actors) for ip, actors in users.items()})


def test_a_carrier_nat_puts_many_users_behind_each_mobile_address(tmp_path: Path) -> None:
    default = _users_per_address(SMALL, tmp_path / "default")
    nat = _users_per_address(SMALL.with_settings({"mobile_hosts": "1"}), tmp_path / "nat")
    assert len(nat) < 0.8 * len(default)
    tenth = [c.most_common(10)[-1][1] for c in (default, nat)]  # past the office NATs
    assert tenth[1] > 3 * tenth[0]


def test_world_settings_are_parsed_as_their_fields_types() -> None:
    cfg = SMALL.with_settings(
        {"nat_size": "1000,2000", "n_family": "40", "n_viral": "none", "message_volume": "1.5"}
    )
    assert (cfg.nat_size, cfg.n_family, cfg.n_viral, cfg.message_volume) == (
        (1000, 2000),
        40,
        None,
        1.5,
    )
    assert cfg.days == SMALL.days
    for bad in ({"nat_sise": "5"}, {"nat_size": "5"}, {"n_family": "many"}, {"days": "2"}):
        with pytest.raises(ConfigError):
            SMALL.with_settings(bad)
