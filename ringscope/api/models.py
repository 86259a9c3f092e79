"""Request and response models of the query API (the OpenAPI schema at ``/docs``).

Requests (``VerdictCreate``, ``KeyCreate``) are separate from responses (``*Public``),
as in the FastAPI full-stack template; requests forbid unknown fields so a typo gets a
clear 422 instead of being ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ringscope.vocabulary import Role, VerdictValue

__all__ = [
    "ActorPublic",
    "ClusterDetail",
    "ClusterGraph",
    "ClusterSummary",
    "ClustersPublic",
    "EvidencePublic",
    "GraphEdge",
    "GraphNode",
    "Health",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "KeysPublic",
    "LearnedContribution",
    "LearnedPublic",
    "LineagePublic",
    "MemberPublic",
    "MembersPage",
    "Neighbour",
    "NeighbourLayer",
    "Readiness",
    "SignalPublic",
    "SnapshotPublic",
    "SnapshotsPublic",
    "TimelineBucket",
    "VerdictCreate",
    "VerdictCreated",
    "VerdictPublic",
    "VerdictsPublic",
]

LineageStatus = Literal["new", "same", "grew", "shrank", "split", "merged"]
ReviewState = Literal["open", "reopened", "confirmed", "disputed", "dismissed_before"]


class LineagePublic(BaseModel):
    """How a cluster relates to the previous snapshot's clusters."""

    status: LineageStatus
    previous_ids: list[str]


class VerdictPublic(BaseModel):
    """One recorded verdict."""

    id: int
    cluster_id: str
    verdict: VerdictValue
    note: str | None
    investigator: str
    snapshot_id: str
    created_at: datetime


class VerdictCreate(BaseModel):
    """A verdict to record on a cluster."""

    model_config = ConfigDict(extra="forbid")

    verdict: VerdictValue
    note: str | None = Field(default=None, max_length=2000)
    investigator: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="who decided; defaults to the API key's name",
    )
    snapshot_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="the snapshot the investigator judged from (checked when given: a "
        "snapshot that no longer exists is a 409)",
    )


class VerdictCreated(VerdictPublic):
    """A recorded verdict and the label the cluster now carries."""

    label: Literal["confirmed", "dismissed", "disputed", "none"] = Field(
        description="the cluster's label for the ranker after this verdict: 'disputed' "
        "when investigators' latest verdicts disagree (it then teaches nothing)"
    )
    disputed_with: list[str] = Field(description="investigators who hold a different label")


class VerdictsPublic(BaseModel):
    """A cluster's verdict history, newest first."""

    items: list[VerdictPublic]


class ClusterSummary(BaseModel):
    """A cluster as it appears in the ranked queue."""

    cluster_id: str
    rank: int
    score: float
    size: int
    kind: str = Field(description="dominant evidence family: content, infrastructure, ...")
    summary: str
    lineage: LineagePublic
    verdict: VerdictPublic | None = Field(description="the latest verdict, if any")
    prior_score: float | None = Field(
        default=None, description="the label-free score (before the learned ranker)"
    )
    review_state: ReviewState = Field(
        default="open",
        description="where verdicts put it: 'dismissed_before' clusters are listed after "
        "the open queue; 'reopened' ones were dismissed but changed materially",
    )
    review_reason: str | None = Field(default=None, description="why it has that state")
    teach_reason: str | None = Field(
        default=None, description="set when it is in the review lane: why its verdict teaches"
    )


class ClustersPublic(BaseModel):
    """One page of the ranked queue."""

    snapshot_id: str
    total: int
    items: list[ClusterSummary]
    next_cursor: str | None


class SignalPublic(BaseModel):
    """One scoring signal: its value, its weight in its family and its contribution."""

    name: str
    family: str
    value: float
    weight: float
    contribution: float


class MemberPublic(BaseModel):
    """A cluster member."""

    actor_id: str
    risk_score: float
    known_bad: bool


class MembersPage(BaseModel):
    """One page of a cluster's members, riskiest first."""

    items: list[MemberPublic]
    next_cursor: str | None


class EvidencePublic(BaseModel):
    """A shared item behind a cluster (display token; never a raw identifier)."""

    layer: str
    token: str
    n_actors: int
    first_ts: datetime | None
    last_ts: datetime | None


class TimelineBucket(BaseModel):
    """Events the members made in one UTC day."""

    bucket_start: datetime
    events: int


class LearnedContribution(BaseModel):
    """One feature's push on the learned score (log-odds, TreeSHAP), or the
    ``nearest_judged`` term's (its value: the vote of the most similar judged clusters)."""

    feature: str
    value: float
    contribution: float


class LearnedPublic(BaseModel):
    """The learned ranker's part in a cluster's score."""

    learned_score: float = Field(description="the ranker's P(ring)")
    weight: float = Field(description="score = (1 - weight) * prior_score + weight * learned")
    prior_score: float
    bias: float = Field(description="log-odds every cluster starts from")
    contributions: list[LearnedContribution] = Field(
        description=(
            "per feature, largest push first; bias + sum + logit(prior_score)"
            " = logit(learned_score)"
        )
    )


class ClusterDetail(ClusterSummary):
    """Everything an investigator reads about one cluster."""

    signals: list[SignalPublic]
    members: MembersPage
    evidence: list[EvidencePublic]
    timeline: list[TimelineBucket]
    verdicts: list[VerdictPublic]
    learned: LearnedPublic | None = Field(
        default=None, description="the learned ranker's part (None: not enough verdicts yet)"
    )


class GraphNode(BaseModel):
    """An actor node of a cluster graph."""

    id: str
    type: Literal["actor"] = "actor"
    label: str
    risk_score: float
    known_bad: bool


class GraphEdge(BaseModel):
    """A coordination edge between two members."""

    source: str
    target: str
    weight: float
    layers: list[str]


class ClusterGraph(BaseModel):
    """A cluster's members and the coordination edges among them."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool


class NeighbourLayer(BaseModel):
    """One evidence layer of an edge."""

    layer: str
    similarity: float
    n_items: int
    first_ts: datetime | None
    last_ts: datetime | None


class Neighbour(BaseModel):
    """An actor linked by coordination evidence."""

    actor_id: str
    weight: float
    layers: list[NeighbourLayer]


class ActorPublic(BaseModel):
    """One actor, its cluster and its strongest neighbours.

    ``flagged``: a member of a cluster coordinated beyond chance, or an associate of one
    (see ``ringscope.ranking.associates``); ``flagged_via`` names that cluster.
    """

    actor_id: str
    risk_score: float
    known_bad: bool
    cluster_id: str | None
    flagged: bool = False
    flagged_via: str | None = None
    neighbours: list[Neighbour]


class SnapshotProblemPublic(BaseModel):
    """Why a snapshot is not served, or serves with a part unavailable."""

    snapshot_id: str
    reason: str


class SnapshotPublic(BaseModel):
    """A published snapshot (counts are null when its manifest cannot be read)."""

    snapshot_id: str
    created_at: datetime | None
    events: int | None
    clusters: int | None
    valid: bool = Field(description="false when it failed validation and is never served")
    problem: str | None = Field(description="why it is not valid")


class SnapshotsPublic(BaseModel):
    """The snapshot being served and every published one, newest first."""

    current: str
    degraded: bool = Field(description="a newer snapshot is broken, or a part is unavailable")
    problems: list[SnapshotProblemPublic]
    items: list[SnapshotPublic]


class Health(BaseModel):
    """Liveness answer."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Readiness answer: the snapshot being served, and whether the service is degraded."""

    status: Literal["ready"] = "ready"
    snapshot_id: str
    degraded: bool = Field(
        description="serving an older snapshot because a newer one is broken, "
        "or a part of the service (the signup check) is unavailable"
    )
    problems: list[SnapshotProblemPublic]


class KeyCreate(BaseModel):
    """A new API key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    role: Role


class KeyPublic(BaseModel):
    """A stored key (never its secret)."""

    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyPublic):
    """A newly created key with its secret, shown this once."""

    key: str


class KeysPublic(BaseModel):
    """Every key."""

    items: list[KeyPublic]
