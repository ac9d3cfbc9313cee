"""The console's Prices page (/admin/prices): the price table with each row's source and
history, the queue of models billed at the default price, and the list prices proposed by
the genai-prices package.

Thin: every read and change is a service call (services/price_admin.py, price_sync.py),
which checks the operator's role itself; the state keeps display strings. A change names its
model from what the state holds (the row or queue entry opened), never from a renamed field
of the form; accepting a proposal names it, and the proposal is computed again on the server."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n import catalog
from aiusage.i18n.formatting import format_number
from aiusage.services import price_admin, price_sync, pricing
from aiusage.services.errors import ServiceError
from aiusage.state.console import ConsoleState
from aiusage.state.dashboard import local_time
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import LocalTimes

ROUTE = "/admin/prices"
FORM_FIELDS = (*price_admin.PRICE_FIELDS, "source")


def _error_key(error: ServiceError) -> str:
    known = catalog("en")
    for key in (f"prices.error.{error.code}", f"console.error.{error.code}"):
        if key in known:
            return key
    return "console.error.generic"


def _blank(provider: str = "anthropic", model: str = "") -> dict[str, str]:
    return {**dict.fromkeys(FORM_FIELDS, ""), "provider": provider, "model": model}


def _changes_text(changes: Iterable[price_admin.Change], lang: str, *, new: bool = False) -> str:
    """'Input 3 → 4 · Output 15 → 20', in the page's language ('—' for none); a new row's
    values alone ('Input 3 · Output 15')."""
    labels = catalog(lang)
    return " · ".join(
        f"{labels[f'prices.field.{c.field}']} "
        + (c.after if new else f"{c.before or '—'} → {c.after or '—'}")
        for c in changes
    )


def _at(moment: datetime | None, tz: int, lang: str) -> str:
    return local_time(moment, tz, lang, seconds=False)


def _row(row: price_admin.PriceRow, tz: int, lang: str) -> dict[str, str]:
    v = row.values
    source = row.source
    return {
        **v,
        "key": f"{v['provider']}:{v['model']}",
        "max_output_view": format_number(int(v["max_output_tokens"]), lang)
        if v["max_output_tokens"]
        else "",
        "long_view": (
            f"> {format_number(int(v['long_threshold']), lang)}: "
            f"{v['long_input']} / {v['long_output']}"
            if v["long_threshold"]
            else ""
        ),
        "source": source.text if source else "",
        "source_by": source.actor if source else "",
        "source_at": _at(source.at, tz, lang) if source and source.at else "",
        "seed": source.seed if source else "",
        "updated": _at(row.updated_at, tz, lang),
    }


class ConsolePricesState(LocalTimes, ConsoleState):
    can_edit: bool = False
    rows: list[dict[str, str]] = []
    queue: list[dict[str, str]] = []
    # "Check list prices": the package's version and its proposals (key, provider, model,
    # kind, changes, source).
    checking: bool = False
    proposals_checked: bool = False
    list_version: str = ""
    list_sources: str = ""  # the providers' pricing pages the proposals cite
    proposals: list[dict[str, str]] = []
    # The price form: the model it edits (fixed for a row of the table), its fields as they
    # were when it opened, and the refusal of the last save (catalog keys).
    edit_open: bool = False
    edit_existing: bool = False
    edit_values: dict[str, str] = {}
    edit_prefill: str = ""  # "listed" | "not_listed" | "" (opened from the queue or not)
    edit_error: str = ""
    edit_error_field: str = ""
    history_open: bool = False
    history_model: str = ""
    history: list[dict[str, str]] = []

    # --- loading ------------------------------------------------------------------------

    @rx.event
    async def load(self):
        self.error = self.notice = ""
        self.loaded = self.proposals_checked = self.checking = False
        self.proposals = []
        self._close_edit()
        self._close_history()
        await self.operator()
        return self._ask_tz()

    async def _redraw(self, *, language: bool) -> None:
        await self._refresh()
        if language and self.proposals_checked:
            await self._check()

    async def _refresh(self) -> None:
        operator = await self.operator()
        if operator is None:
            return
        self.can_edit = operator.may("prices")
        lang = await page_lang(self)
        tz = self.tz_offset
        async with session_scope() as db:
            rows = await price_admin.table(db)
            queue = await price_admin.unknown_models(db)
        self.rows = [_row(row, tz, lang) for row in rows]
        self.queue = [
            {
                "key": f"{u.provider}:{u.model}",
                "provider": u.provider,
                "model": u.model,
                "requests": format_number(u.requests, lang),
                "last_seen": _at(u.last_seen, tz, lang),
            }
            for u in queue
        ]
        self.loaded = True

    def _fail(self, error: ServiceError) -> None:
        self.error, self.notice = _error_key(error), ""

    # --- the price form -----------------------------------------------------------------

    def _form_for(self, items: list[dict[str, str]], key: str, gone: str) -> dict[str, str] | None:
        """The row or queue entry a button names, as the form opens on it (the outcome and
        any open form cleared first); None, "price not found" said, when it is not there."""
        self.error = self.notice = ""
        self._close_edit()
        found = next((item for item in items if item["key"] == str(key)), None)
        if found is None:
            self._fail(ServiceError("price_not_found", gone))
        return found

    def _close_edit(self) -> None:
        self.edit_open = self.edit_existing = False
        self.edit_values = {}
        self.edit_prefill = self.edit_error = self.edit_error_field = ""

    @rx.event
    def set_edit_open(self, open_: bool):
        if not open_:
            self._close_edit()

    @rx.event
    def open_new(self):
        self.error = self.notice = ""
        self._close_edit()
        self.edit_values = _blank()
        self.edit_open = True

    @rx.event
    async def open_edit(self, key: str):
        row = self._form_for(self.rows, key, "no such row")
        if row is None:
            return
        async with session_scope() as db:
            found = await price_admin.find(db, row["provider"], row["model"])
        if found is None:  # removed meanwhile
            self._fail(ServiceError("price_not_found", "no such row"))
            await self._refresh()
            return
        self.edit_values = {**_blank(), **price_admin.values_of(found)}
        self.edit_existing = True
        self.edit_open = True

    @rx.event
    async def price_unknown(self, key: str):
        """The queue's "Price it": the form for that model, prefilled with its list price
        when the package knows it."""
        entry = self._form_for(self.queue, key, "no such queue entry")
        if entry is None:
            return
        provider = entry["provider"]
        # The name without its date suffix prices every dated release (the proxy's lookup).
        values = _blank(provider, pricing.undated(entry["model"]))
        listed = await price_sync.suggestion(provider, entry["model"])
        if listed is not None:
            values.update(listed.fields)
            values["source"] = listed.source
        self.edit_values = values
        self.edit_prefill = "listed" if listed is not None else "not_listed"
        self.edit_open = True

    @rx.event
    async def save(self, form: dict):
        self.edit_error = self.edit_error_field = ""
        operator = await self.operator()
        if operator is None:
            return
        form = form if isinstance(form, dict) else {}  # a forged event's payload
        fields = {name: form.get(name) for name in FORM_FIELDS}
        if self.edit_existing:  # a row of the table keeps its name
            fields["provider"] = self.edit_values.get("provider", "")
            fields["model"] = self.edit_values.get("model", "")
        try:
            operator.require("prices")  # a reading role is refused before its values are read
            data = price_admin.parse_form(fields)
            source = price_admin.checked_source(fields["source"], required=True)
            async with session_scope() as db:
                await price_admin.save_price(db, operator, data, source=source)
        except price_admin.PriceFieldError as error:
            self.edit_error = _error_key(error)
            self.edit_error_field = f"prices.field.{error.field}"
            return
        except ServiceError as error:
            self.edit_error = _error_key(error)
            return
        await self._changed("prices.notice.saved")
        if self.proposals_checked:
            await self._check()

    async def _changed(self, notice: str) -> None:
        """After a change to the price list: the form closed, the notice said, the table
        anew."""
        self._close_edit()
        self.error, self.notice = "", notice
        await self._refresh()

    @rx.event
    async def delete(self):
        operator = await self.operator()
        if operator is None or not self.edit_existing:
            return
        provider = self.edit_values.get("provider", "")
        model = self.edit_values.get("model", "")
        try:
            async with session_scope() as db:
                await price_admin.delete_price(db, operator, provider, model)
        except ServiceError as error:
            self.edit_error = _error_key(error)
            return
        await self._changed("prices.notice.deleted")

    # --- history ------------------------------------------------------------------------

    def _close_history(self) -> None:
        self.history_open = False
        self.history_model = ""
        self.history = []

    @rx.event
    def set_history_open(self, open_: bool):
        if not open_:
            self._close_history()

    @rx.event
    async def open_history(self, key: str):
        self.error = self.notice = ""
        row = next((r for r in self.rows if r["key"] == str(key)), None)
        if row is None or await self.operator() is None:
            return
        lang = await page_lang(self)
        async with session_scope() as db:
            entries = await price_admin.history(db, row["provider"], row["model"])
        self.history = [
            {
                "at": _at(e.at, self.tz_offset, lang),
                "actor": e.actor,
                "action": "prices.history.delete"
                if e.action == price_admin.DELETE
                else "prices.history.set",
                "changes": _changes_text(e.changes, lang),
                "source": e.source,
            }
            for e in entries
        ]
        self.history_model = f"{row['provider']} · {row['model']}"
        self.history_open = True

    # --- list prices ----------------------------------------------------------------------

    async def _check(self) -> None:
        lang = await page_lang(self)
        async with session_scope() as db:
            found = await price_sync.proposals(db)
        self.list_version = price_sync.package_version()
        self.proposals = [
            {
                "key": p.key,
                "provider": p.provider,
                "model": p.model,
                "kind": f"prices.sync.kind.{p.kind}",
                "changes": _changes_text(p.changes, lang, new=p.kind == "new"),
            }
            for p in found
        ]
        self.list_sources = " · ".join(dict.fromkeys(p.source for p in found))
        self.proposals_checked = True

    @rx.event
    async def check_list_prices(self):
        self.error = self.notice = ""
        if await self.operator() is None:
            return
        self.checking = True
        yield
        try:
            await self._check()
        finally:
            self.checking = False

    @rx.event
    async def accept(self, key: str):
        await self._accept([str(key)])

    @rx.event
    async def accept_all(self):
        await self._accept(None)

    async def _accept(self, keys: list[str] | None) -> None:
        self.error = self.notice = ""
        operator = await self.operator()
        if operator is None:
            return
        try:
            async with session_scope() as db:
                await price_sync.accept(db, operator, keys)
        except ServiceError as error:
            self._fail(error)
            return
        self.notice = "prices.notice.accepted"
        await self._refresh()
        await self._check()


relocalize_on(ROUTE, ConsolePricesState.relocalize)
