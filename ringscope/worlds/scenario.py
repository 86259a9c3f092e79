"""What every ring and look-alike story shares: its truth record and its day-by-day script.

A scenario is planned once, when the world is generated (who takes part, when waves
happen, who gets suspended), and then emits each day's records on demand. Everything
structural is decided at planning time, so emitting a day needs no state from earlier
days and iterating a world twice gives the same records.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from ringscope.errors import ConfigError
from ringscope.worlds.config import WorldConfig
from ringscope.worlds.draws import Dice
from ringscope.worlds.events import Emitter
from ringscope.worlds.people import DAY_MS, Network, Population
from ringscope.worlds.text import TextGen
from ringscope.worlds.urls import UrlGen

__all__ = ["Group", "PlanContext", "Scenario", "loguniform_int"]


@dataclass
class Group:
    """A ground-truth group: a ring (kind in RING_KINDS) or a look-alike (LOOKALIKE_KINDS)."""

    group_id: str
    kind: str
    members: np.ndarray  # person indices
    notes: dict[str, object] = field(default_factory=dict)


@dataclass
class PlanContext:
    """Everything a scenario needs while the world is being planned."""

    cfg: WorldConfig
    pop: Population
    net: Network
    rng: np.random.Generator
    dice: Dice
    urls: UrlGen
    text: TextGen
    legit: np.ndarray  # legit person indices
    reserved: set[int] = field(default_factory=set)  # legit people already cast in a role

    @property
    def start_ms(self) -> int:
        """Window start (ms)."""
        return self.pop.start_ms

    @property
    def end_ms(self) -> int:
        """Window end (ms)."""
        return self.pop.end_ms

    def size(self, lo: int, hi: int) -> int:
        """A group size drawn log-uniformly from [lo, hi], so small groups are common."""
        return loguniform_int(self.dice, lo, hi)

    def bystanders(self, n: int, *, before_ms: int | None = None) -> np.ndarray:
        """n distinct active legit people (signed up before ``before_ms``), unreserved.

        Rejection sampling keeps this O(n) however large the population is; a full scan
        is the fallback when few people qualify.
        """
        pop, rng = self.pop, self.rng
        limit = self.end_ms if before_ms is None else before_ms

        def ok(cand: np.ndarray) -> np.ndarray:
            keep = (pop.rate[cand] > 0) & (pop.signup_ms[cand] < limit)
            if self.reserved:
                keep &= np.array([c not in self.reserved for c in cand.tolist()], dtype=bool)
            return cand[keep]

        chosen: list[int] = []
        seen: set[int] = set()
        for _ in range(8):
            need = n - len(chosen)
            if need <= 0:
                break
            for c in ok(self.legit[rng.integers(0, len(self.legit), 2 * need + 16)]).tolist():
                if c not in seen and len(chosen) < n:
                    seen.add(c)
                    chosen.append(c)
        if len(chosen) < n:
            rest = ok(self.legit)
            rest = rest[~np.isin(rest, np.array(chosen, dtype=np.int64))]
            extra = rng.choice(rest, size=min(n - len(chosen), len(rest)), replace=False)
            chosen.extend(extra.tolist())
        if n > 0 and not chosen:
            raise ConfigError(
                "the world's groups take every active legit account: raise n_legit or lower "
                "the look-alike and ring sizes or counts (e.g. n_nat, nat_size)"
            )
        return np.array(chosen, dtype=np.int64)

    def join_communities(self, people: np.ndarray) -> None:
        """Put people into random existing communities (compromised or bought accounts)."""
        if not self.pop.communities:
            return
        for p in people.tolist():
            c = int(self.rng.integers(len(self.pop.communities)))
            self.pop.set("community", p, c)

    def suspend_some(
        self,
        members: np.ndarray,
        lo_ms: int,
        hi_ms: int,
        *,
        reason: str,
        unsuspended_prob: float | None = None,
    ) -> list[int]:
        """Suspend a configured share of ``members`` at times in [lo_ms, hi_ms)."""
        cfg, dice = self.cfg, self.dice
        p_none = cfg.unsuspended_ring_prob if unsuspended_prob is None else unsuspended_prob
        if dice.chance(p_none) or hi_ms <= lo_ms:
            return []
        lo, hi = cfg.suspension_fraction
        frac = lo + (hi - lo) * dice.random()
        k = max(1, round(frac * len(members)))
        chosen = self.rng.choice(members, size=min(k, len(members)), replace=False)
        out = []
        for p in chosen.tolist():
            t = lo_ms + int(dice.random() * (hi_ms - lo_ms))
            if t < self.end_ms:
                self.pop.suspend(p, t, reason)
                out.append(p)
        return out


def loguniform_int(dice: Dice, lo: int, hi: int) -> int:
    """An integer in [lo, hi], log-uniformly distributed."""
    if hi <= lo:
        return lo
    return min(hi, int(math.exp(math.log(lo) + dice.random() * (math.log(hi + 1) - math.log(lo)))))


class Scenario(ABC):
    """A planned story that writes its records one day at a time."""

    group: Group | None = None

    @abstractmethod
    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Emit the records of window day ``day`` (0-based) into ``em``."""

    @staticmethod
    def day_bounds(pop: Population, day: int) -> tuple[int, int]:
        """[start, end) of window day ``day`` in ms."""
        s = pop.start_ms + day * DAY_MS
        return s, s + DAY_MS
