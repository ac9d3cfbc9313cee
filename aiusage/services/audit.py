"""The audit log: every console and CLI action that changes something — who, when, what,
before and after, and why. Append-only: this module only inserts and reads (the database
refuses updates and deletes of the table, migration 0014)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.models import AuditEntry

if TYPE_CHECKING:
    from aiusage.services.roles import Operator

PAGE_SIZE = 50


def _json(values: dict[str, Any] | None) -> str:
    # default=str: datetimes and Decimals as text; sorted keys so entries compare stably.
    return json.dumps(values or {}, default=str, sort_keys=True, ensure_ascii=False)


async def record(
    db: AsyncSession,
    actor: Operator,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Adds one entry in the caller's transaction: the change and its record commit together."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor=actor.label[:320],
        action=action[:64],
        target_type=target_type[:32],
        target_id=str(target_id)[:128],
        reason=reason[:500],
        before=_json(before),
        after=_json(after),
    )
    db.add(entry)
    await db.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""  # exact, or a prefix ending in "." ("credit.")
    target_type: str = ""
    target_id: str = ""
    actor: str = ""  # the actor's label, exact
    since: datetime | None = None
    until: datetime | None = None


async def entries(
    db: AsyncSession, f: AuditFilter, *, before_id: int | None = None, limit: int = PAGE_SIZE
) -> list[AuditEntry]:
    """Newest first, `limit` at most, older than `before_id` (the page's last id)."""
    where: list[sa.ColumnElement[bool]] = []
    if f.action.endswith("."):
        where.append(col(AuditEntry.action).startswith(f.action, autoescape=True))
    elif f.action:
        where.append(col(AuditEntry.action) == f.action)
    if f.target_type:
        where.append(col(AuditEntry.target_type) == f.target_type)
    if f.target_id:
        where.append(col(AuditEntry.target_id) == f.target_id)
    if f.actor:
        where.append(col(AuditEntry.actor) == f.actor)
    if f.since is not None:
        where.append(col(AuditEntry.created_at) >= f.since)
    if f.until is not None:
        where.append(col(AuditEntry.created_at) < f.until)
    if before_id is not None:
        where.append(col(AuditEntry.id) < before_id)
    rows = await db.execute(
        sa.select(AuditEntry)
        .where(*where)
        .order_by(col(AuditEntry.id).desc())
        .limit(max(1, min(limit, 500)))
    )
    return list(rows.scalars())
