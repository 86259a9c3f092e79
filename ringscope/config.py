"""Every tunable of a run in one validated place: windows, layer weights, score weights.

A run reads defaults from here, optionally overridden by a TOML file
(``ringscope run --config FILE``). Unknown keys and out-of-range values are errors, so a
typo in a config file never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ringscope.errors import ConfigError

__all__ = [
    "CommunityConfig",
    "ContentModelConfig",
    "CoordinationConfig",
    "EmbeddingConfig",
    "FeedbackConfig",
    "LayerConfig",
    "RiskModelConfig",
    "RunConfig",
    "ScoreConfig",
    "SignupConfig",
    "SignupMatchConfig",
    "SparkConfig",
    "StreamConfig",
]

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
    ``min_participation``: the least number of distinct items a pair must share within
    the window for the layer to give it evidence (2 for shared objects, as CooRTweet's
    default: one coincidence is not coordination). ``min_significance``: the least
    ``-log10 p`` of that repetition under the chance model of
    :mod:`ringscope.graph.coordination` (0: not tested; 3 means p <= 0.001).
    ``repeat_by``: what repetition counts, distinct ``items`` (the same article twice is
    one) or co-share ``occasions`` (uses half a window or more apart count again): a
    domain is one item however often a campaign returns to it, so the domain layer counts
    occasions. ``strength_weight``: how much the layer's significance counts towards an
    edge's label-free ``strength`` (default: ``weight``; only rows with two or more
    repeats count); the domain layer counts little there (the same site is not the same
    item), though it still binds rings, and keeps single-occasion evidence (a campaign's
    one domain, met once by a ring member, still binds it on generated worlds).
    ``match``: what a shared item says about the two uses. ``exact``: the same object (an
    article's URL, a post, a device). ``near_duplicate``: a similarity match (a text
    fingerprint band, a perceptual image hash: templates and memes collide).
    ``topic``: a subject many share without coordinating (a site, a hashtag): its
    significance counts towards an edge's strength only on a pair that also has evidence
    in a layer that is not a topic, and it makes no associate
    (:mod:`ringscope.ranking.associates`), nor does a near-duplicate match.
    """

    weight: float = Field(ge=0)
    window_ms: int = Field(ge=0)
    hub_actors: int = Field(ge=2)
    min_participation: int = Field(default=1, ge=1)
    min_significance: float = Field(default=0.0, ge=0)
    repeat_by: Literal["items", "occasions"] = "items"
    strength_weight: float | None = Field(default=None, ge=0)
    match: Literal["exact", "near_duplicate", "topic"] = "exact"


def _layers() -> dict[str, LayerConfig]:
    return {
        "content": LayerConfig(
            weight=1.0, window_ms=30 * MINUTE_MS, hub_actors=200, match="near_duplicate"
        ),
        "domain": LayerConfig(
            weight=0.8,
            window_ms=30 * MINUTE_MS,
            hub_actors=200,
            repeat_by="occasions",
            min_participation=1,
            strength_weight=0.2,
            match="topic",
        ),
        "short_link": LayerConfig(weight=0.8, window_ms=30 * MINUTE_MS, hub_actors=200),
        "victims": LayerConfig(weight=1.0, window_ms=30 * MINUTE_MS, hub_actors=50),
        "device": LayerConfig(weight=1.0, window_ms=0, hub_actors=20),
        "ip": LayerConfig(weight=0.4, window_ms=2 * HOUR_MS, hub_actors=30),
        "subnet": LayerConfig(weight=0.15, window_ms=15 * MINUTE_MS, hub_actors=60),
        "signup_burst": LayerConfig(weight=0.6, window_ms=HOUR_MS, hub_actors=100),
        "identity": LayerConfig(weight=0.6, window_ms=0, hub_actors=4),
        "name": LayerConfig(weight=0.15, window_ms=0, hub_actors=3),
        # shared objects: the same article, post, image or hashtag within a minute, on
        # at least two distinct objects per pair, and more often than chance
        "url": LayerConfig(weight=1.0, window_ms=MINUTE_MS, hub_actors=200, **_REPEATED),
        "post": LayerConfig(weight=1.0, window_ms=MINUTE_MS, hub_actors=200, **_REPEATED),
        # a perceptual image hash is a near-duplicate match (templates, memes, screenshots
        # collide) and a hashtag a label made to be shared: both bind rings, but count
        # little towards the label-free strength
        "media": LayerConfig(
            weight=0.5,
            window_ms=MINUTE_MS,
            hub_actors=200,
            strength_weight=0.25,
            match="near_duplicate",
            **_REPEATED,
        ),
        "object": LayerConfig(weight=0.8, window_ms=MINUTE_MS, hub_actors=200, **_REPEATED),
        "hashtag": LayerConfig(
            weight=0.3,
            window_ms=MINUTE_MS,
            hub_actors=100,
            strength_weight=0.2,
            match="topic",
            **_REPEATED,
        ),
        # acting on the same account, post or product (ratings, reviews, follows, reports)
        "target": LayerConfig(weight=0.8, window_ms=HOUR_MS, hub_actors=100, **_REPEATED),
    }


#: Repetition and chance test of the shared-object layers.
_REPEATED = {"min_participation": 2, "min_significance": 3.0}


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
    min_edge_strength: float = Field(default=3.0, ge=0)
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
    """Community detection on the weighted actor graph.

    ``ring_max_size``: in runs without labels, accounts connected by beyond-chance ties
    (edge strength at or above ``scoring.flag_strength``) form one ring up to this many
    accounts; a bigger connected group is split by ``method`` (see
    :func:`ringscope.graph.communities.beyond_chance_rings`).
    """

    method: str = "leiden"
    resolution: float | None = Field(default=None, gt=0)  # None: the method's default
    seed: int = 42
    min_size: int = Field(default=2, ge=2)
    trim_periphery: bool = True
    trim_min_degree: int = Field(default=2, ge=1)
    trim_strength_ratio: float = Field(default=0.25, ge=0, le=1)
    ring_max_size: int = Field(default=250, ge=2)


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
        # members' learned risk (upper quartile). Off by default: at 0.3 it let a
        # look-alike into the top 10 on 2 of 5 worlds and pushed unlabelled rings down;
        # the learned risk still raises each actor's own risk (bench/RESULTS.md)
        "member_risk": 0.0,
        # mean of what the members' messages say (content model). Off by default: at 0.15
        # it diluted the abuse mean of harassment rings (no spam text) and lowered their
        # recall on generated worlds (bench/RESULTS.md); it is still computed and shown
        "content_abuse": 0.0,
        # chance family: label-free strength of the repeated co-sharing (see signals)
        "significance": 1.0,
    }


class ScoreConfig(_Strict):
    """Weights of the explainable cluster score, normalised within each signal family.

    ``strength_half``: the cluster strength (mean over members of the ``-log10 p`` of
    their ties beyond chance, combined; see :mod:`ringscope.ranking.signals`) at which
    the ``significance`` signal is 0.5. ``flag_strength``: an edge at or above this
    strength is a tie beyond chance, and clusters at or above it are ``flagged``
    (coordinated beyond chance, labels or not).

    Weights given in a config are merged over the defaults; unknown signals are errors.
    """

    weights: dict[str, float] = Field(default_factory=_score_weights)
    fresh_days: float = Field(default=14.0, gt=0)
    burst_window_ms: int = Field(default=24 * HOUR_MS, gt=0)
    size_half_life: float = Field(default=1.5, gt=0)
    abuse_exponent: float = Field(default=0.65, ge=0, le=1)
    takedown_threshold: float = Field(default=0.5, ge=0, le=1)
    strength_half: float = Field(default=3.0, gt=0)
    flag_strength: float = Field(default=3.0, ge=0)

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


class EmbeddingConfig(_Strict):
    """Graph embeddings (``ringscope.embeddings``): a hetero GraphSAGE trained full batch.

    Off by default (``ringscope run --embeddings`` or ``enabled = true`` turns them on):
    the default risk model leaves them out (trained on the suspension labels, they would
    leak those labels into its features), and training is the costliest step of a run
    (about 75 s at 2M records on two cores, against about 45 s for everything else).
    Turn them on for the snapshot's ``embeddings.parquet`` and ``gnn_encoder.pt`` (the
    inductive encoder), or with ``label_weight = 0`` to feed the risk model.

    ``device`` is ``"cpu"`` or ``"auto"`` (CUDA when present). Training stops after
    ``epochs`` or ``max_train_seconds``, whichever comes first, so large graphs stay
    bounded (the manifest records which). ``label_weight`` weighs the supervised loss on
    suspensions against link prediction; 0 trains self-supervised only. ``threads`` is
    torch's CPU thread count while training (0: one per core); the default of one keeps
    the step fast on machines shared with other work, where waiting OpenMP threads spin.
    """

    enabled: bool = False
    dim: int = Field(default=32, ge=2, le=512)
    epochs: int = Field(default=20, ge=1)
    lr: float = Field(default=0.01, gt=0)
    seed: int = 42
    device: Literal["cpu", "auto"] = "cpu"
    max_train_seconds: float = Field(default=60.0, gt=0)
    label_weight: float = Field(default=0.5, ge=0)
    threads: int = Field(default=1, ge=0)


class RiskModelConfig(_Strict):
    """The learned actor-risk model, used when a run has enough suspension labels.

    With at least ``min_positives`` suspended actors, a tree-ensemble model
    (:class:`ringscope.ranking.risk_model.GraphRiskModel`) is cross-fitted over ``folds``
    folds of the actors and its calibrated probability becomes each actor's own risk;
    otherwise the heuristic stays. ``pu_adjust`` divides by the share of bad actors that
    carry a label (Elkan & Noto 2008), because unlabelled is not the same as legit.
    ``use_embeddings`` appends the embeddings step's vectors when it produced them.
    ``max_fit_actors`` caps the actors the trees of one fold fit on (every suspended one
    kept, the others sampled, seeded); label shares and predictions use every actor.
    ``selection``: ``ensemble`` (default) uses the rank average of every candidate in
    every fold; ``best`` the candidate with the best validation AUROC per fold.
    ``balance_sources``: each source of positive labels (suspensions, repeated reports,
    verdicts...) carries the same total weight in the fits, so the most plentiful source
    (reports, which only some kinds of abuse draw) does not teach the model that abuse
    looks like what gets reported; the calibration and the PU label frequency are
    weighted the same way.
    """

    enabled: bool = True
    min_positives: int = Field(default=10, ge=2)
    folds: int = Field(default=4, ge=3, le=10)
    selection: Literal["best", "ensemble"] = "ensemble"
    seed: int = 0
    pu_adjust: bool = True
    use_embeddings: bool = True
    max_fit_actors: int = Field(default=20_000, ge=100)
    balance_sources: bool = True


class ContentModelConfig(_Strict):
    """The message-level content model (``ringscope.ranking.content_model``).

    A linear classifier on each message's keyed hashed terms, traits and relay
    pseudonyms, trained on the labels that exist (suspensions, actors reported by at
    least ``min_reporters`` distinct accounts, extra actor labels) when there are at
    least ``min_positives`` labelled actors. An actor's messages are always scored by a
    model that never saw that actor (``folds`` folds of the actors). ``time_slices = 0``
    (default) scores every message with every label known at run time (the snapshot is a
    view as of the run). ``time_slices = k`` scores each message only with labels known
    before it: the timeline is cut at ``k`` quantiles of the label times, every message
    after a cut is scored by a model of the labels and messages up to it, and messages
    before the first cut get no supervised score (for back-testing; see bench/RESULTS.md
    for what it costs). ``max_train_messages`` caps the messages one fit learns from (every
    labelled one kept, the rest sampled, seeded). ``label_free`` adds the label-free
    content score (co-training from header and structure anomalies, see the module).
    """

    enabled: bool = True
    min_positives: int = Field(default=10, ge=2)
    min_reporters: int = Field(default=2, ge=1)
    time_slices: int = Field(default=0, ge=0, le=16)
    folds: int = Field(default=3, ge=2, le=10)
    max_train_messages: int = Field(default=30_000, ge=100)
    label_free: bool = True
    seed: int = 0


class SignupMatchConfig(_Strict):
    """One kind of key in the repeat-offender check (a likelihood ratio's two parts).

    ``reuse`` is the chance that a returning offender reuses this kind of key; the chance
    that an unrelated newcomer shares one offender's key is estimated as
    ``others / actors + base_rate``, where ``others`` counts accounts outside the offender
    set that used the key. So a corporate NAT address or a common name, used by many
    legit accounts, weighs little, and ``base_rate`` keeps a key that nobody else used
    in this snapshot (a rare name is still not unique in the world) from weighing more
    than its kind can.
    """

    reuse: float = Field(gt=0, le=1)
    base_rate: float = Field(gt=0, le=1)


def _signup_matches() -> dict[str, SignupMatchConfig]:
    return {
        "device": SignupMatchConfig(reuse=0.5, base_rate=1e-6),
        "email": SignupMatchConfig(reuse=0.2, base_rate=1e-6),
        "phone": SignupMatchConfig(reuse=0.3, base_rate=1e-5),
        "email_pattern": SignupMatchConfig(reuse=0.5, base_rate=1e-3),
        "ip": SignupMatchConfig(reuse=0.3, base_rate=1e-4),
        "subnet": SignupMatchConfig(reuse=0.5, base_rate=1e-3),
        "name": SignupMatchConfig(reuse=0.3, base_rate=1e-3),
        "name_similar": SignupMatchConfig(reuse=0.4, base_rate=5e-3),
        "embedding": SignupMatchConfig(reuse=0.3, base_rate=1e-2),
    }


class SignupConfig(_Strict):
    """The repeat-offender check at signup: who is an offender, key evidence, tiers.

    Offenders are suspended actors and members of clusters scoring at least
    ``ring_min_score`` (a ring member's evidence is scaled by its cluster score); the
    other members of their clusters up to ``associate_max_cluster`` members are not
    counted as independent users of a key (see :mod:`ringscope.signup.index`).
    ``prior`` is the share of signups that are repeat offenders, spread evenly over
    the offenders. ``review`` and ``block`` are the risk thresholds of the tiers; names
    match fuzzily from ``name_min_similarity`` (trigram Jaccard). When the snapshot has
    the GNN encoder (``--embeddings``), up to ``embedding_neighbours`` offenders that the
    attempt's inductive embedding is closer to than their usual newcomers by at least
    ``embedding_min_margin`` (cosine) are matched too (kind ``embedding``, see
    :mod:`ringscope.signup.neighbours`; its default weights keep it a corroborating
    signal, never enough on its own to reach ``review``).
    """

    matches: dict[str, SignupMatchConfig] = Field(default_factory=_signup_matches)
    ring_min_score: float = Field(default=0.5, ge=0, le=1)
    associate_max_cluster: int = Field(default=30, ge=2)
    prior: float = Field(default=0.05, gt=0, lt=1)
    review: float = Field(default=0.5, gt=0, le=1)
    block: float = Field(default=0.9, gt=0, le=1)
    name_min_similarity: float = Field(default=0.5, gt=0, le=1)
    embedding_min_margin: float = Field(default=0.05, gt=0, le=2)
    embedding_neighbours: int = Field(default=3, ge=1)
    max_matches: int = Field(default=5, ge=1)

    @field_validator("matches", mode="before")
    @classmethod
    def _merge_matches(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        defaults = {k: v.model_dump() for k, v in _signup_matches().items()}
        _check_names(value, defaults, "signup match kinds")
        for name, match in value.items():
            defaults[name] |= match.model_dump() if isinstance(match, BaseModel) else dict(match)
        return defaults

    @model_validator(mode="after")
    def _ordered_tiers(self) -> SignupConfig:
        if self.review > self.block:
            raise ValueError(f"review ({self.review}) must not exceed block ({self.block})")
        return self


class FeedbackConfig(_Strict):
    """How investigators' verdicts shape a run (``ringscope.feedback``).

    The learned cluster ranker is trained once the store holds at least
    ``min_confirmed`` confirmed and ``min_dismissed`` dismissed clusters; below that the
    prior score ranks alone. A cluster's score is then
    ``(1 - blend) * prior_score + blend * learned_score``. The tree settings keep the
    model small for tens to thousands of labels (shallow trees, L2, few rounds).

    A dismissed cluster that persists comes back to the open queue only when it grew by
    ``grow_ratio`` of its size and at least ``grow_min`` accounts, gained a suspended
    member or an evidence layer, or one of its signals rose by ``evidence_delta``; else
    it is listed as "dismissed before" below the open queue. ``teach_lane`` clusters
    whose verdict would teach the ranker most are marked for the review lane.

    ``nearest_weight`` scales the nearest-judged term (:mod:`ringscope.feedback.nearest`):
    the verdicts of a cluster's ``nearest_k`` most similar judged clusters, in log-odds
    on top of the trees (0 turns it off).
    """

    enabled: bool = True
    min_confirmed: int = Field(default=5, ge=1)
    min_dismissed: int = Field(default=5, ge=1)
    blend: float = Field(default=0.5, ge=0, le=1)
    rounds: int = Field(default=80, ge=1, le=2000)
    learning_rate: float = Field(default=0.1, gt=0, le=1)
    num_leaves: int = Field(default=7, ge=2, le=127)
    l2: float = Field(default=2.0, ge=0)
    feature_fraction: float = Field(default=0.5, gt=0, le=1)
    min_leaf: int = Field(default=3, ge=1)
    seed: int = 0
    nearest_weight: float = Field(default=2.0, ge=0)
    nearest_k: int = Field(default=5, ge=1)
    grow_ratio: float = Field(default=0.25, ge=0)
    grow_min: int = Field(default=3, ge=1)
    evidence_delta: float = Field(default=0.15, gt=0, le=1)
    teach_lane: int = Field(default=20, ge=0)


class SparkConfig(_Strict):
    """The Spark engine (``engine = "spark"``, see ``ringscope.engines.spark``).

    ``master`` is a Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``).
    GraphFrames comes from ``graphframes_jar`` (a local JAR; default: the one ``make
    install`` fetched) or, for users with Maven access, ``graphframes_package`` (Maven
    coordinates for ``spark.jars.packages``). ``community_method``: ``driver`` runs
    ``communities.method`` (Leiden by default) on the driver when the reduced actor graph
    has at most ``leiden_max_edges`` edges and GraphFrames label propagation above that;
    ``components`` and ``label_propagation`` always run on GraphFrames. The manifest
    records which method ran. ``conf`` passes any further Spark property (executor memory,
    cores, event log, ...) to the session; ``scratch_dir`` is where the driver and the
    executors hand tables over as Parquet (a fresh temporary directory by default, which
    only works when every executor sees the driver's disk, as on one machine; give a shared
    path for a cluster of several hosts).
    """

    master: str = "local[*]"
    shuffle_partitions: int = Field(default=8, ge=1)
    driver_memory: str = "4g"
    graphframes_jar: str | None = None
    graphframes_package: str | None = None
    community_method: Literal["driver", "components", "label_propagation"] = "driver"
    leiden_max_edges: int = Field(default=5_000_000, ge=0)
    label_propagation_iterations: int = Field(default=10, ge=1)
    conf: dict[str, str] = Field(default_factory=dict)
    scratch_dir: str | None = None


class StreamConfig(_Strict):
    """Micro-batches of ``ringscope serve --ingest`` (no effect on ``ringscope run``).

    The learned risk model is fitted again when ``refit_every`` micro-batches have
    passed since its last fit, when the events grew by more than ``refit_growth`` (a
    share of the events it was fitted on), or when more than ``refit_label_change`` (a
    share of the labelled actors at the fit) of the labels changed; in between, its
    kept fold models score each batch (see ``ringscope.ranking.kept_models``). With
    ``compact_segments`` set, the server compacts its log between micro-batches once it
    holds more sealed segments (see ``ringscope.stream.compact``).
    """

    refit_every: int = Field(default=10, ge=1)
    refit_growth: float = Field(default=0.25, ge=0)
    refit_label_change: float = Field(default=0.1, ge=0)
    #: compact the log (``ringscope compact``) between micro-batches once it has more
    #: sealed segments than this; 0: never
    compact_segments: int = Field(default=0, ge=0)


class RunConfig(_Strict):
    """Everything a run needs besides its inputs."""

    max_reject_rate: float = Field(default=0.05, ge=0, le=1)
    coordination: CoordinationConfig = Field(default_factory=CoordinationConfig)
    communities: CommunityConfig = Field(default_factory=CommunityConfig)
    scoring: ScoreConfig = Field(default_factory=ScoreConfig)
    embeddings: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    risk_model: RiskModelConfig = Field(default_factory=RiskModelConfig)
    content_model: ContentModelConfig = Field(default_factory=ContentModelConfig)
    signup: SignupConfig = Field(default_factory=SignupConfig)
    feedback: FeedbackConfig = Field(default_factory=FeedbackConfig)
    stream: StreamConfig = Field(default_factory=StreamConfig)
    engine: Literal["local", "spark"] = "local"
    spark: SparkConfig = Field(default_factory=SparkConfig)

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
