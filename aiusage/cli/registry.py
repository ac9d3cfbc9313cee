"""The CLI's registry: each command module registers its handlers with `@command` on import;
the helpers every group uses (an account by email, JSON output)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.models import User
from aiusage.services import accounts
from aiusage.services.errors import NotFound

Handler = Callable[[argparse.Namespace], Awaitable[int | None] | int | None]
COMMANDS: list[tuple[tuple[str, ...], str, Callable[[argparse.ArgumentParser], None], Handler]] = []


def command(
    *path: str, help: str, args: Callable[[argparse.ArgumentParser], None] = lambda _parser: None
) -> Callable[[Handler], Handler]:
    """Registers a handler for `aiusage <path...>`."""

    def register(handler: Handler) -> Handler:
        COMMANDS.append((path, help, args, handler))
        return handler

    return register


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


async def user_by_email(session: AsyncSession, email: str) -> User:
    user = await accounts.get_by_email(session, accounts.normalize_email(email))
    if user is None:
        raise NotFound("user_not_found", f"No account for {email}.")
    return user


def email_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
