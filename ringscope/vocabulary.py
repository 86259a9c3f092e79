"""The words every layer shares: API key roles, verdict values and cluster kinds.

Defined once as ``Literal`` types (for FastAPI/pydantic schemas and type checkers) with
the tuple of their values beside them (for the store's checks and the CLI's choices), so
the store, the API and the command line cannot disagree. A leaf module: it imports
nothing heavy, so the CLI can build its parser without loading the store.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "CLUSTER_KINDS",
    "ROLES",
    "VERDICTS",
    "ClusterKind",
    "Role",
    "VerdictValue",
]

Role = Literal["investigator", "service", "admin"]
ROLES: tuple[str, ...] = get_args(Role)

VerdictValue = Literal["confirmed", "dismissed", "needs_more_info"]
VERDICTS: tuple[str, ...] = get_args(VerdictValue)

ClusterKind = Literal["content", "infrastructure", "victims", "identity", "signup", "unknown"]
CLUSTER_KINDS: tuple[str, ...] = get_args(ClusterKind)
