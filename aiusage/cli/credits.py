"""`aiusage credits grant` and `aiusage credits adjust` (ledger rows with their reasons)."""

from __future__ import annotations

import argparse

from aiusage.cli.registry import command, user_by_email
from aiusage.db import session_scope, write_lock
from aiusage.models.base import id_of
from aiusage.money import format_usd, usd_to_nano
from aiusage.services import billing


def _credits_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--usd", required=True, help="amount in dollars; negative debits")
    parser.add_argument("--reason", default="granted by the operator")


@command("credits", "grant", help="add credit (a ledger row)", args=_credits_args)
async def credits_grant(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await user_by_email(session, args.email)
        entry = await billing.grant(session, id_of(user), usd_to_nano(args.usd), args.reason)
    print(f"balance {format_usd(entry.balance_after_nano, 9)}")


def _adjust_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--usd", required=True, help="amount in dollars; negative debits")
    parser.add_argument("--reason", required=True, help="why (shown in the user's history)")


@command(
    "credits",
    "adjust",
    help="correct a balance up or down, with a reason (a ledger row)",
    args=_adjust_args,
)
async def credits_adjust(args: argparse.Namespace) -> None:
    async with write_lock(), session_scope() as session:
        user = await user_by_email(session, args.email)
        entry = await billing.adjust(session, id_of(user), usd_to_nano(args.usd), args.reason)
    print(f"balance {format_usd(entry.balance_after_nano, 9)}")
