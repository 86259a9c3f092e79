"""Pipeline commands: ``run``, ``generate``, ``evaluate`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from ringscope.cli.console import err
from ringscope.errors import ConfigError, RingscopeError

if TYPE_CHECKING:
    from ringscope.config import RunConfig
    from ringscope.privacy import Keyring

__all__ = ["register"]


def _add_run(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="events -> snapshot")
    p.add_argument("inputs", nargs="+", type=Path, help="event files or directories")
    p.add_argument("--out", type=Path, required=True, help="snapshot root directory")
    p.add_argument("--config", type=Path, help="TOML file overriding defaults")
    p.add_argument("--method", help="community method: leiden, leiden-modularity, components")
    p.add_argument(
        "--resolution", type=float, help="Leiden resolution (CPM: least mean pair weight)"
    )
    p.add_argument("--seed", type=int, help="seed of randomised steps")
    p.add_argument("--max-reject-rate", type=float, help="fail above this reject share")
    p.add_argument("--debug-dir", type=Path, help="write every step's tables here")
    p.add_argument(
        "--database-url",
        help="verdict store whose verdicts shape the ranking (default: RINGSCOPE_DATABASE_URL, "
        "else the SQLite store `serve` keeps in --out, when there is one)",
    )
    p.add_argument("--engine", help="local (default) or spark")
    p.add_argument("--spark-master", help="Spark master URL for --engine spark (local[*])")
    p.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark property for --engine spark (repeatable; wins over spark.conf in --config)",
    )
    p.add_argument(
        "--embeddings",
        action="store_true",
        default=None,
        help="also train the GNN embeddings (off by default; see README)",
    )
    p.add_argument(
        "--insecure-demo-key",
        action="store_true",
        help="hash identifiers with the public demo key (never for real data)",
    )
    return p


def _add_generate(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("generate", help="write a seeded synthetic world with ground truth")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--legit", type=int, default=3000, help="number of legit actors")
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    p.add_argument("--shards", type=int, default=1)
    p.add_argument(
        "--lookalikes",
        choices=("classic", "wide"),
        default="classic",
        help="look-alike mix: classic, or wide (six more kinds, proportions drawn per world)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other world setting (repeatable), e.g. mobile_hosts=2 or nat_size=10000,15000",
    )
    return p


def _add_evaluate(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("evaluate", help="score a snapshot against a world's ground truth")
    p.add_argument("--snapshot", type=Path, required=True, help="snapshot or snapshot root")
    p.add_argument("--truth", type=Path, required=True, help="truth.json of the world")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--json", type=Path, help="also write the metrics as JSON here")
    return p


def _add_demo(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="generate a world, run, show the top rings")
    p.add_argument("--out", type=Path, default=Path("demo-out"))
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--legit", type=int, default=3000)
    p.add_argument("--top", type=int, default=10)
    return p


def _key_values(pairs: list[str], option: str, example: str) -> dict[str, str]:
    """Repeated ``KEY=VALUE`` options as a dict; a malformed one is a ConfigError."""
    properties = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{option} expects KEY=VALUE (e.g. {example}), got {pair!r}")
        properties[key.strip()] = value.strip()
    return properties


def _run_config(args: argparse.Namespace) -> RunConfig:
    from ringscope.config import RunConfig
    from ringscope.graph.communities import resolve_method

    config = RunConfig.from_toml(args.config) if args.config else RunConfig()
    options = {
        "communities.method": args.method,
        "communities.resolution": args.resolution,
        "communities.seed": args.seed,
        "max_reject_rate": args.max_reject_rate,
        "engine": args.engine,
        "spark.master": args.spark_master,
        "embeddings.enabled": args.embeddings,
    }
    config = config.with_overrides({k: v for k, v in options.items() if v is not None})
    if args.spark_conf:
        conf = config.spark.conf | _key_values(
            args.spark_conf, "--spark-conf", "spark.executor.memory=2g"
        )
        config = config.with_overrides({"spark.conf": conf})
    resolve_method(config.communities.method)
    return config


def _progress_run(
    inputs: list[Path],
    out: Path,
    *,
    config: RunConfig,
    keyring: Keyring,
    debug_dir: Path | None = None,
    database_url: str | None = None,
) -> Path:
    """Run the pipeline, printing each finished step; a byte progress bar on a terminal."""
    from ringscope.pipeline import run_pipeline

    def on_step(name: str, seconds: float) -> None:
        err.print(f"  [green]✓[/] {name:<13} {seconds:6.2f}s")

    return run_pipeline(
        inputs,
        out,
        config=config,
        keyring=keyring,
        progress=err.is_terminal,
        debug_dir=debug_dir,
        on_step=on_step,
        database_url=database_url,
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Events -> snapshot."""
    from ringscope.privacy import load_keyring
    from ringscope.snapshot import read_manifest

    config = _run_config(args)
    keyring = load_keyring(allow_demo=args.insecure_demo_key)
    snap = _progress_run(
        args.inputs,
        args.out,
        config=config,
        keyring=keyring,
        debug_dir=args.debug_dir,
        database_url=args.database_url or os.environ.get("RINGSCOPE_DATABASE_URL"),
    )
    manifest = read_manifest(snap)
    console = Console()
    ranking = manifest["steps"]["ranking"]
    console.print(
        f"snapshot {snap}: {manifest['events']:,} events, {manifest['rejected']:,} rejected, "
        f"{ranking['clusters']:,} clusters ({ranking['flagged_clusters']:,} beyond chance; "
        f"ranked {ranking['ranking'].replace('_', '-')}); "
        f"{ranking['flagged_accounts']:,} accounts flagged "
        f"({ranking['flagged_associates']:,} of them associates)"
    )
    fields = manifest["input_fields"]
    console.print(f"input fields used: {', '.join(fields['used']) or '-'}", highlight=False)
    if fields["unused"]:
        console.print(
            f"warning: input fields present but unused: {', '.join(fields['unused'])}",
            style="yellow",
            highlight=False,
        )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Write a synthetic world."""
    from ringscope.worlds import WorldConfig, generate_world, write_world

    settings = _key_values(args.set, "--set", "mobile_hosts=2")
    config = WorldConfig(
        n_legit=args.legit, days=args.days, lookalike_mix=args.lookalikes
    ).with_settings(settings)
    world = generate_world(config, seed=args.seed)
    paths = write_world(world, args.out, fmt=args.format, shards=args.shards)
    events = [p for p in paths if p.name.startswith("events")]
    Console().print(f"wrote {len(events)} event file(s) and truth.json to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Metrics of a snapshot against ground truth."""
    from ringscope.evaluation.rings import evaluate_snapshot
    from ringscope.snapshot import resolve_snapshot

    if not args.truth.exists():
        raise RingscopeError(f"truth file not found: {args.truth}")
    report = evaluate_snapshot(
        resolve_snapshot(args.snapshot), args.truth, k=args.k, threshold=args.threshold
    )
    Console().print(report.render())
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate, run, print the top clusters with their evidence, evaluate."""
    from ringscope.config import RunConfig
    from ringscope.evaluation.rings import evaluate_snapshot
    from ringscope.privacy import load_keyring
    from ringscope.ranking.report import top_clusters_table
    from ringscope.worlds import WorldConfig, generate_world, write_world

    world_dir = args.out / "world"
    with err.status(f"generating a world of {args.legit:,} legit actors (seed {args.seed}) ..."):
        world = generate_world(WorldConfig(n_legit=args.legit), seed=args.seed)
        inputs = [p for p in write_world(world, world_dir) if p.name.startswith("events")]
    keyring = load_keyring(allow_demo=True)
    config = RunConfig().with_overrides({"embeddings.enabled": True})  # the demo shows them
    snap = _progress_run(inputs, args.out / "snapshots", config=config, keyring=keyring)
    console = Console()
    console.print(top_clusters_table(snap, top=args.top))
    console.print(evaluate_snapshot(snap, world_dir / "truth.json").render())
    console.print(f"snapshot: {snap}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the pipeline commands to the ``ringscope`` parser."""
    for add, func in (
        (_add_run, cmd_run),
        (_add_generate, cmd_generate),
        (_add_evaluate, cmd_evaluate),
        (_add_demo, cmd_demo),
    ):
        add(sub).set_defaults(func=func)
