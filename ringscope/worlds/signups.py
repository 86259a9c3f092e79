"""Held-back signup attempts of a world, with ground truth, for the repeat-offender check.

After a world's window closes, new accounts try to sign up. Some descend from a banned
actor of the world (an account suspended in its events, legit accounts suspended by
mistake excluded), with graded overlap:

* ``same_device``: the banned actor's device; fresh email, name, address.
* ``subnet_email``: an address on the banned actor's home /24 (or /48) and an email
  variant with the same pattern (``johnsmith82`` -> ``john.smith83``), nothing else.
* ``name_only``: a display name close to the banned one, nothing else (a weak signal,
  reported separately).

The rest are legit newcomers:

* ``legit``: a fresh identity on a residential /24 that other accounts use.
* ``legit_nat``: signing up from a corporate NAT address that many legit staff share.
* ``legit_common_name``: a common display name, preferably one a banned actor has too.

``_holdout/signups.jsonl`` holds the attempts as contract ``signup`` events (raw
identifiers, like the events file), ``_holdout/signups_truth.json`` each attempt's kind,
ancestor and ring. The ``_`` folder keeps them out of ``ringscope run WORLD``: held-back
attempts must not leak into the snapshot they are checked against.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ringscope.ingest.normalize import email_pattern, normalize_email, normalize_name
from ringscope.worlds.draws import Dice
from ringscope.worlds.identity import (
    Names,
    email_for,
    email_variant,
    phone_number,
    similar_display_name,
)
from ringscope.worlds.people import DAY_MS, HOUR_MS
from ringscope.worlds.world import World

__all__ = [
    "LEGIT_KINDS",
    "OFFENDER_KINDS",
    "SIGNUPS_FILE",
    "SIGNUPS_TRUTH_FILE",
    "signup_attempts",
    "write_signups",
]

OFFENDER_KINDS = ("same_device", "subnet_email", "name_only")
LEGIT_KINDS = ("legit", "legit_nat", "legit_common_name")
SIGNUPS_FILE = "_holdout/signups.jsonl"
SIGNUPS_TRUTH_FILE = "_holdout/signups_truth.json"
_PURPOSE = 0x51_6E_55_70  # seeds this file's generator apart from the world's own
_DEFAULT_COUNTS = {
    "same_device": 150,
    "subnet_email": 150,
    "name_only": 150,
    "legit": 600,
    "legit_nat": 150,
    "legit_common_name": 150,
}
_COMMON_NAMES = 30


def _ip_near(ip: str, rng: np.random.Generator) -> str:
    """Another address on the same /24 (IPv4) or /48 (IPv6)."""
    if ":" in ip:
        head = ip.split(":")[:3]
        tail = [f"{int(x):x}" for x in rng.integers(1, 0xFFFF, 5)]
        return ":".join(head + tail)
    a, b, c, d = ip.split(".")
    host = int(d)
    while host == int(d):
        host = int(rng.integers(1, 255))
    return f"{a}.{b}.{c}.{host}"


class _Maker:
    """Draws attempts for one world; every choice from one seeded generator."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.pop = world.population
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, _PURPOSE]))
        self.dice = Dice(self.rng)
        self.t0 = self.pop.end_ms
        false = set(world.false_suspended)
        self.ancestors = sorted(
            {p for t, p, _ in self.pop.suspensions if t < self.pop.end_ms and p not in false}
        )
        self.ring_of = {int(p): g.group_id for g in world.rings for p in g.members.tolist()}
        legit = np.flatnonzero(self.pop.signup_ms < self.pop.end_ms)
        self.legit = np.array([p for p in legit.tolist() if p not in self.ring_of])
        self._ids: set[str] = set(self.pop.actor_ids)

    def new_actor_id(self) -> str:
        while True:
            candidate = f"n{int(self.rng.integers(0, 2**32)):08x}"
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def _home_ip(self, person: int, t: int) -> str:
        """The person's home address at ``t`` (household connection, not mobile)."""
        pop = self.pop
        hh = np.array([pop.household[person]])
        return pop.net.render(
            self.rng, np.array([t]), hh, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        )[0]

    def fresh(self, t: int) -> dict[str, Any]:
        """A new identity: name, email, maybe a phone, a new device, a residential IP."""
        first, last = Names.sample(self.rng, 1)
        f, la = int(first[0]), int(last[0])
        rec: dict[str, Any] = {
            "email": email_for(f, la, self.dice),
            "display_name": Names.display(f, la, self.dice),
            "device_id": f"{int(self.rng.integers(0, 2**63)):016x}",
        }
        if self.dice.chance(0.5):
            rec["phone"] = phone_number(self.dice)
        neighbour = int(self.legit[self.rng.integers(len(self.legit))])
        rec["ip"] = _ip_near(self._home_ip(neighbour, t), self.rng)
        return rec

    def _variant_email(self, email: str) -> str | None:
        """An email variant with the same pattern and another normalised address."""
        pattern, own = email_pattern(email), normalize_email(email)
        if pattern is None:
            return None
        for _ in range(20):
            candidate = email_variant(email, self.dice)
            if email_pattern(candidate) == pattern and normalize_email(candidate) != own:
                return candidate
        return None

    def offender(self, kind: str, t: int) -> tuple[dict[str, Any], int] | None:
        """One attempt of an offender kind, or None if the drawn ancestor cannot make it."""
        pop = self.pop
        b = self.ancestors[int(self.rng.integers(len(self.ancestors)))]
        rec = self.fresh(t)
        rec.pop("phone", None)
        if kind == "same_device":
            rec["device_id"] = pop.device_ids[int(pop.device[b])]
        elif kind == "subnet_email":
            email = self._variant_email(pop.emails[b])
            if email is None:
                return None
            rec["email"] = email
            rec["ip"] = _ip_near(self._home_ip(b, t), self.rng)
        else:
            rec["display_name"] = similar_display_name(pop.display_names[b], self.dice)
        return rec, b

    def common_names(self) -> list[str]:
        """Display names shared by several accounts, those of banned actors first."""
        counts = Counter(normalize_name(n) for n in self.pop.display_names)
        common = [n for n, c in counts.most_common(_COMMON_NAMES) if n and c >= 3]
        banned = {normalize_name(self.pop.display_names[b]) for b in self.ancestors}
        traps = [n for n in common if n in banned]
        spelled = {normalize_name(n): n for n in self.pop.display_names}
        return [spelled[n] for n in traps] + [spelled[n] for n in common if n not in banned]


def signup_attempts(
    world: World, *, seed: int, counts: dict[str, int] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Signup attempts after the world's window and their ground truth.

    Args:
        world: The world (its population is only read).
        seed: Seed of the attempts (the world's own seed is a fine choice).
        counts: Attempts per kind (:data:`OFFENDER_KINDS` + :data:`LEGIT_KINDS`).

    Returns:
        The records (contract ``signup`` events, in time order) and the truth:
        ``attempts`` (``actor_id``, ``kind``, ``offender``, ``ancestor``, ``ring_id``)
        and ``rings`` (ring id -> member actor ids, for the rings that appear).
    """
    want = _DEFAULT_COUNTS | (counts or {})
    maker = _Maker(world, seed)
    pop = world.population
    plan = [k for k in (*OFFENDER_KINDS, *LEGIT_KINDS) for _ in range(want.get(k, 0))]
    if not maker.ancestors:
        plan = [k for k in plan if k in LEGIT_KINDS]
    if not pop.company_ips:
        plan = [k for k in plan if k != "legit_nat"]
    order = maker.rng.permutation(len(plan))
    times = np.sort(maker.t0 + maker.rng.integers(HOUR_MS, 2 * DAY_MS, len(plan)))
    common = maker.common_names()
    records: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    for t, j in zip(times.tolist(), order.tolist(), strict=True):
        kind = plan[j]
        ancestor = None
        if kind in OFFENDER_KINDS:
            made = maker.offender(kind, t)
            if made is None:
                continue
            rec, ancestor = made
        else:
            rec = maker.fresh(t)
            if kind == "legit_nat":
                exits = pop.company_ips[int(maker.rng.integers(len(pop.company_ips)))]
                rec["ip"] = exits[int(maker.rng.integers(len(exits)))]
            elif kind == "legit_common_name" and common:
                pick = int(maker.rng.integers(len(common))) if maker.dice.chance(0.5) else 0
                rec["display_name"] = common[pick]
        actor_id = maker.new_actor_id()
        iso = np.datetime_as_string(np.datetime64(t, "ms"), unit="s", timezone="UTC")
        records.append({"ts": str(iso), "actor_id": actor_id, "event_type": "signup", **rec})
        truth.append(
            {
                "actor_id": actor_id,
                "kind": kind,
                "offender": ancestor is not None,
                "ancestor": pop.actor_ids[ancestor] if ancestor is not None else None,
                "ring_id": maker.ring_of.get(ancestor) if ancestor is not None else None,
            }
        )
    used = {a["ring_id"] for a in truth if a["ring_id"]}
    rings = {
        g.group_id: sorted(pop.actor_ids[p] for p in g.members.tolist())
        for g in world.rings
        if g.group_id in used
    }
    return records, {"seed": seed, "attempts": truth, "rings": rings}


def write_signups(world: World, out_dir: Path, *, seed: int | None = None) -> list[Path]:
    """Write :data:`SIGNUPS_FILE` and :data:`SIGNUPS_TRUTH_FILE` under ``out_dir``."""
    records, truth = signup_attempts(world, seed=world.seed if seed is None else seed)
    out_dir = Path(out_dir)
    signups = out_dir / SIGNUPS_FILE
    signups.parent.mkdir(parents=True, exist_ok=True)
    lines = [orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records]
    signups.write_bytes(b"".join(lines))
    truth_path = out_dir / SIGNUPS_TRUTH_FILE
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    return [signups, truth_path]
