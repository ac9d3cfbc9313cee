"""`aiusage db upgrade`, `aiusage proxy serve`, `aiusage holds reclaim`."""

from __future__ import annotations

import argparse

from aiusage.cli.registry import command
from aiusage.proxy.reclaim import reclaim_now


@command("db", "upgrade", help="apply the database migrations")
def db_upgrade(_args: argparse.Namespace) -> None:
    from aiusage.migrations import upgrade_to_head

    upgrade_to_head()
    print("database is up to date")


# The access log without the client's address (the app keeps IPs only as keyed hashes) or
# the query string.
ACCESS_LOG_FORMAT = '"%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f'


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--access-log", action="store_true", help="a line per request (method, path, status, ms)"
    )


@command(
    "proxy", "serve", help="serve only the proxy (several workers, same database)", args=_serve_args
)
def proxy_serve(args: argparse.Namespace) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    from aiusage.config import get_settings
    from aiusage.migrations import upgrade_to_head
    from aiusage.observability.logs import json_server_config
    from aiusage.observability.metrics import clear_multiprocess_dir

    upgrade_to_head()
    clear_multiprocess_dir()  # the workers' metrics start from zero with the server
    Server(
        "aiusage.proxy.standalone:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        log_dictconfig=json_server_config() if get_settings().log_format == "json" else None,
        log_access=args.access_log,
        log_access_format=ACCESS_LOG_FORMAT,
    ).serve()


# --- holds ------------------------------------------------------------------------------


@command(
    "holds",
    "reclaim",
    help="book now, as interrupted, the requests of stopped proxies whose hold lease ran out "
    "(running proxies do this by themselves within a lease; safe while they run)",
)
async def holds_reclaim(_args: argparse.Namespace) -> None:
    print(f"booked {await reclaim_now()} interrupted requests")
