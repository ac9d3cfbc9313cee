"""List prices from the genai-prices package (its bundled snapshot, never the network), the
price form's checks against what an attacker types, the price cache's invalidation, and
`aiusage prices set|sync` as an operator runs them."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aiusage.services import price_admin, price_sync, pricing
from aiusage.services.errors import ServiceError
from tests.conftest import TEST_ENV
from tests.helpers.support import ROOT

AIUSAGE = str(ROOT / ".venv/bin/aiusage")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AIUSAGE, *args],
        capture_output=True,
        text=True,
        # This checkout's code, whichever checkout the shared venv's console script points at.
        env={**os.environ, **TEST_ENV, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=120,
    )


def row(provider: str, model: str, **usd: str) -> dict[str, str]:
    """A table row as price_admin.values_of gives it."""
    values = dict.fromkeys(price_admin.PRICE_FIELDS, "")
    values.update(provider=provider, model=model, **usd)
    return values


def by_key(proposals: list[price_sync.Proposal]) -> dict[str, price_sync.Proposal]:
    return {p.key: p for p in proposals}


# --- the package's list as our fields --------------------------------------------------------


def test_list_prices_become_our_fields_exactly():
    proposals = by_key(price_sync.compute([], NOW))
    # A Claude model with a long-prompt tier: every rate of both bands, cache writes per TTL,
    # web search at $10 per 1,000 = $0.01 each.
    sonnet = proposals["anthropic:claude-sonnet-4-5"]
    assert sonnet.kind == "new" and sonnet.listed_as == "claude-sonnet-4-5"
    assert {k: sonnet.values[k] for k in price_sync.LISTED_FIELDS} == {
        "input": "3",
        "output": "15",
        "cache_write_5m": "3.75",
        "cache_write_1h": "6",
        "cache_read": "0.3",
        "long_threshold": "200000",
        "long_input": "6",
        "long_output": "22.5",
        "long_cache_write_5m": "7.5",
        "long_cache_write_1h": "12",
        "long_cache_read": "0.6",
        "web_search": "0.01",
    }
    assert sonnet.source.startswith(f"genai-prices {price_sync.package_version()}: https://")
    # OpenAI bills no cache write: those are the input price, as the seeded table has them.
    gpt5 = proposals["openai:gpt-5"].values
    assert (gpt5["input"], gpt5["cache_write_5m"], gpt5["cache_write_1h"]) == ("1.25",) * 3
    assert (gpt5["cache_read"], gpt5["long_threshold"]) == ("0.125", "")
    # `-latest` ids are listed under the name the proxy looks dated requests up by.
    assert proposals["anthropic:claude-3-opus"].listed_as == "claude-3-opus-latest"
    # What the table cannot bill is left out, not approximated: audio, images, per character.
    for model in ("gpt-realtime", "gpt-image-1", "tts-1", "whisper-1", "text-embedding-3-small"):
        assert f"openai:{model}" not in proposals
    # Fine-tuned-model prefixes are no model's name.
    assert not [k for k in proposals if k.startswith("openai:ft:") or k.endswith("-")]
    # Every proposal is a valid price form: accepting it cannot store what the form refuses.
    for proposal in proposals.values():
        price_admin.parse_form(proposal.values)


def test_only_differences_are_proposed_and_our_own_fields_stay():
    ours = [
        # As listed: no proposal.
        row(
            "anthropic",
            "claude-haiku-4-5",
            input="1",
            output="5",
            cache_write_5m="1.25",
            cache_write_1h="2",
            cache_read="0.1",
            web_search="0.01",
            web_fetch="0",
            max_output_tokens="64000",
        ),
        # Dearer input than the list, and a maximum output the list does not know.
        row(
            "openai",
            "gpt-5",
            input="2",
            output="10",
            cache_write_5m="2",
            cache_write_1h="2",
            cache_read="0.125",
            web_search="0.01",
            max_output_tokens="128000",
        ),
        # Known to the list under another id: compared with it, not proposed again as new.
        row(
            "anthropic",
            "claude-opus-4",
            input="15",
            output="75",
            cache_write_5m="18.75",
            cache_write_1h="30",
            cache_read="1.5",
            web_search="0.01",
        ),
        # Unknown to the list: nothing to say.
        row("anthropic", "claude-ours-only", input="1", output="2"),
    ]
    proposals = by_key(price_sync.compute(ours, NOW))
    assert "anthropic:claude-haiku-4-5" not in proposals
    assert "anthropic:claude-ours-only" not in proposals
    assert "anthropic:claude-opus-4" not in proposals
    assert "anthropic:claude-opus-4-0" not in proposals  # the id ours maps to is covered
    gpt5 = proposals["openai:gpt-5"]
    assert gpt5.kind == "changed"
    assert [(c.field, c.before, c.after) for c in gpt5.changes] == [
        ("input", "2", "1.25"),
        ("cache_write_5m", "2", "1.25"),
        ("cache_write_1h", "2", "1.25"),
    ]
    assert gpt5.values["max_output_tokens"] == "128000"  # ours: the list has none
    kinds = [p.kind for p in proposals.values()]
    assert kinds == sorted(kinds, key=lambda k: k != "changed")  # changes first


def test_the_list_is_read_without_the_network():
    """A fresh interpreter whose sockets all refuse still computes every proposal: the
    package's bundled snapshot is used, never its updater."""
    script = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.socket.connect_ex = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "socket.create_connection = refuse\n"
        "from aiusage.services import price_sync\n"
        "from genai_prices import data_snapshot\n"
        "proposals = price_sync.compute([])\n"
        "assert not data_snapshot.get_snapshot().from_auto_update\n"
        "print(len(proposals))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **TEST_ENV},
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 20


# --- the form's checks ----------------------------------------------------------------------


def form(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"provider": "anthropic", "model": "claude-x", "input": "3"}
    base["output"] = "15"
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"input": "1e24"}, "input", "bad_usd"),
        ({"input": "1e999999999"}, "input", "bad_usd"),  # Decimal reads it; overflow
        ({"input": "1e-999999999"}, "input", "bad_usd"),  # Decimal reads it as 0
        ({"input": "-1"}, "input", "bad_usd"),
        ({"input": "NaN"}, "input", "bad_usd"),
        ({"input": "Infinity"}, "input", "bad_usd"),
        ({"input": "0.0000001"}, "input", "bad_usd"),  # finer than a micro-dollar
        ({"input": "1000001"}, "input", "bad_usd"),  # above the table's bound
        ({"input": "١٢"}, "input", "bad_usd"),  # Arabic-Indic digits: Decimal reads them
        ({"output": "1_000"}, "output", "bad_usd"),
        ({"output": "3\x00"}, "output", "bad_usd"),
        ({"cache_read": ["3"]}, "cache_read", "bad_usd"),  # a forged event's list
        ({"web_search": {"$": 1}}, "web_search", "bad_usd"),
        ({"input": ""}, "input", "missing"),
        ({"provider": "google"}, "provider", "bad_provider"),
        ({"provider": None}, "provider", "bad_provider"),
        ({"model": "a" * 500}, "model", "bad_model"),
        ({"model": "claude\x00x"}, "model", "bad_model"),
        ({"model": "claude-\ud800"}, "model", "bad_model"),  # a lone surrogate
        ({"model": "claude\nx"}, "model", "bad_model"),
        ({"model": "   "}, "model", "bad_model"),
        ({"model": 42}, "model", "bad_model"),
        ({"max_output_tokens": "0"}, "max_output_tokens", "bad_tokens"),
        ({"max_output_tokens": "10000001"}, "max_output_tokens", "bad_tokens"),
        ({"max_output_tokens": "-5"}, "max_output_tokens", "bad_tokens"),
        ({"max_output_tokens": "1e6"}, "max_output_tokens", "bad_tokens"),
        ({"long_threshold": "99999999999"}, "long_threshold", "bad_tokens"),
        ({"long_input": "6"}, "long_threshold", "long_incomplete"),
        ({"long_threshold": "200000", "long_input": "6"}, "long_threshold", "long_incomplete"),
    ],
)
def test_the_form_refuses_what_no_price_is(changes, field, code):
    with pytest.raises(price_admin.PriceFieldError) as refused:
        price_admin.parse_form(form(**changes))
    assert (refused.value.field, refused.value.code) == (field, code)


def test_the_form_keeps_prices_exact():
    data = price_admin.parse_form(
        form(
            input=" 0.000001 ",
            output="999999.999999",
            long_threshold="200000",
            long_input="6",
            long_output="22.5",
            max_output_tokens="64000",
            web_search="0.01",
        )
    )
    assert [pricing.usd_per_mtok_to_micro(data.rates[k]) for k in ("input", "output")] == [
        1,
        999_999_999_999,
    ]
    assert (data.long_threshold, data.max_output_tokens, data.web_search) == (
        200_000,
        64_000,
        "0.01",
    )
    assert data.rates["cache_read"] is None  # the service makes it the input price
    for bad in ("", "x" * 301, "line\nbreak", "nul\x00", "\udc00"):
        if bad:
            with pytest.raises(ServiceError):
                price_admin.checked_source(bad, required=True)
    with pytest.raises(price_admin.PriceFieldError) as refused:
        price_admin.checked_source("  ", required=True)
    assert refused.value.code == "source_required"


def test_usd_text_is_exact():
    assert [price_admin.usd_text(m) for m in (0, 1, 10_000_000, 3_750_000, 125_000, None)] == [
        "0",
        "0.000001",
        "10",
        "3.75",
        "0.125",
        "",
    ]


# --- the proxy's price cache ---------------------------------------------------------------


def test_a_change_here_makes_every_price_book_stale_at_once():
    book = pricing.PriceBook(ttl=3600)
    book._loaded_at = 1e18  # as if just loaded
    book._generation = pricing._generation
    assert not book.stale()
    pricing.invalidate()
    assert book.stale()


# --- the CLI -----------------------------------------------------------------------------------


def audit_rows(db: Path, target: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT actor, action, reason, before, after FROM audit_log "
            "WHERE target_type = 'model_price' AND target_id = ? ORDER BY id",
            (target,),
        ).fetchall()


def test_prices_sync_prints_proposals_and_writes_only_what_is_accepted(tmp_path: Path):
    env = {"AIUSAGE_DATA_DIR": str(tmp_path)}
    assert run("db", "upgrade", env=env).returncode == 0
    db = tmp_path / "aiusage.db"

    shown = run("prices", "sync", env=env)
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert re.fullmatch(r"\d+ proposals from genai-prices [\d.]+ \(.*\)", first), first
    assert "changed  openai     gpt-4o: web_search 0.025 -> 0.01" in shown.stdout
    assert "new      anthropic  claude-3-sonnet: input - -> 3, output - -> 15" in shown.stdout
    listed = json.loads(run("prices", "sync", "--json", env=env).stdout)
    total = len(listed)
    assert first.startswith(f"{total} proposals")
    assert {"provider": "anthropic", "model": "claude-3-sonnet"}.items() <= next(
        p for p in listed if p["model"] == "claude-3-sonnet"
    ).items()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)

    # A name without a proposal refuses the whole command: nothing is written.
    refused = run("prices", "sync", "--accept", "claude-3-sonnet", "no-such-model", env=env)
    assert refused.returncode == 1 and "no-such-model" in refused.stderr
    assert audit_rows(db, "anthropic:claude-3-sonnet") == []

    accepted = run("prices", "sync", "--accept", "claude-3-sonnet", "openai:gpt-4o", env=env)
    assert accepted.returncode == 0, accepted.stderr
    assert "accepted 2: anthropic:claude-3-sonnet, openai:gpt-4o" in accepted.stdout
    ((actor, action, reason, before, after),) = audit_rows(db, "anthropic:claude-3-sonnet")
    assert (actor, action, json.loads(before)) == ("cli", "price.set", {})
    assert reason.startswith("genai-prices ") and "anthropic.com/pricing" in reason
    assert json.loads(after)["input"] == "3" and json.loads(after)["cache_write_1h"] == "6"
    ((_, _, _, before, after),) = audit_rows(db, "openai:gpt-4o")
    assert (json.loads(before)["web_search"], json.loads(after)["web_search"]) == ("0.025", "0.01")
    assert json.loads(after)["max_output_tokens"] == "16384"  # ours: the list has none
    prices = {p["model"]: p for p in json.loads(run("prices", "list", env=env).stdout)}
    assert prices["claude-3-sonnet"]["input"] == "3"
    assert prices["claude-3-sonnet"]["source"] == reason
    assert prices["gpt-4o"]["web_search_usd_per_call"] == "0.01"
    assert "migration" not in prices["gpt-4o"]["source"]
    assert prices["gpt-5"]["source"] == price_admin.SEED_0002  # seeded, never changed

    again = json.loads(run("prices", "sync", "--json", env=env).stdout)
    assert len(again) == total - 2

    everything = run("prices", "sync", "--accept-all", env=env)
    assert everything.returncode == 0, everything.stderr
    assert json.loads(run("prices", "sync", "--json", env=env).stdout) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM audit_log WHERE actor = 'cli' AND action = 'price.set'"
        ).fetchone() == (total,)


def test_prices_set_is_audited_and_refuses_what_the_console_refuses(tmp_path: Path):
    env = {"AIUSAGE_DATA_DIR": str(tmp_path)}
    assert run("db", "upgrade", env=env).returncode == 0
    base = ["prices", "set", "--provider", "openai", "--model", "gpt-cli-test"]
    made = run(*base, "--input", "1.5", "--output", "6", "--source", "our contract", env=env)
    assert made.returncode == 0, made.stderr
    same = run(*base, "--input", "1.5", "--output", "6", env=env)
    assert same.returncode == 0 and "unchanged" in same.stdout
    for bad in (["--input", "1e24"], ["--input", "-1"], ["--max-output", "1e9"]):
        refused = run(
            *base,
            "--output",
            "6",
            *(["--input", "1"] if "--input" not in bad else []),
            *bad,
            env=env,
        )
        assert refused.returncode == 1, bad
    ((actor, action, reason, before, after),) = audit_rows(
        tmp_path / "aiusage.db", "openai:gpt-cli-test"
    )
    assert (actor, action, reason, before) == ("cli", "price.set", "our contract", "{}")
    assert json.loads(after)["cache_read"] == "1.5"
