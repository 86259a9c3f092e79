"""The ``embedding`` reason: offenders near a signup in the GNN's embedding space.

On a generated world run with ``--embeddings`` (the ``embedded`` fixture): a new account
on a banned ring member's device is placed next to that ring; the reason is weak (it
changes no legit newcomer's decision, and alone never reaches ``review``) and reported
like every key; without the encoder, or without torch, the check is exactly the check
without embeddings.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from ringscope.signup.attempt import SignupAttempt, parse_attempt
from ringscope.signup.check import SignupChecker, open_checker
from ringscope.signup.fuzzy import attempt_keys
from ringscope.signup.neighbours import item_keys
from ringscope.snapshot import resolve_snapshot
from ringscope.worlds.signups import SIGNUPS_FILE, SIGNUPS_TRUTH_FILE
from tests.signup.conftest import EmbeddedWorld

#: Everything but the device is new to the snapshot.
FRESH = {"email": "new.person@fresh.example", "display_name": "Nova Person", "ip": "100.64.7.7"}
REASON_FIELDS = {"key", "similarity", "shared_with_others", "evidence", "counted"}


@pytest.fixture(scope="module")
def checker(embedded: EmbeddedWorld) -> SignupChecker:
    return open_checker(embedded.root, keyring=embedded.keyring)


@pytest.fixture(scope="module")
def held_back(embedded: EmbeddedWorld) -> list[tuple[SignupAttempt, dict[str, Any]]]:
    """The world's held-back signup attempts with their truth."""
    lines = (embedded.world / SIGNUPS_FILE).read_text().splitlines()
    truth = json.loads((embedded.world / SIGNUPS_TRUTH_FILE).read_text())["attempts"]
    return [(parse_attempt(json.loads(line)), t) for line, t in zip(lines, truth, strict=True)]


def _embedding_reasons(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m["actor_id"], r)
        for m in result["matches"]
        for r in m["reasons"]
        if r["key"] == "embedding"
    ]


def _suspended_ring_devices(world: Path) -> dict[str, tuple[str, set[str]]]:
    """Suspended ring members -> (the first device they used, their ring's members)."""
    truth = json.loads((world / "truth.json").read_text())
    ring = {a: set(r["members"]) for r in truth["rings"] for a in r["members"]}
    device: dict[str, str] = {}
    suspended = set()
    with gzip.open(next(world.glob("events*.jsonl.gz")), "rt") as events:
        for record in map(json.loads, events):
            if record["event_type"] == "suspension":
                suspended.add(record["actor_id"])
            elif record.get("device_id"):
                device.setdefault(record["actor_id"], record["device_id"])
    return {a: (device[a], ring[a]) for a in sorted(suspended & set(ring) & set(device))}


def test_a_new_account_on_a_ring_device_is_placed_next_to_the_ring(
    checker: SignupChecker, embedded: EmbeddedWorld
) -> None:
    assert checker.neighbours is not None
    placed = 0
    for device, members in _suspended_ring_devices(embedded.world).values():
        attempt = parse_attempt({"actor_id": "n-1", "device_id": device, **FRESH})
        (item,) = item_keys(attempt_keys(attempt, embedded.keyring).keys)["device"]
        assert item in checker.neighbours.encoder.context["device"].row_of  # the graph's key
        named = {actor for actor, _ in _embedding_reasons(checker.check(attempt))}
        assert named <= members, "an embedding reason names an offender of another ring"
        placed += bool(named)
    assert placed >= 1


def test_the_reason_is_weak_and_reported_like_a_key(
    checker: SignupChecker, held_back: list[tuple[SignupAttempt, dict[str, Any]]]
) -> None:
    config = checker.config
    weights = config.matches["embedding"]
    plain = dataclasses.replace(checker, neighbours=None)
    reasons = 0
    for attempt, truth in held_back:
        result = checker.check(attempt)
        if truth["kind"].startswith("legit"):
            assert result["decision"] == plain.check(attempt)["decision"]
        for match in result["matches"]:
            if {r["key"] for r in match["reasons"]} == {"embedding"}:
                assert match["risk"] < config.review, "the embedding alone reached review"
        for _, reason in _embedding_reasons(result):
            reasons += 1
            assert set(reason) == REASON_FIELDS
            assert 0 < reason["similarity"] <= 1
            assert isinstance(reason["shared_with_others"], int)
            assert reason["shared_with_others"] >= 0
            assert 0 <= reason["evidence"] <= math.log(weights.reuse / weights.base_rate)
    assert reasons > 0


def test_without_the_encoder_the_check_is_the_check_without_embeddings(
    checker: SignupChecker,
    embedded: EmbeddedWorld,
    held_back: list[tuple[SignupAttempt, dict[str, Any]]],
    tmp_path: Path,
) -> None:
    snap = resolve_snapshot(embedded.root)
    bare = shutil.copytree(snap, tmp_path / "root" / snap.name)
    (bare / "gnn_encoder.pt").unlink()
    without = open_checker(bare, keyring=embedded.keyring)
    assert without.neighbours is None
    plain = dataclasses.replace(checker, neighbours=None)
    for attempt, _ in held_back:
        assert without.check(attempt) == plain.check(attempt)


def test_without_torch_the_check_runs_and_says_why(
    checker: SignupChecker,
    embedded: EmbeddedWorld,
    held_back: list[tuple[SignupAttempt, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if the gnn extra were not installed
    monkeypatch.delitem(sys.modules, "ringscope.embeddings.inductive")
    with caplog.at_level(logging.WARNING, logger="ringscope.signup.neighbours"):
        blind = open_checker(embedded.root, keyring=embedded.keyring)
    assert blind.neighbours is None
    assert "signup check without embedding reasons: torch is not installed" in caplog.text
    plain = dataclasses.replace(checker, neighbours=None)
    for attempt, _ in held_back[:50]:
        assert blind.check(attempt) == plain.check(attempt)
