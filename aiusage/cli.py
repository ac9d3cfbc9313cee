"""The operator CLI, `aiusage`: everything an operator (or a test) does without a browser.

Each command is a small function over the services; errors exit non-zero with one line."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiusage.services.errors import ServiceError

Handler = Callable[[argparse.Namespace], Awaitable[int | None] | int | None]
_COMMANDS: list[
    tuple[tuple[str, ...], str, Callable[[argparse.ArgumentParser], None], Handler]
] = []


def command(
    *path: str, help: str, args: Callable[[argparse.ArgumentParser], None] = lambda p: None
):
    """Registers a handler for `aiusage <path...>`; later modules plug in the same way."""

    def register(handler: Handler) -> Handler:
        _COMMANDS.append((path, help, args, handler))
        return handler

    return register


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


# --- db -----------------------------------------------------------------------------------


@command("db", "upgrade", help="apply the database migrations")
def db_upgrade(_args: argparse.Namespace) -> None:
    from aiusage.migrations import upgrade_to_head

    upgrade_to_head()
    print("database is up to date")


# --- users --------------------------------------------------------------------------------


def _user_create_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", help="read from stdin when omitted")


@command("user", "create", help="create a verified account; prints its id", args=_user_create_args)
async def user_create(args: argparse.Namespace) -> None:
    from aiusage.db import session_scope
    from aiusage.services import accounts

    password = args.password if args.password is not None else sys.stdin.readline().rstrip("\n")
    async with session_scope() as session:
        user = await accounts.create_user(session, args.email, password, verified=True)
    print(user.id)


# --- plumbing -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiusage", description="aiusage operator commands")
    groups: dict[tuple[str, ...], argparse._SubParsersAction] = {
        (): parser.add_subparsers(dest="command", required=True)
    }
    for path, help_text, add_args, handler in _COMMANDS:
        for depth in range(1, len(path)):
            prefix = path[:depth]
            if prefix not in groups:
                group_parser = groups[path[: depth - 1]].add_parser(prefix[-1])
                groups[prefix] = group_parser.add_subparsers(dest=f"sub{depth}", required=True)
        leaf = groups[path[:-1]].add_parser(path[-1], help=help_text)
        add_args(leaf)
        leaf.set_defaults(handler=handler)
    return parser


# Modules whose commands register themselves on import (via @command).
COMMAND_MODULES = ["aiusage.cli_commands", "aiusage.cli_billing", "aiusage.cli_privacy"]


def _load_command_modules() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    _load_command_modules()
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
