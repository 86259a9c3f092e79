"""Repeat-offender commands: ``check-signups``, ``evaluate-signups``, ``suspend`` and
``signup-outcome``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from ringscope.cli.console import err
from ringscope.errors import InputError

if TYPE_CHECKING:
    from ringscope.signup.check import SignupChecker

__all__ = ["register"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--snapshot", type=Path, required=True, help="snapshot or snapshot root")
    p.add_argument("--config", type=Path, help="TOML file; its [signup] section is used")
    p.add_argument(
        "--insecure-demo-key",
        action="store_true",
        help="the snapshot was made with the public demo key (never for real data)",
    )
    p.add_argument(
        "--database-url",
        help="verdict store whose signup outcomes recalibrate the check (default: "
        "RINGSCOPE_DATABASE_URL, else the SQLite store in the snapshot root, when there is one)",
    )


def _root(snapshot: Path) -> Path:
    return snapshot if (snapshot / "LATEST").exists() else snapshot.parent


def _open_store(args: argparse.Namespace, *, create: bool = False):
    """The root's verdict store (None when there is none and ``create`` is False)."""
    from ringscope.api.settings import default_database_url
    from ringscope.feedback.step import store_url_for
    from ringscope.store import open_store

    url = args.database_url or os.environ.get("RINGSCOPE_DATABASE_URL")
    url = url or store_url_for(_root(args.snapshot), None)
    if url is None and create:
        url = default_database_url(_root(args.snapshot))
    return open_store(url) if url else None


def _checker(args: argparse.Namespace) -> SignupChecker:
    from ringscope.config import RunConfig
    from ringscope.privacy import load_keyring
    from ringscope.signup.check import open_checker
    from ringscope.signup.recalibrate import recalibrate

    config = RunConfig.from_toml(args.config).signup if args.config else None
    keyring = load_keyring(allow_demo=args.insecure_demo_key)
    checker = open_checker(args.snapshot, keyring=keyring, config=config)
    store = _open_store(args)
    if store is not None:
        try:
            recalibrate(checker, store)
        finally:
            store.close()
    return checker


def _outcome_rows(path: Path) -> list[tuple[int, dict]]:
    """Every line of an outcomes file, checked first: one bad line rejects the file."""
    from ringscope.signup.attempt import SignupInputError, parse_attempt
    from ringscope.store import OUTCOMES

    rows, problems = [], []
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            unknown = set(row) - {"attempt", "outcome", "investigator", "note"}
            if unknown:
                raise ValueError(f"unknown field(s) {sorted(unknown)}")
            if row.get("outcome") not in OUTCOMES:
                raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
            if not isinstance(row.get("attempt"), dict):
                raise ValueError("attempt must be an object (the checked signup)")
            row["attempt"] = parse_attempt(row["attempt"])
        except (ValueError, SignupInputError) as exc:
            problems.append(f"  line {number}: {exc}")
            continue
        rows.append((number, row))
    if problems:
        raise InputError(
            f"{len(problems)} bad line(s) in {path}; nothing was recorded:\n" + "\n".join(problems)
        )
    return rows


def cmd_outcome(args: argparse.Namespace) -> int:
    """Record reviewers' outcomes of checked signups and show the new calibration."""
    from ringscope.signup.recalibrate import calibration_report, fit_calibration

    rows = _outcome_rows(args.file)
    checker = _checker(args)
    checker.calibration = None  # outcomes keep the configured model's evidence
    store = _open_store(args, create=True)
    try:
        for _, row in rows:
            risk, evidence = checker.uncalibrated(row["attempt"])
            store.add_signup_outcome(
                row["attempt"].actor_id,
                row["outcome"],
                investigator=row.get("investigator") or "cli",
                snapshot_id=checker.index.snapshot_id,
                risk=risk,
                evidence=evidence,
                note=row.get("note"),
            )
        outcomes = store.signup_outcomes()
    finally:
        store.close()
    calibration = fit_calibration(outcomes, checker.config)
    report = calibration_report(outcomes)
    err.print(f"recorded {len(rows)} outcome(s); {len(outcomes)} in the store")
    Console().print_json(json.dumps({"calibration": calibration.to_json(), "report": report}))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check a file of signup attempts; one result line per input line."""
    from ringscope.signup.batch import check_file

    counts = check_file(_checker(args), args.input, args.out)
    summary = ", ".join(f"{counts[k]} {k}" for k in ("allow", "review", "block", "error"))
    err.print(f"checked {sum(counts.values())} signups: {summary}; results in {args.out}")
    if counts["error"]:
        err.print(f"[red]error:[/] {counts['error']} line(s) were not valid signups (see 'error')")
        return 2
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Check a world's held-back signups and score them against their truth."""
    import tempfile

    from ringscope.evaluation.signup import evaluate_signups
    from ringscope.signup.batch import check_file
    from ringscope.worlds.signups import SIGNUPS_FILE, SIGNUPS_TRUTH_FILE

    world = args.world
    signups = args.input or world / SIGNUPS_FILE
    truth_path = args.truth or world / SIGNUPS_TRUTH_FILE
    if not truth_path.is_file():
        raise InputError(f"truth file not found: {truth_path}")
    checker = _checker(args)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.jsonl"
        check_file(checker, signups, out)
        results = [json.loads(line) for line in out.read_text().splitlines()]
    report = evaluate_signups(results, json.loads(truth_path.read_text()))
    Console().print_json(json.dumps(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def cmd_suspend(args: argparse.Namespace) -> int:
    """Append a fresh suspension to the root's journal (applies at the next check)."""
    from ringscope.privacy import load_keyring
    from ringscope.signup.attempt import parse_attempt
    from ringscope.signup.journal import append_suspension

    identifiers = None
    if args.identifiers:
        try:
            record = json.loads(args.identifiers.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read identifiers file {args.identifiers}: {exc}") from None
        identifiers = parse_attempt(record | {"actor_id": args.actor_id})
    keyring = load_keyring(allow_demo=args.insecure_demo_key)
    entry = append_suspension(
        args.snapshot,
        actor_id=args.actor_id,
        keyring=keyring,
        source="cli",
        identifiers=identifiers,
    )
    err.print(f"suspended {entry.actor_id} ({len(entry.keys)} identifier keys) in {args.snapshot}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the signup commands to the ``ringscope`` parser."""
    p = sub.add_parser("check-signups", help="repeat-offender check of a file of signups")
    _common(p)
    p.add_argument("--in", dest="input", type=Path, required=True, help="signups (JSON Lines)")
    p.add_argument("--out", type=Path, required=True, help="results (JSON Lines)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("evaluate-signups", help="score the check on a world's held-back signups")
    _common(p)
    p.add_argument("--world", type=Path, default=Path("."), help="world directory")
    p.add_argument(
        "--in", dest="input", type=Path, help="signups (default WORLD/_holdout/signups.jsonl)"
    )
    p.add_argument("--truth", type=Path, help="truth (default WORLD/_holdout/signups_truth.json)")
    p.add_argument("--json", type=Path, help="also write the metrics as JSON here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("suspend", help="append a suspension to the offender index")
    p.add_argument("--snapshot", type=Path, required=True, help="snapshot root")
    p.add_argument("--actor-id", required=True, help="the suspended account")
    p.add_argument(
        "--identifiers", type=Path, help="JSON object with the account's email, ip, ... (hashed)"
    )
    p.add_argument(
        "--insecure-demo-key",
        action="store_true",
        help="the snapshots were made with the public demo key (never for real data)",
    )
    p.set_defaults(func=cmd_suspend)

    p = sub.add_parser(
        "signup-outcome", help="record reviewers' outcomes of checked signups (recalibrates)"
    )
    _common(p)
    p.add_argument(
        "file",
        type=Path,
        help="JSON Lines: {attempt: {...the checked signup...}, outcome: offender|legit, "
        "investigator, note}",
    )
    p.set_defaults(func=cmd_outcome)
