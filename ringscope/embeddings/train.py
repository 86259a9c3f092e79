"""Full-batch training of the hetero SAGE encoder: link prediction, plus labels when known.

Self-supervised part: every actor–item edge (and actor–actor message edge) is a positive
pair, the same actor with a random item of the same type a negative one; the loss is
binary cross-entropy on cosine similarity over a temperature. Actors that use the same
items are thereby pulled together — a ring that shares devices, links, content and
victims lands in one place even where the coordination windows miss it.

Supervised part (when at least ``min_positives`` actors are labelled): a linear head on
the actor embedding predicts ``known_bad`` (suspensions), class-balanced, weighted by
``label_weight``. Training is full batch (the whole graph in every step), seeded, and
stops after ``epochs`` or ``max_seconds``, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ringscope.embeddings.hetero_data import GNN_RELATIONS, EdgeType, GraphTensors
from ringscope.embeddings.model import HeteroSAGE, MeanAdjacency

__all__ = ["FeatureScaler", "HeteroSAGEEmbedder", "resolve_device", "unit_embeddings"]


def resolve_device(device: str) -> torch.device:
    """``"cpu"``, or ``"auto"``: CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    raise ValueError(f"unknown device {device!r}; valid: cpu, auto")


@contextmanager
def _intra_op_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch CPU threads (None: leave torch's setting), then restore."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class FeatureScaler:
    """Per node type column means and standard deviations (constant columns keep std 1)."""

    mean: dict[str, Tensor]
    std: dict[str, Tensor]

    @classmethod
    def fit(cls, x_dict: dict[str, Tensor]) -> FeatureScaler:
        """Statistics of the training graph's features."""
        mean, std = {}, {}
        for t, x in x_dict.items():
            if len(x) == 0:  # a node type the log never mentions (no devices in mail)
                mean[t], std[t] = torch.zeros(x.shape[1]), torch.ones(x.shape[1])
                continue
            mean[t] = x.mean(0)
            s = x.std(0, correction=0)
            std[t] = torch.where(s > 1e-6, s, torch.ones_like(s))
        return cls(mean=mean, std=std)

    def transform(self, node_type: str, x: Tensor) -> Tensor:
        """Standardised features of nodes of ``node_type``."""
        return (x - self.mean[node_type]) / self.std[node_type]


@dataclass(frozen=True)
class _LinkTargets:
    """Positive pairs of one relation, and how many destination nodes negatives come from."""

    edge_type: EdgeType
    src: Tensor
    dst: Tensor
    num_dst: int


def _link_targets(data: GraphTensors) -> list[_LinkTargets]:
    return [
        _LinkTargets(et, data.edge_index[et][0], data.edge_index[et][1], data.num_nodes(et[2]))
        for et in GNN_RELATIONS
        if data.edge_index[et].shape[1] > 0
    ]


class HeteroSAGEEmbedder:
    """Learns node embeddings of a ``GraphTensors`` graph (see the module docstring).

    Args:
        dim: embedding (and hidden) width.
        num_layers: message-passing layers.
        epochs: full-batch steps at most.
        lr: Adam learning rate.
        seed: seeds weights and negative sampling.
        device: ``"cpu"`` or ``"auto"`` (CUDA when present).
        max_seconds: stop training after this long (``None``: no limit).
        label_weight: weight of the supervised loss (0 turns it off).
        min_positives: labelled bad actors needed before labels are used.
        edges_per_epoch: positive pairs sampled per step (capped by the edge count).
        temperature: scale of cosine similarities in the link loss.
        threads: torch CPU threads while training (None: torch's default, one per core).
            On a machine shared with other work, OpenMP threads that wait spin and can
            make several threads many times slower than one.

    Learned state: ``model_``, ``scaler_``, ``device_``, ``losses_`` (per epoch),
    ``epochs_`` (run), ``seconds_``, ``stopped_by_time_``, ``n_positive_labels_``.
    """

    def __init__(
        self,
        *,
        dim: int = 32,
        num_layers: int = 2,
        epochs: int = 20,
        lr: float = 0.01,
        seed: int = 0,
        device: str = "cpu",
        max_seconds: float | None = None,
        label_weight: float = 0.5,
        min_positives: int = 5,
        edges_per_epoch: int = 65_536,
        temperature: float = 0.2,
        threads: int | None = None,
    ) -> None:
        self.dim = dim
        self.num_layers = num_layers
        self.epochs = epochs
        self.lr = lr
        self.seed = seed
        self.device = device
        self.max_seconds = max_seconds
        self.label_weight = label_weight
        self.min_positives = min_positives
        self.edges_per_epoch = edges_per_epoch
        self.temperature = temperature
        self.threads = threads

    def _inputs(
        self, data: GraphTensors
    ) -> tuple[dict[str, Tensor], dict[EdgeType, MeanAdjacency]]:
        x = {t: self.scaler_.transform(t, data.x[t]).to(self.device_) for t in data.node_types}
        adjacency = {
            et: MeanAdjacency(
                data.edge_index[et], data.num_nodes(et[0]), data.num_nodes(et[2]), self.device_
            )
            for et in data.edge_types
        }
        return x, adjacency

    def fit(self, data: GraphTensors) -> HeteroSAGEEmbedder:
        """Train on ``data`` (features ``x`` per node type, ``edge_index`` per relation)."""
        with _intra_op_threads(self.threads):
            return self._fit(data)

    def _fit(self, data: GraphTensors) -> HeteroSAGEEmbedder:
        started = time.perf_counter()
        torch.manual_seed(self.seed)
        self.device_ = resolve_device(self.device)
        self.scaler_ = FeatureScaler.fit(data.x)
        x, adjacency = self._inputs(data)
        self.model_ = HeteroSAGE(
            {t: x.shape[1] for t, x in data.x.items()},
            list(data.edge_types),
            hidden=self.dim,
            out=self.dim,
            num_layers=self.num_layers,
        ).to(self.device_)
        targets = _link_targets(data)
        labels = self._labels(data)
        head = torch.nn.Linear(self.dim, 1).to(self.device_)
        params = list(self.model_.parameters()) + (list(head.parameters()) if labels else [])
        optimizer = torch.optim.Adam(params, lr=self.lr)
        generator = torch.Generator().manual_seed(self.seed)
        self.losses_: list[float] = []
        self.stopped_by_time_ = False
        self.model_.train()
        for _ in range(self.epochs):
            optimizer.zero_grad()
            z = self.model_(x, adjacency)
            loss = self._link_loss(z, targets, generator)
            if labels:
                logits = head(F.normalize(z["actor"][labels[0]], dim=1)).squeeze(1)
                sup = F.binary_cross_entropy_with_logits(logits, labels[1], pos_weight=labels[2])
                loss = loss + self.label_weight * sup
            loss.backward()
            optimizer.step()
            self.losses_.append(float(loss.detach()))
            if self.max_seconds is not None and time.perf_counter() - started > self.max_seconds:
                self.stopped_by_time_ = True
                break
        self.model_.eval()
        self.epochs_ = len(self.losses_)
        self.seconds_ = time.perf_counter() - started
        return self

    def _labels(self, data: GraphTensors) -> tuple[Tensor, Tensor, Tensor] | None:
        """Labelled actors, their 0/1 labels and the positive class weight, or None."""
        self.n_positive_labels_ = 0
        if self.label_weight <= 0 or data.y is None:
            return None
        y = data.y
        acted = data.x["actor"][:, data.feature_names["actor"].index("acted")] > 0
        idx = torch.nonzero(acted).squeeze(1)
        target = y[idx]
        positives = int(target.sum())
        self.n_positive_labels_ = positives
        if positives < self.min_positives:
            return None
        weight = torch.tensor((len(target) - positives) / positives)
        return idx.to(self.device_), target.to(self.device_), weight.to(self.device_)

    def _link_loss(
        self, z: dict[str, Tensor], targets: list[_LinkTargets], generator: torch.Generator
    ) -> Tensor:
        """BCE of sampled positive pairs against the same sources with random destinations.

        Each relation contributes pairs in proportion to its edge count, up to
        ``edges_per_epoch`` in all.
        """
        unit = {t: F.normalize(v, dim=1) for t, v in z.items()}
        total = sum(len(t.src) for t in targets)
        share = min(1.0, self.edges_per_epoch / total)
        pos, neg = [], []
        for t in targets:
            take = max(1, round(len(t.src) * share))
            sample = torch.randint(len(t.src), (take,), generator=generator)
            noise = torch.randint(t.num_dst, (take,), generator=generator)
            s, _, d = t.edge_type
            zs = unit[s][t.src[sample].to(self.device_)]
            pos.append((zs * unit[d][t.dst[sample].to(self.device_)]).sum(1))
            neg.append((zs * unit[d][noise.to(self.device_)]).sum(1))
        pos_logits = torch.cat(pos) / self.temperature
        neg_logits = torch.cat(neg) / self.temperature
        return F.binary_cross_entropy_with_logits(
            pos_logits, torch.ones_like(pos_logits)
        ) + F.binary_cross_entropy_with_logits(neg_logits, torch.zeros_like(neg_logits))

    @torch.no_grad()
    def layer_states(self, data: GraphTensors) -> list[dict[str, Tensor]]:
        """Every layer's states of every node (CPU tensors), for the inductive context."""
        with _intra_op_threads(self.threads):
            x, adjacency = self._inputs(data)
            states = self.model_.layer_states(x, adjacency)
        return [{t: v.cpu() for t, v in h.items()} for h in states]

    def embed(self, data: GraphTensors) -> dict[str, np.ndarray]:
        """Unit-length float32 embeddings of every node, per node type."""
        return unit_embeddings(self.layer_states(data))


def unit_embeddings(states: list[dict[str, Tensor]]) -> dict[str, np.ndarray]:
    """The last layer's states, L2-normalised, as float32 arrays per node type."""
    return {t: F.normalize(v, dim=1).numpy().astype(np.float32) for t, v in states[-1].items()}
