"""Simulated review loop: verdicts on one world's top clusters reorder the next world.

python bench/bench_feedback.py --legit 3000 --pairs 5

For each pair of seeds (A, B), on worlds with the wide look-alike mix (proportions drawn
per world):

* **before**: world B run into a fresh root (no verdicts);
* **after**: world A run into a root, served by the real API (uvicorn); an investigator
  key gives a verdict from A's truth to each of A's top ``--judge`` clusters over HTTP
  (``confirmed`` when most members are ring members, else ``dismissed``); then world B
  is run into the same root, so ``ringscope run`` reads the verdicts the server stored;
* **next period**: world A over twice the days, split in two periods; period 1 run,
  judged the same way, then period 2 run into the same root (lineage carries verdicts).

Reported per world: precision@10, the rank of the first look-alike cluster and how many
ring clusters rank below it; for next periods also the actor risk of ring members vs
look-alike members before and after (the risk model learns from the verdicts' members).
``--train-10k`` also times the ranker on 10,000 verdicts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
from common import OUT, SECRET, ringscope
from http_load import api_server

JUDGE_DEFAULT = 30


def _world(legit: int, seed: int, days: int) -> Path:
    path = OUT / f"feedback-world-{legit}-{seed}-{days}d"
    if not (path / "truth.json").exists():
        ringscope(
            "generate", "--out", str(path), "--legit", str(legit), "--seed", str(seed),
            "--days", str(days), "--lookalikes", "wide",
        )  # fmt: skip
    return path


def _periods(world: Path, days: int) -> tuple[Path, Path]:
    """World events split at the middle of the window into two event files."""
    first, second = world / "period-1" / "events.jsonl.gz", world / "period-2" / "events.jsonl.gz"
    if second.exists():
        return first, second
    truth = json.loads((world / "truth.json").read_text())
    start = truth["config"]["start"]
    middle = int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1000)
    middle += days // 2 * 86_400_000
    first.parent.mkdir(exist_ok=True)
    second.parent.mkdir(exist_ok=True)
    with (
        gzip.open(world / "events.jsonl.gz", "rt") as src,
        gzip.open(first, "wt") as a,
        gzip.open(second, "wt") as b,
    ):
        for line in src:
            (a if _ts_ms(json.loads(line)["ts"]) < middle else b).write(line)
    return first, second


def _ts_ms(ts: Any) -> int:
    """The generator's timestamp formats: epoch s or ms, ISO with or without offset."""
    if isinstance(ts, int | float):
        return int(ts if ts > 10**11 else ts * 1000)
    text = ts.replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _run(events: Path, root: Path) -> Path:
    ringscope("run", str(events), "--out", str(root))
    return root


def _labels(root: Path, world: Path) -> list[Any]:
    from ringscope.evaluation.rings import evaluate_snapshot
    from ringscope.snapshot import resolve_snapshot

    report = evaluate_snapshot(resolve_snapshot(root), world / "truth.json", k=100_000)
    return sorted(report.top_clusters, key=lambda c: c.rank)


def _by_prior(root: Path) -> Path:
    """A copy of the root's latest snapshot ranked by the prior score alone: what a run
    without verdicts ranks (exact for another world's run: no verdict names its accounts,
    so the prior score is the one a fresh root gives)."""
    import polars as pl

    from ringscope.snapshot import resolve_snapshot

    snap = resolve_snapshot(root)
    out = root.parent / f"{root.name}-by-prior"
    shutil.rmtree(out, ignore_errors=True)
    (out / snap.name).mkdir(parents=True)
    for name in ("actors", "members", "manifest"):
        for f in snap.glob(f"{name}.*"):
            shutil.copy(f, out / snap.name / f.name)
    clusters = pl.read_parquet(snap / "clusters.parquet").sort(
        ["prior_score", "size", "cluster_id"], descending=[True, True, False]
    )
    clusters.with_columns(
        pl.col("prior_score").alias("score"), pl.int_range(1, pl.len() + 1).alias("rank")
    ).write_parquet(out / snap.name / "clusters.parquet")
    (out / "LATEST").write_text(snap.name)
    return out


def _metrics(root: Path, world: Path) -> dict[str, Any]:
    """precision@10 and look-alikes in the top 10 as ``ringscope evaluate`` counts them
    (the top min(10, rings in the truth)), the first look-alike over the whole ranking."""
    from ringscope.evaluation.rings import evaluate_snapshot
    from ringscope.snapshot import resolve_snapshot

    top = evaluate_snapshot(resolve_snapshot(root), world / "truth.json", k=10)
    ranked = _labels(root, world)
    first = next((c for c in ranked if c.label.startswith("lookalike:")), None)
    below = sum(c.label.startswith("ring:") and c.rank > first.rank for c in ranked) if first else 0
    return {
        "precision_at_10": round(top.precision_at_k, 3),
        "first_lookalike": first.rank if first else None,
        "first_lookalike_kind": first.label.split(":")[1] if first else None,
        "rings_below": below,
        "lookalikes_in_top_10": top.lookalikes_in_top_k,
    }


def _http(base: str, method: str, path: str, key: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _judge(root: Path, world: Path, n: int) -> dict[str, int]:
    """Verdicts from the truth on the top ``n`` clusters, through the real API."""
    from ringscope.api.settings import default_database_url
    from ringscope.store import open_store

    store = open_store(default_database_url(root))
    try:
        key = store.create_key(f"bench-{time.time_ns()}", "investigator")[1]
    finally:
        store.close()
    truth = {c.cluster_id: c.label for c in _labels(root, world)}
    counts = {"confirmed": 0, "dismissed": 0}
    env = {"RINGSCOPE_SNAPSHOT_ROOT": str(root), "RINGSCOPE_SECRET_KEY": SECRET}
    with api_server(env, timeout_s=180) as server:
        base = f"http://{server.host}:{server.port}"
        page = _http(base, "GET", f"/v1/clusters?limit={n}", key)
        for item in page["items"]:
            verdict = "confirmed" if truth[item["cluster_id"]].startswith("ring:") else "dismissed"
            _http(
                base,
                "POST",
                f"/v1/clusters/{item['cluster_id']}/verdicts",
                key,
                {"verdict": verdict, "investigator": "bench", "snapshot_id": page["snapshot_id"]},
            )
            counts[verdict] += 1
    return counts


def _fresh(name: str) -> Path:
    root = OUT / name
    shutil.rmtree(root, ignore_errors=True)
    return root


def _pair(legit: int, days: int, a: int, b: int, judge: int, prior_before: bool) -> dict[str, Any]:
    world_a, world_b = _world(legit, a, days), _world(legit, b, days)
    if not prior_before:
        before = _metrics(_run(world_b / "events.jsonl.gz", _fresh(f"fb-before-{b}")), world_b)
    root = _run(world_a / "events.jsonl.gz", _fresh(f"fb-after-{a}-{b}"))
    verdicts = _judge(root, world_a, judge)
    after = _metrics(_run(world_b / "events.jsonl.gz", root), world_b)
    if prior_before:
        before = _metrics(_by_prior(root), world_b)
    return {"a": a, "b": b, "verdicts": verdicts, "before": before, "after": after}


def _member_risk(root: Path, world: Path) -> dict[str, float]:
    """The actor risk of ring members vs look-alike members: AUROC, and how many
    look-alike members reach risk 0.5 (what verdicts teach the risk model)."""
    import numpy as np
    import polars as pl
    from sklearn.metrics import roc_auc_score

    from ringscope.snapshot import resolve_snapshot

    truth = json.loads((world / "truth.json").read_text())
    rings = {m for r in truth["rings"] for m in r["members"]}
    alike = {m for g in truth["lookalikes"] for m in g["members"]} - rings
    actors = pl.read_parquet(resolve_snapshot(root) / "actors.parquet")
    actors = actors.filter(pl.col("actor_id").is_in(list(rings | alike)))
    ring = np.array([a in rings for a in actors["actor_id"]])
    risk = actors["risk_score"].to_numpy()
    return {
        "ring_vs_lookalike_auroc": round(float(roc_auc_score(ring, risk)), 4),
        "lookalike_members_at_risk_0_5": int((risk[~ring] >= 0.5).sum()),
    }


def _next_period(legit: int, days: int, a: int, judge: int, reuse: bool) -> dict[str, Any]:
    world = _world(legit, a, 2 * days)
    first, second = _periods(world, 2 * days)
    before_root = OUT / f"fb-next-before-{a}"
    if not (reuse and (before_root / "LATEST").exists()):  # a run without verdicts
        before_root = _run(second, _fresh(before_root.name))
    before = _metrics(before_root, world)
    root = _run(first, _fresh(f"fb-next-after-{a}"))
    verdicts = _judge(root, world, judge)
    after = _metrics(_run(second, root), world)
    risk = {"before": _member_risk(before_root, world), "after": _member_risk(root, world)}
    return {"a": a, "verdicts": verdicts, "before": before, "after": after, "member_risk": risk}


def _ok(m: dict[str, Any]) -> bool:
    """The issue's target on one world: no look-alike in the top 10, <= 1 ring below."""
    return m["lookalikes_in_top_10"] == 0 and m["rings_below"] <= 1


def _row(name: str, r: dict[str, Any]) -> str:
    b, f = r["before"], r["after"]
    cells = [
        f"{b['precision_at_10']:.1f} → {f['precision_at_10']:.1f}",
        f"{b['first_lookalike']} ({b['first_lookalike_kind']}) → "
        f"{f['first_lookalike']} ({f['first_lookalike_kind']})",
        f"{b['rings_below']} → {f['rings_below']}",
        f"{r['verdicts']['confirmed']}/{r['verdicts']['dismissed']}",
        f"{'✓' if _ok(b) else '✗'} → {'✓' if _ok(f) else '✗'}",
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


def _train_10k() -> dict[str, float]:
    """Seconds for 10,000 verdicts in a real SQLite store: read them (the ``verdicts``
    step), build the examples and train the ranker (the ``feedback`` step's work)."""
    import tempfile

    import numpy as np

    from ringscope.config import FeedbackConfig
    from ringscope.feedback.features import RANKER_FEATURES
    from ringscope.feedback.labels import examples
    from ringscope.feedback.ranker import train_ranker
    from ringscope.feedback.step import load_feedback
    from ringscope.store import open_store

    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    rows = []
    for i in range(10_000):
        y = i % 2
        x = rng.random(len(RANKER_FEATURES)) * 0.6 + 0.3 * y
        rows.append(
            {
                "cluster_id": f"c{i:06d}",
                "verdict": "confirmed" if y else "dismissed",
                "investigator": f"inv{i % 7}",
                "created_at": now,
                "snapshot_id": f"s{i % 40}",
                "features": dict(zip(RANKER_FEATURES, x.tolist(), strict=True)),
                "actor_ids": [f"a{i}-{k}" for k in range(5)],
            }
        )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/verdicts.sqlite3"
        store = open_store(url)
        store.import_verdicts(rows, [], principal="bench")
        store.close()
        t0 = time.perf_counter()
        feedback = load_feedback(Path(tmp), url)
        train, _ = examples(feedback.verdicts, feedback.labels, lambda s, c: None)
        t1 = time.perf_counter()
        train_ranker(train, FeedbackConfig())
        t2 = time.perf_counter()
    return {"read_and_label_s": round(t1 - t0, 2), "train_s": round(t2 - t1, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=3000)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--judge", type=int, default=JUDGE_DEFAULT)
    parser.add_argument("--first-seed", type=int, default=101)
    parser.add_argument("--no-next-period", action="store_true")
    parser.add_argument("--no-pairs", action="store_true", help="only the next-period runs")
    parser.add_argument("--train-10k", action="store_true")
    parser.add_argument(
        "--prior-before",
        action="store_true",
        help="pairs: take 'before' from the after run's prior score instead of a third "
        "run; next periods: reuse a 'before' root left by an earlier run (no verdicts)",
    )
    args = parser.parse_args()
    if args.train_10k:
        print(f"10,000 verdicts: {_train_10k()}")
    header = (
        "| world | precision@10 | first look-alike (kind) | rings below it "
        "| verdicts (conf/dism) | target |"
    )
    print(header + "\n|---|---|---|---|---|---|", flush=True)
    results = []
    for i in range(0 if args.no_pairs else args.pairs):
        a, b = args.first_seed + 2 * i, args.first_seed + 2 * i + 1
        r = _pair(args.legit, args.days, a, b, args.judge, args.prior_before)
        results.append(r)
        print(_row(f"B={b} after A={a}", r), flush=True)
    if not args.no_next_period:
        for i in range(args.pairs):
            a = args.first_seed + 2 * i
            r = _next_period(args.legit, args.days, a, args.judge, args.prior_before)
            results.append(r | {"next_period": True})
            print(_row(f"A={a} period 2 after period 1", r), flush=True)
            print(f"  actor risk, ring vs look-alike members: {r['member_risk']}", flush=True)
    for label, chosen in (("other-world pairs", [r for r in results if "b" in r]),
                          ("next periods", [r for r in results if "b" not in r])):  # fmt: skip
        if chosen:
            met = sum(_ok(r["after"]) for r in chosen)
            print(f"{label} meeting the target after verdicts: {met} of {len(chosen)}")
    (OUT / "feedback.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    common.OUT.mkdir(exist_ok=True)
    main()
