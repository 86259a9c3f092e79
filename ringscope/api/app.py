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
    health,
    pages,
    signup,
    signup_outcomes,
    snapshots,
    verdicts,
)
from ringscope.api.settings import ApiSettings
from ringscope.errors import SnapshotError
from ringscope.store import open_store

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
    pages.router,
)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app over ``settings.snapshot_root`` (settings from the environment if None).

    The store is opened (and migrated) here, so a bad database URL fails at once; the
    first snapshot is loaded at startup, or on the first request when the app runs
    without its lifespan.
    """
    settings = settings or ApiSettings()
    if not settings.snapshot_root.is_dir():
        raise SnapshotError(f"snapshot root is not a directory: {settings.snapshot_root}")
    store = open_store(settings.database_url)
    checkers = signup.SignupCheckers()
    holder = SnapshotHolder(settings.snapshot_root, checks=[checkers.prepare])

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(holder.refresh)
        poller = asyncio.create_task(holder.poll(settings.reload_interval_s))
        try:
            yield
        finally:
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
    app.state.metrics = ApiMetrics(holder)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.state.metrics.install(app)  # added last: outermost, so it times guarded answers too
    install_error_handlers(app)
    for router in ROUTERS:
        public = router in (health.router, pages.router)
        app.include_router(router, responses=None if public else PROTECTED_ERRORS)
    return app
