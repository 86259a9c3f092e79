"""Score a snapshot against a synthetic world's ground truth (``truth.json``).

The metrics answer the questions an investigator has: are the rings found whole
(best-cluster Jaccard), does the actor score separate ring members from everyone else
(AUROC, AUPRC, recall at the takedown threshold), is the top of the ranked list worth
reading (precision@k), and does the ranking avoid legit groups that merely look
coordinated (look-alike clusters in the top k).

The "top k" of the two ranking metrics holds ``min(k, number of rings)`` clusters, so a
perfect ranking scores precision 1 and no look-alikes on any world, including worlds
with fewer rings than k (where clusters past the last ring are necessarily not rings).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Group as RichGroup
from rich.table import Table
from sklearn.metrics import average_precision_score, roc_auc_score

from ringscope.errors import SnapshotError

__all__ = [
    "TARGETS",
    "ClusterLabel",
    "EvaluationReport",
    "RingScore",
    "evaluate_snapshot",
    "passes_targets",
]

#: Targets a detector should meet on a default world: metric -> (threshold, direction).
TARGETS: dict[str, tuple[float, str]] = {
    "weighted_jaccard": (0.8, ">="),
    "precision_at_k": (0.9, ">="),
    "lookalikes_in_top_k": (0.0, "<="),
    "auroc": (0.95, ">="),
}

_MAJORITY = 0.5


@dataclass(frozen=True)
class RingScore:
    """How well one ring was recovered."""

    ring_id: str
    kind: str
    size: int
    best_cluster: str | None
    jaccard: float
    recall: float  # share of members with risk_score >= threshold


@dataclass(frozen=True)
class ClusterLabel:
    """What a ranked cluster turned out to be."""

    cluster_id: str
    rank: int
    score: float
    size: int
    label: str  # "ring:<kind>", "lookalike:<kind>" or "other"
    purity: float  # share of members from the majority ring set / look-alike group


@dataclass
class EvaluationReport:
    """Metrics of one snapshot against one ground truth; ``to_dict`` is JSON-ready."""

    k: int
    k_effective: int  # min(k, rings in the truth): the top the ranking metrics look at
    threshold: float
    n_actors: int
    n_ring_actors: int
    n_clusters: int
    weighted_jaccard: float
    jaccard_by_kind: dict[str, float]
    auroc: float | None
    auprc: float | None
    precision_at_k: float
    lookalikes_in_top_k: int
    recall: float
    recall_by_kind: dict[str, float]
    false_positives: int  # non-ring actors with risk_score >= threshold
    lookalike_actors_flagged: int
    rings: list[RingScore] = field(default_factory=list)
    top_clusters: list[ClusterLabel] = field(default_factory=list)

    @property
    def targets(self) -> dict[str, dict[str, Any]]:
        """Each target with its value, threshold and whether it is met."""
        out: dict[str, dict[str, Any]] = {}
        for name, (bound, op) in TARGETS.items():
            value = getattr(self, name)
            ok = value is not None and (value >= bound if op == ">=" else value <= bound)
            out[name] = {"value": value, "target": f"{op} {bound:g}", "passed": bool(ok)}
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN-free: undefined metrics are None)."""
        d = asdict(self)
        d["targets"] = self.targets
        d["passes_targets"] = passes_targets(self)
        return _clean(d)

    def render(self) -> RichGroup:
        """Rich renderables for the CLI: headline metrics, per-kind table, top clusters."""
        head = Table(title="Evaluation against ground truth", show_lines=False)
        head.add_column("metric")
        head.add_column("value", justify="right")
        head.add_column("target", justify="right")
        head.add_column("", justify="center")
        targets = self.targets
        rows: list[tuple[str, str, object]] = [
            ("weighted_jaccard", "size-weighted best-cluster Jaccard", self.weighted_jaccard),
            ("auroc", "actor AUROC", self.auroc),
            ("auprc", "actor AUPRC", self.auprc),
            ("precision_at_k", f"precision@{self.k_effective}", self.precision_at_k),
            (
                "lookalikes_in_top_k",
                f"look-alike clusters in top {self.k_effective}",
                self.lookalikes_in_top_k,
            ),
            ("recall", f"ring actors with risk >= {self.threshold:g}", self.recall),
            (
                "false_positives",
                f"other actors with risk >= {self.threshold:g}",
                self.false_positives,
            ),
        ]
        for key, label, value in rows:
            t = targets.get(key)
            mark = "" if t is None else ("[green]✓[/]" if t["passed"] else "[red]✗[/]")
            head.add_row(label, _fmt(value), t["target"] if t else "", mark)

        kinds = Table(title="By ring kind")
        kinds.add_column("kind")
        kinds.add_column("rings", justify="right")
        kinds.add_column("actors", justify="right")
        kinds.add_column("Jaccard", justify="right")
        kinds.add_column("recall", justify="right")
        per_kind: dict[str, list[RingScore]] = defaultdict(list)
        for r in self.rings:
            per_kind[r.kind].append(r)
        for kind in sorted(per_kind):
            rs = per_kind[kind]
            kinds.add_row(
                kind,
                str(len(rs)),
                str(sum(r.size for r in rs)),
                _fmt(self.jaccard_by_kind.get(kind)),
                _fmt(self.recall_by_kind.get(kind)),
            )

        top = Table(title=f"Top {self.k} clusters")
        top.add_column("rank", justify="right")
        top.add_column("cluster")
        top.add_column("size", justify="right")
        top.add_column("score", justify="right")
        top.add_column("truth")
        top.add_column("purity", justify="right")
        for c in self.top_clusters:
            style = (
                "red"
                if c.label.startswith("lookalike")
                else ("" if c.label.startswith("ring") else "yellow")
            )
            top.add_row(
                str(c.rank),
                c.cluster_id,
                str(c.size),
                _fmt(c.score),
                f"[{style}]{c.label}[/]" if style else c.label,
                _fmt(c.purity),
            )
        if not self.top_clusters:
            top.add_row("-", "(no clusters)", "", "", "", "")
        return RichGroup(head, kinds, top)


def passes_targets(report: EvaluationReport) -> bool:
    """Whether every target in :data:`TARGETS` is met."""
    return all(t["passed"] for t in report.targets.values())


def _fmt(v: object) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _read(snapshot_dir: Path, name: str, columns: tuple[str, ...]) -> pl.DataFrame:
    path = snapshot_dir / f"{name}.parquet"
    if not path.exists():
        raise SnapshotError(f"snapshot {snapshot_dir} has no {name}.parquet")
    df = pl.read_parquet(path)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SnapshotError(f"{path} lacks columns {', '.join(missing)}")
    return df


def _load_truth(truth_path: Path) -> dict[str, Any]:
    try:
        truth = json.loads(Path(truth_path).read_text())
    except FileNotFoundError:
        raise SnapshotError(f"truth file not found: {truth_path}") from None
    if "rings" not in truth:
        raise SnapshotError(f"{truth_path} has no 'rings' list")
    return truth


def evaluate_snapshot(
    snapshot_dir: Path, truth_path: Path, *, k: int = 10, threshold: float = 0.5
) -> EvaluationReport:
    """Score a snapshot (CONTRACT.md §2 files) against a world's ``truth.json``.

    Args:
        snapshot_dir: directory with ``actors``, ``clusters`` and ``members`` parquet files.
        truth_path: the ``truth.json`` written with the world's events.
        k: how many top-ranked clusters precision and the look-alike count look at
            (fewer when the truth has fewer rings than k).
        threshold: risk score at which an actor counts as flagged.

    Returns:
        The report. Undefined metrics (AUROC with one class) are None; with no ranked
        clusters, precision@k is 0 and every ring's Jaccard is 0.
    """
    snapshot_dir = Path(snapshot_dir)
    truth = _load_truth(truth_path)
    actors = _read(snapshot_dir, "actors", ("actor_id", "risk_score"))
    clusters = _read(snapshot_dir, "clusters", ("cluster_id", "rank", "score", "size"))
    members = _read(snapshot_dir, "members", ("cluster_id", "actor_id"))

    ring_of: dict[str, str] = {}
    kind_of_ring: dict[str, str] = {}
    rings: dict[str, set[str]] = {}
    for r in truth["rings"]:
        rings[r["ring_id"]] = set(r["members"])
        kind_of_ring[r["ring_id"]] = r["kind"]
        for a in r["members"]:
            ring_of[a] = r["ring_id"]
    group_of: dict[str, str] = {}
    kind_of_group: dict[str, str] = {}
    for g in truth.get("lookalikes", []):
        kind_of_group[g["group_id"]] = g["kind"]
        for a in g["members"]:
            group_of.setdefault(a, g["group_id"])

    # cluster membership
    cluster_members: dict[str, set[str]] = defaultdict(set)
    for cid, aid in zip(
        members["cluster_id"].cast(pl.Utf8).to_list(),
        members["actor_id"].cast(pl.Utf8).to_list(),
        strict=True,
    ):
        cluster_members[cid].add(aid)
    clusters_of: dict[str, list[str]] = defaultdict(list)
    for cid, ms in cluster_members.items():
        for a in ms:
            clusters_of[a].append(cid)

    # actor scores
    actor_ids = actors["actor_id"].cast(pl.Utf8).to_list()
    risk = actors["risk_score"].cast(pl.Float64).fill_null(0.0).fill_nan(0.0).to_numpy()
    risk_of = dict(zip(actor_ids, risk.tolist(), strict=True))
    y = np.array([a in ring_of for a in actor_ids], dtype=bool)
    auroc = auprc = None
    if 0 < y.sum() < len(y):
        auroc = float(roc_auc_score(y, risk))
        auprc = float(average_precision_score(y, risk))
    flagged = risk >= threshold
    false_positives = int((flagged & ~y).sum())
    lookalike_flagged = int(
        sum(
            1
            for a, f in zip(actor_ids, flagged.tolist(), strict=True)
            if f and a in group_of and a not in ring_of
        )
    )

    # rings: best-cluster Jaccard and recall
    scores: list[RingScore] = []
    for rid, ms in rings.items():
        inter: dict[str, int] = defaultdict(int)
        for a in ms:
            for cid in clusters_of.get(a, ()):
                inter[cid] += 1
        best, best_j = None, 0.0
        for cid, n_in in inter.items():
            j = n_in / (len(ms) + len(cluster_members[cid]) - n_in)
            if j > best_j or (j == best_j and best is not None and cid < best):
                best, best_j = cid, j
        recalled = sum(1 for a in ms if risk_of.get(a, 0.0) >= threshold)
        scores.append(
            RingScore(
                rid, kind_of_ring[rid], len(ms), best, best_j, recalled / len(ms) if ms else 0.0
            )
        )
    total = sum(s.size for s in scores)
    weighted = sum(s.size * s.jaccard for s in scores) / total if total else 0.0
    recall = sum(s.size * s.recall for s in scores) / total if total else 0.0
    jaccard_by_kind: dict[str, float] = {}
    recall_by_kind: dict[str, float] = {}
    for kind in sorted({s.kind for s in scores}):
        ks = [s for s in scores if s.kind == kind]
        n = sum(s.size for s in ks)
        jaccard_by_kind[kind] = sum(s.size * s.jaccard for s in ks) / n if n else 0.0
        recall_by_kind[kind] = sum(s.size * s.recall for s in ks) / n if n else 0.0

    # ranked clusters
    k_eff = min(k, len(rings)) if rings else k
    ranked = clusters.with_columns(pl.col("cluster_id").cast(pl.Utf8)).sort(["rank", "cluster_id"])
    top: list[ClusterLabel] = []
    hits = 0
    lookalike_hits = 0
    for i, row in enumerate(ranked.head(k).iter_rows(named=True)):
        cid = row["cluster_id"]
        ms = cluster_members.get(cid, set())
        label, purity = _label(ms, ring_of, kind_of_ring, group_of, kind_of_group)
        if i < k_eff:
            n_ring = sum(1 for a in ms if a in ring_of)
            hits += bool(ms) and n_ring / len(ms) >= _MAJORITY
            lookalike_hits += label.startswith("lookalike:")
        top.append(
            ClusterLabel(
                cid,
                int(row["rank"]),
                float(row["score"]) if row["score"] is not None else 0.0,
                int(row["size"]) if row["size"] is not None else len(ms),
                label,
                purity,
            )
        )
    shown = min(k_eff, len(top))
    precision = hits / shown if shown else 0.0

    return EvaluationReport(
        k=k,
        k_effective=k_eff,
        threshold=threshold,
        n_actors=len(actor_ids),
        n_ring_actors=len(ring_of),
        n_clusters=clusters.height,
        weighted_jaccard=weighted,
        jaccard_by_kind=jaccard_by_kind,
        auroc=auroc,
        auprc=auprc,
        precision_at_k=precision,
        lookalikes_in_top_k=lookalike_hits,
        recall=recall,
        recall_by_kind=recall_by_kind,
        false_positives=false_positives,
        lookalike_actors_flagged=lookalike_flagged,
        rings=scores,
        top_clusters=top,
    )


def _label(
    members: set[str],
    ring_of: dict[str, str],
    kind_of_ring: dict[str, str],
    group_of: dict[str, str],
    kind_of_group: dict[str, str],
) -> tuple[str, float]:
    """A cluster's truth: rings if >= 50% ring members, else a look-alike group if >= 50%."""
    if not members:
        return "other", 0.0
    n = len(members)
    in_rings = [ring_of[a] for a in members if a in ring_of]
    if len(in_rings) / n >= _MAJORITY:
        kinds: dict[str, int] = defaultdict(int)
        for rid in in_rings:
            kinds[kind_of_ring[rid]] += 1
        kind = max(sorted(kinds), key=lambda x: kinds[x])
        return f"ring:{kind}", len(in_rings) / n
    groups: dict[str, int] = defaultdict(int)
    for a in members:
        if a in group_of and a not in ring_of:
            groups[group_of[a]] += 1
    if groups:
        gid = max(sorted(groups), key=lambda x: groups[x])
        if groups[gid] / n >= _MAJORITY:
            return f"lookalike:{kind_of_group[gid]}", groups[gid] / n
    return "other", max(len(in_rings), max(groups.values(), default=0)) / n
