"""Label noise: false reports against random legit accounts and rare false suspensions.

Real labels are noisy; a detector that trusts every report or suspension blindly should
pay for it in these worlds.
"""

from __future__ import annotations

from ringscope.worlds.draws import Dice
from ringscope.worlds.events import Emitter
from ringscope.worlds.people import DAY_MS
from ringscope.worlds.scenario import PlanContext, Scenario

__all__ = ["LabelNoise"]

_FALSE_REPORT_REASONS = ("spam", "harassment", "fake account", "impersonation", "other", "scam")
_FALSE_SUSPENSION_REASONS = ("spam", "tos:spam", "automated abuse", "impersonation")


class LabelNoise(Scenario):
    """False reports spread over the window and a few mistaken suspensions."""

    def __init__(self, ctx: PlanContext) -> None:
        cfg, pop, rng, dice = ctx.cfg, ctx.pop, ctx.rng, ctx.dice
        self.people = ctx.legit[pop.rate[ctx.legit] > 0]
        self.per_day = cfg.false_report_rate * cfg.n_legit / cfg.days
        k = int(rng.binomial(len(ctx.legit), cfg.false_suspension_rate))
        self.false_suspended: list[int] = []
        for p in rng.choice(ctx.legit, size=min(k, len(ctx.legit)), replace=False).tolist():
            t = max(ctx.start_ms, int(pop.cols["signup_ms"][p])) + int(
                dice.random() * cfg.days * DAY_MS
            )
            if t < ctx.end_ms:
                pop.suspend(p, t, dice.choice(_FALSE_SUSPENSION_REASONS))
                self.false_suspended.append(p)

    def emit_day(self, day: int, em: Emitter, dice: Dice) -> None:
        """This day's false reports: a random legit account reports another."""
        lo, hi = self.day_bounds(em.pop, day)
        n = int(em.rng.poisson(self.per_day))
        if n == 0 or len(self.people) < 2:
            return
        cols = em.pop.cols
        for _ in range(n):
            t = lo + dice.below(hi - lo)
            reporter = int(self.people[dice.below(len(self.people))])
            target = int(self.people[dice.below(len(self.people))])
            if reporter == target:
                continue
            ok = cols["signup_ms"][reporter] <= t < cols["until_ms"][reporter]
            if ok and cols["signup_ms"][target] <= t:
                em.report(t, reporter, target, dice.choice(_FALSE_REPORT_REASONS))
