"""`aiusage admin grant|revoke|list`: who may open the operator's console (/admin)."""

from __future__ import annotations

import argparse

import sqlalchemy as sa
from sqlmodel import col

from aiusage.cli.registry import command, email_arg, user_by_email
from aiusage.db import session_scope
from aiusage.models import User
from aiusage.models.base import id_of
from aiusage.services import roles, twofactor


def _grant_args(parser: argparse.ArgumentParser) -> None:
    email_arg(parser)
    parser.add_argument("--role", required=True, choices=roles.ROLES)


@command("admin", "grant", help="give an account the admin or support role", args=_grant_args)
async def admin_grant(args: argparse.Namespace) -> None:
    async with session_scope() as db:
        user = await user_by_email(db, args.email)
        await roles.set_role(db, roles.CLI, user, args.role)
        two_factor = await twofactor.is_enabled(db, id_of(user))
    print(f"{user.email}: {args.role}")
    if not two_factor:
        print("the console opens once this account turns on two-factor sign-in")


@command("admin", "revoke", help="take an account's console role away", args=email_arg)
async def admin_revoke(args: argparse.Namespace) -> None:
    async with session_scope() as db:
        user = await user_by_email(db, args.email)
        await roles.set_role(db, roles.CLI, user, None)
    print(f"{user.email}: no role")


@command("admin", "list", help="the accounts with a console role")
async def admin_list(_args: argparse.Namespace) -> None:
    async with session_scope() as db:
        rows = await db.execute(
            sa.select(col(User.email), col(User.role))
            .where(col(User.role).is_not(None))
            .order_by(col(User.email))
        )
        for email, role in rows:
            print(f"{role}\t{email}")
