"""``spark-cluster``: a Spark standalone master and workers on this machine, until stopped."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from rich.console import Console

__all__ = ["register"]


def cmd_spark_cluster(args: argparse.Namespace) -> int:
    """Start the cluster, print its master URL, keep it up until SIGINT/SIGTERM."""
    from ringscope.engines.spark.standalone import StandaloneCluster

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    cluster = StandaloneCluster(
        args.root,
        workers=args.workers,
        worker_cores=args.worker_cores,
        worker_memory=args.worker_memory,
        host=args.host,
    )
    with cluster:
        out = Console()
        out.print(f"master {cluster.master_url}", highlight=False)
        out.print(f"web UI {cluster.webui_url}", highlight=False)
        out.print(
            f"{args.workers} workers x {args.worker_cores} core(s), {args.worker_memory}; "
            f"logs in {args.root}. Ctrl-C stops it.",
            highlight=False,
        )
        if args.url_file:
            args.url_file.write_text(cluster.master_url + "\n")
        while not stop.wait(timeout=1.0):
            pass
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``spark-cluster`` to the ``ringscope`` parser."""
    p = sub.add_parser(
        "spark-cluster",
        help="run a Spark standalone master and workers here (for --engine spark)",
    )
    p.add_argument("--root", type=Path, default=Path("spark-cluster"), help="logs and scratch")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-cores", type=int, default=1)
    p.add_argument("--worker-memory", default="3g")
    p.add_argument("--host", default="127.0.0.1", help="address the master and workers bind")
    p.add_argument("--url-file", type=Path, help="also write the master URL to this file")
    p.set_defaults(func=cmd_spark_cluster)
