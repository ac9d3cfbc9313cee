"""CLI commands for the user's data rights and retention: `aiusage export`, `aiusage purge`."""

from __future__ import annotations

import argparse
import sys

import anyio

from aiusage.cli import command, print_json
from aiusage.db import session_scope
from aiusage.models import utcnow
from aiusage.services import accounts, export, retention
from aiusage.services.errors import NotFound


def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--out", help="the zip file to write (default: stdout)")


@command("export", help="a user's data as a zip of JSON and CSV files", args=_export_args)
async def export_command(args: argparse.Namespace) -> None:
    created = utcnow()
    async with session_scope() as session:
        user = await accounts.get_by_email(session, accounts.normalize_email(args.email))
        if user is None:
            raise NotFound("user_not_found", f"No account for {args.email}.")
        user_id = user.id
    if args.out:  # written as it is made: memory stays small however many rows there are
        async with await anyio.open_file(args.out, "wb") as out:
            size = await export.write_zip(user_id, created, out)
        print(f"wrote {size} bytes to {args.out}", file=sys.stderr)
    else:
        stdout = anyio.wrap_file(sys.stdout.buffer)
        await export.write_zip(user_id, created, stdout)
        await stdout.flush()


@command("purge", help="delete data past its retention period (also runs daily in the app)")
async def purge_command(_args: argparse.Namespace) -> None:
    report = await retention.purge()
    print_json(report.as_dict())
