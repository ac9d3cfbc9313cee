"""The operator CLI, `aiusage`: everything an operator (or a test) does without a browser.

One module per command group — users, keys (proxy and provider keys), credits, prices,
privacy (export, purge), ops (database, proxy, holds) — each registering its commands with
`registry.command`. Each command is a small function over the services; errors exit
non-zero with one line."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Awaitable

from aiusage.cli.registry import COMMANDS
from aiusage.services.errors import ServiceError

COMMAND_MODULES = [
    "aiusage.cli.users",
    "aiusage.cli.keys",
    "aiusage.cli.credits",
    "aiusage.cli.prices",
    "aiusage.cli.privacy",
    "aiusage.cli.ops",
    "aiusage.cli.admin",
]


def build_parser() -> argparse.ArgumentParser:
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    parser = argparse.ArgumentParser(prog="aiusage", description="aiusage operator commands")
    groups: dict[tuple[str, ...], argparse._SubParsersAction] = {
        (): parser.add_subparsers(dest="command", required=True)
    }
    for path, help_text, add_args, handler in COMMANDS:
        for depth in range(1, len(path)):
            prefix = path[:depth]
            if prefix not in groups:
                group_parser = groups[path[: depth - 1]].add_parser(prefix[-1])
                groups[prefix] = group_parser.add_subparsers(dest=f"sub{depth}", required=True)
        leaf = groups[path[:-1]].add_parser(path[-1], help=help_text)
        add_args(leaf)
        leaf.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.handler(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(_run_and_dispose(result))
    except ServiceError as error:
        print(f"aiusage: {error.message}", file=sys.stderr)
        return 1
    except SystemExit:
        raise
    except Exception as error:  # an operator gets one line, not a traceback
        print(f"aiusage: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return int(result or 0)


async def _run_and_dispose(coroutine: Awaitable[int | None]) -> int | None:
    from aiusage.db import dispose_engine

    try:
        return await coroutine
    finally:
        await dispose_engine()


if __name__ == "__main__":
    sys.exit(main())
