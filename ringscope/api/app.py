"""The query API app: ranked rings, their explanations and graphs, investigator verdicts.

``create_app(settings)`` wires the verdict store, the snapshot holder (hot swap of newer
snapshots, polled every ``reload_interval_s``), metrics, error handlers and one router
per resource. To add a router, append it to :data:`ROUTERS` (or call
``app.include_router`` on the returned app) and protect its routes with the role
aliases of :mod:`ringscope.api.deps`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI

import ringscope
from ringscope.api.errors import install_error_handlers
from ringscope.api.guard import RequestGuard
from ringscope.api.holder import SnapshotHolder
from ringscope.api.metrics import ApiMetrics
from ringscope.api.queue import QueueCache
from ringscope.api.responses import PROTECTED_ERRORS
from ringscope.api.routes import (
    actors,
    admin,
    clusters,
    events,
    health,
    pages,
    signup,
    signup_outcomes,
    snapshots,
    stats,
    verdicts,
)
from ringscope.api.settings import ApiSettings
from ringscope.errors import SnapshotError
from ringscope.privacy import Keyring, load_keyring
from ringscope.store import open_store
from ringscope.stream.service import IngestService

__all__ = ["ROUTERS", "create_app"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    clusters.router,
    verdicts.router,
    actors.router,
    snapshots.router,
    admin.router,
    signup.router,
    signup_outcomes.router,
    stats.router,
    pages.router,
)


def create_app(settings: ApiSettings | None = None, keyring: Keyring | None = None) -> FastAPI:
    """Build the app over ``settings.snapshot_root`` (settings from the environment if None).

    The store is opened (and migrated) here, so a bad database URL fails at once; the
    first snapshot is loaded at startup, or on the first request when the app runs
    without its lifespan. With ``settings.ingest`` the app also serves
    ``POST /v1/events`` and micro-batches while its lifespan runs; ``keyring`` seals
    rejected events and keys the batches (default: ``RINGSCOPE_SECRET_KEY``).
    """
    settings = settings or ApiSettings()
    if not settings.snapshot_root.is_dir():
        raise SnapshotError(f"snapshot root is not a directory: {settings.snapshot_root}")
    store = open_store(settings.database_url)
    checkers = signup.SignupCheckers()
    holder = SnapshotHolder(settings.snapshot_root, checks=[checkers.prepare])

    metrics = ApiMetrics(holder)
    ingest = None
    if settings.ingest:
        ingest = IngestService(
            settings.snapshot_root,
            keyring or load_keyring(),
            registry=metrics.registry,
            interval_s=settings.batch_interval_s,
            max_backlog=settings.max_backlog,
            keep_snapshots=settings.keep_snapshots,
            config=settings.run_config,
            drop_dir=settings.drop_dir,
            on_published=holder.refresh,
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(holder.refresh)
        poller = asyncio.create_task(holder.poll(settings.reload_interval_s))
        if ingest is not None:
            ingest.start()
        try:
            yield
        finally:
            if ingest is not None:
                await asyncio.to_thread(ingest.stop)
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            store.close()

    app = FastAPI(
        title="ringscope",
        version=ringscope.__version__,
        summary="Ranked coordinated bad-actor rings, their evidence, and investigator verdicts.",
        lifespan=lifespan,
        docs_url=None,  # served by the pages router from vendored assets
        redoc_url=None,  # ReDoc would load from a CDN
    )
    app.state.settings = settings
    app.state.store = store
    app.state.snapshots = holder
    app.state.signup_checkers = checkers
    app.state.queue_cache = QueueCache(store)
    app.state.metrics = metrics
    app.state.ingest = ingest
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.state.metrics.install(app)  # added last: outermost, so it times guarded answers too
    install_error_handlers(app)
    for router in ROUTERS:
        public = router in (health.router, pages.router)
        app.include_router(router, responses=None if public else PROTECTED_ERRORS)
    if ingest is not None:
        app.include_router(events.router, responses=PROTECTED_ERRORS)
    return app
