"""A throwaway PostgreSQL server from Debian's packages (`apt-get install postgresql`), for
the tests that run the app on PostgreSQL: its own data directory and socket directory in a
temp dir, a free TCP port on loopback, trust authentication, stopped and deleted at the end.

As root the server runs as the `postgres` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.helpers.support import free_port

# The server's own time zone is deliberately far from UTC (+12:45/+13:45): code that stores
# or reads naive local times instead of UTC shows up as hours of difference.
SERVER_TIMEZONE = "Pacific/Chatham"


def _bin_dir() -> Path | None:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    return versions[-1].parent if versions else None


class PostgresServer:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL is not installed (/usr/lib/postgresql/<ver>/bin): "
                "run scripts/setup.sh --test (it installs Debian's postgresql package)"
            )
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="aiusage-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, tool: str, *args: str, timeout: float = 120) -> str:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            f"-c timezone={SERVER_TIMEZONE} -c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), timeout=10)
                return self
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its postgresql:// URL (what AIUSAGE_DATABASE_URL takes)."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def psql(self, database: str, sql: str) -> str:
        """Runs SQL with psql; returns the unaligned, tuples-only output."""
        return self._run(
            "psql",
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database),
            *("-v", "ON_ERROR_STOP=1", "-At", "-c", sql),
        ).strip()

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def scope_of(sessions: async_sessionmaker[AsyncSession]):
    """Like aiusage.db.session_scope, on another engine (a PostgreSQL database of a test's)."""

    @contextlib.asynccontextmanager
    async def scope() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    return scope
