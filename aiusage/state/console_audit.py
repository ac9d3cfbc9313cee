"""The audit log (/admin/audit): its entries, newest first, 50 a page, filtered by action
(exact, or a prefix ending in "."), target, actor and a range of UTC days. Read only: there is
no event here, nor anywhere, that changes an entry (the database refuses it too).

The filters can come in the page's address (`?action=credit.&target_type=user&target_id=5`),
so another console page can link to an account's entries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import reflex as rx
from reflex_base.event import EventSpec

from aiusage.db import session_scope
from aiusage.i18n.formatting import format_datetime
from aiusage.models import AuditEntry
from aiusage.services import audit
from aiusage.services.errors import ServiceError
from aiusage.services.text import checked_text
from aiusage.state.console import ConsoleState
from aiusage.state.locale import page_lang, relocalize_on

ROUTE = "/admin/audit"
# Form field (and address parameter) → (input id, longest value the column holds).
FIELDS: dict[str, tuple[str, int]] = {
    "action": ("audit-action", 64),
    "target_type": ("audit-target-type", 32),
    "target_id": ("audit-target-id", 128),
    "actor": ("audit-actor", 320),
    "from": ("audit-from", 10),
    "to": ("audit-to", 10),
}


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError("audit_bad_date", "Give dates as YYYY-MM-DD.") from None


def parse_filter(values: Mapping[str, Any]) -> tuple[dict[str, str], audit.AuditFilter]:
    """The form's (or the address's) values, cleaned, and the filter they make. The day range
    is in UTC and includes both days."""
    clean: dict[str, str] = {}
    for name, (_, longest) in FIELDS.items():
        clean[name] = checked_text(
            values.get(name, ""), code="audit_filter_invalid", max_chars=longest
        )
    since, until = _day(clean["from"]), _day(clean["to"])
    if since and until and since > until:
        raise ServiceError("audit_bad_date", "The first day is after the last.")
    return clean, audit.AuditFilter(
        action=clean["action"],
        target_type=clean["target_type"],
        target_id=clean["target_id"],
        actor=clean["actor"],
        since=datetime.combine(since, datetime.min.time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
        if until
        else None,
    )


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"": text}  # not JSON (never written so): shown as it is
    return value if isinstance(value, dict) else {"": value}


def change_lines(before: str, after: str) -> str:
    """Before → after, one field a line: `status: open → closed`; a field that did not
    change is shown once (`status: open`)."""
    old, new = _object(before), _object(after)
    lines = []
    for key in sorted(old.keys() | new.keys()):
        label = f"{key}: " if key else ""
        if key in old and key in new and old[key] == new[key]:
            lines.append(f"{label}{_shown(new[key])}")
        else:
            lines.append(f"{label}{_shown(old.get(key))} → {_shown(new.get(key))}")
    return "\n".join(lines)


def entry_view(entry: AuditEntry, lang: str) -> dict[str, str]:
    return {
        "id": str(entry.id),
        "when": format_datetime(entry.created_at, lang, seconds=True),  # UTC, labelled
        "actor": entry.actor,
        "action": entry.action,
        "target": f"{entry.target_type} {entry.target_id}",
        "target_link": f"/admin/users/{entry.target_id}" if entry.target_type == "user" else "",
        "reason": entry.reason,
        "changes": change_lines(entry.before, entry.after),
    }


class ConsoleAuditState(ConsoleState):
    rows: list[dict[str, str]] = []
    has_older: bool = False
    paged: bool = False
    loaded: bool = False
    _values: dict[str, str] = {}  # the filter's cleaned values
    _before_id: int | None = None

    async def _reload(self) -> None:
        actor = await self.operator()
        if actor is None:
            return
        try:
            _, wanted = parse_filter(self._values)
        except ServiceError as error:
            self.outcome(error)
            return
        async with session_scope() as db:
            found = await audit.entries(
                db, wanted, before_id=self._before_id, limit=audit.PAGE_SIZE + 1
            )
        lang = await page_lang(self)
        shown = found[: audit.PAGE_SIZE]
        self.rows = [entry_view(entry, lang) for entry in shown]
        self.has_older = len(found) > len(shown)
        self.paged = self._before_id is not None
        self.loaded = True

    def _show_values(self) -> list[EventSpec]:
        """The form's inputs set to the filter in use (they are not bound to the state, so
        typing costs no event)."""
        return [rx.set_value(i, self._values.get(name, "")) for name, (i, _) in FIELDS.items()]

    @rx.event
    async def load(self):
        self.error = self.notice = ""
        self._before_id = None
        params = self.router.url.query_parameters
        try:
            self._values, _ = parse_filter({name: str(params.get(name, "")) for name in FIELDS})
        except ServiceError as error:
            self._values = {}
            self.outcome(error)
        await self._reload()
        return self._show_values()

    @rx.event
    async def relocalize(self):
        if self.loaded:
            await self._reload()

    @rx.event
    async def apply_filters(self, form: dict):
        if not isinstance(form, dict):
            return None
        self.error = self.notice = ""
        try:
            self._values, _ = parse_filter(form)
        except ServiceError as error:
            self.outcome(error)  # the list stays as it was, the form as typed
            return None
        self._before_id = None
        await self._reload()
        return None

    @rx.event
    async def clear_filters(self):
        self.error = self.notice = ""
        self._values, self._before_id = {}, None
        await self._reload()
        return self._show_values()

    @rx.event
    async def older(self):
        if self.has_older and self.rows:
            self._before_id = int(self.rows[-1]["id"])
            await self._reload()

    @rx.event
    async def newest(self):
        self._before_id = None
        await self._reload()


relocalize_on(ROUTE, ConsoleAuditState.relocalize)
