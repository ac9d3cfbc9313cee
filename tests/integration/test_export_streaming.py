"""The data export at scale, against the real server: 300,000 usage rows stream out as a zip
while the proxy (same event loop) keeps answering fast and the server's memory stays flat; a
second export of the same user meanwhile is refused (429), and so are more than a few an
hour. Also: the streamed files are byte for byte what the all-in-memory export made."""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
import subprocess
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from tests.helpers.support import ROOT

ROWS = 300_000
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
CHAT = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 20,
}


def signed_in_client(app_url: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=60)
    answer = client.post("/api/auth/login", data={"email": email, "password": password})
    assert answer.status_code in (200, 303), answer.text
    assert client.cookies.get("bai_session")
    return client


def usage_row(user_id: int, key_id: int, i: int) -> dict:
    return {
        "request_id": f"exp-{user_id}-{i:08d}",
        "created_at": BASE_TIME + timedelta(seconds=i),
        "user_id": user_id,
        "proxy_key_id": key_id,
        "provider": "openai",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o-mini",
        "key_source": "platform",
        "input_tokens": 1000 + i % 997,
        "output_tokens": i % 389,
        "cache_write_5m_tokens": i % 11,
        "cache_write_1h_tokens": 0,
        "cache_read_tokens": i % 7,
        "cost_nano": 1_000 * i,
        "charged_nano": 1_100 * i,
        "priced_by_default": i % 5 == 0,
        "tokens_estimated": False,
        "status": 200 if i % 50 else 529,
        "error_type": None if i % 50 else "overloaded_error",
        "latency_ms": i % 3000,
        "ttfb_ms": None if i % 3 else i % 500,
        "request_bytes": 200 + i % 100,
        "response_bytes": 900 + i % 1000,
        "streamed": bool(i % 2),
        "ip_hash": f"{i * 2654435761 % 2**64:016x}" * 4,
        "user_agent": "OpenAI/Python 1.40.0",
        "client_session_id": f"sess-{i // 1000}",
    }


async def insert_usage(rows: list[dict], batch: int = 25_000) -> None:
    """Straight into the table (no rollups), a transaction per batch so the server's own
    writes are never held up for long."""
    from aiusage.db import get_engine
    from aiusage.models import UsageRecord

    for start in range(0, len(rows), batch):
        async with get_engine().begin() as conn:
            await conn.execute(insert(UsageRecord), rows[start : start + batch])


# --- the server's memory ---------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def memory_kb(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {
        line.split(":")[0]: int(line.split()[1])
        for line in text.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }


class MemoryWatch:
    """The largest resident-set growth of any process of the app server while it runs:
    peaks reset (clear_refs) where allowed and read from VmHWM, else sampled from VmRSS."""

    def __init__(self, server_pid: int) -> None:
        self.pids = descendants(server_pid)
        self.start = {pid: memory_kb(pid).get("VmRSS", 0) for pid in self.pids}
        self.peak = dict(self.start)
        self.hwm_reset = {pid: self._reset_hwm(pid) for pid in self.pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _reset_hwm(pid: int) -> bool:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            for pid in self.pids:
                rss = memory_kb(pid).get("VmRSS", 0)
                self.peak[pid] = max(self.peak[pid], rss)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid in self.pids:
            if self.hwm_reset[pid]:
                self.peak[pid] = max(self.peak[pid], memory_kb(pid).get("VmHWM", 0))

    def growth_mb(self) -> float:
        return max((self.peak[p] - self.start[p]) / 1024 for p in self.pids)

    def largest_mb(self) -> float:
        return max(self.start.values()) / 1024


# --- reading a large zip without holding it -------------------------------------------------


def json_rows_summary(archive: zipfile.ZipFile, name: str) -> tuple[int, dict, dict]:
    """Row count, first and last object of a list written by json.dumps(indent=2), read a
    megabyte at a time (the CRC is checked once the entry has been read to its end). Every
    object opens with a line "  {" (strings hold no raw line break)."""
    marker = b"\n  {\n"
    count, head, tail, carry = 0, b"", b"", b""
    with archive.open(name) as raw:
        while chunk := raw.read(1 << 20):
            data = carry + chunk
            count += data.count(marker)
            carry = data[-(len(marker) - 1) :]  # too short to hold a whole marker
            head = head or chunk[: 1 << 16]
            tail = (tail + chunk)[-(1 << 16) :]
    assert head.startswith(b"[\n  {\n") and tail.endswith(b"\n  }\n]")
    first = json.loads(head[2 : head.index(b"\n  }") + 4])
    last = json.loads(tail[tail.rindex(marker) + 1 : -2])
    return count, first, last


def csv_rows_summary(archive: zipfile.ZipFile, name: str) -> tuple[list[str], int, dict, dict]:
    with archive.open(name) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        header = next(reader)
        count, first, last = 0, None, None
        for row in reader:
            count += 1
            first = first or row
            last = row
    return (
        header,
        count,
        dict(zip(header, first, strict=True)),
        dict(zip(header, last, strict=True)),
    )


def expected_json(row: dict, row_id: int) -> dict:
    from aiusage.services.export import USAGE_FIELDS

    full = {"id": row_id, **row, "created_at": row["created_at"].isoformat()}
    return {name: full[name] for name in USAGE_FIELDS}


def as_csv(values: dict) -> dict:
    return {k: "" if v is None else str(v) for k, v in values.items()}


# --- the tests ---------------------------------------------------------------------------------


async def test_300k_rows_stream_while_the_proxy_stays_fast(app_server, app_url, fake, make_account):
    from aiusage.db import session_scope
    from aiusage.models import UsageRecord
    from aiusage.services.export import USAGE_FIELDS

    owner = await make_account(usd="5")
    caller = await make_account(usd="50")  # the proxy traffic: none of it lands in the export
    rows = [usage_row(owner.id, owner.key_id, i) for i in range(ROWS)]
    await insert_usage(rows)
    async with session_scope() as db:
        ids = (
            (
                await db.execute(
                    select(UsageRecord.id)
                    .where(UsageRecord.user_id == owner.id)
                    .order_by(UsageRecord.id)
                    .limit(1)
                )
            ).scalar_one(),
            (
                await db.execute(
                    select(UsageRecord.id)
                    .where(UsageRecord.user_id == owner.id)
                    .order_by(UsageRecord.id.desc())
                    .limit(1)
                )
            ).scalar_one(),
        )

    proxy = httpx.Client(
        base_url=app_url, headers={"Authorization": f"Bearer {caller.proxy_key}"}, timeout=30
    )
    browser = signed_in_client(app_url, owner.email, owner.password)
    try:
        idle = []  # warm (key cache, upstream pool) and the latency without an export
        for _ in range(13):
            began = time.monotonic()
            assert proxy.post("/api/v1/chat/completions", json=CHAT).status_code == 200
            idle.append(time.monotonic() - began)

        download: dict = {"body": io.BytesIO()}
        headers_in = threading.Event()

        # A download the browser gives up on frees the user's export slot …
        with (
            httpx.Client(base_url=app_url, cookies=browser.cookies, timeout=60) as quitter,
            quitter.stream("GET", "/api/account/export") as reply,
        ):
            assert reply.status_code == 200
            next(reply.iter_raw())
        abandoned = time.monotonic()

        def fetch() -> None:
            try:
                while True:  # … once the server has noticed
                    with browser.stream("GET", "/api/account/export") as reply:
                        if reply.status_code == 429 and time.monotonic() < abandoned + 20:
                            assert reply.read() and reply.json()["error"]["code"] == (
                                "export_in_progress"
                            )
                            time.sleep(0.2)
                            continue
                        download["slot_freed_after"] = time.monotonic() - abandoned
                        download["started"] = time.monotonic()
                        download["status"] = reply.status_code
                        download["headers"] = reply.headers
                        headers_in.set()
                        for chunk in reply.iter_raw():
                            download["body"].write(chunk)
                        return
            except Exception as error:  # reported by the assertions below
                download["error"] = error
            finally:
                download["took"] = time.monotonic() - download.get("started", abandoned)
                headers_in.set()

        with MemoryWatch(app_server.process.pid) as memory:
            fetcher = threading.Thread(target=fetch, daemon=True)
            fetcher.start()
            time.sleep(0.3)  # the export is under way on the server
            latencies: list[float] = []
            second = None
            while fetcher.is_alive():
                began = time.monotonic()
                answer = proxy.post("/api/v1/chat/completions", json=CHAT)
                latencies.append(time.monotonic() - began)
                assert answer.status_code == 200, answer.text
                if second is None and headers_in.is_set() and fetcher.is_alive():
                    second = browser.get("/api/account/export")
                time.sleep(0.05)
            fetcher.join()
    finally:
        proxy.close()
        browser.close()

    took = download["took"]
    median = statistics.median(latencies)
    print(
        f"\nslot of an abandoned export freed after {download.get('slot_freed_after', -1):.1f}s;"
        f" export of {ROWS} rows done after {took:.1f}s, {download['body'].tell() / 1e6:.1f} MB;"
        f" {len(latencies)} proxied requests meanwhile: median {median * 1000:.0f} ms,"
        f" max {max(latencies) * 1000:.0f} ms (without an export: median"
        f" {statistics.median(idle[3:]) * 1000:.0f} ms); server memory growth"
        f" {memory.growth_mb():.0f} MB (largest process {memory.largest_mb():.0f} MB)"
    )
    assert "error" not in download, download.get("error")
    assert download["status"] == 200
    assert download["headers"]["content-type"] == "application/zip"
    assert "attachment" in download["headers"]["content-disposition"]
    # The proxy kept its latency while the export was made and sent.
    assert len(latencies) >= 5, latencies
    assert max(latencies) < 1.5, sorted(latencies)[-5:]
    assert median < 0.2, median
    # One export at a time per user.
    assert second is not None, "the export finished before a second one could be asked for"
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "export_in_progress"
    assert int(second.headers["retry-after"]) > 0
    # Memory stayed bounded: the all-in-memory export grew by GBs for this.
    assert memory.growth_mb() < 300, memory.growth_mb()

    # The zip is complete and right.
    first_id, last_id = ids
    with zipfile.ZipFile(download["body"]) as archive:
        names = archive.namelist()
        for name in names:  # read to their ends: their CRCs are checked
            if not name.startswith("usage."):
                archive.read(name)
        assert names[:3] == ["README.txt", "account.json", "account.csv"]
        assert {"usage.json", "usage.csv", "ledger.json", "checkouts.csv"} <= set(names)
        count, first, last = json_rows_summary(archive, "usage.json")
        assert count == ROWS
        assert first == expected_json(rows[0], first_id)
        assert last == expected_json(rows[-1], last_id)
        header, count, first, last = csv_rows_summary(archive, "usage.csv")
        assert header == list(USAGE_FIELDS)
        assert count == ROWS
        assert first == as_csv(expected_json(rows[0], first_id))
        assert last == as_csv(expected_json(rows[-1], last_id))
        account = json.loads(archive.read("account.json"))
        assert [a["email"] for a in account] == [owner.email]


# What the export made before it streamed (the previous all-in-memory implementation).


async def reference_files(user_id: int) -> dict[str, bytes]:
    """The files as the all-in-memory export built them: each table whole, in id order,
    json.dumps(indent=2, ensure_ascii=False) and csv.DictWriter."""
    from aiusage import models
    from aiusage.db import session_scope
    from aiusage.money import nano_to_usd
    from aiusage.services import export

    order = [
        ("proxy_keys", models.ProxyKey, export.PROXY_KEY_FIELDS),
        ("provider_keys", models.ProviderKey, export.PROVIDER_KEY_FIELDS),
        ("usage", models.UsageRecord, export.USAGE_FIELDS),
        ("ledger", models.LedgerEntry, export.LEDGER_FIELDS),
        ("support_messages", models.SupportMessage, export.SUPPORT_FIELDS),
        ("support_replies", models.SupportReply, export.SUPPORT_REPLY_FIELDS),
        ("sessions", models.UserSession, export.SESSION_FIELDS),
        ("identities", models.UserIdentity, export.IDENTITY_FIELDS),
        ("checkouts", models.CheckoutSession, export.CHECKOUT_FIELDS),
        ("assistant_conversations", models.AssistantConversation, export.ASSISTANT_FIELDS),
    ]

    def values(obj, fields):
        return {
            name: (v.isoformat() if isinstance(v, datetime) else v)
            for name in fields
            for v in [getattr(obj, name)]
        }

    async with session_scope() as db:
        user = await db.get(models.User, user_id)
        account = values(user, export.ACCOUNT_FIELDS)
        account["balance_usd"] = str(nano_to_usd(user.balance_nano))
        tables = {"account": ([account], (*export.ACCOUNT_FIELDS, "balance_usd"))}
        for name, model, fields in order:
            if model is models.SupportReply:  # no user id of its own: its message's
                owned = model.message_id.in_(
                    select(models.SupportMessage.id).where(models.SupportMessage.user_id == user_id)
                )
            else:
                owned = model.user_id == user_id
            objects = (await db.execute(select(model).where(owned).order_by(model.id))).scalars()
            tables[name] = ([values(o, fields) for o in objects], fields)
    files = {}
    for name, (table_rows, fields) in tables.items():
        files[f"{name}.json"] = json.dumps(table_rows, indent=2, ensure_ascii=False).encode()
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table_rows)
        files[f"{name}.csv"] = out.getvalue().encode()
    return files


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


ODD_TEXTS = [
    'quote " and, comma',
    "new\nline and\r\nCRLF",
    "tab\tback\\slash é 中文 \u2028 \U0001f600",
    "\x01\x1f control",
    "",
]


async def test_streamed_files_are_what_the_export_always_was(app_url, fake, make_account, tmp_path):
    from aiusage.db import session_scope
    from aiusage.models import SupportReply, User
    from aiusage.services import billing, export, support

    account = await make_account(usd="7.5")
    other = await make_account(usd="0")
    async with session_scope() as db:
        await billing.grant(db, account.id, 1_234_567, "second grant ü")
        user = await db.get(User, account.id)
        message = await support.submit(db, user, 'Invoice "March"', "Body, with\nlines")
        # Answered twice; another user's message and its reply are not in this export.
        for text in ('See "Billing", then\nDownload', "中文 reply"):
            db.add(SupportReply(message_id=message.id, author_id=None, body=text))
        other_user = await db.get(User, other.id)
        elsewhere = await support.submit(db, other_user, "Not yours", "Private")
        db.add(SupportReply(message_id=elsewhere.id, author_id=None, body="not for you"))
    rows = []
    for i in range(23):
        row = usage_row(account.id, account.key_id if i % 4 else None, i)
        row["user_agent"] = ODD_TEXTS[i % len(ODD_TEXTS)]
        row["client_session_id"] = None if i % 2 else ODD_TEXTS[(i + 1) % len(ODD_TEXTS)]
        row["cost_nano"] = 10**15 + i
        rows.append(row)
    await insert_usage(rows)

    # Through the route (and its pages of 5,000), …
    browser = signed_in_client(app_url, account.email, account.password)
    expected = await reference_files(account.id)  # the sign-in's session included
    try:
        replies = [browser.get("/api/account/export") for _ in range(4)]
        # … at most a few an hour.
        refused = browser.get("/api/account/export", headers={"Accept": "application/json"})
    finally:
        browser.close()
    for reply in replies:
        assert reply.status_code == 200, reply.text
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 3000 < int(refused.headers["retry-after"]) <= 3600

    # … in pages of two rows (every page boundary in between), and from the CLI.
    created = datetime.now(UTC)
    paged = b"".join([chunk async for chunk in export.stream_zip(account.id, created, page_rows=2)])
    out = tmp_path / "export.zip"
    result = subprocess.run(
        [str(ROOT / ".venv/bin/aiusage"), "export", "--email", account.email, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    for data in (replies[0].content, paged, out.read_bytes()):
        files = unzip(data)
        readme = files.pop("README.txt").decode()
        assert readme.startswith("aiusage data export (format 1), created ")
        assert list(files) == list(expected)  # same files, same order
        for name, content in expected.items():
            assert files[name] == content, name
    usage = json.loads(expected["usage.json"])
    assert [u["request_id"] for u in usage] == [r["request_id"] for r in rows]
    replies = json.loads(expected["support_replies.json"])
    assert [r["body"] for r in replies] == ['See "Billing", then\nDownload', "中文 reply"]
    assert {u["user_agent"] for u in usage} == set(ODD_TEXTS)
