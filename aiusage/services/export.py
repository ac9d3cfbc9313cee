"""A user's data as a zip of JSON and CSV files: account, keys' metadata (never a secret),
usage, ledger, support messages, sign-in sessions and linked identities.

Secrets never go in: no password hash, no session token hashes, no proxy key hashes, no
provider key ciphertext or nonce (only the provider and last four characters)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.models import (
    CheckoutSession,
    LedgerEntry,
    ProviderKey,
    ProxyKey,
    SupportMessage,
    UsageRecord,
    User,
    UserIdentity,
    UserSession,
)
from aiusage.money import nano_to_usd

FORMAT_VERSION = 1

ACCOUNT_FIELDS = (
    "id",
    "email",
    "email_verified_at",
    "created_at",
    "locale",
    "closed_at",
    "purge_after",
    "balance_nano",
    "held_nano",
    "marketing_opt_out",
    "stripe_customer_id",
    "card_brand",
    "card_last4",
    "low_balance_threshold_nano",
    "low_balance_alerted_at",
    "auto_topup_enabled",
    "auto_topup_below_nano",
    "auto_topup_amount_nano",
    "auto_topup_last_at",
)
PROXY_KEY_FIELDS = (
    "id",
    "name",
    "prefix",
    "created_at",
    "last_used_at",
    "revoked_at",
    "spend_limit_nano",
    "rpm_limit",
    "spent_nano",
)
PROVIDER_KEY_FIELDS = ("provider", "last4", "created_at", "updated_at")
USAGE_FIELDS = (
    "id",
    "request_id",
    "created_at",
    "proxy_key_id",
    "provider",
    "endpoint",
    "model",
    "key_source",
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "cost_nano",
    "charged_nano",
    "priced_by_default",
    "tokens_estimated",
    "status",
    "error_type",
    "latency_ms",
    "ttfb_ms",
    "request_bytes",
    "response_bytes",
    "streamed",
    "ip_hash",
    "user_agent",
    "client_session_id",
)
LEDGER_FIELDS = (
    "id",
    "created_at",
    "kind",
    "amount_nano",
    "balance_after_nano",
    "description",
    "reference",
    "usage_id",
)
SUPPORT_FIELDS = ("id", "created_at", "email", "subject", "body")
SESSION_FIELDS = ("created_at", "expires_at", "user_agent", "ip_hash")
IDENTITY_FIELDS = ("provider", "email", "created_at")
CHECKOUT_FIELDS = ("created_at", "amount_nano", "currency", "status", "credited_at")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _rows(objects: list[Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{name: _value(getattr(obj, name)) for name in fields} for obj in objects]


async def _all(session: AsyncSession, model: Any, *where: Any) -> list[Any]:
    return list((await session.execute(select(model).where(*where).order_by(model.id))).scalars())


async def collect(session: AsyncSession, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every table of the export as rows of plain values, scoped to this user."""
    user = await session.get(User, user_id)
    if user is None:
        return {}
    account = _rows([user], ACCOUNT_FIELDS)[0]
    account["balance_usd"] = str(nano_to_usd(user.balance_nano))
    return {
        "account": [account],
        "proxy_keys": _rows(
            await _all(session, ProxyKey, ProxyKey.user_id == user_id), PROXY_KEY_FIELDS
        ),
        "provider_keys": _rows(
            await _all(session, ProviderKey, ProviderKey.user_id == user_id), PROVIDER_KEY_FIELDS
        ),
        "usage": _rows(
            await _all(session, UsageRecord, UsageRecord.user_id == user_id), USAGE_FIELDS
        ),
        "ledger": _rows(
            await _all(session, LedgerEntry, LedgerEntry.user_id == user_id), LEDGER_FIELDS
        ),
        "support_messages": _rows(
            await _all(session, SupportMessage, SupportMessage.user_id == user_id),
            SUPPORT_FIELDS,
        ),
        "sessions": _rows(
            await _all(session, UserSession, UserSession.user_id == user_id), SESSION_FIELDS
        ),
        "identities": _rows(
            await _all(session, UserIdentity, UserIdentity.user_id == user_id), IDENTITY_FIELDS
        ),
        "checkouts": _rows(
            await _all(session, CheckoutSession, CheckoutSession.user_id == user_id),
            CHECKOUT_FIELDS,
        ),
    }


_FIELDS = {
    "account": (*ACCOUNT_FIELDS, "balance_usd"),
    "proxy_keys": PROXY_KEY_FIELDS,
    "provider_keys": PROVIDER_KEY_FIELDS,
    "usage": USAGE_FIELDS,
    "ledger": LEDGER_FIELDS,
    "support_messages": SUPPORT_FIELDS,
    "sessions": SESSION_FIELDS,
    "identities": IDENTITY_FIELDS,
    "checkouts": CHECKOUT_FIELDS,
}

README = """aiusage data export (format {version}), created {created}.

Each table is here twice: <name>.json (a list of objects) and <name>.csv (one row each).
Money is in nano-USD (1 USD = 1,000,000,000). Times are UTC (ISO 8601).
ip_hash is a keyed hash (HMAC) of an IP address; the address itself is never stored.
Keys appear as metadata only: the proxy keys' visible prefix, the provider keys' last four
characters. Request and response content is never stored, so it is not here either.
"""


def _csv(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def build_zip(tables: dict[str, list[dict[str, Any]]], created: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt", README.format(version=FORMAT_VERSION, created=created.isoformat())
        )
        for name, rows in tables.items():
            archive.writestr(f"{name}.json", json.dumps(rows, indent=2, ensure_ascii=False))
            archive.writestr(f"{name}.csv", _csv(rows, _FIELDS[name]))
    return buffer.getvalue()


async def export_zip(session: AsyncSession, user_id: int, created: datetime) -> bytes:
    """The zip's bytes (compressed off the event loop)."""
    tables = await collect(session, user_id)
    return await anyio.to_thread.run_sync(build_zip, tables, created)


def filename(created: datetime) -> str:
    return f"aiusage-export-{created.strftime('%Y%m%d-%H%M%S')}.zip"
