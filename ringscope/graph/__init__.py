"""Event graph: the typed heterogeneous graph, coordination evidence, communities."""

from ringscope.graph.communities import METHODS, detect_communities, trim_periphery
from ringscope.graph.coordination import CoordinationEvidence, build_evidence
from ringscope.graph.hetero import NODE_TYPES, RELATIONS, HeteroGraph, build_hetero_graph

__all__ = [
    "METHODS",
    "NODE_TYPES",
    "RELATIONS",
    "CoordinationEvidence",
    "HeteroGraph",
    "build_evidence",
    "build_hetero_graph",
    "detect_communities",
    "trim_periphery",
]
