"""A learned, calibrated node-risk model: tree ensembles on neighbour aggregates.

:class:`GraphRiskModel` follows the finding of GADBench (Tang et al., NeurIPS 2023) that
tree ensembles over neighbour-aggregated features are the baseline to beat in supervised
graph anomaly detection; a logistic regression on the same (quantile-normalised)
features is one more candidate, for runs where one strong per-actor score (e.g. the
content model's) carries most of the signal and trees would quantise it. It builds
1- and 2-hop aggregates of the node features
(:func:`~ringscope.ranking.neighbour_features.neighbour_aggregates`) and, from the
training labels only, the share of each node's neighbours that are known positives
(:func:`~ringscope.ranking.neighbour_features.label_aggregates`); optional GNN embeddings
are appended for one more candidate. It trains several candidates, scores each on the
validation split, also scores the rank average of all of them, keeps the best by
validation AUROC (or always the rank average, ``selection="ensemble"``), and calibrates
the kept score on the validation split.

The model is transductive, like the graph it learns from: ``predict_proba`` scores the
nodes of the graph given to ``fit`` (it may pass updated features or edges, but the same
node set), since the label shares are defined by the training labels of those nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.special import ndtri
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import QuantileTransformer
from sklearn.preprocessing._data import BOUNDS_THRESHOLD
from threadpoolctl import threadpool_limits

from ringscope.ranking.neighbour_features import label_aggregates, neighbour_aggregates

__all__ = ["CANDIDATES", "GraphRiskModel"]

ENSEMBLE = "rank_mean"
#: Base candidates: name -> (learner, uses the GNN embeddings).
CANDIDATES: dict[str, tuple[str, bool]] = {
    "gbdt": ("gbdt", False),
    "gbdt_shallow": ("gbdt_shallow", False),
    "extra_trees": ("extra_trees", False),
    "logistic": ("logistic", False),
    "gbdt_embeddings": ("gbdt", True),
}
_MAX_ROUNDS = 400
_PATIENCE = 40
_EPS = 1e-6
#: Fits and scores run with one BLAS thread. The logistic candidate's Newton steps
#: multiply ~20k rows by ~130 columns, a few milliseconds of work per call; two OpenBLAS
#: threads spin at every call's barrier, and on a 2-core machine shared with other jobs
#: ten such products took 1.49 s CPU with two threads against 0.25 s with one (the 2M
#: run's ranking step: 58 s CPU against 47 s). The numbers differ only in the last
#: digits of the summation order.
_ONE_BLAS_THREAD = threadpool_limits.wrap(limits=1, user_api="blas")
#: Where ``QuantileTransformer`` clips its normal output (so its inverse stays finite).
_NORMAL_CLIP = (
    ndtri(BOUNDS_THRESHOLD - np.spacing(1)),
    ndtri(1 - (BOUNDS_THRESHOLD - np.spacing(1))),
)


@dataclass(frozen=True)
class _Fitted:
    """One trained candidate, its score of every fitted node, and those scores sorted
    (the reference that maps its output to a quantile)."""

    model: Any
    uses_embeddings: bool
    scores: np.ndarray
    reference: np.ndarray


def _learner(kind: str, *, seed: int, n_jobs: int) -> Any:
    import lightgbm as lgb

    if kind == "logistic":  # smooth where trees quantise one strong score into bins
        # Newton steps reach the same L2-penalised optimum as L-BFGS in a handful of
        # iterations on ~100 dense columns (L-BFGS took hundreds per fit at 50k actors).
        return make_pipeline(
            QuantileTransformer(n_quantiles=200, output_distribution="normal", random_state=seed),
            LogisticRegression(
                C=0.1, max_iter=2000, class_weight="balanced", solver="newton-cholesky"
            ),
        )
    if kind == "extra_trees":
        return ExtraTreesClassifier(
            n_estimators=100,
            min_samples_leaf=3,
            max_features="sqrt",
            n_jobs=n_jobs,
            random_state=seed,
        )
    leaves, min_child = (7, 30) if kind == "gbdt_shallow" else (15, 20)
    return lgb.LGBMClassifier(
        n_estimators=_MAX_ROUNDS,
        learning_rate=0.05,
        max_bin=63,
        num_leaves=leaves,
        min_child_samples=min_child,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.5,
        reg_lambda=1.0,
        random_state=seed,
        # One thread: at tens of thousands of rows a boosting round is milliseconds of work,
        # and OpenMP threads that wait at every split's barrier cost far more than they
        # save on a busy machine (one fit at 50k actors, load ~20 on 2 cores: 38 s CPU and
        # 324 s wall with two threads, 1.8 s and 13 s with one; the same trees).
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def _fit_scored(
    kind: str,
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    weight: np.ndarray | None,
    n_jobs: int,
) -> np.ndarray:
    """Fit one learner (``weight``: per-node sample weights, or None) and return its
    P(positive) of every row of ``x``; boosted trees stop early on validation AUROC."""
    w = None if weight is None else weight[train]
    if kind == "logistic":
        # The quantile map is fitted on the training rows and applied once to every row:
        # it maps each value on its own, so its training rows are what fitting the
        # pipeline would have transformed them to (a second transform of 20k rows saved).
        quantiles, logistic = (step for _, step in model.steps)
        quantiles.set_params(n_quantiles=min(200, len(train))).fit(x[train])
        z = _normal_quantiles(quantiles, x)
        logistic.fit(z[train], y[train], sample_weight=w)
        return logistic.predict_proba(z)[:, 1]
    if kind == "extra_trees":
        model.fit(x[train], y[train], sample_weight=w)
    else:
        import lightgbm as lgb

        model.fit(
            x[train],
            y[train],
            sample_weight=w,
            eval_X=(x[val],),
            eval_y=(y[val],),
            eval_metric="auc",
            callbacks=[lgb.early_stopping(_PATIENCE, first_metric_only=True, verbose=False)],
        )
    return _positive_proba(model, x, n_jobs)


def _normal_quantiles(quantiles: QuantileTransformer, x: np.ndarray) -> np.ndarray:
    """``quantiles.transform(x)`` of a fitted map with normal output, the same bits.

    scikit-learn maps column by column and calls ``scipy.stats.norm.ppf`` on each, whose
    generic argument checks and masks cost more than the inverse normal CDF itself
    (``ndtri``, which ``norm.ppf`` computes inside them). Here the interpolation and the
    bounds run per column as scikit-learn does them (the mean of the ascending and
    descending interpolations, for ties in the quantiles; 1 above the last quantile, 0
    below the first), then ``ndtri``, the clipping and NaN once over the whole matrix.
    """
    refs, q = quantiles.references_, quantiles.quantiles_
    z = np.empty_like(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # NaN compares False, as in scikit-learn
        for j in range(x.shape[1]):
            col, qj = x[:, j], q[:, j]
            u = 0.5 * (np.interp(col, qj, refs) - np.interp(-col, -qj[::-1], -refs[::-1]))
            u[col + BOUNDS_THRESHOLD > qj[-1]] = 1.0
            u[col - BOUNDS_THRESHOLD < qj[0]] = 0.0
            z[:, j] = u
    ndtri(z, out=z)
    z += 0.0  # norm.ppf adds loc = 0, which turns ndtri's -0.0 into 0.0
    np.clip(z, *_NORMAL_CLIP, out=z)
    z[np.isnan(x)] = np.nan  # norm.ppf's NaN where it maps nothing
    return z


def _positive_proba(model: Any, x: np.ndarray, n_jobs: int) -> np.ndarray:
    """P(positive) of a fitted learner, the same bits whatever the thread count.

    A forest's own parallel ``predict_proba`` adds the trees' outputs in the order its
    threads finish. Here each thread scores a block of rows with the whole forest on one
    thread, so every row's sum runs over the trees in tree order.
    """
    if isinstance(model, Pipeline):  # the logistic candidate
        quantiles, logistic = (step for _, step in model.steps)
        return logistic.predict_proba(_normal_quantiles(quantiles, x))[:, 1]
    if not isinstance(model, ExtraTreesClassifier):
        return model.predict_proba(x)[:, 1]
    from joblib import Parallel, delayed, effective_n_jobs

    model.set_params(n_jobs=1)
    # no empty block: a forest refuses to score zero rows
    blocks = np.array_split(np.arange(x.shape[0]), min(effective_n_jobs(n_jobs), x.shape[0]))
    parts = Parallel(n_jobs=len(blocks), prefer="threads")(
        delayed(model.predict_proba)(x[rows]) for rows in blocks
    )
    return np.concatenate([p[:, 1] for p in parts])


def _quantile(reference: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Map scores to their (interpolated) quantile among the reference scores."""
    grid = np.linspace(0.0, 1.0, len(reference))
    return np.interp(scores, reference, grid)


class GraphRiskModel:
    """Risk of each node from its features, its neighbourhood and known-bad neighbours.

    Args:
        seed: seed of every randomised learner.
        candidates: base candidate names (keys of :data:`CANDIDATES`); the embedding
            candidate only runs when ``fit`` gets embeddings.
        label_features: add the share of known-positive neighbours (training labels).
        calibration: ``"platt"`` (monotone, keeps the ranking) or ``"isotonic"``.
        selection: ``"best"`` keeps the candidate (or rank average) with the best
            validation AUROC; ``"ensemble"`` always keeps the rank average of all
            candidates, steadier when the validation labels are few or noisy (one
            validation fold of positive-unlabelled data picks a different candidate each
            time, and their scores do not mix).
        n_jobs: threads of the extra-trees learner and of its scoring (-1: one per
            core; results do not depend on it); boosting always runs on one thread.
        max_fit_rows: the learners fit on at most this many training nodes: every
            positive, and a seeded sample of the rest (None: all). The label shares still
            count every training label. Trees gain little from the 30,000th unlabelled
            account and their cost grows with it.

    Learned state: ``models_`` (trained candidates with their scores of every node),
    ``validation_auroc_`` (per candidate and for the rank average), ``chosen_``,
    ``val_auroc_``, ``calibrator_``, ``n_nodes_``, ``labelled_idx_`` and ``labels_`` (the
    training labels the label shares are computed from).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        candidates: tuple[str, ...] = ("gbdt", "gbdt_shallow", "extra_trees", "gbdt_embeddings"),
        label_features: bool = True,
        calibration: Literal["platt", "isotonic"] = "platt",
        selection: Literal["best", "ensemble"] = "best",
        n_jobs: int = 1,
        max_fit_rows: int | None = None,
    ) -> None:
        self.seed = seed
        self.candidates = candidates
        self.label_features = label_features
        self.calibration = calibration
        self.selection = selection
        self.n_jobs = n_jobs
        self.max_fit_rows = max_fit_rows

    def _check_params(self) -> None:
        unknown = set(self.candidates) - set(CANDIDATES)
        if unknown or not self.candidates:
            raise ValueError(
                f"unknown candidates {sorted(unknown)}; valid: {', '.join(CANDIDATES)}"
            )
        if self.selection not in ("best", "ensemble"):
            raise ValueError(f"selection must be 'best' or 'ensemble', not {self.selection}")
        if self.calibration not in ("platt", "isotonic"):
            raise ValueError(f"calibration must be 'platt' or 'isotonic', not {self.calibration}")

    def _design(
        self,
        x: np.ndarray,
        adjacency: sp.spmatrix,
        embeddings: np.ndarray | None,
        labelled: tuple[np.ndarray, np.ndarray] | None = None,
        structure: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Feature matrix without and with the embeddings appended.

        ``labelled``: ``(labels, labelled_idx)`` the label shares count (default: the
        training labels ``fit`` saw); ``structure``: ``neighbour_aggregates(x, adjacency)``
        if the caller has it.
        """
        parts = [neighbour_aggregates(x, adjacency) if structure is None else structure]
        if self.label_features:
            labels, idx = labelled if labelled is not None else (self.labels_, self.labelled_idx_)
            parts.append(label_aggregates(adjacency, labels, idx))
        base = np.hstack(parts)
        if embeddings is None:
            return base, None
        return base, np.hstack([base, np.asarray(embeddings, dtype=np.float64)])

    @_ONE_BLAS_THREAD
    def fit(
        self,
        X: np.ndarray,
        adjacency: sp.spmatrix,
        y: np.ndarray,
        *,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        embeddings: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        structure: np.ndarray | None = None,
    ) -> GraphRiskModel:
        """Train the candidates on ``train_idx``, choose and calibrate on ``val_idx``.

        Only ``y[train_idx]`` and ``y[val_idx]`` are read; every other label (the test
        split, or unknown) is never looked at.

        Args:
            X: ``[n, d]`` node features.
            adjacency: ``[n, n]`` sparse adjacency (undirected use).
            y: ``[n]`` 0/1 labels.
            train_idx: nodes to learn from (and whose labels feed the label shares).
            val_idx: nodes to choose, stop and calibrate on; need both classes.
            embeddings: optional ``[n, k]`` node embeddings (e.g. from a GNN).
            sample_weight: optional ``[n]`` weights of the nodes in the learners' fits
                and in the calibration (so the calibrated probability is of the
                population the learners fitted); the choice stays unweighted.
            structure: optional ``neighbour_aggregates(X, adjacency)``, made once by a
                caller that fits several models on the same graph (cross-fitting).
        """
        self._check_params()
        x = np.asarray(X, dtype=np.float64)
        n = x.shape[0]
        if adjacency.shape != (n, n):
            raise ValueError(f"adjacency {adjacency.shape} does not match {n} nodes")
        train, val = np.asarray(train_idx, dtype=np.int64), np.asarray(val_idx, dtype=np.int64)
        labels = np.zeros(n, dtype=np.int64)
        labels[train] = np.asarray(y)[train] > 0
        labels[val] = np.asarray(y)[val] > 0
        for name, part in (("train", train), ("validation", val)):
            if np.unique(labels[part]).size < 2:
                raise ValueError(f"the {name} split needs both positive and negative nodes")
        self.n_nodes_ = n
        self.labelled_idx_ = train
        self.labels_ = np.zeros(n, dtype=np.int64)
        self.labels_[train] = labels[train]
        plain, with_emb = self._design(x, adjacency, embeddings, structure=structure)
        fit_rows = self._fit_rows(train, labels)

        self.models_: dict[str, _Fitted] = {}
        val_scores: dict[str, np.ndarray] = {}
        for name in self.candidates:
            kind, uses_emb = CANDIDATES[name]
            if uses_emb and with_emb is None:
                continue
            design = with_emb if uses_emb else plain
            learner = _learner(kind, seed=self.seed, n_jobs=self.n_jobs)
            scores = _fit_scored(
                kind, learner, design, labels, fit_rows, val, sample_weight, self.n_jobs
            )
            self.models_[name] = _Fitted(learner, uses_emb, scores, np.sort(scores))
            val_scores[name] = scores[val]
        self.validation_auroc_ = {
            name: float(roc_auc_score(labels[val], s)) for name, s in val_scores.items()
        }
        if len(self.models_) > 1:
            ensemble = np.mean(
                [_quantile(self.models_[k].reference, s) for k, s in val_scores.items()], axis=0
            )
            self.validation_auroc_[ENSEMBLE] = float(roc_auc_score(labels[val], ensemble))
        self.chosen_ = max(self.validation_auroc_, key=self.validation_auroc_.get)
        if self.selection == "ensemble" and ENSEMBLE in self.validation_auroc_:
            self.chosen_ = ENSEMBLE
        self.val_auroc_ = self.validation_auroc_[self.chosen_]
        self.calibrator_ = self._calibrator(
            self._combined(self._fitted_scores())[val],
            labels[val].astype(np.float64),
            None if sample_weight is None else np.asarray(sample_weight)[val],
        )
        return self

    def fitted_proba(self) -> np.ndarray:
        """Calibrated ``[n, 2]`` probabilities of the nodes ``fit`` saw, from its inputs.

        The same as ``predict_proba`` with the arguments given to ``fit``, without scoring
        every node again (``fit`` already did, to choose and calibrate).
        """
        return self._calibrated(self._combined(self._fitted_scores()))

    def _fitted_scores(self) -> dict[str, np.ndarray]:
        """Each candidate's score of every node ``fit`` saw."""
        return {name: fitted.scores for name, fitted in self.models_.items()}

    def _fit_rows(self, train: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The training nodes the learners see: all, or positives plus sampled others."""
        if self.max_fit_rows is None or len(train) <= self.max_fit_rows:
            return train
        positive = train[labels[train] == 1]
        others = train[labels[train] == 0]
        keep = max(self.max_fit_rows - len(positive), 1)
        sampled = np.random.default_rng(self.seed).choice(others, size=keep, replace=False)
        return np.sort(np.concatenate([positive, sampled]))

    def _needed(self) -> list[str]:
        """The candidates whose scores the chosen score is made of."""
        return list(self.models_) if self.chosen_ == ENSEMBLE else [self.chosen_]

    def _combined(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        """The chosen uncalibrated score from candidate scores (a quantile for the ensemble)."""
        if self.chosen_ == ENSEMBLE:
            return np.mean(
                [_quantile(self.models_[k].reference, scores[k]) for k in scores], axis=0
            )
        return scores[self.chosen_]

    def _raw_score(self, plain: np.ndarray, with_emb: np.ndarray | None) -> np.ndarray:
        """The chosen candidate's uncalibrated score of the given design rows."""
        scores = {}
        for name in self._needed():
            fitted = self.models_[name]
            design = with_emb if fitted.uses_embeddings else plain
            scores[name] = _positive_proba(fitted.model, design, self.n_jobs)
        return self._combined(scores)

    def _calibrator(self, score: np.ndarray, target: np.ndarray, weight: np.ndarray | None) -> Any:
        if self.calibration == "isotonic":
            isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            return isotonic.fit(score, target, sample_weight=weight)
        logit = np.log((score + _EPS) / (1.0 - score + _EPS)).reshape(-1, 1)
        return LogisticRegression(C=1e4).fit(logit, target, sample_weight=weight)

    @_ONE_BLAS_THREAD
    def decision_function(
        self,
        X: np.ndarray,
        adjacency: sp.spmatrix,
        *,
        embeddings: np.ndarray | None = None,
    ) -> np.ndarray:
        """Uncalibrated ranking score of every node (higher = riskier)."""
        x = np.asarray(X, dtype=np.float64)
        if x.shape[0] != self.n_nodes_:
            raise ValueError(
                f"the model scores the {self.n_nodes_} nodes it was fitted on, not {x.shape[0]}"
            )
        needs_emb = any(f.uses_embeddings for f in self.models_.values())
        if needs_emb and embeddings is None:
            raise ValueError("the model was fitted with embeddings; pass them to predict")
        plain, with_emb = self._design(x, adjacency, embeddings if needs_emb else None)
        return self._raw_score(plain, with_emb)

    def predict_proba(
        self,
        X: np.ndarray,
        adjacency: sp.spmatrix,
        *,
        embeddings: np.ndarray | None = None,
    ) -> np.ndarray:
        """Calibrated ``[n, 2]`` class probabilities (column 1: positive)."""
        return self._calibrated(self.decision_function(X, adjacency, embeddings=embeddings))

    def design(
        self,
        structure: np.ndarray,
        adjacency: sp.spmatrix,
        *,
        labels: np.ndarray,
        labelled_idx: np.ndarray,
    ) -> np.ndarray:
        """Design rows of every node of another graph of the same features.

        For a later state of the data the model was fitted on (a stream's next
        micro-batch: more nodes, more edges, new labels): ``structure`` is
        ``neighbour_aggregates`` of its features and adjacency, and the label shares count
        ``labels[labelled_idx]``, which must hold no label of the nodes to be scored. A
        node's row is all :meth:`predict_design` reads of it, so a caller can tell which
        nodes' scores changed by comparing rows.
        """
        if any(f.uses_embeddings for f in self.models_.values()):
            raise ValueError("the model was fitted with embeddings; it scores its own fit only")
        plain, _ = self._design(structure, adjacency, None, (labels, labelled_idx), structure)
        return plain

    @_ONE_BLAS_THREAD
    def predict_design(self, design: np.ndarray) -> np.ndarray:
        """Calibrated positive probability of rows of :meth:`design`: the trees, the choice
        and the calibration stay as fitted, and each row is scored on its own."""
        return self._calibrated(self._raw_score(design, None))[:, 1]

    def _calibrated(self, score: np.ndarray) -> np.ndarray:
        """``[n, 2]`` probabilities from uncalibrated scores."""
        if self.calibration == "isotonic":
            p = self.calibrator_.predict(score)
        else:
            logit = np.log((score + _EPS) / (1.0 - score + _EPS)).reshape(-1, 1)
            p = self.calibrator_.predict_proba(logit)[:, 1]
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])
