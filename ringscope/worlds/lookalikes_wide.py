"""More legit groups that look coordinated, for worlds with ``lookalike_mix="wide"``.

The classic look-alikes (:mod:`ringscope.worlds.lookalikes`) are one fixed mix; a ranker
tuned on them learns that mix. These six kinds each mimic a ring signal for an honest
reason, and a wide world draws how many of each it holds at random (Dirichlet
proportions over ``n_legit / 500`` groups), so no two worlds share a mix:

* ``onboarding``: a cohort of new employees signing up within two days from the
  office NAT with the company's email domain, then inviting each other to meetings
  (fresh accounts, a signup burst, one IP: a bot farm's profile, but they talk back).
* ``mailing_list``: one to three list accounts relaying the same digest to hundreds of
  subscribers every weekday (one text, many one-shot recipients).
* ``event_invite``: organisers sending one invitation with a registration link to
  hundreds of strangers in two waves a few days apart (a spam blast's shape).
* ``support``: an agents' team behind one office IP answering strangers who wrote in,
  with the same templates within minutes (fan-out to strangers, shared infrastructure).
* ``fans``: fan accounts, many of them new, reposting one star's link to their friends
  within minutes of each post (synchrony on one domain).
* ``agency``: a marketing agency's staff behind one office IP sending a client's
  campaign text and link to bought-in lists within half an hour (coordinated outreach).
"""

from __future__ import annotations

import numpy as np

from ringscope.worlds.draws import Dice
from ringscope.worlds.events import Emitter
from ringscope.worlds.identity import email_for
from ringscope.worlds.people import DAY_MS, HOUR_MS, MIN_MS, WORK
from ringscope.worlds.scenario import Group, PlanContext, Scenario
from ringscope.worlds.urls import campaign_url
from ringscope.worlds.vocab import ADJECTIVES, NOUNS

__all__ = ["WIDE_KINDS", "plan_wide"]

WIDE_KINDS = ("onboarding", "mailing_list", "event_invite", "support", "fans", "agency")
_GROUPS_PER_LEGIT = 1 / 500


def _words(dice: Dice, n: int) -> str:
    return " ".join(NOUNS[dice.below(len(NOUNS))] for _ in range(n))


def _office(ctx: PlanContext, people: np.ndarray) -> None:
    """Put people behind one office connection, on work hours."""
    net, rng, pop = ctx.net, ctx.rng, ctx.pop
    office = net.add_households(
        rng, 1, subnets=net.random_hosting_subnets(rng, 1), v6_share=0.0, lease_h=(8760, 8760)
    )
    pop.set("household", people, office[0])
    pop.set("p_vpn", people, 0.0)
    pop.set("profile", people, WORK)
    pop.set("tz", people, int(pop.tz[people[0]]))


def _weekday_times(ctx: PlanContext, hour: float, *, every: int = 1) -> list[int]:
    tz = int(ctx.pop.tz[0])
    return [
        ctx.start_ms + day * DAY_MS + int((hour - tz) * HOUR_MS)
        for day in range(0, ctx.cfg.days, every)
        if (ctx.start_ms // DAY_MS + day + 3) % 7 < 5
    ]


class _Broadcast(Scenario):
    """Senders sending one text per send time to their own recipient lists."""

    kind = ""
    reply_p = 0.01
    report_p = 0.0
    spread_ms = 20 * MIN_MS

    def __init__(self, ctx: PlanContext, group_id: str, senders: np.ndarray, n_rcpt: int) -> None:
        ctx.reserved.update(senders.tolist())
        self.senders = senders
        audience = ctx.bystanders(n_rcpt, before_ms=ctx.start_ms)
        self.lists = np.array_split(audience, len(senders))
        self.domain = ctx.urls.new_domain(ctx.dice, spammy=False)
        self.text = ctx.text
        self.times: list[tuple[int, int]] = []  # (time, content seed)
        self.group = Group(group_id, self.kind, senders, {"recipients": len(audience)})

    def content(self, seed: int) -> tuple[str, str, list[str]]:
        """Subject, text and links of one send."""
        dice = Dice(np.random.default_rng(seed))
        url = campaign_url(dice, self.domain)
        body = " ".join(self.text.sentence(dice) for _ in range(3))
        return _words(dice, 3).capitalize(), f"{body} {url}", [url]

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Every send of this day, each sender to its own list."""
        lo, hi = self.day_bounds(em.pop, day)
        ids = em.pop.actor_ids
        for t0, seed in self.times:
            if not lo <= t0 < hi:
                continue
            subject, text, urls = self.content(seed)
            for s, people in zip(self.senders.tolist(), self.lists, strict=True):
                if t0 >= em.pop.cols["until_ms"][s]:
                    continue
                t = t0 + dice.below(self.spread_ms)
                for i in range(0, len(people), 100):
                    chunk = people[i : i + 100].tolist()
                    em.message(t, s, [ids[p] for p in chunk], subject=subject, text=text, urls=urls)
                    for p in chunk:
                        if dice.chance(self.report_p):
                            em.report(t + dice.between(MIN_MS, 6 * HOUR_MS), p, s, "spam")
                        elif dice.chance(self.reply_p):
                            em.message(
                                t + dice.between(5 * MIN_MS, 8 * HOUR_MS),
                                p,
                                [ids[s]],
                                subject="Re: " + subject,
                                text=self.text.body(dice, max_sentences=1),
                            )
                    t += dice.between(5_000, 60_000)


class MailingList(_Broadcast):
    """List accounts relaying a daily digest to subscribers."""

    kind = "mailing_list"

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        dice = ctx.dice
        senders = ctx.bystanders(dice.between(1, 3), before_ms=ctx.start_ms)
        super().__init__(ctx, group_id, senders, dice.between(80, 400))
        self.times = [
            (t, int(ctx.rng.integers(2**62))) for t in _weekday_times(ctx, 6 + 2 * dice.random())
        ]


class EventInvite(_Broadcast):
    """Organisers inviting strangers to one event, in two waves."""

    kind = "event_invite"
    reply_p = 0.03
    report_p = 0.003

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        dice = ctx.dice
        senders = ctx.bystanders(dice.between(3, 8), before_ms=ctx.start_ms)
        super().__init__(ctx, group_id, senders, dice.between(150, 600))
        first = ctx.start_ms + dice.between(1, max(1, ctx.cfg.days - 6)) * DAY_MS
        first += dice.between(8, 16) * HOUR_MS
        seed = int(ctx.rng.integers(2**62))
        self.times = [(first, seed), (first + dice.between(2, 4) * DAY_MS, seed)]
        self.event = f"{ADJECTIVES[dice.below(60)].capitalize()} {NOUNS[dice.below(200)]} meetup"

    def content(self, seed: int) -> tuple[str, str, list[str]]:
        """The same invitation in both waves."""
        dice = Dice(np.random.default_rng(seed))
        url = f"https://{self.domain}/events/{dice.code(6)}/register"
        text = f"You're invited to the {self.event}! {self.text.sentence(dice)} Register: {url}"
        return f"Invitation: {self.event}", text, [url]


class Agency(_Broadcast):
    """Agency staff behind one office IP sending client campaigns within half an hour."""

    kind = "agency"
    report_p = 0.004

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        dice = ctx.dice
        senders = ctx.bystanders(dice.between(4, 10), before_ms=ctx.start_ms)
        super().__init__(ctx, group_id, senders, dice.between(200, 800))
        _office(ctx, senders)
        self.times = [
            (t, int(ctx.rng.integers(2**62)))
            for t in _weekday_times(ctx, 9 + 6 * dice.random(), every=dice.between(2, 4))
        ]
        self.spread_ms = 30 * MIN_MS


class Support(Scenario):
    """Support agents answering strangers who wrote in, with shared templates."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        dice = ctx.dice
        agents = ctx.bystanders(dice.between(5, 15), before_ms=ctx.start_ms)
        ctx.reserved.update(agents.tolist())
        _office(ctx, agents)
        self.agents = agents
        self.customers = ctx.bystanders(dice.between(150, 800), before_ms=ctx.start_ms)
        company = NOUNS[dice.below(len(NOUNS))].capitalize()
        self.templates = [
            f"Hi, thanks for contacting {company} support. {ctx.text.sentence(dice)} "
            f"Ticket #{{ticket}}. Kind regards, {company} Support"
            for _ in range(4)
        ]
        self.tickets = sorted(
            (ctx.start_ms + int(ctx.rng.integers(0, ctx.cfg.days * DAY_MS)), int(c))
            for c in self.customers.tolist()
        )
        self.text = ctx.text
        self.group = Group(group_id, "support", agents, {"customers": len(self.customers)})

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Customers' requests of this day and the agents' templated answers."""
        lo, hi = self.day_bounds(em.pop, day)
        ids = em.pop.actor_ids
        for t, c in self.tickets:
            if not lo <= t < hi or t >= em.pop.cols["until_ms"][c]:
                continue
            agent = int(self.agents[dice.below(len(self.agents))])
            em.message(
                t, c, [ids[agent]], subject="Help", text=self.text.body(dice, max_sentences=2)
            )
            answer = self.templates[dice.below(len(self.templates))].format(ticket=dice.digits(6))
            em.message(t + dice.between(3 * MIN_MS, 60 * MIN_MS), agent, [ids[c]], text=answer)


class Fans(Scenario):
    """Fans, many of them new, reposting a star's link to their friends within minutes."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        dice, rng, pop = ctx.dice, ctx.rng, ctx.pop
        members = ctx.bystanders(dice.between(10, 40))
        ctx.reserved.update(members.tolist())
        fresh = members[rng.random(len(members)) < 0.5]
        if len(fresh):
            span = max(1, (ctx.cfg.days // 3) * DAY_MS)
            pop.set("signup_ms", fresh, ctx.start_ms + rng.integers(0, span, len(fresh)))
        self.star, self.fans = int(members[0]), members[1:]
        self.host = ctx.urls.new_domain(dice, spammy=False)
        self.posts = [
            ctx.start_ms + day * DAY_MS + dice.between(10, 22) * HOUR_MS
            for day in range(ctx.cfg.days // 3, ctx.cfg.days, dice.between(2, 3))
        ]
        self.text = ctx.text
        self.group = Group(group_id, "fans", members, {"posts": len(self.posts)})

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """The star's posts of this day and the fans' reposts."""
        pop = em.pop
        lo, hi = self.day_bounds(pop, day)
        ids = pop.actor_ids
        for t in self.posts:
            if not lo <= t < hi:
                continue
            url = f"https://{self.host}/v/{dice.code(8)}"
            fans = [int(f) for f in self.fans.tolist()]
            em.message(t, self.star, [ids[f] for f in fans], text=f"New video! {url}", urls=[url])
            for f in fans:
                tf = t + dice.between(2 * MIN_MS, 30 * MIN_MS)
                friends = [int(x) for x in pop.ties[f] if x >= 0 and x != f][:5]
                if not friends or tf >= pop.cols["until_ms"][f] or tf < pop.signup_ms[f]:
                    continue
                lead = dice.choice(("omg ", "new one!! ", "watch this ", ""))
                em.message(tf, f, [ids[x] for x in friends], text=lead + url, urls=[url])


class Onboarding(Scenario):
    """A cohort of new employees signing up from the office and inviting each other."""

    def __init__(self, ctx: PlanContext, group_id: str) -> None:
        dice, rng, pop = ctx.dice, ctx.rng, ctx.pop
        members = ctx.bystanders(dice.between(8, 40))
        ctx.reserved.update(members.tolist())
        _office(ctx, members)
        t0 = ctx.start_ms + dice.between(0, max(0, ctx.cfg.days - 10)) * DAY_MS
        pop.set("signup_ms", members, t0 + rng.integers(0, 2 * DAY_MS, len(members)))
        pop.set("signup_household", members, -1)
        domain = ctx.urls.new_domain(dice, spammy=False).split(".")[0] + ".com"
        for p in members.tolist():
            pop.email_override[p] = email_for(
                int(pop.cols["first"][p]), int(pop.cols["last"][p]), dice, domain=domain
            ).lower()
        self.members = members
        self.meetings = [
            (
                t0 + d * DAY_MS + dice.between(9, 16) * HOUR_MS,
                int(members[dice.below(len(members))]),
            )
            for d in range(3, ctx.cfg.days - int((t0 - ctx.start_ms) // DAY_MS))
            if dice.chance(0.5)
        ]
        self.group = Group(group_id, "onboarding", members, {"cohort": len(members)})

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """Meeting invites among the cohort, with some answers."""
        lo, hi = self.day_bounds(em.pop, day)
        ids = em.pop.actor_ids
        for t, organiser in self.meetings:
            if not lo <= t < hi:
                continue
            rcpt = [ids[p] for p in self.members.tolist() if p != organiser]
            subject = f"Invitation: onboarding {_words(dice, 2)}"
            em.message(
                t, organiser, rcpt, subject=subject, text=_words(dice, 8), channel="calendar"
            )
            for p in self.members.tolist():
                if p != organiser and dice.chance(0.15):
                    em.message(
                        t + dice.between(MIN_MS, HOUR_MS), p, [ids[organiser]], text="Accepted"
                    )


_CLASSES = {
    "onboarding": Onboarding,
    "mailing_list": MailingList,
    "event_invite": EventInvite,
    "support": Support,
    "fans": Fans,
    "agency": Agency,
}


def plan_wide(ctx: PlanContext, next_id: list[int]) -> list[Scenario]:
    """The wide look-alikes, in proportions drawn for this world (none for "classic")."""
    if ctx.cfg.lookalike_mix != "wide":
        return []
    total = max(len(WIDE_KINDS), round(ctx.cfg.n_legit * _GROUPS_PER_LEGIT))
    shares = ctx.rng.dirichlet(np.ones(len(WIDE_KINDS)))
    counts = ctx.rng.multinomial(total, shares)
    out: list[Scenario] = []
    for kind, n in zip(WIDE_KINDS, counts.tolist(), strict=True):
        for _ in range(n):
            next_id[0] += 1
            out.append(_CLASSES[kind](ctx, f"lookalike-{next_id[0]:03d}"))
    return out
