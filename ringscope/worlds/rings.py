"""The bad-actor rings: spam blasts, camouflaged campaigns, harassment, re-registration.

Each ring is a :class:`~ringscope.worlds.scenario.Scenario`. What gives a ring away is
behaviour that real rings show (fresh accounts signing up in a burst from a few /24s,
devices shared by several accounts, near-duplicate texts pushed in synchronised waves,
victims hit in lockstep, a banned user's device or email pattern coming back), never an
artefact of the generator: ids, address formats and names come from the same
generators as everyone else's.
"""

from __future__ import annotations

import math

import numpy as np

from ringscope.worlds.campaigns import Campaign, new_campaign
from ringscope.worlds.draws import Dice
from ringscope.worlds.events import Emitter
from ringscope.worlds.identity import (
    Names,
    email_for,
    email_variant,
    external_address,
    phone_number,
    similar_display_name,
)
from ringscope.worlds.people import DAY_MS, HOUR_MS, MAX_DELAY_MS, MIN_MS, Population
from ringscope.worlds.scenario import Group, PlanContext, Scenario

__all__ = ["Camouflaged", "Harassment", "Reregistration", "SpamBlast", "plan_rings"]

_SPAM_REASONS = ("spam", "Spam", "spam / scam", "phishing", "unwanted messages", "scam")
_ABUSE_REASONS = ("harassment", "abuse", "bullying", "hate", "threatening messages")
_SUSPEND_SPAM = ("spam", "tos:spam", "automated abuse", "phishing")
_SUSPEND_ABUSE = ("harassment", "tos:abuse", "abusive behaviour")
_SPAM_REPLIES = ("who is this?", "stop", "STOP", "unsubscribe", "is this legit?", "no thanks")


def _ext_key(dice: Dice) -> int:
    """A key for a harvested off-platform address (spam lists)."""
    return (1 << 40) + dice.below(1 << 40)


class _Targets:
    """A ring's target list: on-platform people plus harvested outside addresses."""

    def __init__(self, people: np.ndarray, n_external: int, dice: Dice) -> None:
        self.people = people.tolist()
        self.external = [_ext_key(dice) for _ in range(n_external)]
        self._addresses: dict[int, str] = {}

    def draw(self, dice: Dice, k: int) -> tuple[list[int], list[str]]:
        """Up to k distinct targets: (person indices, outside addresses)."""
        n_p, n_e = len(self.people), len(self.external)
        total = n_p + n_e
        picks = sorted({int(u * total) for u in dice.take(min(k, total))})
        people = [self.people[i] for i in picks if i < n_p]
        ext = [self._address(self.external[i - n_p]) for i in picks if i >= n_p]
        return people, ext

    def _address(self, key: int) -> str:
        addr = self._addresses.get(key)
        if addr is None:
            addr = self._addresses[key] = external_address(key)
        return addr


def _recipient_list(em: Emitter, people: list[int], ext: list[str]) -> list[str]:
    ids = em.pop.actor_ids
    return [ids[p] for p in people] + ext


def _alive(em: Emitter, person: int, t: int) -> bool:
    cols = em.pop.cols
    return bool(cols["signup_ms"][person] <= t < cols["until_ms"][person])


def _logins(em: Emitter, dice: Dice, people: list[int], lo: int, hi: int, per_day: float) -> None:
    """Scripted accounts log in now and then while they are active."""
    for p in people:
        n = int(per_day) + (1 if dice.random() < per_day - int(per_day) else 0)
        for _ in range(n):
            t = lo + dice.below(max(1, hi - lo))
            if _alive(em, p, t):
                em.login(t, p)


class SpamBlast(Scenario):
    """Fresh accounts from a bot farm blasting near-duplicate spam in synchronised waves."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        cfg, pop, net, rng, dice = ctx.cfg, ctx.pop, ctx.net, ctx.rng, ctx.dice
        n = ctx.size(*cfg.spam_blast_size)
        members = pop.add(n)
        pop.sample_people(rng, members, aged=False)
        for col in ("rate", "login_rate", "p_mobile", "p_vpn"):
            pop.set(col, members, 0.0)
        k_sub = 1 + int(dice.chance(0.4)) + int(dice.chance(0.15))
        hosting = dice.chance(0.5)
        subnets = (
            net.random_hosting_subnets(rng, k_sub)
            if hosting
            else net.random_res_subnets(rng, k_sub)
        )
        households = net.add_households(
            rng, k_sub, subnets=subnets, v6_share=0.0, lease_h=(1, 12), rotate=dice.chance(0.6)
        )
        pop.set("household", members, households[rng.integers(0, k_sub, n)])
        per_device = dice.between(2, 6)
        devices = pop.new_devices(math.ceil(n / per_device))
        dev = devices[rng.permutation(n) % len(devices)]
        pop.set("device", members, dev)
        pop.set("mobile_device", members, dev)
        pop.set("phone_share", members, 0.3 * dice.random())

        start, end = ctx.start_ms, ctx.end_ms
        if dice.chance(0.15):
            t0 = start - int((1 + 2 * dice.random()) * DAY_MS)
        else:
            t0 = start + int(dice.random() * max(1, cfg.days - 5) * DAY_MS)
        burst = int((1 + 5 * dice.random()) * HOUR_MS)
        signup = np.sort(t0 + rng.integers(0, burst, n))
        pop.set("signup_ms", members, signup)

        blast_start = max(int(signup[-1]) + int((0.5 + 23.5 * dice.random()) * HOUR_MS), start)
        duration = int((1 + 3 * dice.random()) * DAY_MS)
        blast_end = min(blast_start + duration, end - HOUR_MS)
        waves_per_day = 2 + 4 * dice.random()
        n_waves = max(2, round(waves_per_day * (blast_end - blast_start) / DAY_MS))
        self.waves = np.sort(rng.integers(blast_start, max(blast_start + 1, blast_end), n_waves))
        self.spread = int((2 + 13 * dice.random()) * MIN_MS)
        self.participation = 0.6 + 0.4 * dice.random()
        self.per_wave = dice.between(1, 3)
        k_lo = dice.between(5, 15)
        self.k_range = (k_lo, k_lo + dice.between(5, 30))
        pool = ctx.bystanders(int(n * (30 + 50 * dice.random())), before_ms=blast_start)
        self.targets = _Targets(pool, int(len(pool) * (0.1 + 0.6 * dice.random())), dice)
        self.split = dice.between(5, 20) if dice.chance(0.5) else 0
        lo, hi = cfg.spam_report_prob
        self.report_prob = lo + (hi - lo) * dice.random() ** 1.5
        self.campaign = new_campaign(dice, ctx.urls, kind="spam")
        self.active = (int(signup[0]), blast_end)
        suspended = ctx.suspend_some(
            members,
            blast_start + (blast_end - blast_start) // 5,
            blast_end + DAY_MS,
            reason=dice.choice(_SUSPEND_SPAM),
        )
        self.group = Group(
            group_id,
            "spam_blast",
            members,
            {"suspended": len(suspended), "campaign": self.campaign.family},
        )

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Logins on active days and every wave that falls on this day."""
        lo, hi = self.day_bounds(em.pop, day)
        a, b = max(lo, self.active[0]), min(hi, self.active[1])
        members = self.group.members.tolist()
        if a < b:
            _logins(em, dice, members, a, b, 1.2)
        for w in self.waves[(self.waves >= lo) & (self.waves < hi)].tolist():
            for p in members:
                if not dice.chance(self.participation):
                    continue
                t = w + dice.below(self.spread)
                for _ in range(self.per_wave):
                    if not _alive(em, p, t):
                        break
                    _spam_message(
                        em,
                        dice,
                        p,
                        t,
                        self.campaign,
                        self.targets,
                        self.k_range,
                        split=self.split,
                        report_prob=self.report_prob,
                    )
                    t += dice.between(20_000, 120_000)


def _spam_message(
    em: Emitter,
    dice: Dice,
    sender: int,
    t: int,
    campaign: Campaign,
    targets: _Targets,
    k_range: tuple[int, int],
    *,
    split: int,
    report_prob: float,
    reply_prob: float = 0.004,
) -> None:
    """One campaign message to strangers, with the reports and rare replies it draws."""
    people, ext = targets.draw(dice, dice.between(*k_range))
    if not people and not ext:
        return
    recipients = _recipient_list(em, people, ext)
    name = em.pop.first_name(people[0]) if people and dice.chance(0.7) else "there"
    subject, text, urls = campaign.message(dice, name=name, sender=campaign.persona)
    em.message(
        t,
        sender,
        recipients,
        subject=subject,
        text=text,
        urls=urls,
        channel=campaign.channel,
        split=split,
    )
    for r, u in zip(people, dice.take(len(people)), strict=True):
        if u < report_prob:
            rt = t + int(math.exp(3 + 4 * dice.random()) * MIN_MS / 10)
            if _alive(em, r, rt):
                em.report(rt, r, sender, dice.choice(_SPAM_REASONS))
        elif u < report_prob + reply_prob:
            rt = t + dice.between(MIN_MS, 6 * HOUR_MS)
            if _alive(em, r, rt):
                em.message(
                    rt,
                    r,
                    [em.pop.actor_ids[sender]],
                    subject="Re: " + subject,
                    text=dice.choice(_SPAM_REPLIES),
                )


class Camouflaged(Scenario):
    """Aged (bought or compromised) accounts living normal lives between campaign bursts."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        cfg, pop, rng, dice = ctx.cfg, ctx.pop, ctx.rng, ctx.dice
        n = ctx.size(*cfg.camouflaged_size)
        members = pop.add(n)
        pop.sample_people(rng, members, aged=True)
        pop.set("rate", members, np.clip(pop.rate[members], 0.4, 2.5))
        ctx.join_communities(members)
        kind = "promo" if dice.chance(0.6) else "spam"
        self.campaign = new_campaign(dice, ctx.urls, kind=kind)
        normal = float(np.mean(pop.rate[members])) * cfg.days * 1.35 * cfg.message_volume
        share = 0.2 + 0.2 * dice.random()
        self.participation = 0.6 + 0.35 * dice.random()
        n_bursts = max(3, round(share / (1 - share) * normal / self.participation))
        day = rng.integers(0, cfg.days, n_bursts)
        hour = rng.uniform(7, 23, n_bursts)
        self.bursts = np.sort(ctx.start_ms + day * DAY_MS + (hour * HOUR_MS).astype(np.int64))
        self.spread = int((2 + 18 * dice.random()) * MIN_MS)
        pool = ctx.bystanders(int(n * (10 + 20 * dice.random())), before_ms=ctx.start_ms)
        self.targets = _Targets(pool, int(len(pool) * 0.2 * dice.random()), dice)
        self.k_range = (2, dice.between(4, 10))
        self.friend_share = 0.3 + 0.4 * dice.random()
        self.report_prob = 0.012 * dice.random()
        suspended = ctx.suspend_some(
            members,
            int(self.bursts[len(self.bursts) // 3]),
            ctx.end_ms,
            reason=dice.choice(_SUSPEND_SPAM),
            unsuspended_prob=max(cfg.unsuspended_ring_prob, 0.5),
        )
        self.group = Group(
            group_id,
            "camouflaged",
            members,
            {"suspended": len(suspended), "campaign": self.campaign.family, "bursts": n_bursts},
        )

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Campaign bursts of this day (everyday life comes from the population engine)."""
        lo, hi = self.day_bounds(em.pop, day)
        pop = em.pop
        for b in self.bursts[(self.bursts >= lo) & (self.bursts < hi)].tolist():
            for p in self.group.members.tolist():
                t = b + dice.below(self.spread)
                if not dice.chance(self.participation) or not _alive(em, p, t):
                    continue
                k = dice.between(*self.k_range)
                friends = _community_sample(pop, p, round(k * self.friend_share), dice)
                people, ext = self.targets.draw(dice, k - len(friends))
                people = list(dict.fromkeys(friends + people))
                recipients = _recipient_list(em, people, ext)
                if not recipients:
                    continue
                name = pop.first_name(people[0]) if people else "there"
                subject, text, urls = self.campaign.message(dice, name=name)
                em.message(t, p, recipients, subject=subject, text=text, urls=urls)
                for r in people:
                    if dice.chance(self.report_prob):
                        rt = t + dice.between(5 * MIN_MS, MAX_DELAY_MS)
                        if _alive(em, r, rt):
                            em.report(rt, r, p, dice.choice(_SPAM_REASONS))


def _community_sample(pop: Population, person: int, k: int, dice: Dice) -> list[int]:
    """Up to k members of the person's community (not the person)."""
    c = int(pop.cols["community"][person])
    if c < 0 or k <= 0:
        return []
    off, size = int(pop.comm_off[c]), int(pop.comm_size[c])
    out = {int(pop.comm_members[off + dice.below(size)]) for _ in range(k)}
    out.discard(person)
    return sorted(out)


class Harassment(Scenario):
    """A brigade of fresh and aged accounts hitting the same victims in lockstep."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        cfg, pop, _net, rng, dice = ctx.cfg, ctx.pop, ctx.net, ctx.rng, ctx.dice
        n = ctx.size(*cfg.harassment_size)
        n_aged = round(n * (0.2 + 0.6 * dice.random()))
        aged = pop.add(n_aged)
        pop.sample_people(rng, aged, aged=True)
        ctx.join_communities(aged)
        fresh = pop.add(n - n_aged)
        pop.sample_people(rng, fresh, aged=False)
        pop.set("rate", fresh, 0.0)
        pop.set("login_rate", fresh, 0.0)
        if dice.chance(0.3):  # some brigades create their throwaways through a VPN
            pop.set("p_vpn", fresh, 0.5 + 0.5 * dice.random())
        members = np.concatenate([aged, fresh])

        first_day = dice.between(1, max(1, cfg.days - 4))
        first = ctx.start_ms + first_day * DAY_MS + int(dice.random() * DAY_MS)
        length = int((2 + 8 * dice.random()) * DAY_MS)
        last = min(first + length, ctx.end_ms - HOUR_MS)
        n_ep = dice.between(3, 10)
        self.episodes = np.sort(rng.integers(first, max(first + 1, last), n_ep))
        self.episodes[0] = first
        base = first - int((2 + 100 * dice.random()) * HOUR_MS)
        signup = base + rng.integers(-12 * HOUR_MS, 12 * HOUR_MS, len(fresh))
        pop.set("signup_ms", fresh, np.minimum(signup, first - 30 * MIN_MS))
        self.victims = ctx.bystanders(dice.between(1, 5), before_ms=ctx.start_ms).tolist()
        ctx.reserved.update(self.victims)
        self.campaign = new_campaign(dice, ctx.urls, kind="hostile")
        self.spread = int((1 + 14 * dice.random()) * MIN_MS)
        p_part = 0.6 + 0.4 * dice.random()
        self.part = rng.random((n_ep, n)) < p_part
        self.together = dice.chance(0.35)
        lo, hi = cfg.victim_report_prob
        p_report = lo + (hi - lo) * dice.random()
        # the episode in which each victim reports each harasser (-1: never)
        self.report_ep = np.full((len(self.victims), n), -1)
        for v in range(len(self.victims)):
            for j in range(n):
                eps = np.flatnonzero(self.part[:, j])
                if len(eps) and dice.chance(p_report):
                    self.report_ep[v, j] = eps[min(len(eps) - 1, int(dice.random() ** 2 * 3))]
        self.active = (int(min(signup.min(initial=first), first)), last)
        suspended = ctx.suspend_some(
            members,
            int(self.episodes[min(1, n_ep - 1)]),
            last + DAY_MS,
            reason=dice.choice(_SUSPEND_ABUSE),
        )
        self.group = Group(
            group_id,
            "harassment",
            members,
            {"suspended": len(suspended), "victims": len(self.victims), "episodes": n_ep},
        )

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Logins of the throwaway accounts and the episodes of this day."""
        pop = em.pop
        lo, hi = self.day_bounds(pop, day)
        members = self.group.members.tolist()
        fresh = [p for p in members if pop.cols["rate"][p] == 0]
        a, b = max(lo, self.active[0]), min(hi, self.active[1])
        if a < b:
            _logins(em, dice, fresh, a, b, 1.0)
        if not self.victims:
            return
        ids = pop.actor_ids
        for e in np.flatnonzero((self.episodes >= lo) & (self.episodes < hi)).tolist():
            t0 = int(self.episodes[e])
            for j, p in enumerate(members):
                t = t0 + dice.below(self.spread)
                if not self.part[e, j] or not _alive(em, p, t):
                    continue
                groups = [self.victims] if self.together else [[v] for v in self.victims]
                for vs in groups:
                    subject, text, _ = self.campaign.message(dice, name=pop.first_name(vs[0]))
                    em.message(t, p, [ids[v] for v in vs], subject=subject, text=text)
                    t += dice.between(5_000, 90_000)
                for v_i, v in enumerate(self.victims):
                    if self.report_ep[v_i, j] == e:
                        rt = t + dice.between(10 * MIN_MS, 8 * HOUR_MS)
                        if _alive(em, v, rt):
                            em.report(rt, v, p, dice.choice(_ABUSE_REASONS))


class Reregistration(Scenario):
    """A banned actor who comes back as new accounts (same device, or subnet + lookalike email)."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        cfg, pop, net, rng, dice = ctx.cfg, ctx.pop, ctx.net, ctx.rng, ctx.dice
        banned = pop.add(1)
        b = int(banned[0])
        pop.sample_people(rng, banned, aged=False)
        if dice.chance(0.25):
            pop.set_aged_signup(rng, banned, median_days=300)
            pop.set("signup_device", b, -1)
            pop.set("signup_household", b, -1)
        else:
            pop.set("signup_ms", b, ctx.start_ms - int((3 + 57 * dice.random()) * DAY_MS))
        pop.set("rate", b, 0.0)
        pop.set("login_rate", b, 0.0)
        pop.set("p_vpn", b, 0.0)
        pop.set("p_mobile", b, 0.3 * dice.random())
        net.set_v4(pop.household[banned])
        first, last = int(pop.cols["first"][b]), int(pop.cols["last"][b])
        b_email = email_for(first, last, dice)
        b_name = Names.display(first, last, dice)
        pop.email_override[b] = b_email
        pop.display_override[b] = b_name
        b_phone = phone_number(dice) if dice.chance(0.5) else None
        if b_phone:
            pop.phone_override[b] = b_phone
        pop.set("phone_share", b, 0.0)

        self.mode = "spam" if dice.chance(0.6) else "abuse"
        if self.mode == "spam":
            self.campaign = new_campaign(dice, ctx.urls, kind="spam")
            pool = ctx.bystanders(dice.between(150, 600), before_ms=ctx.start_ms)
            self.targets: _Targets | None = _Targets(pool, int(len(pool) * dice.random()), dice)
            self.victims: list[int] = []
        else:
            self.campaign = new_campaign(dice, ctx.urls, kind="hostile")
            self.targets = None
            self.victims = ctx.bystanders(dice.between(1, 2), before_ms=ctx.start_ms).tolist()
            ctx.reserved.update(self.victims)

        act0 = max(ctx.start_ms, int(pop.cols["signup_ms"][b]) + HOUR_MS)
        t_ban = act0 + int((1 + 5 * dice.random()) * DAY_MS)
        pop.suspend(b, t_ban, dice.choice(_SUSPEND_SPAM if self.mode == "spam" else _SUSPEND_ABUSE))
        self.activity: list[tuple[int, int, int, float]] = [(b, act0, t_ban, 0.0)]
        self.activity[0] = (b, act0, t_ban, 5 + 20 * dice.random())

        pref = dice.choice(("device", "subnet", "both"))
        n_new = dice.between(*cfg.reregistration_new)
        last_ms = max(
            t_ban + 2 * HOUR_MS,
            min(ctx.end_ms - DAY_MS // 2, t_ban + int((2 + 8 * dice.random()) * DAY_MS)),
        )
        times = np.sort(rng.integers(t_ban + HOUR_MS, last_ms, n_new))
        times[0] = min(times[0], t_ban + int((1 + 47 * dice.random()) * HOUR_MS))
        new_accounts: list[int] = []
        modes: list[str] = []
        b_hh = int(pop.cols["household"][b])
        b_dev = int(pop.cols["device"][b])
        for t in times.tolist():
            a = int(pop.add(1)[0])
            pop.sample_people(rng, np.array([a]), aged=False)
            pop.set("signup_ms", a, t)
            pop.set("rate", a, 0.0)
            pop.set("login_rate", a, 0.0)
            mode = pref if dice.chance(0.6) else dice.choice(("device", "subnet", "both"))
            if mode in ("device", "both"):
                pop.set("device", a, b_dev)
                if dice.chance(0.5):
                    pop.set("mobile_device", a, b_dev)
            if mode == "both":
                pop.set("household", a, b_hh)
            elif mode == "subnet":
                pop.set(
                    "household",
                    a,
                    net.add_households(rng, 1, subnets=net.subnet_of(b_hh), v6_share=0.0)[0],
                )
                pop.set("p_vpn", a, 0.0)
            if mode != "device" or dice.chance(0.25):
                pop.email_override[a] = email_variant(b_email, dice)
                pop.display_override[a] = similar_display_name(b_name, dice)
            if b_phone and dice.chance(0.3):
                pop.phone_override[a] = b_phone
            start_a = t + int((0.5 + 11.5 * dice.random()) * HOUR_MS)
            end_a = ctx.end_ms
            if dice.chance(0.25):
                end_a = min(end_a, start_a + int((1 + 5 * dice.random()) * DAY_MS))
                if end_a < ctx.end_ms:
                    pop.suspend(a, end_a, dice.choice(_SUSPEND_SPAM + _SUSPEND_ABUSE))
            self.activity.append((a, start_a, end_a, 2 + 8 * dice.random()))
            new_accounts.append(a)
            modes.append(mode)
        lo, hi = cfg.spam_report_prob
        self.report_prob = max(0.01, lo + (hi - lo) * dice.random()) * 1.5
        self.victim_report = 0.1 + 0.2 * dice.random()
        members = np.array([b, *new_accounts], dtype=np.int64)
        self.group = Group(
            group_id,
            "reregistration",
            members,
            {"mode": self.mode, "overlap": modes, "suspended": 1},
        )

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """The banned actor's and the new accounts' activity on this day."""
        pop = em.pop
        lo, hi = self.day_bounds(pop, day)
        ids = pop.actor_ids
        for p, a, b, per_day in self.activity:
            s, e = max(lo, a), min(hi, b)
            if s >= e:
                continue
            frac = (e - s) / DAY_MS
            _logins(em, dice, [p], s, e, 1.5 * frac)
            n = int(em.rng.poisson(per_day * frac))
            for _ in range(n):
                t = s + dice.below(e - s)
                if not _alive(em, p, t):
                    continue
                if self.targets is not None:
                    _spam_message(
                        em,
                        dice,
                        p,
                        t,
                        self.campaign,
                        self.targets,
                        (1, 8),
                        split=0,
                        report_prob=self.report_prob,
                    )
                    continue
                v = dice.choice(self.victims)
                subject, text, _ = self.campaign.message(dice, name=pop.first_name(v))
                em.message(t, p, [ids[v]], subject=subject, text=text)
                if dice.chance(self.victim_report):
                    rt = t + dice.between(5 * MIN_MS, 6 * HOUR_MS)
                    if _alive(em, v, rt):
                        em.report(rt, v, p, dice.choice(_ABUSE_REASONS))


def plan_rings(ctx: PlanContext) -> list[Scenario]:
    """Plan every ring the config asks for, kinds interleaved, ids in plan order."""
    kinds = {
        "spam_blast": SpamBlast,
        "camouflaged": Camouflaged,
        "harassment": Harassment,
        "reregistration": Reregistration,
    }
    todo = [k for k, n in ctx.cfg.ring_counts.items() for _ in range(n)]
    order = ctx.rng.permutation(len(todo))
    out: list[Scenario] = []
    for i, j in enumerate(order.tolist()):
        out.append(kinds[todo[j]](ctx, f"ring-{i + 1:03d}"))
    return out
