"""Pick the reader for a file's format; every reader yields :class:`RawBatch` objects.

One reader per format lives in its own module (``jsonl``, ``delimited``, ``parquet``);
this is the one place a format name resolves to one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ringscope.ingest.delimited import read_csv
from ringscope.ingest.jsonl import read_jsonl
from ringscope.ingest.parquet import read_parquet
from ringscope.ingest.raw import ProgressCallback, RawBatch
from ringscope.ingest.sources import Format, Source

__all__ = ["READERS", "RawBatch", "read_batches"]

Reader = Callable[..., Iterator[RawBatch]]

#: Format name -> reader. Each takes the Source and a keyword ``on_progress``.
READERS: dict[Format, Reader] = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}


def read_batches(
    source: Source, *, on_progress: ProgressCallback | None = None
) -> Iterator[RawBatch]:
    """Yield the records of one file in bounded batches, with their positions.

    Args:
        source: The file, with its format already resolved.
        on_progress: Told how many bytes of the file were consumed, as reading goes.
    """
    try:
        reader = READERS[source.format]
    except KeyError:
        raise ValueError(
            f"unknown format {source.format!r}; choose from {sorted(READERS)}"
        ) from None
    yield from reader(source, on_progress=on_progress)
