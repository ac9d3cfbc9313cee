"""Proxy keys and provider keys, managed from the browser.

A new proxy key's plaintext never becomes a state var (state is re-sent on every page load):
the creating handler returns it once, as a client-side `set_value` into a read-only input,
in the same reply that shows the "copy it now" panel. Provider keys come in through the form
event, are validated and sealed by the service, and never come back: the page only ever gets
their last four characters."""

from __future__ import annotations

import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n import catalog
from aiusage.i18n.formatting import format_number
from aiusage.money import usd_to_nano
from aiusage.services import keys
from aiusage.services.errors import ServiceError
from aiusage.state.dashboard import TZ_SCRIPT, local_time, usd
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.user import signed_in_user

NEW_KEY_INPUT = "new-key-value"
PROVIDER_LABELS = {"anthropic": "Anthropic", "openai": "OpenAI"}


def _error_key(error: ServiceError) -> str:
    key = f"keys.error.{error.code}"
    return key if key in catalog("en") else "common.error_generic"


class KeysState(rx.State):
    tz_offset: int = 0
    loaded: bool = False
    busy: bool = False
    proxy_keys: list[dict[str, str]] = []
    provider_keys: list[dict[str, str]] = []
    key_created: bool = False
    created_name: str = ""
    error: str = ""  # catalog keys
    notice: str = ""
    provider_error: str = ""
    provider_notice: str = ""
    provider_choice: str = "anthropic"

    @rx.event
    def on_load(self):
        self.key_created = False
        self.error = self.notice = self.provider_error = self.provider_notice = ""
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
            self.proxy_keys, self.provider_keys = [], []
            return
        async with session_scope() as db:
            proxy = await keys.list_proxy_keys(db, user.id)
            provider = await keys.list_provider_keys(db, user.id)
        tz = self.tz_offset
        lang = await page_lang(self)
        self.proxy_keys = [
            {
                "id": str(k.id),
                "name": k.name,
                "prefix": k.prefix + "…",
                "created": local_time(k.created_at, tz, lang, seconds=False),
                "last_used": local_time(k.last_used_at, tz, lang, seconds=False),
                "spent": usd(k.spent_nano, lang),
                "limit": usd(k.spend_limit_nano, lang) if k.spend_limit_nano else "",
                "rpm": format_number(k.rpm_limit, lang) if k.rpm_limit else "",
                "revoked": local_time(k.revoked_at, tz, lang, seconds=False),
            }
            for k in proxy
        ]
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
        name = str(form.get("name", ""))
        limit_text = str(form.get("spend_limit", "")).strip().lstrip("$")
        rpm_text = str(form.get("rpm", "")).strip()
        try:
            limit = usd_to_nano(limit_text) if limit_text else None
            if rpm_text and not (rpm_text.isascii() and rpm_text.isdigit() and len(rpm_text) <= 9):
                raise ServiceError("bad_limit", "rpm")
            rpm = int(rpm_text) if rpm_text else None
            async with session_scope() as db:
                _key, plaintext = await keys.create_proxy_key(
                    db, user.id, name, spend_limit_nano=limit, rpm_limit=rpm
                )
        except ServiceError as error:
            self.error = _error_key(error)
            return None
        self.key_created = True
        self.created_name = name.strip()[:100]
        await self._refresh()
        # The one reply that carries the key: a client-side value, never a state var.
        return rx.set_value(NEW_KEY_INPUT, plaintext)

    @rx.event
    def dismiss_key(self):
        self.key_created = False
        self.created_name = ""
        return rx.set_value(NEW_KEY_INPUT, "")

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
