"""CLI commands for keys, credits, prices and the proxy (registered on import)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from aiusage.cli import command, print_json
from aiusage.db import session_scope
from aiusage.models import ProxyKey, UsageRecord, User
from aiusage.money import format_usd, nano_to_usd, usd_to_nano
from aiusage.proxy.reclaim import reclaim_now
from aiusage.services import accounts, billing, keys, pricing, provider_check, twofactor
from aiusage.services.errors import NotFound, ServiceError


async def _user(session, email: str) -> User:
    user = await accounts.get_by_email(session, accounts.normalize_email(email))
    if user is None:
        raise NotFound("user_not_found", f"No account for {email}.")
    return user


def _email_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)


# --- users --------------------------------------------------------------------------------


@command("user", "show", help="the account as JSON (no secrets)", args=_email_arg)
async def user_show(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await _user(session, args.email)
        proxy_keys = await keys.list_proxy_keys(session, user.id)
        provider_keys = await keys.list_provider_keys(session, user.id)
        usage_count = (
            await session.execute(
                select(func.count()).select_from(UsageRecord).where(UsageRecord.user_id == user.id)
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
    args=_email_arg,
)
async def user_reset_2fa(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await _user(session, args.email)
        was_on = await twofactor.forget(session, user.id)
    print("two-factor sign-in turned off" if was_on else "two-factor sign-in was not on")


# --- keys ---------------------------------------------------------------------------------


def _apikey_rule_args(parser: argparse.ArgumentParser) -> None:
    """The key's rules, for create and update. On update, an empty value ('') clears one."""
    parser.add_argument("--spend-limit-usd", help="lifetime spend cap in dollars")
    parser.add_argument("--rpm", help="requests per minute")
    parser.add_argument("--tpm", help="tokens per minute")
    parser.add_argument("--budget-usd", help="spend cap per --budget-period, in dollars")
    parser.add_argument("--budget-period", help="day, week or month (UTC)")
    parser.add_argument(
        "--budget-alerts", help="mail at these percentages of the budget: '50,80,100' ('' none)"
    )
    parser.add_argument("--models", help="allowed models: 'claude-haiku-*,gpt-5*'")
    parser.add_argument("--ips", help="allowed networks: '10.0.0.0/8,192.0.2.7'")
    parser.add_argument("--expires", help="expiry date (UTC midnight), e.g. 2027-01-31")


def _whole(value: str, what: str) -> int:
    if not value.strip().isdigit():
        raise ServiceError("bad_limit", f"{what} must be a whole number.")
    return int(value)


def _apikey_rules(args: argparse.Namespace) -> dict[str, object]:
    """The options given, as `keys.checked_rules` takes them ('' clears a rule)."""
    given = {
        "spend_limit_nano": (args.spend_limit_usd, usd_to_nano),
        "rpm_limit": (args.rpm, lambda v: _whole(v, "--rpm")),
        "tpm_limit": (args.tpm, lambda v: _whole(v, "--tpm")),
        "budget_nano": (args.budget_usd, usd_to_nano),
        "budget_period": (args.budget_period, str),
        "budget_alerts": (args.budget_alerts, str),
        "allowed_models": (args.models, str),
        "allowed_networks": (args.ips, str),
        "expires_at": (args.expires, _expiry),
    }
    return {
        # '' clears a rule; for alerts, '' means none (the column is never NULL).
        rule: (parse(value) if value.strip() or rule == "budget_alerts" else None)
        for rule, (value, parse) in given.items()
        if value is not None
    }


def _expiry(text: str) -> datetime:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ServiceError("bad_expiry", "Give the expiry as a date, e.g. 2027-01-31.") from None
    return datetime.combine(day, time(0), tzinfo=UTC)


def _apikey_create_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True)
    _apikey_rule_args(parser)


@command("apikey", "create", help="create a proxy key; prints it once", args=_apikey_create_args)
async def apikey_create(args: argparse.Namespace) -> None:
    rules = _apikey_rules(args)
    async with session_scope() as session:
        user = await _user(session, args.email)
        _, plaintext = await keys.create_proxy_key(session, user.id, args.name, **rules)
    print(plaintext)


def _apikey_update_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--id", type=int, required=True)
    parser.add_argument("--name", help="a new name")
    _apikey_rule_args(parser)
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true", help="refuse the key until enabled")
    state.add_argument("--enable", action="store_true")


@command(
    "apikey",
    "update",
    help="rename a proxy key, change its rules ('' clears one), disable or enable it",
    args=_apikey_update_args,
)
async def apikey_update(args: argparse.Namespace) -> None:
    rules = _apikey_rules(args)
    async with session_scope() as session:
        user = await _user(session, args.email)
        key = await keys.update_proxy_key(session, user.id, args.id, name=args.name, **rules)
        if args.disable or args.enable:
            await keys.set_key_enabled(session, user.id, args.id, args.enable)
        print_json(key_summary(key))


def key_summary(key: ProxyKey) -> dict[str, object]:
    """A key as the CLI prints it (no secret: only the prefix is known)."""
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "revoked": key.revoked_at is not None,
        "disabled": key.disabled_at is not None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "spend_limit_usd": _nano_usd_or_none(key.spend_limit_nano),
        "budget_usd": _nano_usd_or_none(key.budget_nano),
        "budget_period": key.budget_period,
        "budget_alerts": key.budget_alerts,
        "rpm": key.rpm_limit,
        "tpm": key.tpm_limit,
        "models": key.allowed_models.split(",") if key.allowed_models else [],
        "ips": key.allowed_networks.split(",") if key.allowed_networks else [],
        "spent_usd": str(nano_to_usd(key.spent_nano)),
    }


def _nano_usd_or_none(nano: int | None) -> str | None:
    return None if nano is None else str(nano_to_usd(nano))


def _apikey_revoke_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--id", type=int, required=True)


@command("apikey", "revoke", help="revoke a proxy key by id", args=_apikey_revoke_args)
async def apikey_revoke(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await _user(session, args.email)
        await keys.revoke_proxy_key(session, user.id, args.id)
    print("revoked")


def _provider_key_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--provider", required=True, choices=keys.PROVIDERS)


@command(
    "provider-key",
    "set",
    help="store the user's own provider key, read from stdin",
    args=_provider_key_args,
)
async def provider_key_set(args: argparse.Namespace) -> None:
    plaintext = sys.stdin.readline().strip()
    async with session_scope() as session:
        user = await _user(session, args.email)
        info = await keys.set_provider_key(session, user.id, args.provider, plaintext)
    print(f"{info.provider} key ending in {info.last4} stored")


def _provider_key_add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--provider", required=True, choices=keys.PROVIDERS)
    parser.add_argument("--label", default="", help="a name for the key, e.g. backup")
    parser.add_argument("--priority", type=int, help="1 is tried first (default: after the others)")
    parser.add_argument("--weight", type=int, default=1, help="share among equal priorities")
    parser.add_argument(
        "--no-check", action="store_true", help="store without asking the provider first"
    )


@command(
    "provider-key",
    "add",
    help="add a key to the user's pool for a provider, read from stdin (checked upstream)",
    args=_provider_key_add_args,
)
async def provider_key_add(args: argparse.Namespace) -> None:
    plaintext = sys.stdin.readline().strip()
    if not args.no_check:
        check = await provider_check.check_provider_key(args.provider, plaintext)
        if check.outcome == "refused":
            raise ServiceError(
                "key_refused", f"{args.provider} refused this key (HTTP {check.status})."
            )
        if check.outcome == "unknown":
            print(f"could not check the key with {args.provider}; storing it anyway")
    async with session_scope() as session:
        user = await _user(session, args.email)
        info = await keys.add_provider_key(
            session,
            user.id,
            args.provider,
            plaintext,
            label=args.label,
            priority=args.priority,
            weight=args.weight,
        )
    print(
        f"{info.provider} key ending in {info.last4} added (id {info.id}, priority {info.priority})"
    )


@command(
    "provider-key", "list", help="the user's provider keys, in pool order (no secrets)",
    args=_email_arg,
)  # fmt: skip
async def provider_key_list(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await _user(session, args.email)
        listed = await keys.list_provider_keys(session, user.id)
    print_json(
        [
            {
                "id": k.id,
                "provider": k.provider,
                "label": k.label,
                "last4": k.last4,
                "priority": k.priority,
                "weight": k.weight,
                "state": k.state,
                "last_error": k.last_error,
            }
            for k in listed
        ]
    )


@command("keys", "rotate-master", help="re-seal every provider key with the active master key")
async def keys_rotate_master(_args: argparse.Namespace) -> None:
    async with session_scope() as session:
        changed = await keys.rotate_master_key(session)
        secrets_changed = await twofactor.rotate_master_key(session)
    print(f"re-sealed {changed} provider keys")
    if secrets_changed:
        print(f"re-sealed {secrets_changed} two-factor secrets")


# --- credits and prices ------------------------------------------------------------------


def _credits_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--usd", required=True, help="amount in dollars; negative debits")
    parser.add_argument("--reason", default="granted by the operator")


@command("credits", "grant", help="add credit (a ledger row)", args=_credits_args)
async def credits_grant(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await _user(session, args.email)
        entry = await billing.grant(session, user.id, usd_to_nano(args.usd), args.reason)
    print(f"balance {format_usd(entry.balance_after_nano, 9)}")


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


# --- proxy --------------------------------------------------------------------------------


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)


@command(
    "proxy", "serve", help="serve only the proxy (several workers, same database)", args=_serve_args
)
def proxy_serve(args: argparse.Namespace) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    from aiusage.migrations import upgrade_to_head

    upgrade_to_head()
    Server(
        "aiusage.proxy.standalone:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
    ).serve()


# --- holds ------------------------------------------------------------------------------


@command(
    "holds",
    "reclaim",
    help="book now, as interrupted, the requests of stopped proxies whose hold lease ran out "
    "(running proxies do this by themselves within a lease; safe while they run)",
)
async def holds_reclaim(_args: argparse.Namespace) -> None:
    print(f"booked {await reclaim_now()} interrupted requests")
