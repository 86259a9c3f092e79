"""Pipeline step ``offender_index``: the repeat-offender index tables of a snapshot.

Runs after ``ranking`` (it needs the actor and cluster tables) and adds ``offenders``,
``actor_keys`` and ``name_grams`` to the snapshot (see :mod:`ringscope.signup.index`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ringscope.signup.index import actor_key_table, offender_table

if TYPE_CHECKING:
    from ringscope.run_state import RunState

__all__ = ["OFFENDER_TABLES", "offender_index"]

#: The snapshot tables this step writes.
OFFENDER_TABLES = ("offenders", "actor_keys", "name_grams")

_NAME_SCHEMA = {"name_key": pl.Utf8(), "name_grams": pl.List(pl.UInt64())}


def offender_index(state: RunState) -> dict[str, Any]:
    """Build the index tables into ``state.tables``; returns counts for the manifest."""
    events = state.ingest.events
    offenders = offender_table(
        events, state.tables["actors"], state.tables["clusters"], state.config.signup
    )
    keys = state.ingest.actor_keys
    keys = actor_key_table(events) if keys is None else keys
    names = (
        state.ingest.names if state.ingest.names is not None else pl.DataFrame(schema=_NAME_SCHEMA)
    )
    state.tables |= {"offenders": offenders, "actor_keys": keys, "name_grams": names}
    by_source = dict(offenders.group_by("source").len().iter_rows())
    return {
        "offenders": offenders.height,
        "suspended": by_source.get("suspended", 0),
        "ring_members": by_source.get("ring", 0),
        "actor_keys": keys.height,
        "names": names.height,
    }
