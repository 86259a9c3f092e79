"""Prometheus metrics of one app: requests by route, latency, the snapshot served.

Each app has its own registry (several apps in one test process never clash). Requests
are labelled by route template (``/v1/clusters/{cluster_id}``), never by raw path, so an
id in a URL cannot blow up label cardinality. The timing is a plain ASGI middleware, not
``@app.middleware("http")``: that one wraps every request and response in extra tasks
and streams, several times the cost of a signup check.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ringscope.api.holder import SnapshotHolder

__all__ = ["ApiMetrics", "MetricsMiddleware"]

_Scope = dict[str, Any]
_Receive = Callable[[], Awaitable[dict[str, Any]]]
_Send = Callable[[dict[str, Any]], Awaitable[None]]


class ApiMetrics:
    """Request counters and latency histograms, plus gauges read from the holder."""

    def __init__(self, holder: SnapshotHolder) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ringscope_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ringscope_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.clusters = Gauge(
            "ringscope_snapshot_clusters",
            "clusters in the snapshot being served",
            registry=self.registry,
        )
        self.snapshot = Gauge(
            "ringscope_snapshot_info",
            "the snapshot being served (value 1, id in the label)",
            ["snapshot_id"],
            registry=self.registry,
        )
        self.snapshot_age = Gauge(
            "ringscope_snapshot_age_seconds",
            "seconds since the snapshot being served was created",
            registry=self.registry,
        )
        self._holder = holder

    def install(self, app: FastAPI) -> None:
        """Time and count every request of ``app``."""
        app.add_middleware(MetricsMiddleware, metrics=self)

    def observe(self, method: str, template: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        self.latency.labels(method, template).observe(seconds)
        self.requests.labels(method, template, str(status)).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition, with the snapshot gauges refreshed."""
        view = self._holder.current
        self.snapshot.clear()
        if view is not None:
            self.clusters.set(view.clusters.height)
            self.snapshot_age.set(time.time() - view.created_at.timestamp())
            self.snapshot.labels(view.snapshot_id).set(1)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware: each HTTP request's latency and status, by route template."""

    def __init__(
        self, app: Callable[[_Scope, _Receive, _Send], Awaitable[None]], *, metrics: ApiMetrics
    ) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets when the app raises before it answers

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)
