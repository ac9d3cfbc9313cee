"""`aiusage apikey …`, `aiusage provider-key …`, `aiusage keys rotate-master`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time

from aiusage.cli.registry import command, email_arg, print_json, user_by_email
from aiusage.db import session_scope
from aiusage.models import ProxyKey
from aiusage.models.base import id_of
from aiusage.money import nano_to_usd, usd_to_nano
from aiusage.services import keys, provider_check, twofactor
from aiusage.services.errors import ServiceError


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
    given: dict[str, tuple[str | None, Callable[[str], object]]] = {
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
        user = await user_by_email(session, args.email)
        _, plaintext = await keys.create_proxy_key(session, id_of(user), args.name, **rules)
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
        user = await user_by_email(session, args.email)
        key = await keys.update_proxy_key(session, id_of(user), args.id, name=args.name, **rules)
        if args.disable or args.enable:
            await keys.set_key_enabled(session, id_of(user), args.id, args.enable)
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
        user = await user_by_email(session, args.email)
        await keys.revoke_proxy_key(session, id_of(user), args.id)
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
        user = await user_by_email(session, args.email)
        info = await keys.set_provider_key(session, id_of(user), args.provider, plaintext)
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
        user = await user_by_email(session, args.email)
        info = await keys.add_provider_key(
            session,
            id_of(user),
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
    args=email_arg,
)  # fmt: skip
async def provider_key_list(args: argparse.Namespace) -> None:
    async with session_scope() as session:
        user = await user_by_email(session, args.email)
        listed = await keys.list_provider_keys(session, id_of(user))
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
