"""Prometheus metrics of one service instance, served at ``GET /metrics``.

Each app gets its own ``CollectorRegistry`` so several apps in one process (tests,
Ray replicas) never clash over metric names.

Example:
    ```python
    metrics = ServiceMetrics()
    metrics.requests.labels(endpoint="/v1/rerank", method="POST", status="200").inc()
    b"crossrank_http_requests_total" in metrics.render()
    # -> True
    ```
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from crossrank.cache import CacheInfo
from crossrank.server.batcher import BatchStats

log = logging.getLogger("crossrank.server")

_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
# Prometheus' default latency buckets, continued in 1-2.5-5 steps by latency_buckets().
_LATENCY_LADDER = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Why a request to a scoring endpoint was refused, when its status alone does not say;
# RequestInfo.reason overrides it (422 "limit", 503 "timeout", ...).
_REASON_BY_STATUS = {
    400: "invalid_json",
    401: "unauthorized",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "queue_full",
    499: "cancelled",
    503: "unavailable",
}
REJECTION_REASONS = (
    "invalid_json",
    "invalid",
    "limit",
    "unauthorized",
    "method_not_allowed",
    "body_too_large",
    "unsupported_media_type",
    "queue_full",
    "overloaded",
    "too_much_work",
    "timeout",
    "cancelled",
    "not_ready",
    "shutting_down",
    "unavailable",
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SCOPE_KEY = "crossrank.request"


def latency_buckets(longest_s: float) -> tuple[float, ...]:
    """Histogram buckets up to past ``longest_s`` (the longest timeout), which is one of them.

    A request that times out finishes just after its timeout, so it lands in the bucket
    above it: timed-out requests stay apart from slow ones and out of ``+Inf``.

    Example:
        ```python
        latency_buckets(30.0)[-4:]
        # -> (10.0, 25.0, 30.0, 50.0)
        ```
    """
    buckets = list(_LATENCY_LADDER)
    scale = 10.0
    while buckets[-1] <= longest_s:
        buckets += [2.5 * scale, 5.0 * scale, 10.0 * scale]
        scale *= 10
    while len(buckets) > len(_LATENCY_LADDER) + 1 and buckets[-2] > longest_s:
        buckets.pop()  # keep one bucket above longest_s, not a whole decade
    return tuple(sorted({*buckets, float(longest_s)}))


@dataclass
class RequestInfo:
    """What the handlers tell the middleware about one request (kept in its ASGI scope).

    ``documents``: how many documents it sent; ``reason``: why it was refused, where its
    status is ambiguous (a 422 over a limit, a 503 that timed out).
    """

    request_id: str
    documents: int | None = None
    reason: str | None = None


def request_info(scope: MutableMapping[str, Any]) -> RequestInfo:
    """The ``RequestInfo`` the middleware put in ``scope`` (a detached one when there is none)."""
    info = scope.get(_SCOPE_KEY)
    return info if isinstance(info, RequestInfo) else RequestInfo(request_id=uuid.uuid4().hex)


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

    def __init__(self, longest_timeout_s: float = 30.0) -> None:
        """``longest_timeout_s``: the longest request timeout, which the duration buckets must cover."""
        self.registry = CollectorRegistry()
        r = self.registry
        seconds = latency_buckets(longest_timeout_s)
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
            buckets=seconds,
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
            "crossrank_batch_duration_seconds", "Time to score one batch.", buckets=seconds, registry=r
        )
        self.batch_failures = Counter(
            "crossrank_batch_failures", "Batches that failed and were retried request by request.", registry=r
        )
        self.documents = Counter("crossrank_documents_scored", "Documents scored by the model.", registry=r)
        self.delivered = Counter(
            "crossrank_documents_delivered",
            "Scored documents whose caller was still waiting (scored minus delivered: work for "
            "requests that had timed out or hung up while their batch ran).",
            registry=r,
        )
        self.queue_depth = Gauge("crossrank_queue_depth", "Requests waiting for the model.", registry=r)
        self.rejected = Counter(
            "crossrank_rejected_requests",
            "Requests to the rerank and answer endpoints refused with a 4xx or 503, by reason: "
            + ", ".join(REJECTION_REASONS)
            + ".",
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
        self.delivered.inc(stats.delivered)
        if stats.failed:
            self.batch_failures.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: counts, times and logs every HTTP response, and gives it a request id.

    Includes 4xx answers from validation and the 413 of the body limit. Unknown paths
    are counted under ``endpoint="other"`` so random URLs cannot blow up the number of
    time series. Every 4xx and 503 answer of a scoring endpoint (``rejecting``) is one
    ``crossrank_rejected_requests_total`` count and one warning line; a 500 is one
    error line; the rest are debug lines.

    The request id is the client's ``X-Request-Id`` when it is a plain token (a load
    balancer's id then ties its log to this one), else a new one; every response
    carries it back in ``X-Request-Id``.
    """

    def __init__(
        self,
        app: Any,
        metrics: ServiceMetrics,
        endpoints: Callable[[], set[str]],
        rejecting: Callable[[], set[str]] = set,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self._endpoints = endpoints
        self._rejecting = rejecting

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = path if path in self._endpoints() else "other"
        status = {"code": 500}
        started = time.perf_counter()
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        info = RequestInfo(given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex)
        scope[_SCOPE_KEY] = info

        async def send_recording(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", info.request_id.encode())]}
            await send(message)

        self.metrics.inflight.inc()
        try:
            await self.app(scope, receive, send_recording)
        finally:
            self.metrics.inflight.dec()
            seconds = time.perf_counter() - started
            self.metrics.latency.labels(endpoint=endpoint).observe(seconds)
            self.metrics.requests.labels(
                endpoint=endpoint, method=scope.get("method", ""), status=str(status["code"])
            ).inc()
            self._log(scope, endpoint, status["code"], seconds, info)

    def _log(
        self, scope: dict[str, Any], endpoint: str, status: int, seconds: float, info: RequestInfo
    ) -> None:
        fields: dict[str, Any] = {
            "request_id": info.request_id,
            "route": endpoint,
            "method": scope.get("method", ""),
            "status": status,
            "latency_ms": round(seconds * 1000, 1),
            "documents": info.documents,
        }
        rejected = endpoint in self._rejecting() and (400 <= status < 500 or status == 503)
        if rejected:
            reason = info.reason or _REASON_BY_STATUS.get(status, f"http_{status}")
            self.metrics.rejected.labels(reason=reason).inc()
            fields["reason"] = reason
            what = "request timed out" if reason == "timeout" else "request rejected"
            log.warning(what, extra={"fields": fields})
        elif status >= 500:
            log.error("request failed", extra={"fields": fields})
        else:
            log.debug("request served", extra={"fields": fields})
