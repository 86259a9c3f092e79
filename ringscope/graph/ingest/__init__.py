"""Ingest: event files (JSONL, CSV, Parquet) -> the canonical pseudonymised event table.

>>> from ringscope.graph.ingest import ingest, write_rejects
>>> result = ingest(["events/"], keyring=keyring)  # doctest: +SKIP
>>> write_rejects(result.rejects, out / "rejects.jsonl.gz")  # doctest: +SKIP

See :mod:`ringscope.graph.ingest.validate` for the reject codes.
"""

from ringscope.graph.ingest.pipeline import IngestResult, InputStats, ingest
from ringscope.graph.ingest.rejects import read_rejects, write_rejects

__all__ = ["IngestResult", "InputStats", "ingest", "read_rejects", "write_rejects"]
