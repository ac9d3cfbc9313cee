"""The onsite assistant's platform account and its proxy key (services/assistant.py has the
conversations, services/assistant_model.py the model call).

The assistant is on when a platform key is configured: only the first is used (OpenAI's,
else Anthropic's); with neither, the assistant is off and its button hidden. Its questions
go as ordinary requests to this server's own proxy (loopback, the port `reflex run` serves
on), authenticated with a proxy key of a platform account the app keeps for the assistant:
held, metered and charged like any request, the usage row that account's ("metered to the
platform").

The platform account (`assistant@<site host>.invalid`) never signs in: no password, an
address no mail can reach (so no reset link or Google identity can ever open it), no alert
mails. Its credit comes from grants, each a ledger row, topped up to CREDIT_TARGET when a new
key is made and the balance is under CREDIT_FLOOR. Its proxy key is made by each process
when it starts (or first needs one), kept only in this process's memory, limited to the
assistant's model, a daily budget, a request rate, loopback callers and two days of life;
nothing stores, logs or shows it. An operator who suspends the account turns the assistant
off (its key is refused; the panel says the assistant cannot answer)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import Settings, get_settings
from aiusage.db import session_scope
from aiusage.i18n import DEFAULT as DEFAULT_LANGUAGE
from aiusage.models import User, utcnow
from aiusage.models.base import id_of
from aiusage.money import usd_to_nano
from aiusage.services import accounts, billing, keys
from aiusage.services.errors import ServiceError

log = logging.getLogger("aiusage.assistant")

# The models asked (the key allows these only): cheap, fast, non-reasoning, in the seeded
# price table.
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}

# The platform account's money: it is charged like anyone; grants keep it able to pay.
CREDIT_FLOOR_NANO = usd_to_nano("5")
CREDIT_TARGET_NANO = usd_to_nano("20")
CREDIT_DESCRIPTION = "Onsite assistant: platform credit"
# Its key: what a leaked copy could do at most (a day's budget, the one model, loopback).
KEY_NAME = "onsite assistant"
KEY_BUDGET_NANO = usd_to_nano("5")  # a day
KEY_RPM = 60
KEY_LIFETIME = timedelta(days=2)
KEY_RENEW_SECONDS = 86_400.0  # a process makes a new key after a day
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"


# --- on or off, and where the proxy is ------------------------------------------------------


def provider(settings: Settings | None = None) -> str | None:
    """The provider whose platform key the assistant uses, or None: the assistant is off."""
    settings = settings or get_settings()
    if settings.platform_openai_key:
        return "openai"
    if settings.platform_anthropic_key:
        return "anthropic"
    return None


def enabled(settings: Settings | None = None) -> bool:
    return provider(settings) is not None


def proxy_base() -> tuple[str, bool]:
    """This server's own address and whether it is loopback. `reflex run` hands its backend
    the port in REFLEX_BACKEND_PORT; without one (an unusual set-up) the site's URL is used."""
    port = os.environ.get("REFLEX_BACKEND_PORT", "")
    host = os.environ.get("REFLEX_BACKEND_HOST", "0.0.0.0")  # Reflex's default: every address
    if port.isdigit():
        if host in ("", "0.0.0.0", "127.0.0.1", "localhost"):
            return f"http://127.0.0.1:{port}", True
        if host in ("::", "::1"):
            return f"http://[::1]:{port}", True
        return f"http://{host}:{port}", False
    return get_settings().site_url.rstrip("/"), False


# --- the platform account and its key -------------------------------------------------------


def account_email(settings: Settings | None = None) -> str:
    """The assistant's platform account: the site's host under .invalid, which no mail
    reaches (RFC 6761), so no mailed link can ever sign into it."""
    host = urlsplit((settings or get_settings()).site_url).hostname or "localhost"
    return f"assistant@{host.lower().strip('[]').replace(':', '-')}.invalid"


async def ensure_account(session: AsyncSession) -> User:
    """The platform account, created on first use (a concurrent creation wins the race)."""
    address = account_email()
    user = await accounts.get_by_email(session, address)
    if user is not None:
        return user
    user = User(
        email=address,
        password_hash=None,  # no password: cannot sign in
        email_verified_at=None,
        locale=DEFAULT_LANGUAGE,
        marketing_opt_out=True,
        low_balance_threshold_nano=0,  # no alert mails
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:  # another process made it
        found = await accounts.get_by_email(session, address)
        assert found is not None
        return found
    return user


async def ensure_credit(session: AsyncSession, user: User) -> None:
    """Tops the account up to CREDIT_TARGET when it is under CREDIT_FLOOR: a grant, with its
    ledger row, like any credit."""
    await session.refresh(user)
    if user.balance_nano < CREDIT_FLOOR_NANO:
        await billing.grant(
            session, id_of(user), CREDIT_TARGET_NANO - user.balance_nano, CREDIT_DESCRIPTION
        )


@dataclass
class _Key:
    secret: str
    renew_at: float  # time.monotonic()

    def __repr__(self) -> str:  # never printed, whatever prints it
        return "_Key(<hidden>)"


_key: _Key | None = None
_key_lock: asyncio.Lock | None = None


async def _new_key() -> _Key:
    loopback = proxy_base()[1]
    async with session_scope() as session:
        user = await ensure_account(session)
        if user.closed_at is not None:
            raise ServiceError("unavailable", "The assistant's account is closed.")
        await ensure_credit(session, user)
        _row, secret = await keys.create_proxy_key(
            session,
            id_of(user),
            KEY_NAME,
            allowed_models=",".join(MODELS.values()),
            rpm_limit=KEY_RPM,
            budget_nano=KEY_BUDGET_NANO,
            budget_period="day",
            budget_alerts="",
            expires_at=utcnow() + KEY_LIFETIME,
            allowed_networks=LOOPBACK_NETWORKS if loopback else None,
        )
    return _Key(secret, time.monotonic() + KEY_RENEW_SECONDS)


async def proxy_key(*, renew: bool = False) -> str:
    """This process's key for the assistant's requests (made when missing, old or refused)."""
    global _key, _key_lock
    if _key_lock is None:
        _key_lock = asyncio.Lock()
    async with _key_lock:
        if renew or _key is None or time.monotonic() >= _key.renew_at:
            _key = await _new_key()
        return _key.secret


def forget_key() -> None:
    global _key
    _key = None


async def start() -> None:
    """At the app's start: the account, its credit and this process's key, if the assistant
    is on. A failure leaves it to the first question (and says so, without details)."""
    if not enabled():
        return
    try:
        await proxy_key(renew=True)
    except Exception as error:
        log.warning("the assistant's platform account is not ready: %s", type(error).__name__)
