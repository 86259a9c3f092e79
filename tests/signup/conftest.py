"""A small hand-made event log with every trap of the repeat-offender check, run once.

Offenders: ``b-john`` (John Smith, serial gmail address, own device, phone, an address on
203.0.113.0/24), ``b-nat`` (works behind the corporate NAT 198.51.100.7) and ``b-kate``
(a rare name). Legit: 60 colleagues behind that NAT, ten other "John Smith" accounts,
five neighbours on 203.0.113.0/24. The log goes through the real pipeline (ingest,
graph, ranking, ``offender_index``) into a snapshot root.

For the embedding reason, a small generated world (rings, held-back signups) goes
through the pipeline with the ``embeddings`` step on (:func:`embedded`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringscope.config import RunConfig
from ringscope.pipeline import run_pipeline
from ringscope.privacy import Keyring, load_keyring
from ringscope.worlds import WorldConfig, generate_world, write_world

T0 = 1_790_000_000  # epoch seconds
NAT_IP = "198.51.100.7"

_FIRST = ("Ada", "Bo", "Cyd", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lu")
_LAST = ("Arden", "Brook", "Crane", "Dale", "Ember", "Frost")


def _signup(actor: str, t: int, **fields: str) -> dict:
    return {"ts": T0 + t, "actor_id": actor, "event_type": "signup", **fields}


def trap_events() -> list[dict]:
    """The event records (contract fields, raw identifiers)."""
    rows = [
        _signup(
            "b-john",
            0,
            email="john.smith82@gmail.com",
            display_name="John Smith",
            device_id="dev-john",
            ip="203.0.113.10",
            phone="+1 555 0100",
        ),
        _signup(
            "b-nat",
            5,
            email="zed.quux@corp.example",
            display_name="Zed Quux",
            device_id="dev-zed",
            ip=NAT_IP,
        ),
        _signup(
            "b-kate",
            9,
            email="kw@mail.example",
            display_name="Kateryna Wolfeschlegel",
            device_id="dev-kate",
            ip="192.0.2.50",
        ),
    ]
    for i in range(60):
        name = f"{_FIRST[i % 12]} {_LAST[i // 12]}"
        rows.append(
            _signup(
                f"nat-{i}",
                100 + i,
                email=f"{name.replace(' ', '.').lower()}@corp.example",
                display_name=name,
                device_id=f"dev-nat-{i}",
                ip=NAT_IP,
            )
        )
    for i in range(10):
        rows.append(
            _signup(
                f"smith-{i}",
                300 + i,
                email=f"js{i}@mail{i}.example",
                display_name="John Smith",
                device_id=f"dev-smith-{i}",
                ip=f"10.{i}.0.5",
            )
        )
    for i in range(5):
        rows.append(
            _signup(
                f"neigh-{i}",
                (i + 1) * 3 * 86_400,  # days apart: no signup burst with b-john
                email=f"neighbour{i}@mail.example",
                display_name=f"{_FIRST[i]} Neighbour",
                device_id=f"dev-neigh-{i}",
                ip=f"203.0.113.{100 + i}",
            )
        )
    for t, actor in ((1000, "b-john"), (1001, "b-nat"), (1002, "b-kate")):
        rows.append({"ts": T0 + t, "actor_id": actor, "event_type": "suspension"})
    return rows


@dataclass(frozen=True)
class TrapSnapshot:
    """The snapshot root made from :func:`trap_events`, and its keyring."""

    root: Path
    keyring: Keyring


def fast_config() -> RunConfig:
    """The default run config without the (slow, optional) embeddings step."""
    return RunConfig().with_overrides({"embeddings.enabled": False})


def make_trap_root(base: Path) -> TrapSnapshot:
    """Write the trap events and run the pipeline into ``base / "root"``."""
    events = base / "events.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in trap_events()))
    keyring = load_keyring(allow_demo=True)
    root = base / "root"
    run_pipeline([events], root, config=fast_config(), keyring=keyring)
    return TrapSnapshot(root=root, keyring=keyring)


@pytest.fixture(scope="session")
def trap(tmp_path_factory: pytest.TempPathFactory) -> TrapSnapshot:
    """The trap snapshot, built once per session (tests that append copy it first)."""
    return make_trap_root(tmp_path_factory.mktemp("signup-trap"))


@dataclass(frozen=True)
class EmbeddedWorld:
    """A generated world run with the embeddings step: snapshot root, keyring, world."""

    root: Path
    keyring: Keyring
    world: Path  # events, truth.json and _holdout/ (held-back signups and their truth)


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedWorld:
    """400 legit actors and their rings, run once with embeddings (encoder included)."""
    pytest.importorskip("torch")
    from tests.embeddings.conftest import TEST_EMBEDDINGS

    base = tmp_path_factory.mktemp("signup-embedded")
    paths = write_world(generate_world(WorldConfig(n_legit=400), seed=3), base / "world")
    events = [p for p in paths if p.name.startswith("events")]
    keyring = load_keyring(allow_demo=True)
    overrides = {f"embeddings.{k}": v for k, v in TEST_EMBEDDINGS.items()}
    run_pipeline(
        events, base / "root", config=RunConfig().with_overrides(overrides), keyring=keyring
    )
    return EmbeddedWorld(root=base / "root", keyring=keyring, world=base / "world")
