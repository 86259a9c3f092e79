"""Ingest: event files (JSONL, CSV, Parquet) -> the canonical pseudonymised event table.

>>> from ringscope.ingest import ingest, write_rejects
>>> result = ingest(["events/"], keyring=keyring)  # doctest: +SKIP
>>> write_rejects(result.rejects, out / "rejects.jsonl.gz")  # doctest: +SKIP

See :mod:`ringscope.ingest.validate` for the reject codes.
"""

from ringscope.ingest.pipeline import IngestResult, InputStats, ingest
from ringscope.ingest.rejects import read_rejects, write_rejects

__all__ = ["IngestResult", "InputStats", "ingest", "read_rejects", "write_rejects"]
