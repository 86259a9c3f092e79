"""Generate a world: plan the population and its stories, then stream time-ordered events.

:func:`generate_world` is cheap: it plans who exists and what each ring and look-alike
will do. The records are produced lazily by :meth:`World.batches`, day by day and, within
a day, in time slices, so writing twenty million events never holds more than a slice in
memory. Every random choice comes from a numpy Generator seeded from ``(seed, purpose,
day, ...)``, so a seed fixes the output byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ringscope.errors import ConfigError
from ringscope.worlds.activity import Everyday
from ringscope.worlds.config import WorldConfig
from ringscope.worlds.draws import Dice
from ringscope.worlds.events import Emitter, IdSource, id_base
from ringscope.worlds.labels import LabelNoise
from ringscope.worlds.lookalikes import plan_families, plan_lookalikes_early, plan_virals
from ringscope.worlds.lookalikes_wide import plan_wide
from ringscope.worlds.people import DAY_MS, Network, Population
from ringscope.worlds.rings import plan_rings
from ringscope.worlds.scenario import Group, PlanContext, Scenario
from ringscope.worlds.text import TextGen
from ringscope.worlds.urls import UrlGen

__all__ = ["World", "generate_world"]

Record = dict[str, object]

_PLAN, _PRELUDE, _DAY, _SCENARIO, _SLICE, _FORMAT, _URLS, _LABELS = range(8)
_SLICES_PER_DAY = 4
_PRELUDE_CHUNK = 100_000
# ts formats: ISO Z (s), ISO Z (ms), epoch s, epoch ms, ISO with offset, ISO without zone
_TS_P = np.array([0.895, 0.02, 0.03, 0.03, 0.015, 0.01])
_OFFSETS_MIN = np.array([120, -300, 330])
_OFFSETS_P = np.array([0.7, 0.2, 0.1])


def _rng(seed: int, *path: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *path]))


@dataclass
class World:
    """A planned synthetic world; iterate :meth:`batches` for its event records.

    Attributes:
        config: the parameters it was generated with.
        seed: the seed it was generated with.
        population: every account, legit or not.
        rings: ground-truth rings (kind, member person indices).
        lookalikes: ground-truth legit groups that look coordinated.
        false_suspended: legit people suspended by mistake (label noise).
    """

    config: WorldConfig
    seed: int
    population: Population
    rings: list[Group]
    lookalikes: list[Group]
    false_suspended: list[int]
    _scenarios: list[Scenario] = field(repr=False)
    _everyday: Everyday = field(repr=False)
    _id_key: int = field(repr=False)

    def __post_init__(self) -> None:
        pop = self.population
        self._suspension_t = np.array([s[0] for s in pop.suspensions], dtype=np.int64)
        new = np.flatnonzero(pop.signup_ms >= pop.start_ms)
        self._signup_order = new[np.argsort(pop.signup_ms[new], kind="stable")]
        self._signup_t = pop.signup_ms[self._signup_order]

    @property
    def n_actors(self) -> int:
        """Accounts in the world (each has at least its signup record)."""
        return self.population.n

    def tasks(self) -> list[tuple[str, int]]:
        """Independent units of output, in file order: pre-window signup chunks, then days.

        Each task's records depend only on the world and the task, so tasks can be made
        in parallel and still give the same bytes as a sequential run.
        """
        n_pre = int((self.population.signup_ms < self.population.start_ms).sum())
        chunks = (n_pre + _PRELUDE_CHUNK - 1) // _PRELUDE_CHUNK
        return [("prelude", i) for i in range(chunks)] + [
            ("day", d) for d in range(self.config.days)
        ]

    def batches(self) -> Iterator[list[Record]]:
        """Contract records in time order, in batches (pre-window signups, then slices).

        Each batch is sorted by time except for the ~0.5% injected duplicates, which
        arrive a little after their original, as re-delivered records do.
        """
        for task in self.tasks():
            yield from self.task_batches(task)

    def task_batches(self, task: tuple[str, int]) -> Iterator[list[Record]]:
        """The batches of one task from :meth:`tasks`."""
        kind, i = task
        if kind == "prelude":
            yield from self._prelude(i)
        elif kind == "day":
            yield from self._day(i)
        else:
            raise ValueError(f"unknown task {task!r}")

    def records(self) -> Iterator[Record]:
        """Every record, one at a time (convenience over :meth:`batches`)."""
        for batch in self.batches():
            yield from batch

    def _prelude(self, chunk: int) -> Iterator[list[Record]]:
        pop = self.population
        pre = np.flatnonzero(pop.signup_ms < pop.start_ms)
        pre = pre[np.argsort(pop.signup_ms[pre], kind="stable")]
        people = pre[chunk * _PRELUDE_CHUNK : (chunk + 1) * _PRELUDE_CHUNK]
        base = id_base(-1, 0) + (chunk << 24)
        em = Emitter(pop, _rng(self.seed, _PRELUDE, chunk), IdSource(self._id_key, base))
        self._signups(em, people)
        t, recs = em.flush()
        yield self._finish(t, recs, IdSource(self._id_key, base), (0, chunk))

    def _scenario_records(self, day: int) -> tuple[np.ndarray, list[Record]]:
        """Scenario records caused on ``day`` (some fall on the next day)."""
        pop = self.population
        em = Emitter(pop, _rng(self.seed, _SCENARIO, day), IdSource(self._id_key, id_base(day, 0)))
        for k, sc in enumerate(self._scenarios):
            sc.emit_day(day, em, Dice(_rng(self.seed, _SCENARIO, day, k + 1)))
        return em.flush()

    def _day(self, day: int) -> Iterator[list[Record]]:
        pop = self.population
        lo_day = pop.start_ms + day * DAY_MS
        hi_day = lo_day + DAY_MS
        plan = self._everyday.plan(day, _rng(self.seed, _DAY, day))

        # records caused today that fall today, plus those caused yesterday falling today
        t_s, recs_s = self._scenario_records(day)
        keep = np.flatnonzero(t_s < hi_day)
        pool_t, pool = [t_s[keep]], [recs_s[i] for i in keep.tolist()]
        em = Emitter(pop, _rng(self.seed, _LABELS, day), IdSource(self._id_key, id_base(day, 1)))
        susp = self._suspension_t
        a, b = np.searchsorted(susp, [lo_day, hi_day])
        for t_x, person, reason in pop.suspensions[a:b]:
            em.suspension(t_x, person, reason)
        a, b = np.searchsorted(self._signup_t, [lo_day, hi_day])
        self._signups(em, self._signup_order[a:b])
        if day > 0:
            prev = self._everyday.plan(day - 1, _rng(self.seed, _DAY, day - 1))
            self._everyday.emit(prev, lo_day, hi_day, em)
        t_l, recs_l = em.flush()
        pool_t.append(t_l)
        pool += recs_l
        if day > 0:
            t_p, recs_p = self._scenario_records(day - 1)
            keep = np.flatnonzero((t_p >= lo_day) & (t_p < hi_day))
            pool_t.append(t_p[keep])
            pool += [recs_p[i] for i in keep.tolist()]
        all_t = np.concatenate(pool_t)

        slice_ms = DAY_MS // _SLICES_PER_DAY
        order = np.argsort(all_t, kind="stable")
        all_t = all_t[order]
        pool = [pool[i] for i in order.tolist()]
        bounds = np.searchsorted(all_t, [lo_day + q * slice_ms for q in range(_SLICES_PER_DAY + 1)])
        for q in range(_SLICES_PER_DAY):
            lo = lo_day + q * slice_ms
            hi = hi_day if q == _SLICES_PER_DAY - 1 else lo + slice_ms
            em = Emitter(
                pop, _rng(self.seed, _SLICE, day, q), IdSource(self._id_key, id_base(day, 2 + q))
            )
            self._everyday.emit(plan, lo, hi, em)
            t_e, recs_e = em.flush()
            a, b = int(bounds[q]), int(bounds[q + 1])
            t_all = np.concatenate([all_t[a:b], t_e])
            recs_all = pool[a:b] + recs_e
            if len(recs_all):
                ids = IdSource(self._id_key, id_base(day, 8 + q))
                yield self._finish(t_all, recs_all, ids, (day + 1, q))

    def _signups(self, em: Emitter, people: np.ndarray) -> None:
        if len(people) == 0:
            return
        ips, devs = self.population.signup_addresses(em.rng, people)
        for p, ip, dev in zip(people.tolist(), ips, devs, strict=True):
            em.signup(p, ip, dev)

    def _finish(
        self, t: np.ndarray, recs: list[Record], ids: IdSource, where: tuple[int, int]
    ) -> list[Record]:
        """Sort by time, stamp event ids and timestamps, inject duplicates."""
        rng = _rng(self.seed, _FORMAT, *where)
        order = np.argsort(t, kind="stable")
        t = t[order]
        out = [recs[i] for i in order.tolist()]
        n = len(out)
        for rec, e, s in zip(out, ids.event_ids(n), _format_ts(t, rng), strict=True):
            rec["event_id"] = e
            rec["ts"] = s
        n_dup = int(rng.binomial(n, self.config.duplicate_rate)) if n else 0
        if n_dup:
            src = rng.choice(n, size=n_dup, replace=False)
            keys = np.concatenate(
                [np.arange(n, dtype=np.float64), src + rng.integers(1, 300, n_dup) + 0.5]
            )
            final = np.argsort(keys, kind="stable").tolist()
            src_l = src.tolist()
            out = [out[i] if i < n else dict(out[src_l[i - n]]) for i in final]
        return out

    def truth(self, *, n_records: int | None = None) -> dict[str, Any]:
        """The ground truth as written to ``truth.json``."""
        ids = self.population.actor_ids

        def group(g: Group, key: str) -> dict[str, Any]:
            d: dict[str, Any] = {key: g.group_id, "kind": g.kind}
            d["members"] = sorted(ids[p] for p in g.members.tolist())
            if g.notes:
                d["notes"] = g.notes
            return d

        return {
            "seed": self.seed,
            "config": self.config.to_dict(),
            "rings": [group(g, "ring_id") for g in self.rings],
            "lookalikes": [group(g, "group_id") for g in self.lookalikes],
            "false_suspended": sorted(ids[p] for p in self.false_suspended),
            "n_actors": self.n_actors,
            "n_records": n_records,
        }


def _format_ts(t: np.ndarray, rng: np.random.Generator) -> list[object]:
    """Timestamps in the mix of formats real exports have (all valid per the contract)."""
    n = len(t)
    code = rng.choice(len(_TS_P), size=n, p=_TS_P)
    dt = t.astype("datetime64[ms]")
    out: list[object] = np.datetime_as_string(dt, unit="s", timezone="UTC").tolist()
    for c in range(1, len(_TS_P)):
        where = np.flatnonzero(code == c)
        if not len(where):
            continue
        if c == 1:
            vals: list[object] = np.datetime_as_string(
                dt[where], unit="ms", timezone="UTC"
            ).tolist()
        elif c == 2:
            vals = (t[where] // 1000).tolist()
        elif c == 3:
            vals = t[where].tolist()
        elif c == 4:
            off = rng.choice(_OFFSETS_MIN, size=len(where), p=_OFFSETS_P)
            local = np.datetime_as_string(dt[where] + off.astype("timedelta64[m]"), unit="s")
            vals = [
                f"{s}{'+' if o >= 0 else '-'}{abs(o) // 60:02d}:{abs(o) % 60:02d}"
                for s, o in zip(local.tolist(), off.tolist(), strict=True)
            ]
        else:
            vals = np.datetime_as_string(dt[where], unit="s").tolist()
        for i, v in zip(where.tolist(), vals, strict=True):
            out[i] = v
    return out


def generate_world(config: WorldConfig, *, seed: int) -> World:
    """Plan a world: population, communities, rings, look-alikes and label noise.

    Args:
        config: world parameters.
        seed: non-negative integer; the same seed gives the same records byte for byte.

    Returns:
        The planned world; its records are generated when iterated.
    """
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    cfg = config
    rng = _rng(seed, _PLAN)
    dice = Dice(rng)
    net = Network(rng, n_people=int(cfg.n_legit * 1.1), mobile_hosts=cfg.mobile_hosts)
    pop = Population(
        start_ms=cfg.start_ms, days=cfg.days, net=net, capacity=int(cfg.n_legit * 1.15) + 256
    )
    legit = pop.add(cfg.n_legit)
    pop.sample_people(rng, legit, aged=True)
    new = legit[rng.random(len(legit)) < cfg.new_signup_fraction]
    span = max(1, (cfg.days - 2) * DAY_MS)
    pop.set("signup_ms", new, pop.start_ms + rng.integers(0, span, len(new)))
    pop.set("signup_device", new, -1)
    pop.set("signup_household", new, -1)

    ctx = PlanContext(
        cfg=cfg,
        pop=pop,
        net=net,
        rng=rng,
        dice=dice,
        urls=UrlGen(_rng(seed, _URLS)),
        text=TextGen(),
        legit=legit,
    )
    next_id = [0]
    scenarios: list[Scenario] = list(plan_lookalikes_early(ctx, next_id))
    rest = legit[pop.community[legit] < 0]
    communities = pop.form_communities(rng, rest)
    scenarios += plan_families(ctx, next_id, communities)
    ring_scenarios = plan_rings(ctx)
    scenarios += plan_virals(ctx, next_id)
    scenarios += plan_wide(ctx, next_id)
    noise = LabelNoise(ctx)
    pop.freeze(rng)
    everyday = Everyday(pop, ctx.text, ctx.urls, volume=cfg.message_volume)
    lookalikes = sorted(
        (s.group for s in scenarios if s.group is not None), key=lambda g: g.group_id
    )
    return World(
        config=cfg,
        seed=seed,
        population=pop,
        rings=[s.group for s in ring_scenarios if s.group is not None],
        lookalikes=lookalikes,
        false_suspended=noise.false_suspended,
        _scenarios=[*ring_scenarios, *scenarios, noise],
        _everyday=everyday,
        _id_key=int(rng.integers(1, 2**62)),
    )
