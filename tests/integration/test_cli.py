"""The operator CLI, run as an operator would: as a subprocess."""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
import subprocess
from pathlib import Path

import httpx

from tests.conftest import TEST_ENV
from tests.helpers.support import ROOT

AIUSAGE = str(ROOT / ".venv/bin/aiusage")


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AIUSAGE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **TEST_ENV, **(env or {})},
        timeout=120,
    )


def test_operator_sets_up_a_user_who_can_call_the_proxy(app_url, fake):
    email = f"op-{secrets.token_hex(4)}@example.com"
    created = run("user", "create", "--email", email, "--password", "operator-password")
    assert created.returncode == 0, created.stderr
    user_id = int(created.stdout.strip())

    duplicate = run("user", "create", "--email", email, "--password", "operator-password")
    assert duplicate.returncode == 1
    assert (
        duplicate.stderr.strip().splitlines()[-1]
        == "aiusage: An account with this email already exists."
    )

    key = run("apikey", "create", "--email", email, "--name", "ci").stdout.strip()
    assert key.startswith("sk-aiu-") and len(key) > 40
    provider_key = "sk-ant-api03-" + "c" * 40 + "L4st"
    stored = run(
        "provider-key",
        "set",
        "--email",
        email,
        "--provider",
        "anthropic",
        stdin=provider_key + "\n",
    )
    assert stored.returncode == 0 and "L4st" in stored.stdout
    assert provider_key not in stored.stdout + stored.stderr
    granted = run("credits", "grant", "--email", email, "--usd", "2.50")
    assert granted.returncode == 0 and "2.50" in granted.stdout

    response = httpx.post(
        f"{app_url}/api/v1/messages",
        timeout=15,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    assert response.status_code == 200
    assert fake.requests[-1].headers["x-api-key"] == provider_key

    shown = run("user", "show", "--email", email)
    account = json.loads(shown.stdout)
    assert account["id"] == user_id and account["email"] == email
    assert account["provider_keys"] == [{"provider": "anthropic", "last4": "L4st"}]
    assert account["proxy_keys"][0]["prefix"] == key[:15]
    assert key not in shown.stdout and provider_key not in shown.stdout


def test_errors_are_one_line_and_non_zero(app_server):
    missing = run("user", "show", "--email", "nobody@example.com")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "aiusage: No account for nobody@example.com."
    bad_amount = run("credits", "grant", "--email", "nobody@example.com", "--usd", "ten")
    assert bad_amount.returncode == 1 and "Traceback" not in bad_amount.stderr


def test_bad_configuration_names_the_variable(tmp_path):
    result = run(
        "db", "upgrade", env={"AIUSAGE_SITE_URL": "not a url", "AIUSAGE_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode != 0
    assert "AIUSAGE_SITE_URL" in result.stderr and "Traceback" not in result.stderr
    result = run(
        "db",
        "upgrade",
        env={"AIUSAGE_ENCRYPTION_KEY": "nokeyid", "AIUSAGE_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode != 0 and "AIUSAGE_ENCRYPTION_KEY" in result.stderr


def test_prices_can_be_changed_by_the_operator(app_server):
    base = ["prices", "set", "--provider", "anthropic", "--model", "claude-test-model"]
    assert run(*base, "--input", "2.5", "--output", "12.5").returncode == 0
    prices = json.loads(run("prices", "list").stdout)
    row = next(p for p in prices if p["model"] == "claude-test-model")
    assert (row["input"], row["output"], row["cache_read"]) == ("2.5", "12.5", "2.5")
    assert "long_prompt_threshold" not in row

    tiered = run(
        *base,
        "--input",
        "1",
        "--output",
        "5",
        "--cache-read",
        "0.1",
        "--long-threshold",
        "200000",
        "--long-input",
        "2",
        "--long-output",
        "10",
    )
    assert tiered.returncode == 0, tiered.stderr
    row = next(
        p for p in json.loads(run("prices", "list").stdout) if p["model"] == "claude-test-model"
    )
    assert row["long_prompt_threshold"] == 200000
    assert (row["long_input"], row["long_output"], row["long_cache_read"]) == ("2", "10", "2")
    half = run(*base, "--input", "1", "--output", "5", "--long-input", "2")
    assert half.returncode == 1 and "threshold" in half.stderr


def test_master_key_rotation_reseals_every_provider_key(tmp_path: Path):
    def new_key(kid: str) -> str:
        return kid + ":" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()

    old, new = new_key("old"), new_key("new")
    env = {"AIUSAGE_DATA_DIR": str(tmp_path), "AIUSAGE_ENCRYPTION_KEY": old}
    assert run("db", "upgrade", env=env).returncode == 0
    run("user", "create", "--email", "r@example.com", "--password", "rotation-pw", env=env)
    secret = "sk-ant-api03-" + "r" * 40 + "R0t8"
    run(
        "provider-key",
        "set",
        "--email",
        "r@example.com",
        "--provider",
        "anthropic",
        stdin=secret,
        env=env,
    )

    rotated = run(
        "keys",
        "rotate-master",
        env={**env, "AIUSAGE_ENCRYPTION_KEY": new, "AIUSAGE_ENCRYPTION_OLD_KEYS": old},
    )
    assert rotated.stdout.strip() == "re-sealed 1 provider keys"
    with sqlite3.connect(tmp_path / "aiusage.db") as db:
        kid, ciphertext = db.execute(
            "SELECT master_key_id, ciphertext FROM provider_keys"
        ).fetchone()
    assert kid == "new" and secret.encode() not in ciphertext
    # The new master key alone opens it now.
    check = subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "-c",
            "import asyncio\n"
            "from aiusage.db import session_scope\n"
            "from aiusage.services import keys, crypto\n"
            "async def main():\n"
            "    async with session_scope() as s:\n"
            "        pools = await keys.pooled_provider_keys(s, 1)\n"
            "    print(crypto.open_sealed(pools['anthropic'][0].sealed, 1, 'anthropic'))\n"
            "asyncio.run(main())\n",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **TEST_ENV, **env, "AIUSAGE_ENCRYPTION_KEY": new},
        timeout=60,
    )
    assert check.stdout.strip() == secret, check.stderr


def test_operator_can_book_the_holds_a_crashed_proxy_left_at_once(tmp_path: Path):
    """Running proxies reclaim expired holds by themselves; `holds reclaim` does it now."""
    env = {"AIUSAGE_DATA_DIR": str(tmp_path)}
    assert run("db", "upgrade", env=env).returncode == 0
    run("user", "create", "--email", "h@example.com", "--password", "holds-password", env=env)
    run("credits", "grant", "--email", "h@example.com", "--usd", "3", env=env)
    run("apikey", "create", "--email", "h@example.com", "--name", "k", env=env)
    with sqlite3.connect(tmp_path / "aiusage.db") as db:  # what a crash mid-request leaves
        db.execute("UPDATE users SET held_nano = 2500000000")
        db.execute(
            "INSERT INTO holds (request_id, user_id, proxy_key_id, amount_nano, key_amount_nano,"
            " owner, lease_until_ms, started_ms, provider, endpoint, model, byok, request_bytes)"
            " SELECT 'req_crashed', id, (SELECT id FROM proxy_keys), 2500000000, 0, 'p-dead',"
            " 1000, 1000, 'anthropic', '/v1/messages', 'claude-haiku-4-5', 0, 4000 FROM users"
        )
    shown = json.loads(run("user", "show", "--email", "h@example.com", env=env).stdout)
    assert shown["held_usd"] == "2.5"
    booked = run("holds", "reclaim", env=env)
    assert booked.stdout.strip() == "booked 1 interrupted requests"
    shown = json.loads(run("user", "show", "--email", "h@example.com", env=env).stdout)
    # 1,000 input tokens estimated from 4,000 bytes at $1/MTok, plus the 10 % platform markup
    assert (shown["held_usd"], shown["balance_usd"]) == ("0", "2.9989")
    assert run("holds", "reclaim", env=env).stdout.strip() == "booked 0 interrupted requests"


def test_apikey_rules_from_the_cli_are_what_the_proxy_enforces(app_url, fake):
    email = f"rules-{secrets.token_hex(4)}@example.com"
    assert (
        run("user", "create", "--email", email, "--password", "operator-password").returncode == 0
    )
    assert run("credits", "grant", "--email", email, "--usd", "5").returncode == 0
    created = run(
        "apikey", "create", "--email", email, "--name", "ci haiku",
        "--models", "claude-haiku-*, gpt-5*", "--budget-usd", "5", "--budget-period", "day",
        "--expires", "2099-01-31", "--ips", "127.0.0.0/8",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    (shown,) = json.loads(run("user", "show", "--email", email).stdout)["proxy_keys"]
    assert shown["models"] == ["claude-haiku-*", "gpt-5*"]
    assert (shown["budget_usd"], shown["budget_period"]) == ("5", "day")
    assert shown["expires_at"].startswith("2099-01-31T00:00:00")
    assert shown["ips"] == ["127.0.0.0/8"] and not shown["disabled"]

    def ask(model: str) -> httpx.Response:
        return httpx.post(
            f"{app_url}/api/v1/messages",
            timeout=15,
            headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
            json={
                "model": model,
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )

    refused = ask("claude-sonnet-4-5")
    assert refused.status_code == 403
    assert "claude-haiku-*, gpt-5*" in refused.json()["error"]["message"]

    # Bad input is one line and changes nothing.
    for bad in (["--models", "[x]"], ["--budget-period", "year"], ["--expires", "2001-01-01"]):
        failed = run("apikey", "update", "--email", email, "--id", str(shown["id"]), *bad)
        assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert shown["budget_alerts"] == "50,80,100"  # the default
    updated = run(
        "apikey", "update", "--email", email, "--id", str(shown["id"]),
        "--name", "renamed", "--models", "", "--budget-alerts", "90, 75", "--disable",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    summary = json.loads(updated.stdout)
    assert summary["name"] == "renamed" and summary["models"] == [] and summary["disabled"]
    assert summary["budget_alerts"] == "75,90"
    quiet = run(
        "apikey", "update", "--email", email, "--id", str(shown["id"]), "--budget-alerts", ""
    )
    assert json.loads(quiet.stdout)["budget_alerts"] == ""
    import time

    time.sleep(1.2)  # the proxy's key cache lives 1 s
    disabled = ask("claude-sonnet-4-5")
    assert disabled.status_code == 401 and "disabled" in disabled.json()["error"]["message"]
    other = run("apikey", "update", "--email", "nobody@example.com", "--id", str(shown["id"]))
    assert other.returncode == 1
