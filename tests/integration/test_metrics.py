"""GET /metrics (issue 14): Prometheus text behind a bearer token, on the app server and on a
standalone proxy; requests counted as the proxy ends them, gauges read from the database."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from aiusage.config import get_settings
from aiusage.web import metrics_route
from tests.conftest import RUN_DIR, TEST_ENV
from tests.helpers.support import free_port, start_standalone_proxy, stop_gracefully, wait_usage

TOKEN = TEST_ENV["AIUSAGE_METRICS_TOKEN"]
ANTHROPIC_KEY = "sk-ant-api03-" + "m" * 40 + "MeTr"
BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 20,
    "messages": [{"role": "user", "content": "hi"}],
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str) -> Samples:
    response = httpx.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_of(samples: Samples, status_class: str = "2xx") -> float:
    return value(
        samples,
        "aiusage_proxy_requests_total",
        provider="anthropic",
        surface="/v1/messages",
        status_class=status_class,
    )


def wait_for(base_url: str, check, timeout: float = 10.0) -> Samples:
    """The first scrape that passes `check`: a request is counted as its handler ends, a
    moment after the client has its answer."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(base_url)
        if check(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def sdk(base_url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=f"{base_url}/api", max_retries=0)


def test_metrics_need_the_token(app_url):
    url = f"{app_url}/metrics"
    for headers in (
        {},
        {"Authorization": "Bearer " + "0" * len(TOKEN)},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"x-api-key": TOKEN},
    ):
        response = httpx.get(url, headers=headers, timeout=15)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE aiusage_proxy_requests_total counter" in response.text
    assert "# TYPE aiusage_proxy_request_duration_seconds histogram" in response.text


def test_no_token_configured_means_no_endpoint(monkeypatch):
    off = get_settings().model_copy(update={"metrics_token": ""})
    monkeypatch.setattr(metrics_route, "get_settings", lambda: off)
    with TestClient(Starlette(routes=metrics_route.routes)) as client:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404


async def test_proxied_requests_are_counted_and_timed(app_url, fake, make_account):
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    before = scrape(app_url)
    n = 4
    for _ in range(n - 1):
        sdk(app_url, account.proxy_key).messages.create(**BODY)
    with sdk(app_url, account.proxy_key).messages.stream(**BODY) as stream:
        stream.until_done()
    with pytest.raises(anthropic.AuthenticationError):  # refused: counted, not timed
        sdk(app_url, "sk-aiu-" + "x" * 43).messages.create(**BODY)

    def grew(name: str, samples: Samples, by: float, **labels: str) -> bool:
        return value(samples, name, **labels) - value(before, name, **labels) == by

    after = wait_for(app_url, lambda s: requests_of(s) - requests_of(before) >= n)
    assert requests_of(after) - requests_of(before) == n
    assert requests_of(after, "4xx") - requests_of(before, "4xx") == 1
    for histogram in ("request_duration_seconds", "time_to_first_byte_seconds"):
        name = f"aiusage_proxy_{histogram}"
        assert grew(f"{name}_count", after, n, provider="anthropic"), histogram
        assert grew(f"{name}_bucket", after, n, provider="anthropic", le="+Inf"), histogram
        assert value(after, f"{name}_sum", provider="anthropic") > value(
            before, f"{name}_sum", provider="anthropic"
        )
    await wait_usage(account.id, n)


def post_messages(base_url: str, key: str, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/messages",
        json=body,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01", **headers},
        timeout=30,
    )


async def test_upstream_errors_by_type(app_url, fake, make_account):
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    before = scrape(app_url)
    fake.behavior.status = 529  # Anthropic overloaded
    assert post_messages(app_url, account.proxy_key, BODY).status_code == 529
    fake.behavior.status = 200
    fake.behavior.drop_after_deltas = 1  # the stream breaks off
    broken = post_messages(app_url, account.proxy_key, {**BODY, "stream": True})
    assert broken.status_code == 200 and "event: error" in broken.text

    def errors(samples: Samples, kind: str) -> float:
        return value(
            samples, "aiusage_proxy_upstream_errors_total", provider="anthropic", error_type=kind
        )

    after = wait_for(
        app_url,
        lambda s: errors(s, "upstream_stream_error") > errors(before, "upstream_stream_error"),
    )
    assert errors(after, "upstream_status_5xx") - errors(before, "upstream_status_5xx") == 1
    assert errors(after, "upstream_stream_error") - errors(before, "upstream_stream_error") == 1
    assert requests_of(after, "5xx") - requests_of(before, "5xx") == 1
    await wait_usage(account.id, 2)


async def test_gauges_read_at_scrape_time(app_url):
    samples = scrape(app_url)
    health = httpx.get(f"{app_url}/api/health", timeout=15).json()
    assert value(samples, "aiusage_database_up") == 1
    assert value(samples, "aiusage_dead_settlements") == health["dead_settlements"]
    for gauge in (
        "aiusage_holds_outstanding",
        "aiusage_holds_expired",
        "aiusage_emails_pending",
        "aiusage_usage_writer_queue_depth",
    ):
        assert (gauge, frozenset()) in samples, gauge
        assert value(samples, gauge) >= 0


# --- a standalone proxy with two workers, summed through PROMETHEUS_MULTIPROC_DIR --------


@pytest.fixture(scope="module")
def multiprocess_proxy(upstream) -> Iterator[tuple[str, Path]]:
    port = free_port()
    with tempfile.TemporaryDirectory(dir=RUN_DIR) as name:
        directory = Path(name)
        stale = directory / "counter_1.db"
        stale.write_bytes(b"")  # an earlier run's: the server clears it before its workers start
        env = {**os.environ, **TEST_ENV, "PROMETHEUS_MULTIPROC_DIR": name}
        process = start_standalone_proxy(port, RUN_DIR / f"proxy-metrics-{port}.log", env)
        try:
            assert not stale.exists()
            yield f"http://127.0.0.1:{port}", directory
        finally:
            stop_gracefully(process)


async def test_standalone_workers_are_summed(multiprocess_proxy, fake, make_account):
    url, directory = multiprocess_proxy
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    sent = 0
    # A connection per request, until both workers have served some (the kernel picks).
    while sent < 10 or len({path.stem for path in directory.glob("counter_*.db")}) < 2:
        assert sent < 100, "one worker took every connection"
        response = post_messages(url, account.proxy_key, BODY, connection="close")
        assert response.status_code == 200
        sent += 1
    wait_for(url, lambda s: requests_of(s) == sent)
    for _ in range(6):  # whichever worker answers a scrape, it shows both workers' requests
        samples = scrape(url)
        assert requests_of(samples) == sent
        duration = "aiusage_proxy_request_duration_seconds_count"
        assert value(samples, duration, provider="anthropic") == sent
        assert value(samples, "aiusage_database_up") == 1
    await wait_usage(account.id, sent)
