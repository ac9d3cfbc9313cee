"""CLI commands for the user's data rights and retention: `aiusage export`, `aiusage purge`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
        data = await export.export_zip(session, user.id, created)
    _write(args.out, data)


def _write(out: str | None, data: bytes) -> None:
    if out:
        Path(out).write_bytes(data)
        print(f"wrote {len(data)} bytes to {out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


@command("purge", help="delete data past its retention period (also runs daily in the app)")
async def purge_command(_args: argparse.Namespace) -> None:
    report = await retention.purge()
    print_json(report.as_dict())
