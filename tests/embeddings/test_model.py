"""The sparse-CSR encoder against dense and PyG references on random graphs."""

from __future__ import annotations

import torch
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import scatter

from ringscope.embeddings.model import HeteroSAGE, HeteroSAGELayer, MeanAdjacency

CPU = torch.device("cpu")


def _random_bipartite(seed: int, n_src: int = 40, n_dst: int = 30, n_edges: int = 120):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(n_src, (n_edges,), generator=g)
    dst = torch.randint(n_dst, (n_edges,), generator=g)
    pairs = torch.unique(torch.stack([src, dst]), dim=1)  # distinct pairs, as exported
    return pairs, n_src, n_dst


def test_mean_matches_scatter_mean_and_its_gradient():
    for seed in range(5):
        edge_index, n_src, n_dst = _random_bipartite(seed)
        x = torch.randn(n_src, 8, dtype=torch.float32, requires_grad=True)
        adj = MeanAdjacency(edge_index, n_src, n_dst, CPU)
        ours = adj.mean(x)
        ref = scatter(x[edge_index[0]], edge_index[1], dim=0, dim_size=n_dst, reduce="mean")
        torch.testing.assert_close(ours, ref)
        weights = torch.randn(n_dst, 8)
        (grad_ours,) = torch.autograd.grad((ours * weights).sum(), x)
        (grad_ref,) = torch.autograd.grad((ref * weights).sum(), x)
        torch.testing.assert_close(grad_ours, grad_ref)


def test_a_node_without_neighbours_gets_zero():
    edge_index = torch.tensor([[0, 1], [0, 0]])
    adj = MeanAdjacency(edge_index, 2, 3, CPU)
    out = adj.mean(torch.tensor([[2.0], [4.0]]))
    assert out.squeeze(1).tolist() == [3.0, 0.0, 0.0]


def test_one_relation_layer_equals_pyg_sageconv():
    """With one relation, the layer is PyG's SAGEConv (mean aggregation, root weight)."""
    edge_index, n_src, n_dst = _random_bipartite(11)
    et = ("item", "rev_used", "actor")
    layer = HeteroSAGELayer(["item", "actor"], [et], 8, 5)
    conv = SAGEConv((8, 8), 5, aggr="mean")
    weight, bias = layer.lin["actor"].weight, layer.lin["actor"].bias
    with torch.no_grad():
        conv.lin_r.weight.copy_(weight[:, :8])  # root (self) part
        conv.lin_l.weight.copy_(weight[:, 8:])  # neighbour part
        conv.lin_l.bias.copy_(bias)
    h = {"item": torch.randn(n_src, 8), "actor": torch.randn(n_dst, 8)}
    ours = layer(h, {et: MeanAdjacency(edge_index, n_src, n_dst, CPU)})["actor"]
    ref = conv((h["item"], h["actor"]), edge_index)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_encoder_shapes_and_layer_states():
    edge_index, n_src, n_dst = _random_bipartite(3)
    forward = ("actor", "used", "item")
    backward = ("item", "rev_used", "actor")
    model = HeteroSAGE({"actor": 4, "item": 2}, [forward, backward], hidden=16, out=6)
    x = {"actor": torch.randn(n_src, 4), "item": torch.randn(n_dst, 2)}
    adjacency = {
        forward: MeanAdjacency(edge_index, n_src, n_dst, CPU),
        backward: MeanAdjacency(edge_index.flip(0), n_dst, n_src, CPU),
    }
    states = model.layer_states(x, adjacency)
    assert [s["actor"].shape[1] for s in states] == [16, 16, 6]
    torch.testing.assert_close(model(x, adjacency)["item"], states[-1]["item"])
