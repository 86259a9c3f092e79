"""Every tunable of a run in one validated place: windows, layer weights, score weights.

A run reads defaults from here, optionally overridden by a TOML file
(``ringscope run --config FILE``). Unknown keys and out-of-range values are errors, so a
typo in a config file never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ringscope.errors import ConfigError

__all__ = ["CommunityConfig", "CoordinationConfig", "LayerConfig", "RunConfig", "ScoreConfig"]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


def _check_names(given: dict, defaults: dict, what: str) -> None:
    """Config sections merge over defaults; a name the defaults lack is a typo."""
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"unknown {what} {sorted(unknown)}; valid: {', '.join(defaults)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerConfig(_Strict):
    """One evidence layer: how close in time two uses must be and how much they count.

    ``window_ms`` of 0 means "any time" (a shared device is evidence whenever it is used).
    ``hub_actors``: items used by more actors than this are damped by hub_actors / df,
    so a corporate NAT address or a popular domain cannot glue thousands of actors.
    """

    weight: float = Field(ge=0)
    window_ms: int = Field(ge=0)
    hub_actors: int = Field(ge=2)


def _layers() -> dict[str, LayerConfig]:
    return {
        "content": LayerConfig(weight=1.0, window_ms=30 * MINUTE_MS, hub_actors=200),
        "domain": LayerConfig(weight=0.8, window_ms=30 * MINUTE_MS, hub_actors=200),
        "short_link": LayerConfig(weight=0.8, window_ms=30 * MINUTE_MS, hub_actors=200),
        "victims": LayerConfig(weight=1.0, window_ms=30 * MINUTE_MS, hub_actors=50),
        "device": LayerConfig(weight=1.0, window_ms=0, hub_actors=20),
        "ip": LayerConfig(weight=0.4, window_ms=2 * HOUR_MS, hub_actors=30),
        "subnet": LayerConfig(weight=0.15, window_ms=15 * MINUTE_MS, hub_actors=60),
        "signup_burst": LayerConfig(weight=0.6, window_ms=HOUR_MS, hub_actors=100),
        "identity": LayerConfig(weight=0.6, window_ms=0, hub_actors=4),
        "name": LayerConfig(weight=0.15, window_ms=0, hub_actors=3),
    }


class CoordinationConfig(_Strict):
    """Actor–actor evidence: layers, pruning and the caps that keep cost near-linear.

    Layers given in a config are merged over the defaults (set ``weight = 0`` to turn a
    layer off); an unknown layer name is an error.
    """

    layers: dict[str, LayerConfig] = Field(default_factory=_layers)
    max_partners: int = Field(default=24, ge=1)
    max_item_actors: int = Field(default=5000, ge=2)
    min_item_weight: float = Field(default=0.04, ge=0)
    min_edge_weight: float = Field(default=0.12, ge=0)
    similarity_prior: float = Field(default=1.0, ge=0)
    evidence_items: int = Field(default=5, ge=1)

    @field_validator("layers", mode="before")
    @classmethod
    def _merge_layers(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        defaults = {k: v.model_dump() for k, v in _layers().items()}
        _check_names(value, defaults, "layers")
        for name, layer in value.items():
            defaults[name] |= layer.model_dump() if isinstance(layer, BaseModel) else dict(layer)
        return defaults


class CommunityConfig(_Strict):
    """Community detection on the weighted actor graph."""

    method: str = "leiden"
    resolution: float | None = Field(default=None, gt=0)  # None: the method's default
    seed: int = 42
    min_size: int = Field(default=2, ge=2)
    trim_periphery: bool = True
    trim_min_degree: int = Field(default=2, ge=1)
    trim_strength_ratio: float = Field(default=0.25, ge=0, le=1)


def _score_weights() -> dict[str, float]:
    return {
        # coordination family
        "synchrony": 0.5,
        "density": 0.5,
        # abuse family
        "labels": 0.3,
        "freshness": 0.15,
        "signup_burst": 0.1,
        "fanout": 0.3,
        "concentration": 0.15,
    }


class ScoreConfig(_Strict):
    """Weights of the explainable cluster score, normalised within each signal family.

    Weights given in a config are merged over the defaults; unknown signals are errors.
    """

    weights: dict[str, float] = Field(default_factory=_score_weights)
    fresh_days: float = Field(default=14.0, gt=0)
    burst_window_ms: int = Field(default=24 * HOUR_MS, gt=0)
    size_half_life: float = Field(default=1.5, gt=0)
    abuse_exponent: float = Field(default=0.65, ge=0, le=1)
    takedown_threshold: float = Field(default=0.5, ge=0, le=1)

    @field_validator("weights", mode="before")
    @classmethod
    def _merge_weights(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        defaults = _score_weights()
        _check_names(value, defaults, "signals")
        if any(not isinstance(w, int | float) or w < 0 for w in value.values()):
            raise ValueError("signal weights must be non-negative numbers")
        return defaults | value


class RunConfig(_Strict):
    """Everything a run needs besides its inputs."""

    max_reject_rate: float = Field(default=0.05, ge=0, le=1)
    coordination: CoordinationConfig = Field(default_factory=CoordinationConfig)
    communities: CommunityConfig = Field(default_factory=CommunityConfig)
    scoring: ScoreConfig = Field(default_factory=ScoreConfig)
    engine: Literal["local"] = "local"

    @classmethod
    def from_toml(cls, path: Path) -> RunConfig:
        """Load a config file; any problem becomes one readable ConfigError."""
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        return _validated(data, source=f"config file {path}")

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """A validated copy with dotted-key overrides such as ``communities.seed``."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            *path, last = dotted.split(".")
            node = data
            for part in path:
                node = node[part]
            node[last] = value
        return _validated(data, source="option")


def _validated(data: dict[str, Any], *, source: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None
