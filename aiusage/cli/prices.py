"""`aiusage prices list`, `aiusage prices set` and `aiusage prices sync`.

Changes go through services/price_admin.py as the console's do: checked the same way and
audited (actor `cli`). The running app's proxy picks a change up within 30 seconds (its price
book's reload); the console's changes apply to its own process at once."""

from __future__ import annotations

import argparse

from aiusage.cli.registry import command, print_json
from aiusage.db import session_scope
from aiusage.services import keys, price_admin, price_sync, pricing
from aiusage.services.errors import ServiceError
from aiusage.services.roles import CLI


def _usd_or_none(text: str) -> str | None:
    return text or None


@command("prices", "list", help="the price table (USD per million tokens)")
async def prices_list(_args: argparse.Namespace) -> None:
    async with session_scope() as session:
        rows = await price_admin.table(session)
    printed = []
    for row in rows:
        v = row.values
        printed.append(
            {
                "provider": v["provider"],
                "model": v["model"],
                **{name: _usd_or_none(v[name]) for name in pricing.RATES},
                **(
                    {
                        "long_prompt_threshold": int(v["long_threshold"]),
                        **{
                            f"long_{name}": _usd_or_none(v[f"long_{name}"])
                            for name in pricing.RATES
                        },
                    }
                    if v["long_threshold"]
                    else {}
                ),
                "max_output_tokens": int(v["max_output_tokens"])
                if v["max_output_tokens"]
                else None,
                "web_search_usd_per_call": _usd_or_none(v["web_search"]),
                "web_fetch_usd_per_call": _usd_or_none(v["web_fetch"]),
                "source": row.source.text if row.source else None,
            }
        )
    print_json(printed)


def _price_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", required=True, choices=keys.PROVIDERS)
    parser.add_argument("--model", required=True)
    for prefix, helps in (("", ""), ("long-", " when the prompt is over --long-threshold")):
        for name in pricing.RATES:
            flag = f"--{prefix}{name.replace('_', '-')}"
            required = not prefix and name in ("input", "output")
            parser.add_argument(flag, required=required, help=f"USD per million tokens{helps}")
    parser.add_argument(
        "--long-threshold",
        help="prompt tokens above which the long-prompt prices apply to every token of the request",
    )
    parser.add_argument(
        "--max-output",
        help="the most output tokens the model produces (held for requests that name no maximum)",
    )
    parser.add_argument("--web-search", help="USD per server-side web search")
    parser.add_argument("--web-fetch", help="USD per server-side web fetch")
    parser.add_argument("--source", default="", help="where the price comes from (its page)")


@command("prices", "set", help="add or change a model's prices", args=_price_args)
async def prices_set(args: argparse.Namespace) -> None:
    options = vars(args)
    form = {
        "provider": args.provider,
        "model": args.model,
        **{name: options[name] or "" for name in pricing.RATES},
        **{f"long_{name}": options[f"long_{name}"] or "" for name in pricing.RATES},
        "long_threshold": args.long_threshold or "",
        "max_output_tokens": args.max_output or "",
        "web_search": args.web_search or "",
        "web_fetch": args.web_fetch or "",
    }
    data = price_admin.parse_form(form)
    source = price_admin.checked_source(args.source, required=False)
    try:
        async with session_scope() as session:
            # Options left out keep the row's maximum output and tool fees, as before.
            await price_admin.save_price(session, CLI, data, source=source, keep_unset_extras=True)
    except ServiceError as error:
        if error.code != "unchanged":
            raise
        print(f"{data.provider} {data.model} unchanged")  # setting a price twice is no error
        return
    print(f"{data.provider} {data.model} priced")


def _sync_args(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--accept",
        nargs="+",
        metavar="MODEL",
        help="write these proposals (a model name, or provider:model)",
    )
    chosen.add_argument("--accept-all", action="store_true", help="write every proposal")
    parser.add_argument("--json", action="store_true", help="print the proposals as JSON")


def _describe(proposal: price_sync.Proposal) -> str:
    changes = ", ".join(
        f"{c.field} {c.before or '-'} -> {c.after or '-'}" for c in proposal.changes
    )
    return f"{proposal.kind:8} {proposal.provider:10} {proposal.model}: {changes}"


@command(
    "prices",
    "sync",
    help=f"compare the table with the {price_sync.PACKAGE} package's list prices",
    args=_sync_args,
)
async def prices_sync(args: argparse.Namespace) -> int:
    async with session_scope() as session:
        found = await price_sync.proposals(session)
    if args.json:
        print_json(
            [
                {
                    "provider": p.provider,
                    "model": p.model,
                    "listed_as": p.listed_as,
                    "kind": p.kind,
                    "changes": [
                        {"field": c.field, "ours": c.before, "list": c.after} for c in p.changes
                    ],
                    "source": p.source,
                }
                for p in found
            ]
        )
    else:
        print(
            f"{len(found)} proposals from {price_sync.PACKAGE} {price_sync.package_version()} "
            "(USD per million tokens; web search per use)"
        )
        for proposal in found:
            print(_describe(proposal))
    if not (args.accept or args.accept_all):
        return 0
    async with session_scope() as session:
        accepted = await price_sync.accept(session, CLI, None if args.accept_all else args.accept)
    print(f"accepted {len(accepted)}: " + ", ".join(p.key for p in accepted))
    return 0
