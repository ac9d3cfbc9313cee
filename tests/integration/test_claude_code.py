"""The real Claude Code CLI (npm: @anthropic-ai/claude-code, installed by
scripts/install_claude_code.sh) run in print mode against the running app, with the fake
upstream behind it.

Between the CLI and the app sits a recording TCP relay, so the test sees the very bytes the CLI
sent and the proxy answered, and can compare them with what reached the upstream."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.pricing_check import byok_charge_nano, cost_usd
from tests.helpers.support import ROOT, free_port, settled_money, wait_usage

CLAUDE = ROOT / ".cache/claude-code/node_modules/.bin/claude"
USER_KEY = "sk-ant-api03-" + "c" * 40 + "WxYz"
MODEL = "claude-sonnet-4-5"  # a priced model, so the charge can be checked
RUN_TIMEOUT = 180

pytestmark = pytest.mark.skipif(
    not CLAUDE.exists(),
    reason="Claude Code is not installed: run scripts/install_claude_code.sh",
)

# Headers the proxy replaces or drops on the way up (hop-by-hop, credentials, encodings it
# cannot meter); every other header the CLI sends must reach the upstream unchanged.
NOT_FORWARDED = {
    "host",
    "content-length",
    "connection",
    "x-api-key",
    "authorization",
    "accept-encoding",
}


# --- a recording relay between the CLI and the app ------------------------------------------


@dataclass
class HttpMessage:
    start_line: str
    headers: dict[str, str]  # lower-case names
    body: bytes  # de-chunked, as sent (not decompressed)

    @property
    def method(self) -> str:
        return self.start_line.split(" ")[0]

    @property
    def path(self) -> str:
        return self.start_line.split(" ")[1].partition("?")[0]

    @property
    def query(self) -> str:
        return self.start_line.split(" ")[1].partition("?")[2]

    @property
    def status(self) -> int:
        return int(self.start_line.split(" ")[1])


def _read_chunked(data: bytes, pos: int) -> tuple[bytes, int, bool]:
    """(body, position after it, complete?) of a chunked body starting at `pos`."""
    body = bytearray()
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return bytes(body), len(data), False
        size = int(data[pos:line_end].split(b";")[0], 16)
        pos = line_end + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            return bytes(body), (end + 4 if end >= 0 else len(data)), end >= 0
        if len(data) < pos + size:
            return bytes(body + data[pos:]), len(data), False
        body += data[pos : pos + size]
        pos += size + 2


def parse_http(data: bytes, *, responses_to: list[HttpMessage] | None = None) -> list[HttpMessage]:
    """Splits one direction of an HTTP/1.1 connection into messages. For a response stream,
    `responses_to` gives the requests (a HEAD's response has no body). An incomplete last
    message (a connection cut mid-body) is kept with the bytes that came."""
    messages: list[HttpMessage] = []
    pos = 0
    while pos < len(data):
        head_end = data.find(b"\r\n\r\n", pos)
        if head_end < 0:
            break
        lines = data[pos:head_end].decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = (
                f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
            )
        pos = head_end + 4
        message = HttpMessage(lines[0], headers, b"")
        is_response = responses_to is not None
        no_body = is_response and (
            responses_to[len(messages)].method == "HEAD" or message.status in (204, 304)
        )
        if no_body:
            pass
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            message.body, pos, _ = _read_chunked(data, pos)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            message.body, pos = data[pos : pos + length], pos + length
        elif is_response:  # delimited by the connection's end
            message.body, pos = data[pos:], len(data)
        messages.append(message)
    return messages


@dataclass
class Exchange:
    request: HttpMessage
    response: HttpMessage | None


@dataclass
class RecordingRelay:
    """Forwards TCP connections from its own port to the app's, keeping both directions."""

    target_port: int
    port: int = field(default_factory=free_port)
    _conns: list[tuple[bytearray, bytearray]] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self) -> RecordingRelay:
        ready = threading.Event()

        async def serve() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            ready.set()
            async with server:
                await self._stop.wait()

        self._thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
        self._thread.start()
        assert ready.wait(10), "the relay did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        sent, answered = bytearray(), bytearray()
        self._conns.append((sent, answered))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, log: bytearray):
            try:
                while chunk := await src.read(65536):
                    log += chunk
                    dst.write(chunk)
                    await dst.drain()
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.close()

        await asyncio.gather(pipe(client_r, up_w, sent), pipe(up_r, client_w, answered))

    def exchanges(self) -> list[Exchange]:
        """Every request the client sent, with the response it got, in order per connection."""
        out = []
        for sent, answered in list(self._conns):
            requests = parse_http(bytes(sent))
            responses = parse_http(bytes(answered), responses_to=requests)
            for i, request in enumerate(requests):
                out.append(Exchange(request, responses[i] if i < len(responses) else None))
        return out


@pytest.fixture
def relay(app_server):
    relay = RecordingRelay(app_server.port).start()
    yield relay
    relay.stop()


# --- running the CLI ----------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    session_id: str

    def result(self) -> dict:
        assert self.returncode == 0, f"claude exited {self.returncode}: {self.stderr[-2000:]}"
        return json.loads(self.stdout)


def run_claude(
    base_url: str, proxy_key: str, prompt: str, tmp_path: Path, key_var: str = "ANTHROPIC_API_KEY"
) -> Run:
    """`claude -p` as a user would run it, in a clean environment: an empty HOME (so no
    onboarding state, settings or credentials), a scratch working directory, no telemetry,
    no update checks. In print mode the CLI uses ANTHROPIC_API_KEY (sent as x-api-key) or
    ANTHROPIC_AUTH_TOKEN (sent as Authorization: Bearer) without asking."""
    home = tmp_path / "home"
    work = tmp_path / "work"  # not the repository: no CLAUDE.md, no git status in the prompt
    home.mkdir()
    work.mkdir()
    session_id = str(uuid.uuid4())
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": tempfile.gettempdir(),
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": base_url,
        key_var: proxy_key,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    command = [
        str(CLAUDE),
        "-p",
        prompt,
        "--output-format",
        "json",
        "--model",
        MODEL,
        "--session-id",
        session_id,
        "--permission-mode",
        "dontAsk",  # nothing may wait for a person: whatever would ask is refused
        "--no-session-persistence",
    ]
    started = time.monotonic()
    done = subprocess.run(
        command,
        env=env,
        cwd=work,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started, session_id)


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    """(event name, data) of each event in an SSE body."""
    events = []
    for block in body.decode().split("\n\n"):
        name, data = "", ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
        if data:
            events.append((name, json.loads(data)))
    return events


def streamed_text(body: bytes) -> str:
    """The text of an Anthropic SSE body (its text deltas joined)."""
    return "".join(
        data["delta"].get("text", "")
        for _, data in sse_events(body)
        if data.get("type") == "content_block_delta"
    )


def assert_forwarded_unchanged(sent: HttpMessage, seen, proxy_key: str) -> None:
    """What the upstream received (`seen`) is what the CLI sent, but for the credentials."""
    assert seen.query == sent.query
    assert seen.body == sent.body  # byte for byte
    assert seen.headers["x-api-key"] == USER_KEY  # the user's own key, never the proxy key
    assert proxy_key not in json.dumps(seen.headers)
    assert "authorization" not in seen.headers
    for name, value in sent.headers.items():
        if name not in NOT_FORWARDED:
            assert seen.headers.get(name) == value, f"header {name} changed on the way"


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("key_var", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
async def test_claude_code_print_mode_through_the_proxy(
    app_url, fake, make_account, relay, tmp_path, key_var
):
    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    marker = "MARKER-" + uuid.uuid4().hex
    fake.behavior.reply_text = f"The answer is {marker}."
    fake.behavior.input_tokens = 1_500
    fake.behavior.output_tokens = 42
    fake.behavior.cache_read = 3_000

    run = run_claude(
        f"http://127.0.0.1:{relay.port}/api", account.proxy_key, "Say hi", tmp_path, key_var
    )

    result = run.result()
    assert result["is_error"] is False and result["subtype"] == "success"
    assert marker in result["result"]
    assert result["session_id"] == run.session_id

    # A one-turn prompt that uses no tool is one streamed Messages call, and nothing else.
    exchanges = relay.exchanges()
    assert [(e.request.method, e.request.path) for e in exchanges] == [("POST", "/api/v1/messages")]
    (call,) = exchanges
    (seen,) = fake.requests
    sent = call.request
    assert sent.query == "beta=true"
    if key_var == "ANTHROPIC_API_KEY":
        assert sent.headers["x-api-key"] == account.proxy_key
    else:
        assert sent.headers["authorization"] == f"Bearer {account.proxy_key}"
    assert sent.headers["anthropic-beta"].startswith("claude-code-")
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["x-claude-code-session-id"] == run.session_id
    assert sent.headers["user-agent"].startswith("claude-cli/")
    assert seen.path == "/v1/messages"
    assert_forwarded_unchanged(sent, seen, account.proxy_key)
    body = seen.json()
    assert body["model"] == MODEL and body["stream"] is True
    assert body["system"] and body["tools"] and "user_id" in body["metadata"]
    assert "Say hi" in json.dumps(body["messages"])
    assert call.response is not None and call.response.status == 200
    assert call.response.headers["content-type"].startswith("text/event-stream")
    assert marker in streamed_text(call.response.body)

    (row,) = await wait_usage(account.id, 1)
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens) == (1_500, 42, 3_000)
    assert row.model == MODEL and row.key_source == "byok" and row.endpoint == "/v1/messages"
    assert row.status == 200 and row.streamed and row.error_type is None
    assert not row.tokens_estimated and not row.priced_by_default
    assert row.client_session_id == run.session_id
    assert row.user_agent == sent.headers["user-agent"]
    assert row.request_bytes == len(sent.body)
    expected = byok_charge_nano(cost_usd(MODEL, 1_500, 42, 0, 0, 3_000))
    assert row.charged_nano == expected
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 5_000_000_000 - expected


async def test_claude_code_retries_without_streaming_when_the_stream_drops(
    app_url, fake, make_account, relay, tmp_path
):
    """The upstream breaks off the first stream after one delta. The proxy ends that stream
    with an Anthropic `error` event; Claude Code then asks again, the same body without
    streaming, and prints that answer. Both calls are metered and charged."""
    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    marker = "MARKER-" + uuid.uuid4().hex
    fake.behavior.reply_text = f"Recovered: {marker}."
    fake.behavior.n_deltas = 4
    fake.behavior.drop_after_deltas = 1
    fake.behavior.response_delay = 0.3  # time for heal() below before the drop and the retry

    # The fake binds a request to the Behavior object current when it arrived, so swapping
    # in a new one once the first request is recorded keeps that request's drop in place.
    healthy = dataclasses.replace(fake.behavior, drop_after_deltas=None, response_delay=0)
    stop = threading.Event()

    def heal() -> None:
        while not stop.is_set():
            if fake.requests:
                fake.behavior = healthy
                return
            time.sleep(0.002)

    healer = threading.Thread(target=heal, daemon=True)
    healer.start()
    try:
        run = run_claude(
            f"http://127.0.0.1:{relay.port}/api", account.proxy_key, "Say hi", tmp_path
        )
    finally:
        stop.set()
        healer.join(5)

    result = run.result()
    assert result["is_error"] is False and result["subtype"] == "success"
    assert result["result"] == f"Recovered: {marker}."

    exchanges = relay.exchanges()
    assert [(e.request.method, e.request.path) for e in exchanges] == [
        ("POST", "/api/v1/messages")
    ] * 2
    first, second = exchanges
    upstream = fake.requests
    assert [r.path for r in upstream] == ["/v1/messages"] * 2
    assert [name for _, name in fake.sent_log][-2:] == ["content_block_delta", "!dropped"]
    for call, seen in zip(exchanges, upstream, strict=True):
        assert_forwarded_unchanged(call.request, seen, account.proxy_key)
        assert call.request.headers["x-claude-code-session-id"] == run.session_id

    # 1: the stream, cut short; the proxy tells the client in Anthropic's own format.
    assert json.loads(first.request.body)["stream"] is True
    assert first.response is not None and first.response.status == 200
    events = sse_events(first.response.body)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1]["error"]["type"] == "api_error"
    partial = streamed_text(first.response.body)  # the one delta sent before the drop
    assert partial and f"Recovered: {marker}.".startswith(partial) and marker not in partial
    # 2: Claude Code's fallback: the same request with "stream": false (not an SDK retry).
    assert json.loads(second.request.body) == {**json.loads(first.request.body), "stream": False}
    assert second.request.headers["x-stainless-retry-count"] == "0"
    assert second.response is not None and second.response.status == 200
    assert json.loads(second.response.body)["content"][0]["text"] == f"Recovered: {marker}."

    dropped, answered = await wait_usage(account.id, 2)
    assert dropped.streamed and dropped.status == 200
    assert dropped.error_type == "upstream_stream_error" and dropped.tokens_estimated
    assert dropped.input_tokens == 25 and dropped.output_tokens > 0  # output estimated
    assert not answered.streamed and answered.status == 200 and answered.error_type is None
    assert (answered.input_tokens, answered.output_tokens) == (25, 12)
    assert not answered.tokens_estimated
    assert dropped.client_session_id == answered.client_session_id == run.session_id
    charges = [
        byok_charge_nano(cost_usd(MODEL, 25, dropped.output_tokens)),
        byok_charge_nano(cost_usd(MODEL, 25, 12)),
    ]
    assert [dropped.charged_nano, answered.charged_nano] == charges
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 5_000_000_000 - sum(charges)
