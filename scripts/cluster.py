"""The scale-out topology on one machine, for trying it and for the fault test
(`scripts/cluster.sh up|down|status`; tests/integration/test_cluster_faults.py drives the
same class).

    HAProxy (one port) ─┬─ /api/v1/…  → proxy-1, proxy-2   (`aiusage proxy serve`, round robin)
                        └─ the rest    → app-1, app-2       (`reflex run --env prod`, sticky)
    all of them on one PostgreSQL and one Redis

Everything is on loopback and lives in one throwaway directory (`AIUSAGE_CLUSTER_DIR`,
default `/tmp/aiusage-cluster`): the PostgreSQL and Redis data, the generated secrets, each
process's log, HAProxy's configuration and `cluster.json` (ports and pids, read by `status`
and `down`). PostgreSQL, Redis and HAProxy are Debian's packages (scripts/setup.sh --test
installs them).

The instances run as production: `AIUSAGE_ENV=production` with secrets generated for this
cluster, `AIUSAGE_SITE_URL` the balancer's URL, `AIUSAGE_TRUSTED_PROXIES` the balancer's
address (so client IPs come from its X-Forwarded-For), `AIUSAGE_DATABASE_URL` and
`AIUSAGE_REDIS_URL`. Any other `AIUSAGE_*` variable in the caller's environment is passed
to every instance (the fault test points the providers at its fake that way).

The balancer answers for an instance it cannot reach with the provider's own error shape
(Anthropic's on `/api/v1/messages…`, OpenAI's elsewhere), as the proxy itself would; it
retries a request on the other worker only when the connection was refused (the request was
never sent, so it cannot be charged twice)."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_DIR = Path(os.environ.get("AIUSAGE_CLUSTER_DIR", "/tmp/aiusage-cluster"))  # noqa: S108
# Where things are: the cluster's own, whatever the caller's environment says.
_PLACES = (
    "AIUSAGE_DATABASE_URL",
    "AIUSAGE_REDIS_URL",
    "AIUSAGE_SITE_URL",
    "AIUSAGE_DATA_DIR",
    "AIUSAGE_CLUSTER_DIR",
)
APPS = ("app-1", "app-2")
PROXIES = ("proxy-1", "proxy-2")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(what: str, check, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")
        time.sleep(0.2)


def _healthy(url: str) -> bool:
    return httpx.get(url + "/api/health", timeout=2).status_code == 200


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pid: int | None, sig: signal.Signals) -> None:
    if pid and _alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def _stop_group(pid: int | None, timeout: float = 30) -> None:
    """SIGINT (a graceful stop: the proxy settles what is in flight), then SIGKILL."""
    _kill_group(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while pid and _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    _kill_group(pid, signal.SIGKILL)


@dataclass
class State:
    """What `up` started, saved in cluster.json."""

    root: str
    lb_port: int
    pg_port: int
    redis_port: int
    app_ports: dict[str, int]
    proxy_ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    # PostgreSQL's own directory, apart: as root the server runs as `postgres`, which may not
    # enter the cluster's directory (a test's private temp dir, say).
    pg_dir: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://{_pg_user()}@127.0.0.1:{self.pg_port}/aiusage"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"


def _pg_user() -> str:
    return "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def _pg_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh --test")
    return found[-1].parent


class Cluster:
    def __init__(self, root: Path = DEFAULT_DIR) -> None:
        self.root = root
        self.state_file = root / "cluster.json"
        self.state: State | None = None
        if self.state_file.exists():
            self.state = State(**json.loads(self.state_file.read_text()))

    # --- the parts -------------------------------------------------------------------------

    def _save(self) -> None:
        assert self.state is not None
        self.state_file.write_text(json.dumps(asdict(self.state), indent=2))

    def _log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def _pg(self, tool: str, *args: str, timeout: float = 120) -> str:
        command = [str(_pg_bin() / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd="/", check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")
        return done.stdout

    @property
    def pg_data(self) -> Path:
        assert self.state is not None and self.state.pg_dir
        return Path(self.state.pg_dir) / "data"

    def start_postgres(self) -> None:
        state = self.state
        assert state is not None
        if not state.pg_dir:
            state.pg_dir = tempfile.mkdtemp(prefix="aiusage-cluster-pg-")
            self._save()
            if os.geteuid() == 0:
                entry = pwd.getpwnam("postgres")
                os.chown(state.pg_dir, entry.pw_uid, entry.pw_gid)
        data = self.pg_data
        if not data.exists():
            self._pg("initdb", "-D", str(data), "-U", _pg_user(), "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {state.pg_port} -k {data.parent} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300 -c fsync=off"
        )
        log = data.parent / "server.log"
        self._pg("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")

    def restart_postgres(self) -> None:
        """What an operator's `pg_ctl restart -m fast` does: every connection is cut."""
        self._pg(
            "pg_ctl",
            "-D",
            str(self.pg_data),
            "-l",
            str(self.pg_data.parent / "server.log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )  # the log again: without it the new server would write to our pipe

    def psql(self, sql: str, database: str = "aiusage") -> str:
        """Runs SQL with psql on one of the cluster's databases; its unaligned output."""
        state = self.state
        assert state is not None
        return self._pg(
            "psql",
            *("-h", "127.0.0.1", "-p", str(state.pg_port), "-U", _pg_user(), "-d", database),
            *("-v", "ON_ERROR_STOP=1", "-At", "-c", sql),
        ).strip()

    def start_redis(self) -> None:
        state = self.state
        assert state is not None
        (self.root / "redis").mkdir(exist_ok=True)
        command = [
            "redis-server",
            *("--port", str(state.redis_port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.root / "redis")),
        ]
        process = self._spawn("redis", command, dict(os.environ))

        def pong() -> bool:
            done = subprocess.run(
                ["redis-cli", "-p", str(state.redis_port), "PING"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            return done.stdout.strip() == "PONG"

        _wait_for("redis", pong, 20, process)

    def stop_redis(self) -> None:
        assert self.state is not None
        _stop_group(self.state.pids.pop("redis", None))
        self._save()

    def env(self) -> dict[str, str]:
        state = self.state
        assert state is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_")}
        env.update(
            AIUSAGE_ENV="production",
            AIUSAGE_SITE_URL=state.url,
            AIUSAGE_TRUSTED_PROXIES="127.0.0.1/32",
            AIUSAGE_DATABASE_URL=state.database_url,
            AIUSAGE_REDIS_URL=state.redis_url,
            AIUSAGE_DATA_DIR=str(self.root / "data"),
            **state.secrets,
        )
        # The caller's own AIUSAGE_* settings win over ours but for where things are.
        env.update(
            {
                name: value
                for name, value in os.environ.items()
                if name.startswith("AIUSAGE_") and name not in _PLACES
            }
        )
        env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
        return env

    def migrate(self) -> None:
        subprocess.run(
            [str(VENV_BIN / "aiusage"), "db", "upgrade"],
            env=self.env(),
            cwd=ROOT,
            check=True,
            stdout=self._log("migrate").open("ab"),
            stderr=subprocess.STDOUT,
        )

    def start_proxy(self, name: str) -> None:
        state = self.state
        assert state is not None
        port = state.proxy_ports[name]
        command = [str(VENV_BIN / "aiusage"), "proxy", "serve", "--port", str(port)]
        process = self._spawn(name, [*command, "--workers", "1"], self.env())
        _wait_for(name, lambda: _healthy(f"http://127.0.0.1:{port}"), 60, process)

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        """`command` in its own process group (stopped as a whole), logged to logs/<name>."""
        assert self.state is not None
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=self._log(name).open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.state.pids[name] = process.pid
        self._save()
        return process

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash: nothing is settled on the way out."""
        assert self.state is not None
        _kill_group(self.state.pids.pop(name, None), signal.SIGKILL)
        self._save()

    def start_app(self, name: str) -> subprocess.Popen:
        """Started, not waited for (`wait_app`)."""
        state = self.state
        assert state is not None
        port = state.app_ports[name]
        env = self.env()
        # Each instance builds into its own directory: two builds must not share one.
        env["REFLEX_WEB_WORKDIR"] = str(self.root / name / "web")
        env["REFLEX_STATES_WORKDIR"] = str(self.root / name / "states")
        command = [
            str(VENV_BIN / "reflex"),
            *("run", "--env", "prod", "--loglevel", "info"),
            *("--frontend-port", str(port), "--backend-port", str(port)),
        ]
        return self._spawn(name, command, env)

    def wait_app(self, name: str, process: subprocess.Popen | None, timeout: float = 900) -> None:
        assert self.state is not None
        url = f"http://127.0.0.1:{self.state.app_ports[name]}"

        def ready() -> bool:
            return _healthy(url) and httpx.get(url + "/", timeout=5).status_code == 200

        _wait_for(name, ready, timeout, process)

    def write_balancer(self) -> Path:
        state = self.state
        assert state is not None
        from aiusage.proxy.errors import error_body

        errors = self.root / "haproxy"
        errors.mkdir(exist_ok=True)
        for provider in ("anthropic", "openai"):
            for status, reason, message in (
                (502, "Bad Gateway", "The proxy worker went away; retry the request."),
                (503, "Service Unavailable", "No proxy worker is available; retry shortly."),
                (504, "Gateway Timeout", "The proxy worker did not answer in time."),
            ):
                body = error_body(provider, status, message)
                (errors / f"{provider}-{status}.http").write_bytes(
                    f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
                    f"cache-control: no-store\r\ncontent-length: {len(body)}\r\n"
                    "connection: close\r\n\r\n".encode()
                    + body
                )

        def proxies(provider: str) -> str:
            servers = "\n".join(
                f"    server {name} 127.0.0.1:{port} check inter 500ms fall 2 rise 1"
                for name, port in state.proxy_ports.items()
            )
            files = "\n".join(
                f"    errorfile {status} {errors}/{provider}-{status}.http"
                for status in (502, 503, 504)
            )
            return (
                f"backend proxies_{provider}\n    balance roundrobin\n"
                "    option httpchk GET /api/health\n"
                "    retry-on conn-failure\n    retries 2\n    option redispatch 1\n"
                f"{files}\n{servers}\n"
            )

        apps = "\n".join(
            f"    server {name} 127.0.0.1:{port} check inter 2s cookie {name}"
            for name, port in state.app_ports.items()
        )
        config = f"""global
    maxconn 4096
    pidfile {self.root}/haproxy/haproxy.pid
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    option log-separate-errors
    option forwardfor
    timeout connect 2s
    timeout client 330s
    timeout server 330s
    timeout tunnel 1h
    timeout http-request 30s

frontend aiusage
    bind 127.0.0.1:{state.lb_port}
    # One request per client connection. On a kept-alive one, HAProxy answers a worker's
    # death before its response by closing the connection without a word (for the client to
    # retry: unsafe for a POST that may be charged); on a first request it sends the 502.
    option httpclose
    acl anthropic_path path_beg /api/v1/messages
    acl proxy_path path_beg /api/v1/
    acl preflight path /api /api/
    use_backend proxies_anthropic if anthropic_path
    use_backend proxies_openai if proxy_path or preflight
    default_backend apps

{proxies("anthropic")}
{proxies("openai")}
# Reflex keeps a page's state behind its websocket: a browser stays on one instance (cookie);
# the state itself is in Redis, so a failover loses nothing but the connection.
backend apps
    balance roundrobin
    cookie aiusage_instance insert indirect nocache httponly
    option httpchk GET /api/health
{apps}
"""
        path = errors / "haproxy.cfg"
        path.write_text(config)
        return path

    def start_balancer(self) -> None:
        state = self.state
        assert state is not None
        config = self.write_balancer()
        subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
        process = self._spawn("haproxy", ["haproxy", "-f", str(config), "-db"], dict(os.environ))
        _wait_for("haproxy", lambda: _healthy(state.url), 60, process)

    # --- the whole ------------------------------------------------------------------------

    def up(self, lb_port: int | None = None) -> State:
        if self.state is not None and any(_alive(pid) for pid in self.state.pids.values()):
            raise RuntimeError(f"a cluster is already running in {self.root}: `down` it first")
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root / "logs").mkdir(parents=True)
        self.state = State(
            root=str(self.root),
            lb_port=lb_port or free_port(),
            pg_port=free_port(),
            redis_port=free_port(),
            app_ports={name: free_port() for name in APPS},
            proxy_ports={name: free_port() for name in PROXIES},
            secrets={
                "AIUSAGE_ENCRYPTION_KEY": "c1:"
                + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                "AIUSAGE_SECRET_KEY": secrets.token_urlsafe(32),
            },
        )
        self._save()
        try:
            self.start_postgres()
            self.psql("CREATE DATABASE aiusage", database="postgres")
            self.start_redis()
            self.migrate()
            for name in PROXIES:
                self.start_proxy(name)
            # One after the other: a build rewrites the checkout's reflex.lock, and two at
            # once can leave it empty.
            for name in APPS:
                self.wait_app(name, self.start_app(name))
            self.start_balancer()
        except BaseException:
            self.down()
            raise
        return self.state

    def down(self) -> None:
        state = self.state
        if state is None:
            return
        for name in ("haproxy", *PROXIES, *APPS):
            _stop_group(state.pids.pop(name, None))
        _stop_group(state.pids.pop("redis", None))
        if state.pg_dir:
            if (self.pg_data / "postmaster.pid").exists():
                try:
                    self._pg("pg_ctl", "-D", str(self.pg_data), "-m", "fast", "-w", "stop")
                except (RuntimeError, subprocess.TimeoutExpired) as error:
                    print(f"postgres did not stop cleanly: {error}", file=sys.stderr)
            shutil.rmtree(state.pg_dir, ignore_errors=True)
            state.pg_dir = ""
        self._save()

    def status(self) -> dict[str, str]:
        state = self.state
        if state is None:
            return {}
        out: dict[str, str] = {}
        for name, port in {**state.app_ports, **state.proxy_ports}.items():
            try:
                healthy = _healthy(f"http://127.0.0.1:{port}")
            except httpx.HTTPError:
                healthy = False
            out[name] = f"{'up' if healthy else 'DOWN'} :{port}"
        out["redis"] = f"{'up' if _alive(state.pids.get('redis')) else 'DOWN'} :{state.redis_port}"
        pg_up = bool(state.pg_dir) and (self.pg_data / "postmaster.pid").exists()
        out["postgres"] = f"{'up' if pg_up else 'DOWN'} :{state.pg_port}"
        try:
            lb = _healthy(state.url)
        except httpx.HTTPError:
            lb = False
        out["haproxy"] = f"{'up' if lb else 'DOWN'} {state.url}"
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster.sh", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir)
    if args.command == "up":
        started = time.monotonic()
        state = cluster.up(args.port)
        print(f"aiusage cluster up in {time.monotonic() - started:.0f} s: {state.url}")
        print(f"  logs and data: {cluster.root}   (scripts/cluster.sh status | down)")
        return 0
    if args.command == "down":
        cluster.down()
        shutil.rmtree(cluster.root, ignore_errors=True)
        print("aiusage cluster down")
        return 0
    report = cluster.status()
    if not report:
        print("no cluster")
        return 1
    for name, line in report.items():
        print(f"{name:10} {line}")
    return 0 if not any(line.startswith("DOWN") for line in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
