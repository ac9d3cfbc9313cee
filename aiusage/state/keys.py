"""Proxy keys and provider keys, managed from the browser.

A new proxy key's plaintext never becomes a state var (state is re-sent on every page load):
the creating handler returns it once, as a client-side `set_value` into a read-only input,
in the same reply that shows the "copy it now" panel. Provider keys come in through the form
event, are checked with the provider (a key it refuses is not stored), validated and sealed by
the service, and never come back: the page only ever gets their last four characters, and the
health the proxy learned from their answers.

A key's rules (limits, a budget per day/week/month, model and network allow-lists, an
expiry day) are checked by services/keys.py, and read from the form's text by
services/key_forms.py; the rows shown are built in state/key_rows.py. The edit form sends
only the rules whose fields changed, so saving a key never rewrites what the form cannot
show exactly (an expiry set elsewhere at 13:37)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import reflex as rx

from aiusage import routes
from aiusage.db import session_scope
from aiusage.i18n import catalog
from aiusage.models import ProxyKey, utcnow
from aiusage.models.base import id_of
from aiusage.services import key_forms, keys, provider_check, usage_breakdown
from aiusage.services.errors import NotFound, ServiceError
from aiusage.state.key_rows import PROVIDER_LABELS, key_row, pool_row, spend_row
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import LocalTimes, Outcome
from aiusage.state.user import leave_if_signed_out, require_user, signed_in_user

NEW_KEY_INPUT = "new-key-value"
# The provider-key form's fields, emptied by id once a key is saved (a refused key stays
# in the form, to be corrected).
PROVIDER_KEY_INPUT = "provider-key-input"
PROVIDER_LABEL_INPUT = "provider-key-label"
PROVIDER_PRIORITY_INPUT = "provider-key-priority"
REPLACE_KEY_INPUT = "replace-provider-key-input"
SPEND_DAYS = 30


def _error_key(error: ServiceError) -> str:
    key = f"keys.error.{error.code}"
    return key if key in catalog("en") else "common.error_generic"


async def _checked_upstream(provider: str, plaintext: str, user_id: int) -> provider_check.KeyCheck:
    """The provider's word on a key (its format is checked first, without going upstream)."""
    keys.validate_provider_key(provider, plaintext)
    return await provider_check.check_provider_key(provider, plaintext, user_id)


class KeysState(LocalTimes, Outcome, rx.State):
    busy: bool = False
    # Active keys (disabled ones included), then revoked and expired ones.
    active_keys: list[dict[str, str]] = []
    retired_keys: list[dict[str, str]] = []
    # Provider key pools, by provider, in the order the proxy tries them.
    provider_pools: dict[str, list[dict[str, str]]] = {p: [] for p in keys.PROVIDERS}
    provider_spend: list[dict[str, str]] = []  # the last SPEND_DAYS days, per provider key
    key_created: bool = False
    created_name: str = ""
    provider_error: str = ""
    provider_notice: str = ""
    provider_choice: str = "anthropic"
    provider_busy: bool = False  # a check upstream is under way
    provider_check: str = ""  # the add form's "Test": keys.check.<outcome>
    # The provider key being edited (label, priority, weight) or given a new secret.
    provider_edit_open: bool = False
    provider_edit_id: str = ""
    provider_edit_values: dict[str, str] = {}
    provider_edit_error: str = ""
    replace_open: bool = False
    replace_id: str = ""
    replace_name: str = ""
    replace_provider: str = ""
    replace_error: str = ""
    replace_check: str = ""
    # The edit dialog: which key, its fields as they were when it opened, its error.
    edit_open: bool = False
    edit_key_id: str = ""
    edit_values: dict[str, str] = {}
    edit_error: str = ""

    @rx.event
    def on_load(self):
        self.key_created = False
        self.error = self.notice = self.provider_error = self.provider_notice = ""
        self.provider_check = ""
        self.provider_busy = False
        self._close_edit()
        self._close_provider_dialogs()
        return [
            rx.set_value(NEW_KEY_INPUT, ""),
            self._ask_tz(),
        ]

    async def _refresh(self) -> None:
        user = await signed_in_user(self)
        if user is None:
            self.active_keys, self.retired_keys = [], []
            self.provider_pools = {p: [] for p in keys.PROVIDERS}
            self.provider_spend = []
            return
        now = utcnow()
        async with session_scope() as db:
            proxy = await keys.list_proxy_keys(db, id_of(user))
            provider = await keys.list_provider_keys(db, id_of(user))
            spend = await usage_breakdown.spend_by_provider_key(
                db, id_of(user), now - timedelta(days=SPEND_DAYS)
            )
        tz = self.tz_offset
        lang = await page_lang(self)
        rows = [key_row(k, now, tz, lang) for k in proxy]
        self.active_keys = [r for r in rows if not (r["revoked"] or r["expired"])]
        self.retired_keys = [r for r in rows if r["revoked"] or r["expired"]]
        pools: dict[str, list[dict[str, str]]] = {p: [] for p in keys.PROVIDERS}
        for info in provider:
            pools.setdefault(info.provider, []).append(pool_row(info, tz, lang))
        self.provider_pools = pools
        self.provider_spend = [spend_row(s, lang) for s in spend]
        self.loaded = True

    @rx.event
    @leave_if_signed_out()
    async def create_key(self, form: dict):
        self.error = self.notice = ""
        user = await require_user(self)
        fields = key_forms.submitted(form)
        try:
            rules = key_forms.parsed_rules(fields)
            async with session_scope() as db:
                _key, plaintext = await keys.create_proxy_key(
                    db, id_of(user), fields["name"], **rules
                )
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
    @leave_if_signed_out()
    async def open_edit(self, key_id: int | str):
        self.error = self.notice = ""
        self._close_edit()
        user = await require_user(self)
        try:
            key = await self._own_key(id_of(user), key_id)
        except ServiceError as error:
            self.error = _error_key(error)
            return None
        self.edit_key_id = str(key.id)
        self.edit_values = key_forms.form_values(key)
        self.edit_open = True
        return None

    @rx.event
    def set_edit_open(self, open_: bool):
        if not open_:
            self._close_edit()

    @rx.event
    @leave_if_signed_out()
    async def save_edit(self, form: dict):
        self.edit_error = ""
        user = await require_user(self)
        fields = key_forms.submitted(form)
        try:
            key = await self._own_key(id_of(user), form.get("key_id", ""))  # "": not found
            before = key_forms.form_values(key)
            changed = key_forms.changed(fields, before)
            rules = key_forms.parsed_rules(fields, changed)
            async with session_scope() as db:
                await keys.update_proxy_key(
                    db,
                    id_of(user),
                    id_of(key),
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

    async def _change_key(self, key_id: int | str, change: Callable, notice: str) -> None:
        """One change to the user's own proxy key, by the id the page sent (the service
        scopes it by the user: another user's id is not found), then the rows again."""
        self.error = self.notice = ""
        user = await require_user(self)
        try:
            wanted = int(key_id)
            async with session_scope() as db:
                await change(db, user.id, wanted)
        except (TypeError, ValueError):
            self.error = "keys.error.key_not_found"
            return
        except ServiceError as error:
            self.error = _error_key(error)
            return
        self.notice = notice
        await self._refresh()

    @rx.event
    @leave_if_signed_out()
    async def set_key_enabled(self, key_id: int | str, enabled: bool):
        await self._change_key(
            key_id,
            lambda db, user_id, wanted: keys.set_key_enabled(db, user_id, wanted, bool(enabled)),
            "keys.notice.enabled" if enabled else "keys.notice.disabled",
        )

    @rx.event
    @leave_if_signed_out()
    async def revoke(self, key_id: int | str):
        await self._change_key(key_id, keys.revoke_proxy_key, "keys.notice.revoked")

    # --- provider keys ------------------------------------------------------------------

    def _close_provider_dialogs(self) -> None:
        self.provider_edit_open = False
        self.provider_edit_id = ""
        self.provider_edit_values = {}
        self.provider_edit_error = ""
        self.replace_open = False
        self.replace_id = self.replace_name = self.replace_provider = ""
        self.replace_error = self.replace_check = ""

    def _clear_provider_messages(self) -> None:
        self.provider_error = self.provider_notice = self.provider_check = ""

    async def _own_provider_key(self, user_id: int, key_id: object) -> keys.ProviderKeyInfo:
        """The signed-in user's own provider key; anything else is not found."""
        try:
            wanted = int(str(key_id))
        except (TypeError, ValueError):
            raise NotFound("key_not_found", "No such key.") from None
        async with session_scope() as db:
            found = [k for k in await keys.list_provider_keys(db, user_id) if k.id == wanted]
        if not found:
            raise NotFound("key_not_found", "No such key.")
        return found[0]

    async def _provider_key_to_open(self, key_id: object) -> keys.ProviderKeyInfo | None:
        """The user's own provider key a dialog opens on (the other dialogs closed); None,
        the error said, when it is not theirs or not there."""
        self._clear_provider_messages()
        self._close_provider_dialogs()
        user = await require_user(self)
        try:
            return await self._own_provider_key(id_of(user), key_id)
        except ServiceError as error:
            self.provider_error = _error_key(error)
            return None

    async def _tested(self, provider: str, plaintext: object, user_id: int) -> tuple[str, str]:
        """A "Test" button's answer, as catalog keys: the provider's word on the key, or the
        error when its format is refused here. The handler made the buttons busy before its
        first yield; they are free again once this returns."""
        try:
            check = await _checked_upstream(provider, str(plaintext or ""), user_id)
        except ServiceError as error:
            return "", _error_key(error)
        finally:
            self.provider_busy = False
        return f"keys.check.{check.outcome}", ""

    @rx.event
    def set_provider_choice(self, value: str):
        if value in keys.PROVIDERS:
            self.provider_choice = value
            self.provider_check = ""

    @rx.event
    @leave_if_signed_out()
    async def check_new_key(self, plaintext: str):
        """The add form's "Test": asks the provider about the key typed, stores nothing."""
        self._clear_provider_messages()
        user = await require_user(self)
        self.provider_busy = True
        yield
        tested = await self._tested(self.provider_choice, plaintext, id_of(user))
        self.provider_check, self.provider_error = tested

    @rx.event
    @leave_if_signed_out()
    async def save_provider_key(self, form: dict):
        """Adds a key to the pool of its provider, once the provider has not refused it:
        refused, nothing is stored; not reachable, it is stored and the notice says so."""
        self._clear_provider_messages()
        user = await require_user(self)
        provider = str(form.get("provider") or self.provider_choice)
        secret = str(form.get("provider_key") or "")
        self.provider_busy = True
        yield
        try:
            priority = key_forms.pool_number(form.get("priority"), "bad_priority")
            check = await _checked_upstream(provider, secret, id_of(user))
            if check.outcome == "refused":
                self.provider_error = "keys.error.provider_refused"
                return
            async with session_scope() as db:
                await keys.add_provider_key(
                    db,
                    id_of(user),
                    provider,
                    secret,
                    label=str(form.get("label") or ""),
                    priority=priority,
                )
        except ServiceError as error:
            self.provider_error = _error_key(error)
            return
        finally:
            self.provider_busy = False
        self.provider_notice = (
            "keys.notice.provider_saved"
            if check.outcome == "ok"
            else "keys.notice.provider_saved_unchecked"
        )
        await self._refresh()
        yield [
            rx.set_value(PROVIDER_KEY_INPUT, ""),
            rx.set_value(PROVIDER_LABEL_INPUT, ""),
            rx.set_value(PROVIDER_PRIORITY_INPUT, ""),
        ]

    @rx.event
    @leave_if_signed_out()
    async def open_provider_edit(self, key_id: int | str):
        info = await self._provider_key_to_open(key_id)
        if info is None:
            return
        self.provider_edit_id = str(info.id)
        self.provider_edit_values = {
            "label": info.label,
            "priority": str(info.priority),
            "weight": str(info.weight),
            "name": PROVIDER_LABELS.get(info.provider, info.provider) + " ••••" + info.last4,
        }
        self.provider_edit_open = True

    @rx.event
    def set_provider_edit_open(self, open_: bool):
        if not open_:
            self._close_provider_dialogs()

    @rx.event
    @leave_if_signed_out()
    async def save_provider_edit(self, form: dict):
        self.provider_edit_error = ""
        user = await require_user(self)
        try:
            key_id = int(str(form.get("key_id") or ""))
        except ValueError:
            self.provider_edit_error = "keys.error.key_not_found"
            return None
        try:
            priority = key_forms.pool_number(form.get("priority"), "bad_priority")
            weight = key_forms.pool_number(form.get("weight"), "bad_weight")
            async with session_scope() as db:
                await keys.update_provider_key(
                    db,
                    id_of(user),
                    key_id,
                    label=str(form.get("label") or ""),
                    priority=priority,
                    weight=weight,
                )
        except ServiceError as error:
            self.provider_edit_error = _error_key(error)
            return None
        self._close_provider_dialogs()
        self._clear_provider_messages()
        self.provider_notice = "keys.notice.provider_updated"
        await self._refresh()
        return None

    @rx.event
    @leave_if_signed_out()
    async def open_provider_replace(self, key_id: int | str):
        info = await self._provider_key_to_open(key_id)
        if info is None:
            return
        self.replace_id = str(info.id)
        self.replace_provider = info.provider
        label = f"{info.label} " if info.label else ""
        provider = PROVIDER_LABELS.get(info.provider, info.provider)
        self.replace_name = f"{provider}: {label}••••{info.last4}"
        self.replace_open = True

    @rx.event
    def set_replace_open(self, open_: bool):
        if not open_:
            self._close_provider_dialogs()

    @rx.event
    @leave_if_signed_out()
    async def check_replacement_key(self, plaintext: str):
        """The replace dialog's "Test": the new secret, checked with the key's provider."""
        self.replace_error = self.replace_check = ""
        user = await require_user(self)
        if not self.replace_open:
            return
        self.provider_busy = True
        yield
        tested = await self._tested(self.replace_provider, plaintext, id_of(user))
        self.replace_check, self.replace_error = tested

    @rx.event
    @leave_if_signed_out()
    async def save_provider_replace(self, form: dict):
        """A new secret for a pool key (what the proxy learned about the old one is cleared),
        checked upstream first as a new key is."""
        self.replace_error = self.replace_check = ""
        user = await require_user(self)
        secret = str(form.get("provider_key") or "")
        self.provider_busy = True
        yield
        try:
            # The key id the form sent, as the user's own key (its provider from the store).
            info = await self._own_provider_key(id_of(user), form.get("key_id"))
            check = await _checked_upstream(info.provider, secret, id_of(user))
            if check.outcome == "refused":
                self.replace_error = "keys.error.provider_refused"
                return
            async with session_scope() as db:
                await keys.update_provider_key(db, id_of(user), info.id, plaintext=secret)
        except ServiceError as error:
            self.replace_error = _error_key(error)
            return
        finally:
            self.provider_busy = False
        self._close_provider_dialogs()
        self._clear_provider_messages()
        self.provider_notice = (
            "keys.notice.provider_replaced"
            if check.outcome == "ok"
            else "keys.notice.provider_replaced_unchecked"
        )
        await self._refresh()

    @rx.event
    @leave_if_signed_out()
    async def remove_provider_key(self, key_id: int | str):
        self._clear_provider_messages()
        user = await require_user(self)
        try:
            wanted = int(str(key_id))
        except ValueError:
            self.provider_error = "keys.error.key_not_found"
            return None
        try:
            async with session_scope() as db:
                await keys.delete_provider_key_by_id(db, id_of(user), wanted)
        except ServiceError as error:
            self.provider_error = _error_key(error)
            return None
        self.provider_notice = "keys.notice.provider_deleted"
        await self._refresh()
        return None


relocalize_on(routes.KEYS, KeysState.relocalize)
