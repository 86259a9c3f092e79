"""GraphRiskModel, its neighbour features and the learned-risk pipeline step."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import QuantileTransformer

from ringscope.config import RunConfig
from ringscope.pipeline import run_pipeline
from ringscope.privacy import Keyring
from ringscope.ranking.neighbour_features import (
    label_aggregates,
    neighbour_aggregates,
    symmetric_adjacency,
)
from ringscope.ranking.risk_model import GraphRiskModel, _normal_quantiles
from ringscope.worlds import WorldConfig, generate_world, write_world


def _random_graph(n: int, p: float, seed: int) -> sp.csr_matrix:
    g = nx.gnp_random_graph(n, p, seed=seed)
    return sp.csr_matrix(nx.to_scipy_sparse_array(g, nodelist=range(n)))


def test_aggregates_match_a_loop_over_neighbours():
    rng = np.random.default_rng(0)
    adj = _random_graph(40, 0.1, seed=1)
    x = rng.normal(size=(40, 3))
    out = neighbour_aggregates(x, adj)
    assert out.shape == (40, 6 * 3 + 3)
    g = nx.from_scipy_sparse_array(adj)
    mean1 = np.zeros_like(x)
    for i in range(40):
        nbrs = list(g.neighbors(i))
        if nbrs:
            mean1[i] = x[nbrs].mean(axis=0)
            np.testing.assert_allclose(out[i, 6:9], x[nbrs].max(axis=0))
        else:
            np.testing.assert_allclose(out[i, 6:9], 0.0)
        np.testing.assert_allclose(out[i, 15:18], x[i] - mean1[i])
    np.testing.assert_allclose(out[:, 3:6], mean1)
    np.testing.assert_allclose(out[:, 18], np.log1p([g.degree(i) for i in range(40)]))


def test_edge_list_becomes_symmetric_without_self_loops():
    adj = symmetric_adjacency(np.array([[0, 1, 2, 2], [1, 0, 2, 3]]), 4)
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    assert adj.nnz == 4  # 0-1 and 2-3, both directions


def test_label_shares_read_only_training_labels_and_never_a_nodes_own():
    rng = np.random.default_rng(2)
    adj = _random_graph(60, 0.15, seed=3)
    y = rng.integers(0, 2, size=60)
    train = np.arange(0, 60, 2)
    base = label_aggregates(adj, y, train)
    # Labels outside the training split never change a feature.
    garbage = y.copy()
    garbage[1::2] = 1 - garbage[1::2]
    np.testing.assert_array_equal(label_aggregates(adj, garbage, train), base)
    # Flipping a training node's label changes its neighbours' features, never its own.
    node = int(train[np.argmax(np.asarray(adj[train].sum(axis=1)).ravel())])
    flipped = y.copy()
    flipped[node] = 1 - flipped[node]
    changed = label_aggregates(adj, flipped, train)
    np.testing.assert_array_equal(changed[node], base[node])
    assert not np.array_equal(changed, base)


@pytest.fixture(scope="module")
def hidden_ring_graph():
    """Anomalies look like everyone else; only their neighbours' features give them away.

    Each anomaly links to five nodes from a "marked" pool whose first feature is shifted;
    normal nodes link to unmarked nodes. Marked nodes themselves are normal.
    """
    rng = np.random.default_rng(11)
    n, n_bad, n_marked = 1500, 120, 150
    x = rng.normal(size=(n, 6))
    bad = rng.choice(np.arange(n_marked, n), size=n_bad, replace=False)
    marked = np.arange(n_marked)
    x[marked, 0] += 3.0
    y = np.zeros(n, dtype=int)
    y[bad] = 1
    unmarked = np.setdiff1d(np.arange(n), marked)
    src, dst = [], []
    for i in range(n_marked, n):
        pool = marked if y[i] else unmarked
        for j in rng.choice(pool, size=5, replace=False):
            if j != i:
                src.append(i)
                dst.append(j)
    adj = symmetric_adjacency(np.array([src, dst]), n)
    idx = rng.permutation(n)
    train, val, test = idx[:600], idx[600:900], idx[900:]
    return x, adj, y, train, val, test


def test_model_finds_anomalies_only_visible_through_neighbours(hidden_ring_graph):
    x, adj, y, train, val, test = hidden_ring_graph
    raw = LogisticRegression().fit(x[train], y[train]).predict_proba(x)[:, 1]
    assert roc_auc_score(y[test], raw[test]) < 0.65
    model = GraphRiskModel(seed=0, label_features=False).fit(
        x, adj, y, train_idx=train, val_idx=val
    )
    proba = model.predict_proba(x, adj)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert roc_auc_score(y[test], proba[test, 1]) > 0.9
    assert model.chosen_ in model.validation_auroc_
    assert model.val_auroc_ == max(model.validation_auroc_.values())
    # Calibrated: predicted positives on test are about as many as the real ones.
    assert abs(proba[test, 1].sum() - y[test].sum()) < 0.5 * y[test].sum()


@pytest.mark.parametrize("candidates", [("gbdt",), ("gbdt", "extra_trees"), ("logistic",)])
def test_fitted_probabilities_are_what_predict_gives_on_the_fit_inputs(
    hidden_ring_graph, candidates
):
    x, adj, y, train, val, _ = hidden_ring_graph
    model = GraphRiskModel(seed=0, candidates=candidates).fit(
        x, adj, y, train_idx=train, val_idx=val
    )
    np.testing.assert_array_equal(model.fitted_proba(), model.predict_proba(x, adj))


def test_neighbour_aggregates_made_by_the_caller_fit_the_same_model(hidden_ring_graph):
    x, adj, y, train, val, _ = hidden_ring_graph

    def fitted(**structure: np.ndarray) -> np.ndarray:
        model = GraphRiskModel(seed=0, candidates=("gbdt", "extra_trees", "logistic"))
        model.fit(x, adj, y, train_idx=train, val_idx=val, **structure)
        return model.fitted_proba()

    np.testing.assert_array_equal(fitted(structure=neighbour_aggregates(x, adj)), fitted())


def test_the_logistic_candidates_quantile_map_is_scikit_learns_to_the_bit(hidden_ring_graph):
    # the fits map the features with _normal_quantiles instead of
    # QuantileTransformer.transform (cheaper); the scores must not move by a bit
    x, adj, y, train, val, _ = hidden_ring_graph
    model = GraphRiskModel(seed=0, candidates=("logistic",)).fit(
        x, adj, y, train_idx=train, val_idx=val
    )
    design, _ = model._design(x, adj, None)
    fitted = model.models_["logistic"]
    np.testing.assert_array_equal(fitted.scores, fitted.model.predict_proba(design)[:, 1])
    # ties in the quantiles, NaN, values beyond the fitted range on both sides
    rng = np.random.default_rng(3)
    sample = np.column_stack(
        [rng.integers(0, 4, 2000), rng.normal(size=2000), rng.exponential(size=2000)]
    ).astype(np.float64)
    sample[::9, 1] = np.nan
    quantiles = QuantileTransformer(n_quantiles=100, output_distribution="normal").fit(sample[:500])
    sample[0] = [-1e9, 50.0, 1e9]
    mine, theirs = _normal_quantiles(quantiles, sample), quantiles.transform(sample)
    np.testing.assert_array_equal(mine, theirs)
    assert np.array_equal(np.signbit(mine), np.signbit(theirs))


def test_a_fit_cap_keeps_every_positive_and_still_finds_the_ring(hidden_ring_graph):
    x, adj, y, train, val, test = hidden_ring_graph
    model = GraphRiskModel(seed=0, candidates=("gbdt", "extra_trees"), max_fit_rows=250)
    model.fit(x, adj, y, train_idx=train, val_idx=val)
    rows = model._fit_rows(train, model.labels_)
    assert len(rows) == 250 and len(train) == 600
    assert set(train[y[train] == 1]) <= set(rows) <= set(train)
    assert np.array_equal(rows, model._fit_rows(train, model.labels_))  # seeded
    proba = model.predict_proba(x, adj)[:, 1]
    assert roc_auc_score(y[test], proba[test]) > 0.85
    # the label shares still count every training label, not only the sampled ones
    assert np.array_equal(model.labelled_idx_, train)


def test_embedding_candidate_runs_only_with_embeddings(hidden_ring_graph):
    x, adj, y, train, val, _ = hidden_ring_graph
    emb = np.random.default_rng(0).normal(size=(len(y), 4))
    model = GraphRiskModel(seed=0, candidates=("gbdt", "gbdt_embeddings")).fit(
        x, adj, y, train_idx=train, val_idx=val, embeddings=emb
    )
    assert set(model.models_) == {"gbdt", "gbdt_embeddings"}
    with pytest.raises(ValueError, match="embeddings"):
        model.predict_proba(x, adj)
    plain = GraphRiskModel(seed=0, candidates=("gbdt", "gbdt_embeddings")).fit(
        x, adj, y, train_idx=train, val_idx=val
    )
    assert set(plain.models_) == {"gbdt"}


def test_bad_parameters_and_one_class_splits_are_errors(hidden_ring_graph):
    x, adj, y, train, val, _ = hidden_ring_graph
    with pytest.raises(ValueError, match="unknown candidates"):
        GraphRiskModel(candidates=("svm",)).fit(x, adj, y, train_idx=train, val_idx=val)
    negatives = val[y[val] == 0]
    with pytest.raises(ValueError, match="validation split needs both"):
        GraphRiskModel().fit(x, adj, y, train_idx=train, val_idx=negatives)
    model = GraphRiskModel(seed=0, candidates=("gbdt",)).fit(
        x, adj, y, train_idx=train, val_idx=val
    )
    with pytest.raises(ValueError, match="nodes it was fitted on"):
        model.predict_proba(x[:10], adj[:10, :10])


@pytest.fixture(scope="module")
def world_events(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("risk-world")
    # seed 1: 16 suspended actors among 700, enough for the default min_positives (10)
    write_world(generate_world(WorldConfig(n_legit=600), seed=1), out)
    return next(out.glob("events*"))


def _run(events: Path, root: Path, **risk_model) -> dict:
    config = RunConfig().with_overrides(
        {"embeddings.enabled": False} | {f"risk_model.{k}": v for k, v in risk_model.items()}
    )
    snap = run_pipeline(
        [events], root, config=config, keyring=Keyring(b"test-secret-key-0123456789", is_demo=True)
    )
    return json.loads((snap / "manifest.json").read_text())


@pytest.mark.slow
def test_run_uses_the_learned_model_when_labels_exist_and_records_it(world_events, tmp_path):
    report = _run(world_events, tmp_path / "learned")["steps"]["ranking"]["risk_model"]
    assert report["used"] == "learned"
    assert report["n_positives"] >= 10
    assert 0.5 < report["model_selection_auroc"] <= 1.0
    check = report["validation"]["vs_never_flagged"]
    assert check["positives"] == report["n_positives"]
    assert check["negatives"] > 0
    assert 0.5 < check["auroc"] <= 1.0
    assert 0.0 < check["auprc"] <= 1.0
    heuristic = _run(world_events, tmp_path / "few", min_positives=10_000)["steps"]["ranking"]
    assert heuristic["risk_model"]["used"] == "heuristic"
    assert "min_positives" in heuristic["risk_model"]["reason"]
