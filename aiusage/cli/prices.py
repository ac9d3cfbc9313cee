"""`aiusage prices list` and `aiusage prices set`."""

from __future__ import annotations

import argparse

from aiusage.cli.registry import command, print_json
from aiusage.db import session_scope
from aiusage.money import nano_to_usd
from aiusage.services import keys, pricing


def _usd_or_none(micro: int | None) -> str | None:
    return None if micro is None else str(nano_to_usd(micro * 1000))


@command("prices", "list", help="the price table (USD per million tokens)")
async def prices_list(_args: argparse.Namespace) -> None:
    async with session_scope() as session:
        rows = await pricing.list_prices(session)
    print_json(
        [
            {
                "provider": r.provider,
                "model": r.model,
                **{name: _usd_or_none(getattr(r, f"{name}_micro")) for name in pricing.RATES},
                **(
                    {
                        "long_prompt_threshold": r.long_prompt_threshold,
                        **{
                            f"long_{name}": _usd_or_none(getattr(r, f"long_{name}_micro"))
                            for name in pricing.RATES
                        },
                    }
                    if r.long_prompt_threshold is not None
                    else {}
                ),
                "max_output_tokens": r.max_output_tokens,
                "web_search_usd_per_call": _usd_or_none(r.web_search_call_micro),
                "web_fetch_usd_per_call": _usd_or_none(r.web_fetch_call_micro),
            }
            for r in rows
        ]
    )


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
        type=int,
        help="prompt tokens above which the long-prompt prices apply to every token of the request",
    )
    parser.add_argument(
        "--max-output",
        type=int,
        help="the most output tokens the model produces (held for requests that name no maximum)",
    )
    parser.add_argument("--web-search", help="USD per server-side web search")
    parser.add_argument("--web-fetch", help="USD per server-side web fetch")


@command("prices", "set", help="add or change a model's prices", args=_price_args)
async def prices_set(args: argparse.Namespace) -> None:
    options = vars(args)
    rates = {name: options[name] for name in pricing.RATES}
    long_rates = {name: options[f"long_{name}"] for name in pricing.RATES}
    has_long = args.long_threshold is not None or any(long_rates.values())
    async with session_scope() as session:
        await pricing.set_price(
            session,
            args.provider,
            args.model,
            rates,
            long_threshold=args.long_threshold,
            long_rates=long_rates if has_long else None,
            max_output_tokens=args.max_output,
            tool_fees={"web_search": args.web_search, "web_fetch": args.web_fetch},
        )
    print(f"{args.provider} {args.model} priced")
