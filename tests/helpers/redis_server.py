"""A throwaway Redis server from Debian's `redis-server` package, for the tests of what
instances share through Redis: no persistence, a free TCP port on loopback, stopped at the end.
`restart()` stops it and starts it again on the same port, as an operator's restart would."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.helpers.support import free_port


def redis_installed() -> bool:
    return shutil.which("redis-server") is not None


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        if not redis_installed():
            raise RuntimeError(
                "redis-server is not installed: run scripts/setup.sh --test "
                "(it installs Debian's redis-server package)"
            )
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="aiusage-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"),
                *("--logfile", str(self.root / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while self.cli("PING") != "PONG":
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self.log()}")
            time.sleep(0.05)
        return self

    def cli(self, *command: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *command],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip()

    def log(self) -> str:
        path = self.root / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
