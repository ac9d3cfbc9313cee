"""Proxy keys and provider keys, managed from the browser.

A new proxy key's plaintext never becomes a state var (state is re-sent on every page load):
the creating handler returns it once, as a client-side `set_value` into a read-only input,
in the same reply that shows the "copy it now" panel. Provider keys come in through the form
event, are validated and sealed by the service, and never come back: the page only ever gets
their last four characters.

A key's rules (limits, a budget per day/week/month, model and network allow-lists, an
expiry day) are checked by services/keys.py; here they are only turned from the form's text
into values and back. The edit form sends only the rules whose fields changed, so saving a
key never rewrites what the form cannot show exactly (an expiry set elsewhere at 13:37)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n import catalog
from aiusage.i18n.formatting import format_number
from aiusage.models import ProxyKey, utcnow
from aiusage.money import nano_to_usd, usd_to_nano
from aiusage.services import key_rules, keys
from aiusage.services.errors import NotFound, ServiceError
from aiusage.state.dashboard import TZ_SCRIPT, local_time, usd
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.user import signed_in_user

NEW_KEY_INPUT = "new-key-value"
PROVIDER_LABELS = {"anthropic": "Anthropic", "openai": "OpenAI"}
DEFAULT_PERIOD = "day"
# The form fields of a key's settings (create and edit), as the form names them.
FIELDS = (
    "name",
    "spend_limit",
    "rpm",
    "tpm",
    "budget",
    "budget_period",
    "models",
    "networks",
    "expires",
)


def _error_key(error: ServiceError) -> str:
    key = f"keys.error.{error.code}"
    return key if key in catalog("en") else "common.error_generic"


# --- the form's text <-> the services' values -------------------------------------------


def _usd_input(nano: int | None) -> str:
    """An amount as the form shows it: '20.00', or every digit it has ('0.125')."""
    if nano is None:
        return ""
    value = nano_to_usd(nano)
    cents = value.quantize(Decimal("0.01"))
    return str(cents) if cents == value else format(value.normalize(), "f")


def _parse_usd(text: str) -> int | None:
    text = text.strip().lstrip("$")
    return usd_to_nano(text) if text else None


def _parse_count(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise ServiceError("bad_limit", "not a whole number")
    return int(text)


def _parse_expiry(text: str) -> datetime | None:
    """A day from the date input: the key stops at 00:00 UTC of that day."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ServiceError("bad_expiry", "not a date") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def form_values(key: ProxyKey) -> dict[str, str]:
    """A key's settings as the edit form's fields show them."""
    return {
        "name": key.name,
        "spend_limit": _usd_input(key.spend_limit_nano),
        "rpm": str(key.rpm_limit or ""),
        "tpm": str(key.tpm_limit or ""),
        "budget": _usd_input(key.budget_nano),
        "budget_period": key.budget_period or DEFAULT_PERIOD,
        "models": ", ".join(key_rules.model_patterns(key.allowed_models)),
        "networks": ", ".join(str(n) for n in key_rules.networks(key.allowed_networks)),
        "expires": key.expires_at.astimezone(UTC).date().isoformat() if key.expires_at else "",
    }


def _submitted(form: dict) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in FIELDS}


def parsed_rules(fields: dict[str, str], changed: set[str] | None = None) -> dict[str, Any]:
    """The services' keyword arguments for the given form fields; with `changed`, only the
    rules whose fields changed (an untouched field never rewrites what is stored)."""

    def wanted(*names: str) -> bool:
        return changed is None or bool(changed.intersection(names))

    rules: dict[str, Any] = {}
    if wanted("spend_limit"):
        rules["spend_limit_nano"] = _parse_usd(fields["spend_limit"])
    if wanted("rpm"):
        rules["rpm_limit"] = _parse_count(fields["rpm"])
    if wanted("tpm"):
        rules["tpm_limit"] = _parse_count(fields["tpm"])
    if wanted("budget", "budget_period"):
        # An amount and a period together; without an amount, no budget at all.
        rules["budget_nano"] = _parse_usd(fields["budget"])
        period = fields["budget_period"].strip() or DEFAULT_PERIOD
        rules["budget_period"] = period if rules["budget_nano"] is not None else None
    if wanted("models"):
        rules["allowed_models"] = fields["models"]
    if wanted("networks"):
        rules["allowed_networks"] = fields["networks"]
    if wanted("expires"):
        rules["expires_at"] = _parse_expiry(fields["expires"])
    return rules


# --- the rows ---------------------------------------------------------------------------


def _row(key: ProxyKey, now: datetime, tz: int, lang: str) -> dict[str, str]:
    period = key.budget_period
    budget = key.budget_nano is not None and period in key_rules.PERIODS
    # What the proxy counts for the current period: a spend booked in an earlier one is
    # restarted by the next hold, and reads as nothing spent here.
    current = budget and key.period_start_ms >= key_rules.period_start_ms(period, now)
    expired = key.expires_at is not None and key.expires_at <= now
    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix + "…",
        "created": local_time(key.created_at, tz, lang, seconds=False),
        "last_used": local_time(key.last_used_at, tz, lang, seconds=False),
        "spent": usd(key.spent_nano, lang),
        "limit": usd(key.spend_limit_nano, lang) if key.spend_limit_nano else "",
        "rpm": format_number(key.rpm_limit, lang) if key.rpm_limit else "",
        "tpm": format_number(key.tpm_limit, lang) if key.tpm_limit else "",
        "budget": usd(key.budget_nano, lang) if budget else "",
        "budget_spent": usd(key.period_spent_nano if current else 0, lang) if budget else "",
        "budget_period": f"keys.period.{period}" if budget else "",
        "resets": (
            local_time(key_rules.next_reset(period, now), tz, lang, seconds=False) if budget else ""
        ),
        "models": ", ".join(key_rules.model_patterns(key.allowed_models)),
        "networks": ", ".join(str(n) for n in key_rules.networks(key.allowed_networks)),
        "expires": local_time(key.expires_at, tz, lang, seconds=False),
        "expired": "1" if expired else "",
        "disabled": "1" if key.disabled_at is not None else "",
        "revoked": local_time(key.revoked_at, tz, lang, seconds=False),
    }


class KeysState(rx.State):
    tz_offset: int = 0
    loaded: bool = False
    busy: bool = False
    # Active keys (disabled ones included), then revoked and expired ones.
    active_keys: list[dict[str, str]] = []
    retired_keys: list[dict[str, str]] = []
    provider_keys: list[dict[str, str]] = []
    key_created: bool = False
    created_name: str = ""
    error: str = ""  # catalog keys
    notice: str = ""
    provider_error: str = ""
    provider_notice: str = ""
    provider_choice: str = "anthropic"
    # The edit dialog: which key, its fields as they were when it opened, its error.
    edit_open: bool = False
    edit_key_id: str = ""
    edit_values: dict[str, str] = {}
    edit_error: str = ""

    @rx.event
    def on_load(self):
        self.key_created = False
        self.error = self.notice = self.provider_error = self.provider_notice = ""
        self._close_edit()
        return [
            rx.set_value(NEW_KEY_INPUT, ""),
            rx.call_script(TZ_SCRIPT, callback=KeysState.set_tz),
        ]

    @rx.event
    async def set_tz(self, offset: int | str):
        from aiusage.services.usage import clamp_offset

        self.tz_offset = clamp_offset(offset)
        await self._refresh()

    @rx.event
    async def relocalize(self):
        if self.loaded:
            await self._refresh()

    async def _refresh(self) -> None:
        user = await signed_in_user(self)
        if user is None:
            self.active_keys, self.retired_keys, self.provider_keys = [], [], []
            return
        async with session_scope() as db:
            proxy = await keys.list_proxy_keys(db, user.id)
            provider = await keys.list_provider_keys(db, user.id)
        tz = self.tz_offset
        lang = await page_lang(self)
        now = utcnow()
        rows = [_row(k, now, tz, lang) for k in proxy]
        self.active_keys = [r for r in rows if not (r["revoked"] or r["expired"])]
        self.retired_keys = [r for r in rows if r["revoked"] or r["expired"]]
        self.provider_keys = [
            {
                "provider": p.provider,
                "label": PROVIDER_LABELS.get(p.provider, p.provider),
                "last4": p.last4,
            }
            for p in provider
        ]
        self.loaded = True

    @rx.event
    async def create_key(self, form: dict):
        self.error = self.notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        fields = _submitted(form)
        try:
            rules = parsed_rules(fields)
            async with session_scope() as db:
                _key, plaintext = await keys.create_proxy_key(db, user.id, fields["name"], **rules)
        except ServiceError as error:
            self.error = _error_key(error)
            return None
        self.key_created = True
        self.created_name = fields["name"].strip()[:100]
        await self._refresh()
        # The one reply that carries the key: a client-side value, never a state var.
        return rx.set_value(NEW_KEY_INPUT, plaintext)

    @rx.event
    def dismiss_key(self):
        self.key_created = False
        self.created_name = ""
        return rx.set_value(NEW_KEY_INPUT, "")

    async def _own_key(self, user_id: int, key_id: int | str) -> ProxyKey:
        """The signed-in user's own key, not revoked; anything else is not found."""
        try:
            wanted = int(key_id)
        except (TypeError, ValueError):
            raise NotFound("key_not_found", "No such key.") from None
        async with session_scope() as db:
            found = [k for k in await keys.list_proxy_keys(db, user_id) if k.id == wanted]
        if not found or found[0].revoked_at is not None:
            raise NotFound("key_not_found", "No such key.")
        return found[0]

    def _close_edit(self) -> None:
        self.edit_open = False
        self.edit_key_id = ""
        self.edit_values = {}
        self.edit_error = ""

    @rx.event
    async def open_edit(self, key_id: int | str):
        self.error = self.notice = ""
        self._close_edit()
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        try:
            key = await self._own_key(user.id, key_id)
        except ServiceError as error:
            self.error = _error_key(error)
            return None
        self.edit_key_id = str(key.id)
        self.edit_values = form_values(key)
        self.edit_open = True
        return None

    @rx.event
    def set_edit_open(self, open_: bool):
        if not open_:
            self._close_edit()

    @rx.event
    async def save_edit(self, form: dict):
        self.edit_error = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        fields = _submitted(form)
        try:
            key = await self._own_key(user.id, form.get("key_id"))
            before = form_values(key)
            changed = {name for name in FIELDS if fields[name].strip() != before[name].strip()}
            rules = parsed_rules(fields, changed)
            async with session_scope() as db:
                await keys.update_proxy_key(
                    db,
                    user.id,
                    key.id,
                    name=fields["name"] if "name" in changed else None,
                    **rules,
                )
        except ServiceError as error:
            self.edit_error = _error_key(error)
            return None
        self._close_edit()
        self.notice = "keys.notice.saved"
        await self._refresh()
        return None

    @rx.event
    async def set_key_enabled(self, key_id: int | str, enabled: bool):
        self.error = self.notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        try:
            key_id = int(key_id)
            async with session_scope() as db:
                await keys.set_key_enabled(db, user.id, key_id, bool(enabled))
        except (TypeError, ValueError):
            self.error = "keys.error.key_not_found"
            return None
        except ServiceError as error:
            self.error = _error_key(error)
            return None
        self.notice = "keys.notice.enabled" if enabled else "keys.notice.disabled"
        await self._refresh()
        return None

    @rx.event
    async def revoke(self, key_id: int | str):
        self.error = self.notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        try:
            key_id = int(key_id)
            async with session_scope() as db:
                await keys.revoke_proxy_key(db, user.id, key_id)
        except (TypeError, ValueError):
            self.error = "keys.error.key_not_found"
            return None
        except ServiceError as error:
            self.error = _error_key(error)
            return None
        self.notice = "keys.notice.revoked"
        await self._refresh()
        return None

    @rx.event
    def set_provider_choice(self, value: str):
        if value in keys.PROVIDERS:
            self.provider_choice = value

    @rx.event
    async def save_provider_key(self, form: dict):
        self.provider_error = self.provider_notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        provider = str(form.get("provider") or self.provider_choice)
        secret = str(form.get("provider_key", ""))
        try:
            async with session_scope() as db:
                await keys.set_provider_key(db, user.id, provider, secret)
        except ServiceError as error:
            self.provider_error = _error_key(error)
            return None
        self.provider_notice = "keys.notice.provider_saved"
        await self._refresh()
        return None

    @rx.event
    async def delete_provider_key(self, provider: str):
        self.provider_error = self.provider_notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        try:
            async with session_scope() as db:
                await keys.delete_provider_key(db, user.id, str(provider))
        except ServiceError as error:
            self.provider_error = _error_key(error)
            return None
        self.provider_notice = "keys.notice.provider_deleted"
        await self._refresh()
        return None


relocalize_on("/dashboard/keys", KeysState.relocalize)
