"""CLI commands for billing: an operator's adjustment with a reason (a ledger row)."""

from __future__ import annotations

import argparse

from aiusage.cli import command
from aiusage.db import session_scope, write_lock
from aiusage.models import User
from aiusage.money import format_usd, usd_to_nano
from aiusage.services import accounts, alerts, billing
from aiusage.services.errors import NotFound, ServiceError


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
    reason = args.reason.strip()
    if not reason:
        raise ServiceError("reason_required", "Give a reason for the adjustment.")
    amount = usd_to_nano(args.usd)
    if amount == 0:
        raise ServiceError("bad_amount", "The amount must not be zero.")
    async with write_lock(), session_scope() as session:
        user = await accounts.get_by_email(session, accounts.normalize_email(args.email))
        if user is None:
            raise NotFound("user_not_found", f"No account for {args.email}.")
        entry = await billing.book(session, user.id, amount, billing.ADJUSTMENT, reason)
        user = await session.get(User, user.id)
        await session.refresh(user)
        if amount > 0:
            await alerts.rearm_if_clear(session, user)
        else:
            await alerts.after_charges(session, {user.id}, auto_topup=False)
    print(f"balance {format_usd(entry.balance_after_nano, 9)}")
