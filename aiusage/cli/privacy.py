"""`aiusage export` and `aiusage purge`: the user's data rights and retention."""

from __future__ import annotations

import argparse
import sys

import anyio

from aiusage.cli.registry import command, print_json, user_by_email
from aiusage.db import session_scope
from aiusage.models import utcnow
from aiusage.models.base import id_of
from aiusage.services import export, retention


def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--out", help="the zip file to write (default: stdout)")


@command("export", help="a user's data as a zip of JSON and CSV files", args=_export_args)
async def export_command(args: argparse.Namespace) -> None:
    created = utcnow()
    async with session_scope() as session:
        user = await user_by_email(session, args.email)
        user_id = id_of(user)
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
