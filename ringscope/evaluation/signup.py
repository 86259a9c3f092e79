"""Scoring signup-check results against a world's held-back signup ground truth.

Per attempt kind (see :mod:`ringscope.worlds.signups`): the share flagged at ``review``
or above and at ``block``, and for offender kinds recall@1, the share flagged at
``review`` or above whose best match is the banned ancestor or a member of its ring
(``recall_at_1``; ``ancestor_at_1`` counts the ancestor itself only). Over all attempts:
AUROC of the risk for the strong offender kinds (``same_device``, ``subnet_email``)
against legit newcomers, the legit false-positive rates at each tier, and calibration
of the risk as a probability of "descends from a banned actor" (Brier score, expected
calibration error over ten bins). ``name_only`` look-alikes are reported on their own:
a name is a weak signal and is not expected to reach ``review``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

__all__ = ["STRONG_KINDS", "auroc", "evaluate_signups"]

#: Offender kinds the check must catch (recall@1 >= 0.95 at review or above).
STRONG_KINDS = ("same_device", "subnet_email")
_FLAGGED = ("review", "block")


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    if len(positive) == 0 or len(negative) == 0:
        return None
    labels = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    return float(roc_auc_score(labels, np.r_[positive, negative]))


def _calibration(risk: np.ndarray, label: np.ndarray, bins: int = 10) -> dict[str, float]:
    brier = float(np.mean((risk - label) ** 2))
    which = np.minimum((risk * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(risk[mask].mean() - label[mask].mean())
    return {"brier": round(brier, 4), "ece": round(float(ece), 4)}


def evaluate_signups(results: Sequence[dict[str, Any]], truth: dict[str, Any]) -> dict[str, Any]:
    """Metrics of check results (one per attempt, any order) against the truth.

    Raises:
        ValueError: A truth attempt has no result.
    """
    by_id = {r["actor_id"]: r for r in results if r.get("decision") is not None}
    rings = {k: set(v) for k, v in truth.get("rings", {}).items()}
    kinds: dict[str, dict[str, Any]] = {}
    risks: dict[str, list[float]] = {}
    for attempt in truth["attempts"]:
        result = by_id.get(attempt["actor_id"])
        if result is None:
            raise ValueError(f"no result for attempt {attempt['actor_id']}")
        kind = attempt["kind"]
        stats = kinds.setdefault(kind, {"n": 0, "flagged": 0, "blocked": 0, "hit": 0, "anc": 0})
        risks.setdefault(kind, []).append(result["risk"])
        stats["n"] += 1
        flagged = result["decision"] in _FLAGGED
        stats["flagged"] += flagged
        stats["blocked"] += result["decision"] == "block"
        if attempt["offender"] and result["matches"]:
            top = result["matches"][0]["actor_id"]
            family = rings.get(attempt["ring_id"], set()) | {attempt["ancestor"]}
            stats["hit"] += flagged and top in family
            stats["anc"] += flagged and top == attempt["ancestor"]
    per_kind = {}
    for kind, s in sorted(kinds.items()):
        row = {
            "n": s["n"],
            "flagged_rate": round(s["flagged"] / s["n"], 4),
            "block_rate": round(s["blocked"] / s["n"], 4),
            "mean_risk": round(float(np.mean(risks[kind])), 4),
        }
        if not kind.startswith("legit"):
            row["recall_at_1"] = round(s["hit"] / s["n"], 4)
            row["ancestor_at_1"] = round(s["anc"] / s["n"], 4)
        per_kind[kind] = row
    legit = [k for k in kinds if k.startswith("legit")]
    strong = [k for k in kinds if k in STRONG_KINDS]
    n_legit = sum(kinds[k]["n"] for k in legit)
    n_strong = sum(kinds[k]["n"] for k in strong)
    legit_risk = [r for k in legit for r in risks[k]]
    strong_risk = [r for k in strong for r in risks[k]]
    offender_risk = [r for k in kinds if k not in legit for r in risks[k]]
    all_risk = np.asarray(offender_risk + legit_risk)
    labels = np.concatenate([np.ones(len(offender_risk)), np.zeros(len(legit_risk))])
    return {
        "attempts": len(truth["attempts"]),
        "recall_at_1_strong": round(sum(kinds[k]["hit"] for k in strong) / n_strong, 4)
        if n_strong
        else None,
        "auroc_strong": _round(auroc(strong_risk, legit_risk)),
        "auroc_all": _round(auroc(offender_risk, legit_risk)),
        "legit_fpr_block": round(sum(kinds[k]["blocked"] for k in legit) / n_legit, 4)
        if n_legit
        else None,
        "legit_fpr_review": round(sum(kinds[k]["flagged"] for k in legit) / n_legit, 4)
        if n_legit
        else None,
        "calibration": _calibration(all_risk, labels) if len(all_risk) else None,
        "kinds": per_kind,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
