"""Test plumbing shared by the suites: free ports, the app server process, the SMTP sink."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mailbox:
    """Everything the real local SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server, _session, envelope) -> str:  # aiosmtpd handler API
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, subject_part: str, timeout: float = 15.0) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.to(address)):
                if subject_part.lower() in message["Subject"].lower():
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address} about {subject_part!r} within {timeout}s")


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def link_in(message: Message, path: str) -> str:
    match = re.search(r"https?://\S+" + re.escape(path) + r"\?token=[\w\-]+", body_of(message))
    assert match, f"no {path} link in the mail"
    return match.group(0)


def start_smtp(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox


def stop_gracefully(process: subprocess.Popen) -> None:
    """SIGINT to the process group first: a graceful stop writes the queued usage rows."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_standalone_proxy(
    port: int, log_path: Path, env: dict[str, str], workers: int = 2, args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """`aiusage proxy serve` in its own process group, returned once /api/health answers."""
    # This checkout's code, even when the venv's editable install points at another one.
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/aiusage"),
            "proxy",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *args,
        ],
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "proxy did not start"
        time.sleep(0.2)


class AppServer:
    """The real app: `reflex run --env prod` on one port, in its own process group."""

    def __init__(self, port: int, env: dict[str, str], log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 600) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/reflex"),
                "run",
                "--env",
                "prod",
                "--frontend-port",
                str(self.port),
                "--backend-port",
                str(self.port),
                "--loglevel",
                "info",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited early; see {self.log_path}")
            try:
                # The page bundle is served too once the frontend build has finished.
                healthy = httpx.get(self.url + "/api/health", timeout=2).status_code == 200
                if healthy and httpx.get(self.url + "/", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"app did not come up in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None:
            stop_gracefully(self.process)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


# --- reading what the server wrote ---------------------------------------------------------


async def usage_rows(user_id: int) -> list:
    from sqlalchemy import select

    from aiusage.db import session_scope
    from aiusage.models import UsageRecord

    async with session_scope() as session:
        result = await session.execute(
            select(UsageRecord).where(UsageRecord.user_id == user_id).order_by(UsageRecord.id)
        )
        return list(result.scalars())


async def wait_usage(user_id: int, count: int, timeout: float = 15.0) -> list:
    """The user's usage rows once `count` of them are written (the proxy writes them off the
    response path, so they land a moment after the response)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        rows = await usage_rows(user_id)
        if len(rows) >= count or time.monotonic() > deadline:
            assert len(rows) == count, f"expected {count} usage rows, found {len(rows)}"
            return rows
        await asyncio.sleep(0.05)


async def money_state(user_id: int) -> tuple[int, int, int]:
    """(balance, held, sum of the ledger) in nano-USD."""
    from aiusage.db import session_scope
    from aiusage.services import billing

    async with session_scope() as session:
        balance, held = await billing.balance(session, user_id)
        return balance, held, await billing.ledger_sum(session, user_id)


async def settled_money(user_id: int, timeout: float = 15.0) -> tuple[int, int]:
    """(balance, ledger sum) once no hold is left in flight."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        balance, held, ledger = await money_state(user_id)
        if held == 0 or time.monotonic() > deadline:
            assert held == 0, f"{held} nano-USD still held"
            return balance, ledger
        await asyncio.sleep(0.05)
