"""Prometheus metrics of one app: requests by route, latency, the snapshot served.

Each app has its own registry (several apps in one test process never clash). Requests
are labelled by route template (``/v1/clusters/{cluster_id}``), never by raw path, so an
id in a URL cannot blow up label cardinality.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ringscope.api.holder import SnapshotHolder

__all__ = ["ApiMetrics"]


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
        self._holder = holder

    def install(self, app: FastAPI) -> None:
        """Time and count every request of ``app``."""

        @app.middleware("http")
        async def _measure(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            start = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.latency.labels(request.method, template).observe(time.perf_counter() - start)
            self.requests.labels(request.method, template, str(response.status_code)).inc()
            return response

    def render(self) -> bytes:
        """The Prometheus text exposition, with the snapshot gauges refreshed."""
        view = self._holder.current
        self.snapshot.clear()
        if view is not None:
            self.clusters.set(view.clusters.height)
            self.snapshot.labels(view.snapshot_id).set(1)
        return generate_latest(self.registry)
