"""Learned actor risk for a run: the risk model fitted on the run's own labels.

Positive labels are suspended actors, actors reported by several accounts and extra
positive labels (:mod:`ringscope.ranking.labels`); everyone else is unlabelled, not
legit: most ring members are never suspended. So the model is fitted positive-vs-unlabelled and
its scores are used only where they are honest:

* **Cross-fitting.** Actors are split into ``folds`` stratified folds. Each fold is
  scored by a model that learned from other folds (one of them for validation: model
  choice, early stopping, calibration), so no actor's score comes from a model that saw
  its own label, and the label shares (known-bad neighbours) only count training labels.
* **PU adjustment** (Elkan & Noto, "Learning classifiers from only positive and
  unlabeled data", KDD 2008). A calibrated model estimates P(labelled | x); dividing by
  ``c`` = the mean of that estimate over held-out labelled actors, weighted by label
  source as the fits are (the share of bad actors that carry a label; see
  :func:`_label_frequency`) estimates P(bad | x) (on the odds, see
  :mod:`ringscope.ranking.pu`), so an unsuspended member of a ring
  whose other members were suspended is not scored as "probably fine".
* **Features** are activity facts that exist before any suspension (suspension events
  are left out of the counts and times), what the actor's messages say
  (:data:`~ringscope.ranking.content_model.ACTOR_CONTENT_FEATURES`, themselves
  cross-fitted and time-respecting), plus neighbour aggregates over the coordination
  evidence graph; GNN embeddings are appended only when the embeddings step trained
  without labels, since embeddings fitted on the labels would leak them.
* **Content anchor.** Where the content model scored the actors, the risk is the
  equal-weight rank average of the model's score and the actor's mean content log-odds
  (both as quantiles over the actors). Its Platt scaling and PU label frequency are
  fitted once, on the out-of-fold anchored scores of all folds, not per fold on the
  validation fold: one monotone map for every actor keeps the pooled out-of-fold
  ranking, whereas per-fold maps fitted on about 30 labelled actors each (SpamAssassin)
  put the folds on different scales and mixed them up (held-out spam vs ham senders,
  seeds 0 / 1 / 2: 0.973 / 0.970 / 0.979 per fold, 0.980 / 0.975 / 0.983 pooled). On real
  mail one strong per-actor text score carries most of the signal and the activity
  features add noise the trees fit (30% labels, seed 0: SpamAssassin model 0.958, content
  alone 0.963, blend 0.965; TREC 0.973 / 0.985 / 0.990). The weight is not chosen per run
  by validation: the only validation a run has is labelled vs unlabelled actors, and on
  TREC, where 85% of the unlabelled senders are spammers, its AUROC picked the model
  alone (0.600 vs 0.585 for the blend), the wrong way round.
* **Label sources** (``balance_sources``): each source of positives (suspensions,
  repeated reports, verdicts) carries the same total weight in the fits. Reports only
  come for kinds of abuse that have victims who report (harassment, reregistration);
  outnumbering suspensions 4 to 1 on generated worlds they taught the model that abuse
  looks like what gets reported, and camouflaged rings, which nobody reports, fell below
  the takedown threshold. The calibration and the PU label frequency use the same
  weights, so all three see one labelled population.
* **Validation** (the manifest's ``validation``): the out-of-fold risk of positive
  actors against never-flagged actors (no suspension, no report, no label), AUROC and
  AUPRC with both counts; against explicitly legit actors too when extra labels give
  some. Never-flagged actors still include unlabelled abusers, so the numbers are a
  floor for how well labelled abuse is told apart from the rest.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from ringscope.config import RiskModelConfig
from ringscope.ranking.content_model import ACTOR_CONTENT_FEATURES
from ringscope.ranking.neighbour_features import neighbour_aggregates
from ringscope.ranking.parallel import in_threads
from ringscope.ranking.pu import pu_adjusted
from ringscope.ranking.risk_model import GraphRiskModel

__all__ = [
    "ACTIVITY_FEATURES",
    "KeptRisk",
    "LearnedRisk",
    "activity_matrix",
    "fit_learned_risk",
    "hashed_fold",
    "score_learned_risk",
]

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
#: Per-actor columns the model learns from (all known before any suspension). No column
#: says *when* in the log an actor appeared: labels are known for the earlier part of a
#: log only, so such a column separates "labelled" from "unlabelled" by time alone (on
#: TREC, trained on the first half, it ranked new spam senders below ham: AUROC 0.65).
ACTIVITY_FEATURES = (
    "n_events",
    "n_messages",
    "n_logins",
    "n_active_days",
    "n_devices",
    "n_ips",
    "span_days",
    "has_signup",
    "days_since_signup",
    "n_reporters",
    "n_recipients",
    "stranger_share",
    "oneshot_share",
    "recipients_per_message",
)
_CANDIDATES = ("gbdt", "extra_trees", "logistic", "gbdt_embeddings")
_UNSCORED = -1.0  # supervised content features of an actor with no scored message
_MIN_VALIDATION = 5  # actors of each class the validation metrics need
_EPS = 1e-6


@dataclass(frozen=True)
class LearnedRisk:
    """The outcome of the learned-risk step.

    ``risk`` holds ``actor`` and ``learned_risk`` (None when the heuristic stays);
    ``report`` says which was used and why, for the manifest.
    """

    risk: pl.DataFrame | None
    report: dict[str, Any]
    kept: KeptRisk | None = None
    scored: pl.DataFrame | None = None  # score_learned_risk: what the next batch can reuse


@dataclass(frozen=True)
class KeptRisk:
    """The fold models of one cross-fit, kept to score a stream's later micro-batches.

    ``fold_of`` maps each actor id the fit saw to the fold that held it out;
    ``label_freqs`` are the folds' PU label frequencies; ``report`` the fit's report.
    With a content anchor, the quantiles it ranks by are taken among the fit's actors
    (``references``: of each fold model's scores of them; ``content_reference``: of
    their mean content log-odds), so a later actor's risk depends on its own
    model inputs only, never on which other actors a batch holds.
    """

    models: list[GraphRiskModel]
    label_freqs: list[float]
    fold_of: dict[str, int]
    report: dict[str, Any]
    # per fold: the Platt scaling of the content-anchored score (None: no anchor)
    anchors: list[LogisticRegression | None]
    references: list[QuantileMap | None]
    content_reference: QuantileMap | None


@dataclass(frozen=True)
class _Given:
    """Per feature row: labelled positive, flagged at all (label or report), labelled legit;
    ``rows`` the feature rows joined to their labels (``label``, ``source``)."""

    rows: pl.DataFrame
    positive: np.ndarray
    flagged: np.ndarray
    legit: np.ndarray


def _given_labels(features: pl.DataFrame, labels: pl.DataFrame) -> _Given:
    given = features.select("actor").join(labels, on="actor", how="left")
    return _Given(
        rows=given,
        positive=given["label"].fill_null(False).to_numpy(),
        flagged=given["label"].is_not_null().to_numpy() | features["n_reporters"].gt(0).to_numpy(),
        legit=given["label"].eq(False).fill_null(False).to_numpy(),
    )


@dataclass(frozen=True)
class _Inputs:
    """What the model reads, one row per actor (sorted by ``actor``)."""

    actors: np.ndarray
    actor_ids: list[str]
    names: list[str]
    x: np.ndarray
    adjacency: sp.csr_matrix
    emb: np.ndarray | None
    emb_note: str


def _model_inputs(
    features: pl.DataFrame,
    evidence_edges: pl.DataFrame,
    cfg: RiskModelConfig,
    content: pl.DataFrame | None,
    embeddings: pl.DataFrame | None,
    embeddings_use_labels: bool,
) -> _Inputs:
    table = activity_matrix(features)
    names = list(ACTIVITY_FEATURES)
    if content is not None:
        table = table.join(content, on="actor", how="left").with_columns(
            pl.col("content_mean").fill_null(-20.0),
            pl.col("content_max", "content_share").fill_null(_UNSCORED),
            pl.col(ACTOR_CONTENT_FEATURES[3:]).fill_null(0.0),
        )
        names += ACTOR_CONTENT_FEATURES
    actors = table["actor"].to_numpy()
    x = table.select(names).to_numpy()
    row_of = {int(a): i for i, a in enumerate(actors.tolist())}
    adjacency = _adjacency(evidence_edges, row_of, len(actors))
    emb_note = "none produced"
    emb = None
    if embeddings is not None and embeddings_use_labels:
        emb_note = "left out: trained on the suspension labels (embeddings.label_weight > 0)"
    elif embeddings is not None and cfg.use_embeddings:
        emb, emb_note = _embedding_matrix(embeddings, actors), "used"
    ids = table.select("actor").join(features.select("actor", "actor_id"), on="actor", how="left")
    return _Inputs(actors, ids["actor_id"].to_list(), names, x, adjacency, emb, emb_note)


def activity_matrix(features: pl.DataFrame) -> pl.DataFrame:
    """One row per actor of ``features``: ``actor`` and the :data:`ACTIVITY_FEATURES`.

    Counts and times come from the events without ``suspension`` records (the
    ``acting_*`` columns of :func:`~ringscope.ranking.features.actor_features`), so a
    label never shows up in its own features (a suspension is an event of the suspended
    actor).
    """
    acted = pl.col("acting_events") > 0  # else every count is missing, as for no events
    recipients = pl.col("n_recipients").cast(pl.Float64)
    return (
        features.lazy()
        .select(
            "actor",
            "n_reporters",
            "n_recipients",
            "n_strangers",
            "n_oneshot_strangers",
            *(
                pl.when(acted).then(pl.col(f"acting_{name}")).alias(f"n_{name}")
                for name in ("events", "messages", "logins", "devices", "ips")
            ),
            pl.when(acted).then(pl.col("acting_days")).alias("n_active_days"),
            ((pl.col("acting_last_ts") - pl.col("acting_first_ts")) / DAY_MS).alias("span_days"),
            pl.col("signup_ts").is_not_null().cast(pl.Float64).alias("has_signup"),
            ((pl.col("acting_last_ts") - pl.col("signup_ts")) / DAY_MS).alias("days_since_signup"),
        )
        .with_columns(
            (pl.col("n_strangers") / recipients).alias("stranger_share"),
            (pl.col("n_oneshot_strangers") / recipients).alias("oneshot_share"),
            (recipients / pl.col("n_messages")).alias("recipients_per_message"),
        )
        .select("actor", *(pl.col(c).cast(pl.Float64) for c in ACTIVITY_FEATURES))
        .with_columns(pl.col(ACTIVITY_FEATURES).fill_nan(None).fill_null(0.0))
        .sort("actor")
        .collect()
    )


def _adjacency(edges: pl.DataFrame, row_of: dict[int, int], n: int) -> sp.csr_matrix:
    """The coordination evidence graph over the feature rows (undirected, unweighted)."""
    if edges.height == 0:
        return sp.csr_matrix((n, n))
    src = np.array([row_of.get(a, -1) for a in edges["src"].to_list()])
    dst = np.array([row_of.get(a, -1) for a in edges["dst"].to_list()])
    keep = (src >= 0) & (dst >= 0)
    ones = np.ones(int(keep.sum()))
    return sp.csr_matrix((ones, (src[keep], dst[keep])), shape=(n, n))


def _embedding_matrix(embeddings: pl.DataFrame, actors: np.ndarray) -> np.ndarray:
    vectors = embeddings["embedding"].to_numpy()
    out = np.zeros((len(actors), vectors.shape[1]))
    row = {int(a): i for i, a in enumerate(embeddings["actor"].to_list())}
    for i, a in enumerate(actors.tolist()):
        if a in row:
            out[i] = vectors[row[a]]
    return out


#: a kept quantile map: distinct values of a fit, sorted, and each one's quantile there
QuantileMap = tuple[np.ndarray, np.ndarray]


def _quantiles(score: np.ndarray, reference: QuantileMap) -> np.ndarray:
    """Each actor's quantile of ``score`` in a ``reference`` (:func:`_quantile_map`): the
    reference's own quantile of a value it has (among all actors when it is the map of
    ``score`` itself), interpolated between two it has, the end's beyond them (so a
    last-bit difference in a score moves its quantile by as little)."""
    return np.interp(score, *reference)


def _quantile_map(values: np.ndarray) -> QuantileMap:
    """The quantile of each distinct value among ``values``, in (0, 1] (ties: their mean
    rank, as ``scipy.stats.rankdata`` / n)."""
    distinct, counts = np.unique(values, return_counts=True)
    upto = np.cumsum(counts)
    return distinct, 0.5 * (upto - counts + upto + 1) / len(values)


def _source_weights(given: pl.DataFrame) -> np.ndarray | None:
    """Sample weights that give each source of positive labels the same total weight
    (their sum stays the number of positives); None with fewer than two sources."""
    positive = given["label"].fill_null(False)
    counts = given.filter(positive)["source"].value_counts()
    if counts.height < 2:
        return None
    share = dict(zip(counts["source"].to_list(), counts["count"].to_list(), strict=True))
    per_source = {k: positive.sum() / (len(share) * v) for k, v in share.items()}
    weight = given["source"].replace_strict(per_source, default=1.0, return_dtype=pl.Float64)
    return pl.select(pl.when(positive).then(weight).otherwise(1.0)).to_series().to_numpy()


def _content_mean(design: _Inputs) -> np.ndarray | None:
    """The actors' mean content log-odds (the anchor of the learned risk), or None when
    the run has no supervised content score."""
    if "content_mean" not in design.names:
        return None
    mean = design.x[:, design.names.index("content_mean")]
    return mean if np.unique(mean).size > 1 else None


def _anchor_logit(p: np.ndarray, anchor: np.ndarray, reference: QuantileMap) -> np.ndarray:
    """Log-odds of the rank average of the model's score (its quantile in ``reference``)
    and the content quantiles."""
    blend = 0.5 * (_quantiles(p, reference) + anchor)
    return np.log((blend + _EPS) / (1.0 - blend + _EPS)).reshape(-1, 1)


def _label_frequency(p: np.ndarray, y: np.ndarray, weight: np.ndarray | None) -> float:
    """Elkan & Noto's ``c``: the mean calibrated P(labelled | x) over labelled actors,
    each weighted as in the fits (``weight``: the source weights, or None).

    The estimate assumes the labelled actors are a random share of the abusers. Actors
    labelled by repeated reports are not: their label follows from a feature the model
    reads (``n_reporters``), so their P(labelled | x) is high, and where they outnumber
    suspensions they set ``c`` (generated world, seed 1: 0.67 over report-labelled actors,
    0.41 over suspended ones, plain mean 0.62 against a true share of labelled ring
    members of 0.53; the source-weighted mean is 0.55). Weighting each source as the fits
    do keeps one labelled population for the learners, the calibration and ``c``.
    """
    labelled = y == 1
    return float(np.average(p[labelled], weights=None if weight is None else weight[labelled]))


def _pooled_anchor(
    blend_logit: np.ndarray, y: np.ndarray, pu_adjust: bool, weight: np.ndarray | None = None
) -> tuple[np.ndarray, LogisticRegression, float]:
    """Risk, Platt scaling and PU label frequency of the anchored score, one for every
    fold: fitted on the out-of-fold anchored log-odds of all actors (``blend_logit``, one
    column) against their labels, so the risk keeps the order of ``blend_logit``.
    ``weight``: the source weights of the fits (or None), in the scaling and in ``c``."""
    platt = LogisticRegression(C=1e4).fit(blend_logit, y, sample_weight=weight)
    p = platt.predict_proba(blend_logit)[:, 1]
    freq = _label_frequency(p, y, weight) if pu_adjust else 1.0
    return pu_adjusted(p, freq), platt, freq


def _anchored(
    p: np.ndarray, anchor: np.ndarray, platt: LogisticRegression, reference: QuantileMap
) -> np.ndarray:
    """P(labelled) of the rank average of the model's score and the content quantiles
    ``anchor``, Platt-calibrated (see the module docstring), ranked among a fit's scores."""
    return platt.predict_proba(_anchor_logit(p, anchor, reference))[:, 1]


def _metrics(risk: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> dict[str, Any]:
    """AUROC / AUPRC of out-of-fold risk, positives vs the given negatives, with counts."""
    n_pos, n_neg = int(positive.sum()), int(negative.sum())
    out: dict[str, Any] = {"positives": n_pos, "negatives": n_neg}
    if min(n_pos, n_neg) < _MIN_VALIDATION:
        return out | {"auroc": None, "auprc": None, "reason": "too few actors of one class"}
    chosen = positive | negative
    truth, scores = positive[chosen].astype(np.int64), risk[chosen]
    return out | {
        "auroc": round(float(roc_auc_score(truth, scores)), 4),
        "auprc": round(float(average_precision_score(truth, scores)), 4),
        "base_rate": round(n_pos / (n_pos + n_neg), 4),
    }


def _verdict_counts(labels: pl.DataFrame) -> dict[str, int]:
    """How many labels came from investigators' verdicts (source ``verdict``), by kind."""
    verdicts = labels.filter(pl.col("source") == "verdict")["label"]
    return {
        "verdict_positives": int(verdicts.sum()),
        "verdict_negatives": int((~verdicts).sum()),
    }


def _validation(
    risk: np.ndarray, positive: np.ndarray, flagged: np.ndarray, legit: np.ndarray
) -> dict[str, Any]:
    """Out-of-fold metrics on labelled positives vs never-flagged / explicitly legit actors."""
    out = {
        "method": "out-of-fold risk (each actor scored by a model that never saw its label)",
        "vs_never_flagged": _metrics(risk, positive, ~flagged),
    }
    if legit.any():
        out["vs_labelled_legit"] = _metrics(risk, positive, legit)
    return out


def _skip(reason: str, **facts: Any) -> LearnedRisk:
    log.info("learned risk not used: %s", reason)
    return LearnedRisk(None, {"used": "heuristic", "reason": reason, **facts})


def fit_learned_risk(
    features: pl.DataFrame,
    evidence_edges: pl.DataFrame,
    cfg: RiskModelConfig,
    *,
    labels: pl.DataFrame,
    content: pl.DataFrame | None = None,
    embeddings: pl.DataFrame | None = None,
    embeddings_use_labels: bool = False,
    keep: bool = False,
) -> LearnedRisk:
    """Cross-fit the risk model on the run's labels; heuristic when labels are few.

    Args:
        features: :func:`ringscope.ranking.features.actor_features` output (with
            ``known_bad`` and the ``acting_*`` counts).
        evidence_edges: actor–actor coordination edges (``src``, ``dst``).
        cfg: the risk model settings.
        labels: the run's actor labels (:data:`~ringscope.ranking.labels.LABEL_SCHEMA`).
        content: per-actor content features (``actor`` and
            :data:`~ringscope.ranking.content_model.ACTOR_CONTENT_FEATURES`), if any.
        embeddings: the embeddings step's frame (``actor``, ``embedding``), if any.
        embeddings_use_labels: the embeddings were trained on ``known_bad``; they are
            then left out (they would carry each actor's label into its features).
        keep: also return the fold models (``LearnedRisk.kept``) for
            :func:`score_learned_risk` (a stream's later micro-batches); never kept when
            the model read embeddings.
    """
    if not cfg.enabled:
        return _skip("disabled in config (risk_model.enabled)")
    given = _given_labels(features, labels)
    y = given.positive.astype(np.int64)
    n_pos = int(y.sum())
    if n_pos < max(cfg.min_positives, cfg.folds):
        return _skip(
            f"{n_pos} labelled actors, fewer than risk_model.min_positives "
            f"({cfg.min_positives}) or risk_model.folds ({cfg.folds})",
            n_positives=n_pos,
        )
    if len(y) - n_pos < cfg.folds * 2:
        return _skip("too few unlabelled actors to cross-fit", n_positives=n_pos)

    design = _model_inputs(
        features, evidence_edges, cfg, content, embeddings, embeddings_use_labels
    )
    actors, x, adjacency, emb = design.actors, design.x, design.adjacency, design.emb
    positive, flagged, legit = given.positive, given.flagged, given.legit
    content_mean = _content_mean(design)
    content_reference = None if content_mean is None else _quantile_map(content_mean)
    anchor = None if content_mean is None else _quantiles(content_mean, content_reference)
    weight = _source_weights(given.rows) if cfg.balance_sources else None
    structure = neighbour_aggregates(x, adjacency)  # the same graph in every fold
    folds = list(
        StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=cfg.seed).split(x, y)
    )
    risk = np.zeros(len(actors))
    blend_logit = np.zeros((len(actors), 1))  # out-of-fold anchored log-odds
    chosen, val_aurocs, label_freqs, platts, references = [], [], [], [], []

    def fit_fold(k: int) -> GraphRiskModel:
        held_out, val = folds[k][1], folds[(k + 1) % cfg.folds][1]
        train = np.setdiff1d(np.arange(len(actors)), np.concatenate([held_out, val]))
        return GraphRiskModel(
            seed=cfg.seed + k,
            candidates=_CANDIDATES,
            selection=cfg.selection,
            n_jobs=-1,
            max_fit_rows=cfg.max_fit_actors,
        ).fit(
            x,
            adjacency,
            y,
            train_idx=train,
            val_idx=val,
            embeddings=emb,
            sample_weight=weight,
            structure=structure,
        )

    models = in_threads(fit_fold, cfg.folds)
    for k, ((_, held_out), model) in enumerate(zip(folds, models, strict=True)):
        val = folds[(k + 1) % cfg.folds][1]
        p = model.fitted_proba()[:, 1]
        if anchor is not None:  # calibrated after the loop, on every fold at once
            references.append(_quantile_map(p))
            blend_logit[held_out] = _anchor_logit(p, anchor, references[-1])[held_out]
        else:
            w_val = None if weight is None else weight[val]
            freq = _label_frequency(p[val], y[val], w_val) if cfg.pu_adjust else 1.0
            risk[held_out] = pu_adjusted(p[held_out], freq)
            label_freqs.append(freq)
            platts.append(None)
            references.append(None)
        chosen.append(model.chosen_)
        val_aurocs.append(model.val_auroc_)
    if anchor is not None:
        risk, platt, freq = _pooled_anchor(blend_logit, y, cfg.pu_adjust, weight)
        label_freqs, platts = [freq] * cfg.folds, [platt] * cfg.folds

    report = {
        "used": "learned",
        "n_actors": len(actors),
        "n_positives": n_pos,
        "folds": cfg.folds,
        "chosen": chosen,
        "model_selection_auroc": round(float(np.mean(val_aurocs)), 4),
        "validation": _validation(risk, positive, flagged, legit),
        "label_frequency": round(float(np.mean(label_freqs)), 4),
        "features": design.names,
        "graph_edges": int(adjacency.nnz),
        "embeddings": design.emb_note,
        "source_weights": "balanced"
        if weight is not None
        else ("none (one source)" if cfg.balance_sources else "off (risk_model.balance_sources)"),
        "content_anchor": "rank average with the content score"
        if anchor is not None
        else "none (no supervised content score)",
    } | _verdict_counts(labels)
    kept = None
    if keep and emb is None:  # embeddings are retrained each run: a kept model could not read them
        fold_of = np.zeros(len(actors), dtype=np.int64)
        for k, (_, held_out) in enumerate(folds):
            fold_of[held_out] = k
        fold_by_id = dict(zip(design.actor_ids, fold_of.tolist(), strict=True))
        kept = KeptRisk(
            models, label_freqs, fold_by_id, report, platts, references, content_reference
        )
    return LearnedRisk(pl.DataFrame({"actor": actors, "learned_risk": risk}), report, kept)


def score_learned_risk(
    kept: KeptRisk,
    features: pl.DataFrame,
    evidence_edges: pl.DataFrame,
    cfg: RiskModelConfig,
    *,
    labels: pl.DataFrame,
    content: pl.DataFrame | None = None,
    previous: pl.DataFrame | None = None,
) -> LearnedRisk:
    """Score every actor of a later state of the data with the fold models of ``kept``.

    Cross-fitting is kept: an actor the fit saw is scored by the model of the fold that
    held it out; a new actor by the model of the fold its id hashes to (no model saw it).
    The label shares of fold ``k``'s model count the current labels of the actors in
    its training folds (those not in fold ``k`` or its validation fold), so labels that
    arrived since the fit reach the features without the trees learning from them.

    An actor's risk is a function of its design row (its features, its neighbourhood's
    aggregates, its neighbours' training labels) and nothing else, so ``previous`` (the
    ``scored`` frame of the last call with the same ``kept``) gives the risk of every
    actor whose row is unchanged, and only the others are scored (a micro-batch's new
    events touch few actors). The result is the same as scoring everyone.
    """
    given = _given_labels(features, labels)
    design = _model_inputs(features, evidence_edges, cfg, content, None, False)
    folds = len(kept.models)
    fold_of = np.array(
        [kept.fold_of[a] if a in kept.fold_of else hashed_fold(a, folds) for a in design.actor_ids],
        dtype=np.int64,
    )
    y = given.positive.astype(np.int64)
    structure = neighbour_aggregates(design.x, design.adjacency)  # the same in every fold
    risk = np.zeros(len(design.actors))
    digests = [b""] * len(design.actors)
    rows_of = [np.flatnonzero(fold_of == k) for k in range(folds)]
    inputs = {}
    for k, (model, rows) in enumerate(zip(kept.models, rows_of, strict=True)):
        train = np.flatnonzero((fold_of != k) & (fold_of != (k + 1) % folds))
        if rows.size:
            inputs[k] = model.design(structure, design.adjacency, labels=y, labelled_idx=train)
            for i in rows.tolist():
                digests[i] = hashlib.blake2b(inputs[k][i].tobytes(), digest_size=16).digest()
    scored = pl.DataFrame(
        {"actor_id": design.actor_ids, "digest": digests},
        schema={"actor_id": pl.String, "digest": pl.Binary},
    )
    reused = _reused_risk(scored, previous)
    same = ~np.isnan(reused)
    risk[same] = reused[same]
    for k, rows in enumerate(rows_of):
        rows = rows[~same[rows]]
        if not rows.size:
            continue
        p = kept.models[k].predict_design(inputs[k][rows])
        platt, reference = kept.anchors[k], kept.references[k]
        if platt is not None and reference is not None and kept.content_reference is not None:
            mean = design.x[rows, design.names.index("content_mean")]
            p = _anchored(p, _quantiles(mean, kept.content_reference), platt, reference)
        risk[rows] = pu_adjusted(p, kept.label_freqs[k])
    report = (
        kept.report
        | {
            "n_actors": len(design.actors),
            "n_positives": int(y.sum()),
            "validation": _validation(risk, given.positive, given.flagged, given.legit),
            "graph_edges": int(design.adjacency.nnz),
            "fitted_on": {k: kept.report[k] for k in ("n_actors", "n_positives")},
            "actors_scored": int((~same).sum()),
        }
        | _verdict_counts(labels)
    )
    return LearnedRisk(
        pl.DataFrame({"actor": design.actors, "learned_risk": risk}),
        report,
        scored=scored.with_columns(pl.Series("risk", risk)),
    )


def _reused_risk(scored: pl.DataFrame, previous: pl.DataFrame | None) -> np.ndarray:
    """Per row of ``scored``: the risk the last call gave the same actor from the same
    design row (NaN: none)."""
    if previous is None:
        return np.full(scored.height, np.nan)
    joined = scored.join(previous, on=["actor_id", "digest"], how="left", maintain_order="left")
    return joined["risk"].fill_null(np.nan).to_numpy()


def hashed_fold(actor_id: str, folds: int) -> int:
    """A fixed fold for an actor the fit did not see (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(actor_id.encode(), digest_size=4).digest()) % folds
