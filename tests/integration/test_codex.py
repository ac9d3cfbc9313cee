"""The real OpenAI Codex CLI (npm: @openai/codex, installed by scripts/install_codex.sh) run
with `codex exec`, configured with a custom model provider that speaks the Responses API.

Two tests: Codex against the fake upstream directly (it guards the fake's fidelity: the real
client must parse the fake's Responses stream), and Codex through the running app's
/api/v1/responses, with the fake behind it, metered and charged.

Codex must not reach the internet: its config turns off what would (plugin and app syncs,
analytics, OpenTelemetry exporters, feedback, update checks), and every proxy variable points
at a local trap that records any attempt, which the tests assert stayed empty."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from aiusage.state.dashboard_connect import codex_config as connect_page_codex_config
from tests.helpers.pricing_check import BYOK_FEE, to_nano_up
from tests.helpers.support import ROOT, settled_money, wait_usage

CODEX = ROOT / ".cache/codex/node_modules/.bin/codex"
USER_KEY = "sk-proj-" + "x" * 40 + "CdXx"
PRICED_MODEL = "gpt-5"  # in the app's price table; not in Codex's catalog (it warns, goes on)
CATALOG_MODEL = "gpt-5.5"  # in Codex's bundled catalog; the app prices it by default
# gpt-5 list prices, USD per million tokens: input, output, cached input.
GPT5_PRICES = (Decimal("1.25"), Decimal("10"), Decimal("0.125"))
PROMPT = "Say hi"
RUN_TIMEOUT = 180

pytestmark = pytest.mark.skipif(
    not CODEX.exists(), reason="Codex is not installed: run scripts/install_codex.sh"
)


# --- a trap for anything that would leave the machine --------------------------------------


@dataclass
class InternetTrap:
    """A local listener that every proxy variable of Codex's environment points at: HTTP
    clients (reqwest, git, curl) then ask it for any non-local host. It records the first
    bytes of each connection (e.g. `CONNECT chatgpt.com:443`) and hangs up."""

    attempts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed
                return
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(4096)
                except OSError as exc:
                    head = repr(exc).encode()
                self.attempts.append(head.split(b"\r\n", 1)[0].decode("latin-1"))

    def env(self) -> dict[str, str]:
        env = {}
        for name in ("http_proxy", "https_proxy", "all_proxy"):
            env[name] = env[name.upper()] = self.url
        env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
        return env

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def trap():
    trap = InternetTrap()
    yield trap
    trap.close()


# --- running the CLI ------------------------------------------------------------------------


def codex_config(model: str, base_url: str) -> str:
    """$CODEX_HOME/config.toml: the snippet the Connect page publishes (so the test proves it
    works), plus everything that would go online turned off. `codex exec --strict-config`
    refuses keys this version does not know, so a renamed key fails the test instead of
    silently letting traffic out."""
    published = connect_page_codex_config("https://site.example")
    assert 'base_url = "https://site.example/api/v1"' in published
    assert 'model = "gpt-5"' in published
    published = published.replace("https://site.example/api/v1", base_url).replace(
        'model = "gpt-5"', f'model = "{model}"'
    )
    head, provider = published.split("[model_providers.aiusage]\n")
    return f"""\
{head.rstrip()}
approval_policy = "never"       # nothing may wait for a person
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.aiusage]
{provider.rstrip()}
request_max_retries = 0         # one request per run: one usage row
stream_max_retries = 0

[analytics]
enabled = false                 # else: metrics to ab.chatgpt.com

[feedback]
enabled = false

[otel]
exporter = "none"
trace_exporter = "none"
metrics_exporter = "none"       # else: the Statsig exporter (ab.chatgpt.com)

[features]
plugins = false                 # else: git clone from github.com, api.github.com, chatgpt.com
remote_plugin = false
apps = false                    # ChatGPT apps (connectors)
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    last_message: str | None

    def events(self) -> list[dict]:
        assert self.returncode == 0, f"codex exited {self.returncode}: {self.stderr[-3000:]}"
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def agent_messages(self) -> list[str]:
        return [
            e["item"]["text"]
            for e in self.events()
            if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"
        ]

    def turn_usage(self) -> dict:
        (usage,) = [e["usage"] for e in self.events() if e["type"] == "turn.completed"]
        return usage


def run_codex(model: str, base_url: str, key: str, tmp_path: Path, trap: InternetTrap) -> Run:
    """`codex exec` as a script would run it, in a clean environment: an empty HOME and
    CODEX_HOME (no login, no history), a scratch working directory that is no git repository,
    a read-only sandbox, JSONL events on stdout and the last message in a file."""
    home = tmp_path / "home"
    codex_home = tmp_path / "codex-home"
    work = tmp_path / "work"
    for directory in (home, codex_home, work):
        directory.mkdir()
    (codex_home / "config.toml").write_text(codex_config(model, base_url))
    last = tmp_path / "last-message.txt"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "TMPDIR": tempfile.gettempdir(),
        "LANG": "C.UTF-8",
        "AIUSAGE_API_KEY": key,
        **trap.env(),
    }
    command = [
        str(CODEX),
        "exec",
        "--skip-git-repo-check",
        "--strict-config",
        "--ephemeral",  # no session files
        "--json",
        "--output-last-message",
        str(last),
        "--cd",
        str(work),
        PROMPT,
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
    return Run(
        done.returncode,
        done.stdout,
        done.stderr,
        time.monotonic() - started,
        last.read_text() if last.exists() else None,
    )


def assert_codex_request(body: dict, model: str) -> None:
    """What Codex 0.171 sends: a streamed, unstored Responses call with its tools. Its base
    instructions travel as the first `developer` message of `input` (there is no top-level
    `instructions`); the prompt is the last user message."""
    assert body["model"] == model
    assert body["stream"] is True and body["store"] is False
    assert body["tools"] and body["tool_choice"] == "auto"
    assert "reasoning.encrypted_content" in body["include"]
    assert body["prompt_cache_key"]
    messages = [item for item in body["input"] if item.get("type") == "message"]
    instructions = body.get("instructions") or messages[0]["content"][0]["text"]
    assert "Codex" in instructions
    if not body.get("instructions"):
        assert messages[0]["role"] == "developer"
    assert messages[-1]["role"] == "user"
    assert messages[-1]["content"] == [{"type": "input_text", "text": PROMPT}]


def set_usage(fake, marker: str) -> None:
    fake.behavior.reply_text = f"Hi! {marker}"
    fake.behavior.input_tokens = 1_200  # uncached; the Responses usage reports 1_200 + 3_000
    fake.behavior.cache_read = 3_000
    fake.behavior.output_tokens = 40  # the Responses usage reports 40 + 17 reasoning
    fake.behavior.reasoning_tokens = 17


def assert_codex_read_the_usage(run: Run, fake) -> None:
    """Codex's own account of the turn is the usage the fake sent."""
    b = fake.behavior
    usage = run.turn_usage()
    assert usage["input_tokens"] == b.input_tokens + b.cache_read
    assert usage["cached_input_tokens"] == b.cache_read
    assert usage["output_tokens"] == b.output_tokens + b.reasoning_tokens
    assert usage["reasoning_output_tokens"] == b.reasoning_tokens


# --- the tests ------------------------------------------------------------------------------


def test_codex_talks_to_the_fake_directly(fake, tmp_path, trap):
    """No app in between: the real client must take the fake's Responses stream as it takes
    OpenAI's, or the proxy tests built on the fake prove nothing for Codex."""
    marker = "MARKER-" + uuid.uuid4().hex
    set_usage(fake, marker)
    fake.behavior.web_search_calls = 1  # an output item before the message
    fake.behavior.n_deltas = 6

    run = run_codex(CATALOG_MODEL, f"{fake.url}/v1", "sk-direct-test", tmp_path, trap)

    assert run.agent_messages() == [fake.behavior.reply_text], run.stderr[-3000:]
    assert run.last_message is not None and run.last_message.strip() == fake.behavior.reply_text
    assert_codex_read_the_usage(run, fake)
    (seen,) = fake.requests
    assert (seen.method, seen.path, seen.query) == ("POST", "/v1/responses", "")
    assert seen.headers["authorization"] == "Bearer sk-direct-test"
    assert seen.headers["accept"] == "text/event-stream"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["originator"] == "codex_exec"
    assert seen.headers["user-agent"].startswith("codex_exec/")
    assert_codex_request(seen.json(), CATALOG_MODEL)
    names = [name for _, name in fake.sent_log]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert names.count("response.output_text.delta") == 6
    assert trap.attempts == []


def _responses_route_missing(app_url: str) -> bool:
    """The proxy routes before it authenticates: an unknown path is a 404, a known one without
    a key a 401 (so this probe reaches no upstream and writes no usage)."""
    return httpx.post(f"{app_url}/api/v1/responses", json={}, timeout=30).status_code == 404


@pytest.mark.parametrize("model", [PRICED_MODEL, CATALOG_MODEL])
async def test_codex_through_the_proxy(app_url, fake, make_account, tmp_path, trap, model):
    if _responses_route_missing(app_url):
        pytest.skip("the app has no /api/v1/responses route yet (it answers 404)")
    account = await make_account(usd="5", provider_keys={"openai": USER_KEY})
    marker = "MARKER-" + uuid.uuid4().hex
    set_usage(fake, marker)

    run = run_codex(model, f"{app_url}/api/v1", account.proxy_key, tmp_path, trap)

    # The reply Codex shows is the text the fake sent, and Codex read the fake's usage.
    assert run.agent_messages() == [fake.behavior.reply_text], run.stderr[-3000:]
    assert run.last_message is not None and run.last_message.strip() == fake.behavior.reply_text
    assert_codex_read_the_usage(run, fake)
    assert trap.attempts == []

    # One Responses call reached the upstream, Codex's own, with the user's key.
    (seen,) = fake.requests
    assert (seen.method, seen.path) == ("POST", "/v1/responses")
    assert seen.headers["authorization"] == f"Bearer {USER_KEY}"
    assert account.proxy_key not in json.dumps(seen.headers)
    assert seen.headers["originator"] == "codex_exec"
    assert seen.headers["user-agent"].startswith("codex_exec/")
    assert_codex_request(seen.json(), model)

    b = fake.behavior
    (row,) = await wait_usage(account.id, 1)
    assert row.endpoint == "/v1/responses" and row.model == model and row.key_source == "byok"
    assert row.status == 200 and row.streamed and row.error_type is None
    assert not row.tokens_estimated
    # As for Chat Completions: input_tokens is the uncached part, the cached part apart;
    # output_tokens is all the output the API bills, reasoning included.
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens) == (
        b.input_tokens,
        b.cache_read,
        b.output_tokens + b.reasoning_tokens,
    )
    assert row.charged_nano > 0
    if model == PRICED_MODEL:
        assert not row.priced_by_default
        inp, out, cached = GPT5_PRICES
        cost = (
            b.input_tokens * inp + (b.output_tokens + b.reasoning_tokens) * out
        ) + b.cache_read * cached
        expected = math.ceil(Decimal(to_nano_up(cost / 1_000_000)) * BYOK_FEE)
        assert row.charged_nano == expected
    else:
        assert row.priced_by_default  # the app's price table does not know it
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 5_000_000_000 - row.charged_nano
