"""AIUSAGE_LOG_FORMAT=json (issue 14): one JSON object per line from a standalone proxy — its
own records, granian's, the access log — and never a key, a token or a prompt in any line."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
from datetime import datetime

import anthropic
import httpx
import openai

from aiusage.observability.logs import JsonFormatter, RedactingFormatter, redact
from tests.conftest import RUN_DIR, TEST_ENV
from tests.helpers.support import free_port, start_standalone_proxy, stop_gracefully, wait_usage

ANTHROPIC_KEY = "sk-ant-api03-" + "j" * 40 + "JsOn"
PLATFORM_OPENAI_KEY = TEST_ENV["AIUSAGE_PLATFORM_OPENAI_KEY"]


async def test_every_line_is_json_and_nothing_secret_is_logged(fake, make_account):
    port = free_port()
    log_path = RUN_DIR / f"proxy-json-{port}.log"
    env = {**os.environ, **TEST_ENV, "AIUSAGE_LOG_FORMAT": "json"}
    env.pop("AIUSAGE_METRICS_TOKEN")  # and without a token, no /metrics
    process = start_standalone_proxy(port, log_path, env, args=("--access-log",))
    base = f"http://127.0.0.1:{port}"
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    prompt = "a private prompt " + secrets.token_hex(8)
    wrong_key = "sk-aiu-" + secrets.token_urlsafe(32)
    try:
        claude = anthropic.Anthropic(
            api_key=account.proxy_key, base_url=f"{base}/api", max_retries=0
        )
        message = {
            "model": "claude-haiku-4-5",
            "max_tokens": 20,
            "messages": [{"role": "user", "content": prompt}],
        }
        claude.messages.create(**message)
        with claude.messages.stream(**message) as stream:
            stream.until_done()
        # OpenAI format, the key as a bearer token, the platform's key upstream.
        openai.OpenAI(
            api_key=account.proxy_key, base_url=f"{base}/api/v1", max_retries=0
        ).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
        )
        refused = httpx.post(
            f"{base}/api/v1/messages",
            json=message,
            headers={"Authorization": f"Bearer {wrong_key}"},
            timeout=15,
        )
        assert refused.status_code == 401
        # An upstream that breaks off a stream: the proxy logs a warning.
        fake.behavior.drop_after_deltas = 1
        broken = httpx.post(
            f"{base}/api/v1/messages",
            json={**message, "stream": True},
            headers={"x-api-key": account.proxy_key, "anthropic-version": "2023-06-01"},
            timeout=15,
        )
        assert "event: error" in broken.text
        assert httpx.get(f"{base}/metrics", timeout=15).status_code == 404
        await wait_usage(account.id, 4)
    finally:
        stop_gracefully(process)  # its shutdown lines too

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line
        assert {"time", "level", "logger", "message"} <= entry.keys(), line
        assert datetime.fromisoformat(entry["time"]).utcoffset().total_seconds() == 0
        entries.append(entry)
    text = "\n".join(lines)
    for secret in (account.proxy_key, ANTHROPIC_KEY, PLATFORM_OPENAI_KEY, wrong_key, prompt):
        assert secret not in text
    loggers = {entry["logger"] for entry in entries}
    assert {"_granian", "granian.access", "aiusage.proxy"} <= loggers, loggers
    access = [e for e in entries if e["logger"] == "granian.access"]
    assert {(e["method"], e["path"], e["status"]) for e in access} >= {
        ("POST", "/api/v1/messages", 200),
        ("POST", "/api/v1/chat/completions", 200),
        ("POST", "/api/v1/messages", 401),
        ("GET", "/metrics", 404),
    }
    assert all("addr" not in e and "127.0.0.1" not in e["message"] for e in access)
    assert any("stream ended early" in e["message"] for e in entries if e["level"] == "WARNING")


def test_redaction_masks_our_keys_provider_keys_and_bearer_tokens():
    proxy_key = "sk-aiu-" + secrets.token_urlsafe(32)
    line = (
        f"key {proxy_key}, anthropic=sk-ant-api03-{'a' * 30} openai='sk-proj-{'b' * 30}' "
        f"old sk-{'c' * 40} stripe sk_live_{'d' * 24} whsec_{'e' * 32} "
        f"Authorization: Bearer {secrets.token_hex(16)}; task-12345678 and sk-short stay"
    )
    masked = redact(line)
    assert masked.count("[redacted]") == 7
    assert "sk-aiu-[redacted]" in masked and "sk-ant-[redacted]" in masked
    assert "Bearer [redacted]" in masked
    assert "task-12345678" in masked and "sk-short" in masked


def test_formatters_mask_messages_arguments_extras_and_tracebacks():
    key = "sk-aiu-" + secrets.token_urlsafe(32)
    logger = logging.getLogger("aiusage.test_json_logs")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for formatter in (JsonFormatter(), RedactingFormatter("%(message)s")):
            handler.setFormatter(formatter)
            logger.warning("argument %s", key, extra={"request_id": "req_1", "header": key})
            try:
                raise ValueError(f"bad key {key}")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = stream.getvalue()
    assert key not in output and output.count("sk-aiu-[redacted]") >= 5
    first = json.loads(output.splitlines()[0])
    assert first["message"] == "argument sk-aiu-[redacted]"
    assert first["request_id"] == "req_1" and first["level"] == "WARNING"
    assert first["logger"] == "aiusage.test_json_logs" and first["time"].endswith("Z")
