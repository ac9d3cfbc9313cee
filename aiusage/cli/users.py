"""`aiusage user …`: create, show, reset two-factor sign-in."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import func, select
from sqlmodel import col

from aiusage.cli.keys import key_summary
from aiusage.cli.registry import command, email_arg, print_json, user_by_email
from aiusage.db import session_scope
from aiusage.models import UsageRecord
from aiusage.models.base import id_of
from aiusage.money import nano_to_usd
from aiusage.services import accounts, keys, twofactor


def _user_create_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", help="read from stdin when omitted")


@command("user", "create", help="create a verified account; prints its id", args=_user_create_args)
async def user_create(args: argparse.Namespace) -> None:
    from aiusage.db import session_scope

    password = args.password if args.password is not None else sys.stdin.readline().rstrip("\n")
    async with session_scope() as session:
        user = await accounts.create_user(session, args.email, password, verified=True)
    print(user.id)


@command("user", "show", help="the account as JSON (no secrets)", args=email_arg)
async def user_show(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await user_by_email(session, args.email)
        proxy_keys = await keys.list_proxy_keys(session, id_of(user))
        provider_keys = await keys.list_provider_keys(session, id_of(user))
        usage_count = (
            await session.execute(
                select(func.count())
                .select_from(UsageRecord)
                .where(col(UsageRecord.user_id) == user.id)
            )
        ).scalar_one()
    print_json(
        {
            "id": user.id,
            "email": user.email,
            "verified": user.email_verified_at is not None,
            "balance_usd": str(nano_to_usd(user.balance_nano)),
            "held_usd": str(nano_to_usd(user.held_nano)),
            "proxy_keys": [key_summary(k) for k in proxy_keys],
            "provider_keys": [{"provider": k.provider, "last4": k.last4} for k in provider_keys],
            "usage_count": usage_count,
        }
    )


@command(
    "user",
    "reset-2fa",
    help="turn off the account's two-factor sign-in (lost phone and backup codes)",
    args=email_arg,
)
async def user_reset_2fa(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await user_by_email(session, args.email)
        was_on = await twofactor.forget(session, id_of(user))
    print("two-factor sign-in turned off" if was_on else "two-factor sign-in was not on")
