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


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)


@command(
    "proxy", "serve", help="serve only the proxy (several workers, same database)", args=_serve_args
)
def proxy_serve(args: argparse.Namespace) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    from aiusage.migrations import upgrade_to_head

    upgrade_to_head()
    Server(
        "aiusage.proxy.standalone:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
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
