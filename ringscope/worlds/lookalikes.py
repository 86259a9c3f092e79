"""Legit groups that look coordinated at first sight and must not be flagged.

* ``nat``: a company whose staff sit behind one or two office IPs in work hours, many
  with the company's email domain, inviting colleagues to the same meetings.
* ``newsletter``: a few long-lived accounts of one organisation sending the same issue
  text and domain to many subscribers on a weekly schedule, within minutes.
* ``viral``: hundreds of people sharing one news link over a few days, unsynchronised
  and wave-shaped, each in their own words.
* ``family``: two to four people sharing one device and home connection.
"""

from __future__ import annotations

import numpy as np

from ringscope.worlds.draws import Dice
from ringscope.worlds.events import Emitter
from ringscope.worlds.identity import email_for
from ringscope.worlds.people import DAY_MS, HOUR_MS, MAX_DELAY_MS, MIN_MS, WORK
from ringscope.worlds.scenario import Group, PlanContext, Scenario
from ringscope.worlds.text import subject_for
from ringscope.worlds.vocab import ADJECTIVES, NOUNS, POPULAR_HOSTS

__all__ = [
    "Family",
    "Nat",
    "Newsletter",
    "Viral",
    "plan_families",
    "plan_lookalikes_early",
    "plan_virals",
]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
_TEAMS = (
    "Sales",
    "Ops",
    "Finance",
    "Platform",
    "Design",
    "Support",
    "Legal",
    "Data",
    "HR",
    "Marketing",
    "Logistics",
    "Research",
    "Security",
    "Mobile",
    "Web",
    "Payments",
)


def _local_to_utc(start_ms: int, day: int, hour: float, tz: int) -> int:
    return start_ms + day * DAY_MS + int((hour - tz) * HOUR_MS)


class Nat(Scenario):
    """A company behind one or two office NAT addresses, with team meeting invites."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        cfg, pop, net, rng, dice = ctx.cfg, ctx.pop, ctx.net, ctx.rng, ctx.dice
        lo, hi = cfg.nat_size
        hi = max(lo, min(hi, int(0.12 * cfg.n_legit)))
        members = ctx.bystanders(ctx.size(lo, hi))
        ctx.reserved.update(members.tolist())
        n = len(members)
        company = len(pop.company_ips)
        subnet = int(net.random_hosting_subnets(rng, 1)[0])
        hosts = sorted({dice.between(2, 250) for _ in range(1 + int(dice.chance(0.5)))})
        pop.company_ips.append(net.subnet_ips(subnet, hosts))
        pop.set("company", members, company)
        tz = int(pop.tz[members[0]])
        pop.set("tz", members, tz)
        pop.set("profile", members, np.where(rng.random(n) < 0.85, WORK, pop.profile[members]))
        pop.set("p_vpn", members, 0.0)
        onboard = members[rng.random(n) < 0.4]
        if len(onboard):
            t0 = ctx.start_ms - int((365 + 730 * dice.random()) * DAY_MS)
            pop.set("signup_ms", onboard, t0 + rng.integers(0, 7 * DAY_MS, len(onboard)))
        domain = ctx.urls.new_domain(dice, spammy=False).split(".")[0] + ".com"
        taken: set[str] = set()
        for p in members[rng.random(n) < 0.6].tolist():
            for _ in range(5):
                e = email_for(
                    int(pop.cols["first"][p]), int(pop.cols["last"][p]), dice, domain=domain
                ).lower()
                if e not in taken:
                    taken.add(e)
                    pop.email_override[p] = e
                    break
        # teams are the company's communities
        self.teams: list[np.ndarray] = []
        order = rng.permutation(members)
        i = 0
        while i < n:
            size = dice.between(5, 20)
            if n - i - size < 5:
                size = n - i
            team = order[i : i + size]
            c = len(pop.communities)
            pop.communities.append(team)
            pop.set("community", team, c)
            self.teams.append(team)
            i += size
        self.meetings: list[tuple[int, int, int, str]] = []  # (t, organiser, team, subject)
        for k, team in enumerate(self.teams):
            wd, hour = dice.below(5), dice.between(9, 16)
            name = f"{_TEAMS[k % len(_TEAMS)]} weekly sync"
            for day in range(cfg.days):
                if (ctx.start_ms // DAY_MS + day + 3) % 7 == wd:
                    t = _local_to_utc(ctx.start_ms, day, hour - 0.5 - dice.random(), tz)
                    self.meetings.append(
                        (t, int(team[0]), k, f"{name} @ {_WEEKDAYS[wd]} {hour}:00")
                    )
        t_all = _local_to_utc(ctx.start_ms, dice.between(0, cfg.days - 1), 10.0, tz)
        self.meetings.append((t_all, int(members[0]), -1, "All-hands @ 16:00"))
        self.members = members
        self.group = Group(group_id, "nat", members, {"ips": len(hosts), "teams": len(self.teams)})

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Meeting invites sent on this day."""
        lo, hi = self.day_bounds(em.pop, day)
        ids = em.pop.actor_ids
        for t, organiser, team, subject in self.meetings:
            if not lo <= t < hi or t >= em.pop.cols["until_ms"][organiser]:
                continue
            people = self.members if team < 0 else self.teams[team]
            rcpt = [ids[p] for p in people.tolist() if p != organiser]
            text = "Agenda: " + " ".join(
                f"{NOUNS[dice.below(len(NOUNS))]} {NOUNS[dice.below(len(NOUNS))]},"
                for _ in range(3)
            ).rstrip(",")
            em.message(
                t,
                organiser,
                rcpt,
                subject=f"Invitation: {subject}",
                text=text,
                channel="calendar",
                split=50 if len(rcpt) > 100 else 0,
            )


class Newsletter(Scenario):
    """An organisation's accounts mailing the same weekly issue to their subscribers."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        cfg, pop, net, rng, dice = ctx.cfg, ctx.pop, ctx.net, ctx.rng, ctx.dice
        senders = ctx.bystanders(dice.between(*cfg.newsletter_senders))
        ctx.reserved.update(senders.tolist())
        self.org = (
            f"The {ADJECTIVES[dice.below(60)].capitalize()} {NOUNS[dice.below(200)].capitalize()}"
        )
        self.domain = ctx.urls.new_domain(dice, spammy=False)
        office = net.add_households(
            rng,
            1,
            subnets=net.random_hosting_subnets(rng, 1),
            v6_share=0.0,
            lease_h=(24 * 365, 24 * 365),
        )
        pop.set("household", senders, office[0])
        pop.set("p_vpn", senders, 0.0)
        pop.set("p_mobile", senders, 0.05)
        pop.set("profile", senders, WORK)
        pop.set("rate", senders, 0.15)
        tz = int(pop.tz[senders[0]])
        pop.set("tz", senders, tz)
        pop.set_aged_signup(rng, senders, median_days=1500)
        c = len(pop.communities)
        pop.communities.append(senders)
        pop.set("community", senders, c)
        n_sub = min(2000, max(60, int(cfg.n_legit * (0.05 + 0.15 * dice.random()))))
        subs = ctx.bystanders(n_sub, before_ms=ctx.start_ms)
        self.lists = np.array_split(subs, len(senders))
        self.batch = dice.between(50, 200)
        wd, hour = dice.below(5), 7 + 3 * dice.random()
        self.issues: list[tuple[int, int, int]] = []  # (t, issue number, content seed)
        number = dice.between(20, 300)
        for day in range(cfg.days):
            if (ctx.start_ms // DAY_MS + day + 3) % 7 == wd:
                t = _local_to_utc(ctx.start_ms, day, hour, tz)
                self.issues.append((t, number, int(rng.integers(2**62))))
                number += 1
        self.senders = senders
        self.text = ctx.text
        self.group = Group(group_id, "newsletter", senders, {"subscribers": len(subs)})

    def _issue(self, number: int, seed: int) -> tuple[str, str, list[str]]:
        dice = Dice(np.random.default_rng(seed))
        host = dice.choice(("news.", "www.", "mail.", "")) + self.domain
        urls = [
            f"https://{host}/{2026}/issue-{number}/{NOUNS[dice.below(len(NOUNS))]}-"
            f"{NOUNS[dice.below(len(NOUNS))]}"
            for _ in range(dice.between(2, 4))
        ]
        blurbs = [
            " ".join(self.text.sentence(dice) for _ in range(2)) + f" Read more: {u}" for u in urls
        ]
        text = (
            f"{self.org} Weekly - Issue #{number}\n\n"
            + "\n\n".join(blurbs)
            + f"\n\nUnsubscribe: https://{self.domain}/unsubscribe"
        )
        return f"{self.org} Weekly #{number}: {subject_for(seed).capitalize()}", text, urls

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """This day's issue (if any), sent by every sender to its list in batches."""
        lo, hi = self.day_bounds(em.pop, day)
        ids = em.pop.actor_ids
        for t0, number, seed in self.issues:
            if not lo <= t0 < hi:
                continue
            subject, text, urls = self._issue(number, seed)
            for s, subs in zip(self.senders.tolist(), self.lists, strict=True):
                t = t0 + dice.below(10 * MIN_MS)
                for i in range(0, len(subs), self.batch):
                    chunk = subs[i : i + self.batch].tolist()
                    em.message(t, s, [ids[p] for p in chunk], subject=subject, text=text, urls=urls)
                    for p in chunk:
                        if dice.chance(0.0015):
                            em.report(t + dice.between(MIN_MS, MAX_DELAY_MS), p, s, "spam")
                        elif dice.chance(0.002):
                            em.message(
                                t + dice.between(MIN_MS, MAX_DELAY_MS),
                                p,
                                [ids[s]],
                                subject="Re: " + subject,
                                text=dice.choice(("unsubscribe", "thanks!", "Great issue")),
                            )
                    t += dice.between(10_000, 90_000)


_NEWS_HOSTS = tuple(
    h
    for h in POPULAR_HOSTS
    if any(
        k in h
        for k in (
            "news",
            "times",
            "guardian",
            "bbc",
            "cnn",
            "post",
            "reuters",
            "abc",
            "herald",
            "independent",
            "telegraph",
            "lemonde",
            "spiegel",
            "npr",
        )
    )
)


class Viral(Scenario):
    """An organic viral link: many people share one article over a few days, unsynchronised."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        cfg, rng, dice = ctx.cfg, ctx.rng, ctx.dice
        lo, hi = cfg.viral_size
        hi = max(lo, min(hi, int(0.25 * cfg.n_legit)))
        lo = min(lo, hi)
        start = ctx.start_ms + dice.between(1, max(1, cfg.days - 4)) * DAY_MS
        start += dice.between(0, 23) * HOUR_MS
        sharers = ctx.bystanders(ctx.size(lo, hi), before_ms=start)
        host = (
            dice.choice(_NEWS_HOSTS) if dice.chance(0.75) else ctx.urls.host(dice, tail_share=1.0)
        )
        slug = "-".join(NOUNS[dice.below(len(NOUNS))] for _ in range(5))
        self.article = f"https://{host}/2026/10/{dice.between(1, 28):02d}/{slug}"
        self.host = host
        duration = (1 + 2 * dice.random()) * DAY_MS
        t = start + (rng.beta(1.6, 4.0, len(sharers)) * duration).astype(np.int64)
        again = rng.random(len(sharers)) < 0.25
        t2 = t[again] + rng.integers(HOUR_MS, DAY_MS, int(again.sum()))
        self.shares = sorted(
            zip(
                np.concatenate([t, t2]).tolist(),
                np.concatenate([sharers, sharers[again]]).tolist(),
                strict=True,
            )
        )
        self.text = ctx.text
        self.group = Group(group_id, "viral", sharers, {"host": host})

    def _link(self, dice: Dice) -> str:
        r = dice.random()
        if r < 0.65:
            return self.article
        if r < 0.85:
            return self.article + f"?utm_source={dice.choice(('share', 'twitter', 'fb', 'app'))}"
        if r < 0.95 and self.host.startswith("www."):
            return self.article.replace("://www.", "://m.")
        return f"https://bit.ly/{dice.code(7)}"

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Shares falling on this day, with the replies they draw."""
        pop = em.pop
        lo, hi = self.day_bounds(pop, day)
        ids = pop.actor_ids
        for t, p in self.shares:
            if not lo <= t < hi or t >= pop.cols["until_ms"][p]:
                continue
            c = int(pop.cols["community"][p])
            k = dice.between(1, 6)
            if c >= 0 and pop.comm_size[c] > 1:
                off, size = int(pop.comm_off[c]), int(pop.comm_size[c])
                people = {int(pop.comm_members[off + dice.below(size)]) for _ in range(k)}
            else:
                people = {int(x) for x in pop.ties[p]}
            people.discard(p)
            people.discard(-1)
            if not people:
                continue
            lead = dice.choice(("", "", "Have you seen this? ", "wow ", "omg ", "Worth a read: "))
            text = lead + self.text.body(dice, max_sentences=2)
            rcpt = sorted(people)
            em.message(
                t,
                p,
                [ids[r] for r in rcpt],
                subject=dice.choice(("", "", "this", "!!")),
                text=text,
                urls=[self._link(dice)],
            )
            for r in rcpt:
                if dice.chance(0.2) and pop.cols["rate"][r] > 0:
                    rt = t + dice.between(2 * MIN_MS, 12 * HOUR_MS)
                    if rt < pop.cols["until_ms"][r]:
                        em.message(rt, r, [ids[p]], text=self.text.body(dice, max_sentences=2))


class Family(Scenario):
    """Family members sharing one device and one home connection."""

    def __init__(self, ctx: PlanContext, group_id: str, members: np.ndarray) -> None:
        pop = ctx.pop
        head = int(members[0])
        pop.set("household", members, pop.cols["household"][head])
        pop.set("device", members, pop.cols["device"][head])
        pop.set("p_vpn", members, 0.0)
        ctx.reserved.update(members.tolist())
        self.group = Group(group_id, "family", members)

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Nothing beyond everyday life: the shared device and address are the story."""


def plan_lookalikes_early(ctx: PlanContext, next_id: list[int]) -> list[Scenario]:
    """Companies and newsletters, which form their own communities before everyone else."""
    out: list[Scenario] = []
    counts = ctx.cfg.lookalike_counts
    for cls, kind in ((Nat, "nat"), (Newsletter, "newsletter")):
        for _ in range(counts[kind]):
            next_id[0] += 1
            out.append(cls(ctx, f"lookalike-{next_id[0]:03d}"))
    return out


def plan_families(
    ctx: PlanContext, next_id: list[int], communities: list[np.ndarray]
) -> list[Scenario]:
    """Families picked inside ordinary communities."""
    out: list[Scenario] = []
    dice = ctx.dice
    big = [c for c in communities if len(c) >= 4]
    for _ in range(ctx.cfg.lookalike_counts["family"]):
        if not big:
            break
        comm = big[dice.below(len(big))]
        free = [p for p in comm.tolist() if p not in ctx.reserved]
        k = dice.between(2, 4)
        if len(free) < k:
            continue
        members = ctx.rng.choice(np.array(free), size=k, replace=False)
        next_id[0] += 1
        out.append(Family(ctx, f"lookalike-{next_id[0]:03d}", members))
    return out


def plan_virals(ctx: PlanContext, next_id: list[int]) -> list[Scenario]:
    """Viral links, shared by people who already exist."""
    out: list[Scenario] = []
    for _ in range(ctx.cfg.lookalike_counts["viral"]):
        next_id[0] += 1
        out.append(Viral(ctx, f"lookalike-{next_id[0]:03d}"))
    return out
