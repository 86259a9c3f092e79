"""Synthetic worlds: seeded event logs with planted rings, look-alikes and ground truth.

A world is a population of accounts (friend communities, ISPs, devices, daily rhythms)
with bad-actor rings (``spam_blast``, ``camouflaged``, ``harassment``,
``reregistration``) and legit groups that look coordinated (``nat``, ``newsletter``,
``viral``, ``family``). Detectors are scored against its ``truth.json``.

Example::

    from ringscope.worlds import WorldConfig, generate_world, write_world

    world = generate_world(WorldConfig.scaled(50_000), seed=7)  # ~2M records
    paths = write_world(world, Path("worlds/w7"), fmt="jsonl", shards=4)
"""

from ringscope.worlds.config import (
    LOOKALIKE_KINDS,
    RECORDS_PER_LEGIT,
    RING_KINDS,
    WorldConfig,
    config_for_records,
)
from ringscope.worlds.world import World, generate_world
from ringscope.worlds.writer import FIELDS, write_world

__all__ = [
    "FIELDS",
    "LOOKALIKE_KINDS",
    "RECORDS_PER_LEGIT",
    "RING_KINDS",
    "World",
    "WorldConfig",
    "config_for_records",
    "generate_world",
    "write_world",
]
