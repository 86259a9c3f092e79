"""The knobs of a synthetic world, validated, with counts that scale with its size.

Ring and look-alike counts left as ``None`` are derived from ``n_legit`` so that about
3-5% of accounts are ring members at any size; :meth:`WorldConfig.scaled` and
:func:`config_for_records` size a world by legit accounts or by event records.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ringscope.errors import ConfigError

__all__ = [
    "LOOKALIKE_KINDS",
    "RECORDS_PER_LEGIT",
    "RING_KINDS",
    "WorldConfig",
    "config_for_records",
]

RING_KINDS = ("spam_blast", "camouflaged", "harassment", "reregistration")
LOOKALIKE_KINDS = ("nat", "newsletter", "viral", "family")

#: Event records per legit account over a 21-day window with default settings (measured).
RECORDS_PER_LEGIT = 40.0

# Rings and look-alike groups per legit account when counts are not given.
_RING_PER_LEGIT = {
    "spam_blast": 1 / 1500,
    "camouflaged": 1 / 1500,
    "harassment": 1 / 1500,
    "reregistration": 1 / 750,
}
_LOOKALIKE_PER_LEGIT = {
    "nat": 1 / 3000,
    "newsletter": 1 / 2000,
    "viral": 1 / 3000,
    "family": 1 / 300,
}
_DEFAULT_START = datetime(2026, 10, 1, tzinfo=UTC)

Range = tuple[int, int]
FRange = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class WorldConfig:
    """Parameters of one synthetic world; validated on construction.

    Attributes:
        n_legit: legit accounts (look-alike groups are drawn from them).
        days: length of the observation window.
        start: first instant of the window (timezone-aware).
        n_spam_blast, n_camouflaged, n_harassment, n_reregistration: rings per kind;
            ``None`` scales with ``n_legit``.
        n_nat, n_newsletter, n_viral, n_family: look-alike groups per kind; ``None``
            scales with ``n_legit``.
        spam_blast_size, camouflaged_size, harassment_size: member count ranges
            (sizes are drawn log-uniformly, so small rings are more common).
        reregistration_new: how many new accounts a banned actor comes back as.
        nat_size, viral_size, newsletter_senders: look-alike group size ranges (NAT and
            viral are capped at a share of ``n_legit``).
        spam_report_prob: per ring, the chance that one spam recipient reports it.
        victim_report_prob: per ring, the chance a harassment victim reports a harasser.
        suspension_fraction: per suspended ring, the share of members suspended.
        unsuspended_ring_prob: chance that a spam or harassment ring gets no suspension.
        false_report_rate: false reports per legit account over the window.
        false_suspension_rate: chance a legit account is suspended by mistake.
        new_signup_fraction: share of legit accounts that sign up during the window.
        message_volume: multiplier on everyday message rates (records per account).
        duplicate_rate: share of records written twice with the same ``event_id``.
        lookalike_mix: ``"classic"`` (the four kinds above) or ``"wide"``: also the six
            kinds of :mod:`ringscope.worlds.lookalikes_wide`, in proportions drawn at
            random per world.
        mobile_hosts: public addresses per carrier /24 behind which mobile traffic
            leaves (1-254); a few make every carrier address a hub of thousands of
            users, as a carrier NAT does (hub-heavy worlds for the cost benches).
    """

    n_legit: int = 3000
    days: int = 21
    start: datetime = _DEFAULT_START
    n_spam_blast: int | None = None
    n_camouflaged: int | None = None
    n_harassment: int | None = None
    n_reregistration: int | None = None
    n_nat: int | None = None
    n_newsletter: int | None = None
    n_viral: int | None = None
    n_family: int | None = None
    spam_blast_size: Range = (15, 60)
    camouflaged_size: Range = (8, 30)
    harassment_size: Range = (6, 25)
    reregistration_new: Range = (2, 6)
    nat_size: Range = (50, 300)
    viral_size: Range = (200, 2000)
    newsletter_senders: Range = (2, 5)
    spam_report_prob: FRange = (0.0, 0.03)
    victim_report_prob: FRange = (0.3, 0.8)
    suspension_fraction: FRange = (0.10, 0.25)
    unsuspended_ring_prob: float = 0.3
    false_report_rate: float = 0.01
    false_suspension_rate: float = 0.0005
    new_signup_fraction: float = 0.04
    message_volume: float = 1.0
    duplicate_rate: float = 0.005
    lookalike_mix: str = "classic"
    mobile_hosts: int = 254

    def __post_init__(self) -> None:
        if self.n_legit < 200:
            raise ConfigError(f"n_legit must be at least 200, got {self.n_legit}")
        if not 7 <= self.days <= 366:
            raise ConfigError(f"days must be between 7 and 366, got {self.days}")
        if self.start.tzinfo is None:
            raise ConfigError("start must be timezone-aware (e.g. 2026-10-01T00:00Z)")
        for name in (*(f"n_{k}" for k in RING_KINDS), *(f"n_{k}" for k in LOOKALIKE_KINDS)):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ConfigError(f"{name} must be >= 0, got {v}")
        for name, lo_min in (
            ("spam_blast_size", 3),
            ("camouflaged_size", 3),
            ("harassment_size", 3),
            ("reregistration_new", 1),
            ("nat_size", 5),
            ("viral_size", 10),
            ("newsletter_senders", 1),
        ):
            lo, hi = getattr(self, name)
            if not lo_min <= lo <= hi:
                raise ConfigError(f"{name} must be a range ({lo_min} <= lo <= hi), got {lo, hi}")
        for name in ("spam_report_prob", "victim_report_prob", "suspension_fraction"):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo <= hi <= 1.0:
                raise ConfigError(f"{name} must be a range within [0, 1], got {lo, hi}")
        for name in (
            "unsuspended_ring_prob",
            "false_suspension_rate",
            "new_signup_fraction",
            "duplicate_rate",
        ):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {v}")
        if self.lookalike_mix not in ("classic", "wide"):
            raise ConfigError(
                f"lookalike_mix must be 'classic' or 'wide', got {self.lookalike_mix!r}"
            )
        if not 1 <= self.mobile_hosts <= 254:
            raise ConfigError(f"mobile_hosts must be in [1, 254], got {self.mobile_hosts}")
        if self.false_report_rate < 0:
            raise ConfigError(f"false_report_rate must be >= 0, got {self.false_report_rate}")
        if not 0.05 <= self.message_volume <= 20:
            raise ConfigError(f"message_volume must be in [0.05, 20], got {self.message_volume}")

    @property
    def start_ms(self) -> int:
        """Window start in epoch milliseconds."""
        return int(self.start.timestamp() * 1000)

    @property
    def ring_counts(self) -> dict[str, int]:
        """Rings per kind, with ``None`` counts scaled from ``n_legit``."""
        return {k: self._count(k, _RING_PER_LEGIT[k]) for k in RING_KINDS}

    @property
    def lookalike_counts(self) -> dict[str, int]:
        """Look-alike groups per kind, with ``None`` counts scaled from ``n_legit``."""
        return {k: self._count(k, _LOOKALIKE_PER_LEGIT[k]) for k in LOOKALIKE_KINDS}

    def _count(self, kind: str, per_legit: float) -> int:
        v = getattr(self, f"n_{kind}")
        return v if v is not None else max(1, round(self.n_legit * per_legit))

    def with_settings(self, settings: dict[str, str]) -> WorldConfig:
        """A validated copy with fields set from text (``"nat_size": "10000,15000"``),
        each parsed as the type of the field's current value: the CLI's ``--set``."""
        fields = {f.name for f in dataclasses.fields(self)} - {"start"}
        changes: dict[str, Any] = {}
        for name, text in settings.items():
            if name not in fields:
                raise ConfigError(
                    f"unknown world setting {name!r}; known: {', '.join(sorted(fields))}"
                )
            current = getattr(self, name)
            try:
                if isinstance(current, tuple):
                    kind = type(current[0])
                    parts = [kind(x) for x in text.split(",")]
                    if len(parts) != 2:
                        raise ValueError("a range is two values: LO,HI")
                    changes[name] = tuple(parts)
                elif current is None or isinstance(current, int):
                    changes[name] = None if text.lower() == "none" else int(text)
                else:
                    changes[name] = type(current)(text)
            except ValueError as exc:
                raise ConfigError(f"world setting {name}={text!r}: {exc}") from None
        return dataclasses.replace(self, **changes)

    @classmethod
    def scaled(cls, n_legit: int, **overrides: Any) -> WorldConfig:
        """A config for ``n_legit`` accounts; ~40 records each (50k -> ~2M records)."""
        return cls(n_legit=n_legit, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters, with the derived ring and look-alike counts filled in."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v
        for k, v in self.ring_counts.items():
            out[f"n_{k}"] = v
        for k, v in self.lookalike_counts.items():
            out[f"n_{k}"] = v
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def config_for_records(n_records: int, **overrides: Any) -> WorldConfig:
    """A config sized to produce about ``n_records`` event records (±15%)."""
    days = overrides.get("days", 21)
    per_legit = RECORDS_PER_LEGIT * days / 21
    return WorldConfig.scaled(max(200, round(n_records / per_legit)), **overrides)
