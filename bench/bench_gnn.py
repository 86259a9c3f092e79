"""Benchmark full-batch GNN training: seconds per epoch, total, peak memory, quality.

Generates (once, cached under bench/out/ like bench_run.py) a seeded world, ingests it
and exports the actor-centred graph tensors (saved next to the world), then trains the
hetero SAGE encoder in a child process, so the peak RSS reported is training's own
(graph, features, CSR adjacency, activations, gradients, Adam state).

    python bench/bench_gnn.py --legit 12500      # ~0.5M records, ~1M GNN edges
    python bench/bench_gnn.py --legit 12500 --threads 1
    python bench/bench_gnn.py --legit 50000 --threads 1 --max-seconds 60   # ~2M records
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _world(legit: int, seed: int) -> Path:
    world = OUT / f"world-{legit}-{seed}"
    if not (world / "truth.json").exists():
        subprocess.run(
            [
                *(sys.executable, "-m", "ringscope.cli", "generate", "--out", str(world)),
                *("--legit", str(legit), "--seed", str(seed)),
            ],
            check=True,
        )
    return world


def _prepare(world: Path) -> Path:
    """Ingest the world and save its graph tensors and ring labels (cached)."""
    import torch

    from ringscope.embeddings.hetero_data import graph_tensors
    from ringscope.graph.hetero import build_hetero_graph
    from ringscope.ingest import ingest
    from ringscope.privacy import Keyring
    from ringscope.ranking.features import actor_features

    path = world / "graph_tensors.pt"
    if path.exists():
        return path
    t0 = time.perf_counter()
    result = ingest(sorted(world.glob("events*")), keyring=Keyring(b"bench-secret-key-0123456789"))
    graph = build_hetero_graph(result.events)
    data = graph_tensors(graph, actor_features(result.events, graph))
    truth = json.loads((world / "truth.json").read_text())
    ring_of = {a: r["ring_id"] for r in truth["rings"] for a in r["members"]}
    ids = graph.nodes["actor"]["actor_id"].to_list()
    torch.save({"data": data, "rings": [ring_of.get(a) for a in ids]}, path)
    print(f"prepared {path} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return path


def _train(
    path: Path, *, epochs: int, threads: int, dim: int, seed: int, max_seconds: float | None
) -> dict:
    """Child process: train, time, measure quality."""
    import torch

    from ringscope.embeddings.quality import ring_separation
    from ringscope.embeddings.train import HeteroSAGEEmbedder

    torch.set_num_threads(threads)
    saved = torch.load(path, weights_only=False)
    data, rings = saved["data"], saved["rings"]
    rss_data_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, cpu0 = time.perf_counter(), time.process_time()
    embedder = HeteroSAGEEmbedder(dim=dim, epochs=epochs, seed=seed, max_seconds=max_seconds).fit(
        data
    )
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    t1 = time.perf_counter()
    z = embedder.embed(data)["actor"]
    embed_s = time.perf_counter() - t1
    acted = data.x["actor"][:, data.feature_names["actor"].index("acted")].numpy() > 0
    quality = ring_separation(z[acted], [r for r, a in zip(rings, acted, strict=True) if a])
    forward_edges = data.num_edges()
    return {
        "nodes": sum(data.num_nodes(t) for t in data.node_types),
        "edges": forward_edges,
        "edges_with_reverse": 2 * forward_edges,
        "threads": threads,
        "dim": dim,
        "epochs": embedder.epochs_,
        "stopped_by_time": embedder.stopped_by_time_,
        "fit_s": round(fit_s, 2),
        "s_per_epoch": round(fit_s / embedder.epochs_, 3),
        "fit_cpu_s": round(fit_cpu_s, 2),
        "embed_s": round(embed_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_after_loading_graph_mb": round(rss_data_mb),
        "final_loss": round(embedder.losses_[-1], 4),
        "quality": {k: round(v, 4) for k, v in quality.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=12_500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, help="training time cap, as the step's")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = _train(
            args.child,
            epochs=args.epochs,
            threads=args.threads,
            dim=args.dim,
            seed=0,
            max_seconds=args.max_seconds,
        )
        print(json.dumps(result))
        return
    data_path = _prepare(_world(args.legit, args.seed))
    out = subprocess.run(
        [
            *(sys.executable, __file__, "--child", str(data_path)),
            *("--epochs", str(args.epochs), "--threads", str(args.threads)),
            *("--dim", str(args.dim)),
            *(("--max-seconds", str(args.max_seconds)) if args.max_seconds else ()),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = {"legit_actors": args.legit, "seed": args.seed} | json.loads(out.stdout)
    name = f"bench-gnn-{args.legit}-t{args.threads}.json"
    (OUT / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
