"""Everyday activity of the population: messages among friends, replies, logins.

Each day is first planned as numeric arrays (who sends when to whom, vectorised over
the whole population), then materialised into records one time slice at a time, so
memory stays bounded by a slice even at tens of millions of events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ringscope.worlds.draws import Dice
from ringscope.worlds.events import Emitter
from ringscope.worlds.identity import external_address, similar_display_name
from ringscope.worlds.people import (
    DAY_MS,
    HOUR_CDF,
    HOUR_MS,
    MAX_DELAY_MS,
    MIN_MS,
    WEEKDAY_FACTOR,
    WORK,
    Population,
)
from ringscope.worlds.text import TextGen, subject_for
from ringscope.worlds.urls import UrlGen
from ringscope.worlds.vocab import FIRST_NAMES

__all__ = ["DayPlan", "Everyday", "times_of_day"]

MESSAGE, REPLY, LOGIN, PROFILE = 0, 1, 2, 3
FROM_COMMUNITY, FROM_TIE, EXTERNAL = 0, 1, 2


def times_of_day(
    rng: np.random.Generator, day_start: int, profile: np.ndarray, tz: np.ndarray
) -> np.ndarray:
    """Event times (ms) on one UTC day following each person's local daily rhythm."""
    n = len(profile)
    u = rng.random(n)
    hour = (HOUR_CDF[profile] < u[:, None]).sum(axis=1)
    local = hour * HOUR_MS + rng.integers(0, HOUR_MS, n)
    return day_start + (local - tz.astype(np.int64) * HOUR_MS) % DAY_MS


@dataclass
class DayPlan:
    """One day of everyday activity as parallel arrays, sorted by time."""

    kind: np.ndarray
    sender: np.ndarray
    t: np.ndarray
    rcpt: np.ndarray  # person index, or -(external key) - 1
    source: np.ndarray
    n_extra: np.ndarray
    subject_key: np.ndarray


class Everyday:
    """Plans and materialises the everyday activity of every person with ``rate > 0``.

    Args:
        pop: the frozen population.
        text: legit text generator.
        urls: link generator.
        volume: multiplier on everyone's message rate.
    """

    def __init__(self, pop: Population, text: TextGen, urls: UrlGen, *, volume: float) -> None:
        self.pop = pop
        self.text = text
        self.urls = urls
        self.volume = volume
        self.engine = np.flatnonzero(pop.rate > 0)
        self._first_names = [FIRST_NAMES[i] for i in pop.first.tolist()]
        self._work = (pop.profile == WORK).tolist()

    def plan(self, day: int, rng: np.random.Generator) -> DayPlan:
        """Numeric plan of day ``day`` (0-based within the window)."""
        pop = self.pop
        day_start = pop.start_ms + day * DAY_MS
        day_end = day_start + DAY_MS
        dow = (day_start // DAY_MS + 3) % 7
        people = self.engine
        alive = (pop.signup_ms[people] < day_end) & (pop.until_ms[people] > day_start)
        people = people[alive]
        prof = pop.profile[people]
        factor = WEEKDAY_FACTOR[prof, dow]

        # originals
        n_msg = rng.poisson(pop.rate[people] * factor * self.volume)
        senders = np.repeat(people, n_msg)
        t = times_of_day(rng, day_start, pop.profile[senders], pop.tz[senders])
        ok = (t >= pop.signup_ms[senders]) & (t < pop.until_ms[senders])
        senders, t = senders[ok], t[ok]
        rcpt, source = self._recipients(rng, senders)
        m = len(senders)
        n_extra = np.minimum(rng.geometric(0.72, m) - 1, 9)
        n_extra = np.where(
            pop.profile[senders] == WORK, n_extra + (rng.random(m) < 0.15) * 3, n_extra
        )
        subj = rng.integers(0, 2**62, m)
        parts = [(np.full(m, MESSAGE), senders, t, rcpt, source, n_extra, subj)]

        # replies, two levels deep
        for p_comm, p_other in ((0.38, 0.2), (0.3, 0.15)):
            _, s0, t0, r0, src0, _, subj0 = parts[-1]
            person = r0 >= 0
            eligible = person & (pop.rate[np.maximum(r0, 0)] > 0)
            p = np.where(src0 == FROM_COMMUNITY, p_comm, p_other)
            pick = eligible & (rng.random(len(s0)) < p)
            rs, rt = r0[pick], t0[pick]
            delay = np.exp(rng.normal(np.log(20 * MIN_MS), 1.3, len(rs))).astype(np.int64)
            rt = rt + np.minimum(delay, MAX_DELAY_MS)
            ok = (rt < pop.until_ms[rs]) & (rt >= pop.signup_ms[rs]) & (rt < pop.end_ms)
            n = int(ok.sum())
            parts.append(
                (
                    np.full(n, REPLY),
                    rs[ok],
                    rt[ok],
                    s0[pick][ok],
                    src0[pick][ok],
                    np.zeros(n, dtype=np.int64),
                    subj0[pick][ok],
                )
            )

        # logins and the odd profile edit
        n_login = rng.poisson(pop.login_rate[people] * np.sqrt(factor))
        who = np.repeat(people, n_login)
        lt = times_of_day(rng, day_start, pop.profile[who], pop.tz[who])
        ok = (lt >= pop.signup_ms[who]) & (lt < pop.until_ms[who])
        who, lt = who[ok], lt[ok]
        k = len(who)
        none = np.full(k, -1)
        parts.append((np.full(k, LOGIN), who, lt, none, none, none, none))
        edit = people[rng.random(len(people)) < 0.002]
        et = times_of_day(rng, day_start, pop.profile[edit], pop.tz[edit])
        ok = (et >= pop.signup_ms[edit]) & (et < pop.until_ms[edit])
        edit, et = edit[ok], et[ok]
        k = len(edit)
        none = np.full(k, -1)
        parts.append((np.full(k, PROFILE), edit, et, none, none, none, none))

        cols = [np.concatenate([p[i] for p in parts]) for i in range(7)]
        order = np.argsort(cols[2], kind="stable")
        return DayPlan(*(c[order] for c in cols))

    def _recipients(
        self, rng: np.random.Generator, senders: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Primary recipient: a community member, a weak tie, or an outside address."""
        pop = self.pop
        m = len(senders)
        comm = pop.community[senders]
        size = np.where(comm >= 0, pop.comm_size[np.maximum(comm, 0)], 0)
        off = pop.comm_off[np.maximum(comm, 0)]
        j = (rng.random(m) * np.maximum(size, 1)).astype(np.int64)
        member = pop.comm_members[np.minimum(off + j, len(pop.comm_members) - 1)]
        clash = member == senders
        j2 = np.where(size > 1, (j + 1) % np.maximum(size, 1), j)
        member = np.where(
            clash, pop.comm_members[np.minimum(off + j2, len(pop.comm_members) - 1)], member
        )
        tie = pop.ties[senders, rng.integers(0, 3, m)]
        u = rng.random(m)
        source = np.where(u < 0.78, FROM_COMMUNITY, np.where(u < 0.95, FROM_TIE, EXTERNAL))
        source = np.where((source == FROM_COMMUNITY) & (size < 2), FROM_TIE, source)
        ext = -(senders * 4 + rng.integers(0, 4, m)) - 1
        rcpt = np.where(source == FROM_COMMUNITY, member, np.where(source == FROM_TIE, tie, ext))
        bad = (source == FROM_TIE) & ((tie < 0) | (tie == senders))
        rcpt = np.where(bad, ext, rcpt)
        source = np.where(bad, EXTERNAL, source)
        return rcpt, source

    def emit(self, plan: DayPlan, lo: int, hi: int, em: Emitter) -> None:
        """Materialise the planned events with ``lo <= t < hi`` into the emitter."""
        a, b = np.searchsorted(plan.t, [lo, hi])
        if a >= b:
            return
        pop, dice, text, urls = self.pop, em.dice, self.text, self.urls
        ids, names, display = pop.actor_ids, self._first_names, pop.display_names
        work = self._work
        comm_of = pop.cols["community"]
        u = em.rng.random((4, b - a))
        for kind, s, t, r, n_extra, subj, u_name, u_chan, u_url, u_split in zip(
            plan.kind[a:b].tolist(),
            plan.sender[a:b].tolist(),
            plan.t[a:b].tolist(),
            plan.rcpt[a:b].tolist(),
            plan.n_extra[a:b].tolist(),
            plan.subject_key[a:b].tolist(),
            *u.tolist(),
            strict=True,
        ):
            if kind == LOGIN:
                em.login(t, s)
                continue
            if kind == PROFILE:
                em.profile_update(t, s, similar_display_name(display[s], dice))
                continue
            if r >= 0:
                recipients = [ids[r]]
                name = names[r] if u_name < 0.8 else None
            else:
                recipients = [external_address(-r - 1)]
                name = None
            if n_extra:
                recipients.extend(self._extras(s, n_extra, dice, int(comm_of[s])))
                recipients = list(dict.fromkeys(recipients))
                name = None
            channel = "mail"
            if kind == REPLY:
                subject = "Re: " + subject_for(subj) if subj & 3 else ""
            else:
                subject = subject_for(subj) if subj & 3 else ""
                cal = 0.18 if work[s] else 0.06
                if u_chan < cal:
                    channel = "calendar"
                    subject = f"Invitation: {subject_for(subj >> 8)} @ {_DAYS[subj % 7]}"
                elif u_chan < cal + 0.025:
                    channel = "contact"
                    subject = f"Contact card: {display[s]}"
            links: list[str] = []
            if u_url < 0.15:
                links.append(urls.everyday(dice))
                if u_url < 0.015:
                    links.append(urls.everyday(dice))
            em.message(
                t,
                s,
                recipients,
                subject=subject,
                text=text.body(dice, name=name),
                urls=links,
                channel=channel,
                split=1 if u_split < 0.12 and len(recipients) >= 3 else 0,
            )

    def _extras(self, sender: int, n: int, dice: Dice, comm: int) -> list[str]:
        pop = self.pop
        out: list[str] = []
        if comm >= 0 and pop.comm_size[comm] > 2:
            off, size = int(pop.comm_off[comm]), int(pop.comm_size[comm])
            for _ in range(min(n, size - 1)):
                p = int(pop.comm_members[off + dice.below(size)])
                if p != sender:
                    out.append(pop.actor_ids[p])
        else:
            out.extend(external_address(sender * 4 + dice.below(4)) for _ in range(n))
        return out


_DAYS = ("Mon 10:00", "Tue 14:30", "Wed 09:00", "Thu 16:00", "Fri 11:00", "Sat 12:00", "Sun 18:00")
