"""The proxy's Prometheus metrics: what the hot path counts, and the text a scrape reads.

`record_request` runs once per proxied request, when it ends: prometheus-client's own objects
(a counter, two histograms), their labelled children looked up once and kept, no lock of
ours — about 4 µs of CPU per request (`python -m bench.metrics`). Labels are bounded:
provider, the API surface (a path template, never a stored response's id), the status class,
the error type — never a model, a key or anything from the request's body.

Per process by default: each worker counts its own requests, and a scrape shows the worker
that answered it. With several workers per instance, set PROMETHEUS_MULTIPROC_DIR (an empty
directory, wiped before each start) in the server's environment: prometheus-client then keeps
every worker's numbers in files there and each scrape sums them (~9 µs per request). The
gauges read at scrape time (web/metrics_route.py) are the database's, the same whichever
worker answers, and the answering worker's usage-writer queue."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# The classic text format, what `generate_latest` writes and every Prometheus reads
# (OpenMetrics is not negotiated).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
PROVIDERS = ("anthropic", "openai")
# A request whose client went away before any answer (nginx's number for it).
CLIENT_CLOSED = 499
STORED_RESPONSE = "/v1/responses/{id}"
# 1 ms (a refusal, a cached answer) to 120 s (a long reasoning stream); beyond is +Inf.
SECONDS_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0,
)  # fmt: skip
STATUS_CLASSES = ("other", "1xx", "2xx", "3xx", "4xx", "5xx")
UPSTREAM_ERRORS = (
    "upstream_timeout",  # no answer in time (504 to the client)
    "upstream_unreachable",  # no connection (502)
    "upstream_error",  # the answer broke off before its body was read (502)
    "upstream_stream_error",  # a stream ended early or with an error event
    "upstream_status_401",  # a pool key the provider refused (the next key was tried)
    "upstream_status_429",  # the provider's rate limit
    "upstream_status_5xx",  # the provider's own failure (Anthropic's 529 included)
)

# No `_created` series beside every counter and histogram: the classic format's readers
# ignore them, and they would double the scrape.
disable_created_metrics()
REGISTRY = CollectorRegistry()
if not MULTIPROCESS:
    # The process's CPU, memory and GC: one process's, so only outside multiprocess mode.
    for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        REGISTRY.register(_collector)

REQUESTS = Counter(
    "aiusage_proxy_requests",
    "Requests through the proxy, by provider, API surface and the status class of the answer "
    "(499: the client went away before any answer).",
    ("provider", "surface", "status_class"),
    registry=REGISTRY,
)
DURATION = Histogram(
    "aiusage_proxy_request_duration_seconds",
    "Time from a request's arrival to its last byte, for requests forwarded upstream "
    "(refusals such as 401/402/429 are only counted in aiusage_proxy_requests_total).",
    ("provider",),
    buckets=SECONDS_BUCKETS,
    registry=REGISTRY,
)
TTFB = Histogram(
    "aiusage_proxy_time_to_first_byte_seconds",
    "Time from a request's arrival to the first byte of the answer it relayed (for a stream, "
    "its first event).",
    ("provider",),
    buckets=SECONDS_BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "aiusage_proxy_upstream_errors",
    "Upstream failures by provider and type: no answer, a broken answer or stream, or an "
    "error status from the provider (429, 5xx; 401 of a pool key that was then skipped).",
    ("provider", "error_type"),
    registry=REGISTRY,
)

# Children resolved once: `.labels()` costs more than the increment it leads to. Plain dicts,
# filled from the event loop; two threads adding the same key would both get the same child.
_durations = {provider: DURATION.labels(provider) for provider in PROVIDERS}
_ttfbs = {provider: TTFB.labels(provider) for provider in PROVIDERS}
_errors = {(p, kind): ERRORS.labels(p, kind) for p in PROVIDERS for kind in UPSTREAM_ERRORS}
_requests: dict[tuple[str, str, int], Counter] = {}


def surface_label(upstream_path: str) -> str:
    """A passed-through route's label: its path, a stored response's id left out."""
    return STORED_RESPONSE if upstream_path.startswith("/v1/responses/resp_") else upstream_path


def status_error(status: int) -> str | None:
    """The error type of an upstream answer's status, or None if it is no upstream failure
    (a 400 is the caller's)."""
    if status >= 500:
        return "upstream_status_5xx"
    if status == 429:
        return "upstream_status_429"
    if status == 401:
        return "upstream_status_401"
    return None


def count_upstream_error(provider: str, error_type: str) -> None:
    child = _errors.get((provider, error_type))
    if child is not None:  # unknown types are not counted: labels stay bounded
        child.inc()


def record_request(
    provider: str,
    surface: str,
    status: int,
    *,
    forwarded: bool,
    seconds: float,
    ttfb: float | None,
    error_type: str | None,
    upstream_status: int,
) -> None:
    """One finished proxied request. `forwarded`: it reached (or tried) the upstream, so its
    duration is the proxy's and the upstream's, not a refusal's. `error_type`: the usage
    row's; `upstream_status`: what the upstream answered (0: nothing)."""
    key = (provider, surface, status)
    child = _requests.get(key)
    if child is None:  # once per status seen (at most 900: aiohttp reads three digits)
        klass = status // 100
        status_class = STATUS_CLASSES[klass if 0 < klass < 6 else 0]
        child = _requests[key] = REQUESTS.labels(provider, surface, status_class)
    child.inc()
    if not forwarded:
        return
    duration = _durations.get(provider)
    if duration is None:
        return
    duration.observe(seconds)
    if ttfb is not None:
        _ttfbs[provider].observe(ttfb)
    if error_type is not None:
        if error_type.startswith("upstream_"):
            count_upstream_error(provider, error_type)
    elif upstream_status == 429 or upstream_status >= 500:
        count_upstream_error(provider, status_error(upstream_status) or "")


class _Snapshot(Collector):
    """Families measured for one scrape (database counts, the writer's queue)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


_multiprocess_registry: CollectorRegistry | None = None


def _hot_path_registry() -> CollectorRegistry:
    """This process's metrics, or every worker's summed from PROMETHEUS_MULTIPROC_DIR."""
    global _multiprocess_registry
    if not MULTIPROCESS:
        return REGISTRY
    if _multiprocess_registry is None:
        _multiprocess_registry = CollectorRegistry()
        MultiProcessCollector(_multiprocess_registry)
    return _multiprocess_registry


def clear_multiprocess_dir() -> None:
    """Removes an earlier run's metric files before the server starts its workers: they
    would be summed into this run's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and Path(directory).is_dir():
        for stale in Path(directory).glob("*.db"):
            stale.unlink(missing_ok=True)


def exposition(scrape_gauges: Iterable[Metric]) -> bytes:
    """The text of one scrape: the hot path's metrics, then the families read for it."""
    return generate_latest(_hot_path_registry()) + generate_latest(_Snapshot(scrape_gauges))
