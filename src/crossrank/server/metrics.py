"""Prometheus metrics of one service instance, served at ``GET /metrics``.

Each app gets its own ``CollectorRegistry`` so several apps in one process (tests,
Ray replicas) never clash over metric names.

Example:
    >>> metrics = ServiceMetrics()
    >>> metrics.requests.labels(endpoint="/v1/rerank", method="POST", status="200").inc()
    >>> b"crossrank_http_requests_total" in metrics.render()
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from crossrank.cache import CacheInfo
from crossrank.server.batcher import BatchStats

_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class _CacheCollector(Collector):
    """Reads the scorer's cache counters at scrape time (the scorer owns them)."""

    def __init__(self, cache_info: Callable[[], CacheInfo | None]) -> None:
        self._cache_info = cache_info

    def collect(self) -> Iterator[Any]:
        info = self._cache_info()
        if info is None:
            return
        hits = CounterMetricFamily("crossrank_score_cache_hits", "Scores answered from the score cache.")
        hits.add_metric([], info.hits)
        misses = CounterMetricFamily("crossrank_score_cache_misses", "Scores the model had to compute.")
        misses.add_metric([], info.misses)
        size = GaugeMetricFamily("crossrank_score_cache_entries", "Entries held in the score cache.")
        size.add_metric([], info.size)
        yield from (hits, misses, size)


class ServiceMetrics:
    """All metrics of the service, in one private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "crossrank_http_requests",
            "HTTP requests by endpoint and status.",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "crossrank_http_request_duration_seconds",
            "Time from request to response, by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self.inflight = Gauge("crossrank_http_inflight_requests", "Requests being handled now.", registry=r)
        self.batch_requests = Histogram(
            "crossrank_batch_requests",
            "Requests merged into one model batch.",
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_documents = Histogram(
            "crossrank_batch_documents",
            "Documents scored in one model batch.",
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "crossrank_batch_duration_seconds", "Time to score one batch.", registry=r
        )
        self.batch_failures = Counter(
            "crossrank_batch_failures", "Batches that failed and were retried request by request.", registry=r
        )
        self.documents = Counter("crossrank_documents_scored", "Documents scored by the model.", registry=r)
        self.queue_depth = Gauge("crossrank_queue_depth", "Requests waiting for the model.", registry=r)
        self.rejected = Counter(
            "crossrank_rejected_requests",
            "Requests refused before scoring, by reason (queue_full, timeout, cancelled, limit, unauthorized).",
            ["reason"],
            registry=r,
        )
        self.verdicts = Counter(
            "crossrank_verdicts",
            "Relevance verdicts returned, by endpoint.",
            ["endpoint", "verdict"],
            registry=r,
        )
        self.model_ready = Gauge("crossrank_model_ready", "1 once the model is loaded.", registry=r)
        self._cache_info: Callable[[], CacheInfo | None] = lambda: None
        r.register(_CacheCollector(lambda: self._cache_info()))

    def watch(self, queue_depth: Callable[[], int], cache_info: Callable[[], CacheInfo | None]) -> None:
        """Read queue depth and cache counters from these callables at scrape time."""
        self.queue_depth.set_function(queue_depth)
        self._cache_info = cache_info

    def record_batch(self, stats: BatchStats) -> None:
        """The batcher's ``on_batch`` hook."""
        self.batch_requests.observe(stats.requests)
        self.batch_documents.observe(stats.documents)
        self.batch_seconds.observe(stats.seconds)
        self.documents.inc(stats.documents)
        if stats.failed:
            self.batch_failures.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware counting every HTTP response (including 4xx from validation and 413).

    Unknown paths are counted under ``endpoint="other"`` so random URLs cannot blow
    up the number of time series.
    """

    def __init__(self, app: Any, metrics: ServiceMetrics, endpoints: Callable[[], set[str]]) -> None:
        self.app = app
        self.metrics = metrics
        self._endpoints = endpoints

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = path if path in self._endpoints() else "other"
        status = {"code": 500}
        started = time.perf_counter()

        async def send_recording(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        self.metrics.inflight.inc()
        try:
            await self.app(scope, receive, send_recording)
        finally:
            self.metrics.inflight.dec()
            self.metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)
            self.metrics.requests.labels(
                endpoint=endpoint, method=scope.get("method", ""), status=str(status["code"])
            ).inc()
