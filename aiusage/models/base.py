"""Column types and helpers shared by every table: UTC times, money, flags, foreign keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _Stored) -> int:
    """A stored row's primary key. Models type `id` as `int | None` (None until the first
    flush); a row read from the database or flushed always has one."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: not flushed")
    return row.id


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Core Table, whose `.c` columns mypy knows as columns (for hot paths that
    skip the ORM)."""
    # SQLModel's class declares no __table__; SQLAlchemy's declarative sets it on every
    # table=True model.
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware UTC datetime (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times as aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, _dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_col(*, nullable: bool = True, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def created_col() -> Column:
    return Column(UTCDateTime(), nullable=False, default=utcnow)


def count_col() -> Column:
    return Column(sa.BigInteger(), nullable=False, default=0)


def money_col(*, nullable: bool = False) -> Column:
    return Column(sa.BigInteger(), nullable=nullable, default=0 if not nullable else None)


def flag_col() -> Column:
    return Column(sa.Boolean(), nullable=False, default=False, server_default=sa.false())


def fk_col(target: str, *, index: bool = True, nullable: bool = False) -> Column:
    return Column(sa.Integer(), sa.ForeignKey(target), nullable=nullable, index=index)
