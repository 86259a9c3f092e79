"""Streaming ingest: ``ringscope serve --ingest``.

:mod:`.check` checks posted events with the batch ingest code, :mod:`.log` keeps them in
fsync'ed append-only segments (idempotent by ``event_id`` or content hash),
:mod:`.filedrop` takes in files dropped in a folder, :mod:`.batcher` turns the log into a
published snapshot every few seconds (in the worker process of :mod:`.worker` /
:mod:`.child`, through :mod:`.batch_run`, ingesting each segment once:
:mod:`.ingest_cache`), and :mod:`.service` ties them together for the API.
"""
