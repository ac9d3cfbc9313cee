"""A user's data as a zip of JSON and CSV files: account, keys' metadata (never a secret),
usage, ledger, support messages and the operators' replies to them, sign-in sessions, linked
identities, checkouts and the onsite assistant's conversations.

Secrets never go in: no password hash, no session token hashes, no proxy key hashes, no
provider key ciphertext or nonce (only the provider and last four characters).

The zip is made as it is sent (`stream_zip`), so a user with millions of usage rows costs
neither memory nor the event loop the proxy shares. When the export starts, the ids of the
user's rows of every table are listed (off the user_id index, 8 bytes an id); the rows are
then read in pages of `PAGE_ROWS` by primary key, in id order, each page in its own short
session (no transaction stays open while a slow browser downloads). Paging with
`user_id = ? AND id > ? ORDER BY id LIMIT n` instead would make SQLite read and sort all of
the user's rows through the (user_id, created_at) index for every page. Each page is turned
into JSON or CSV and compressed in a worker thread onto a small buffer that is handed on and
emptied at once. A table is read twice (its JSON, then its CSV: a zip holds one entry after
the other), both times for the same ids, so rows added meanwhile are in neither file. The
zip is written without seeking (sizes in data descriptors); the files are exactly what the
all-in-memory export made: `json.dumps(rows, indent=2, ensure_ascii=False)` and
`csv.DictWriter` output."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from array import array
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import Column, DateTime, Result, Table, TypeDecorator, select

from aiusage.db import session_scope
from aiusage.models import (
    AssistantConversation,
    CheckoutSession,
    LedgerEntry,
    ProviderKey,
    ProxyKey,
    SupportMessage,
    SupportReply,
    UsageRecord,
    User,
    UserIdentity,
    UserSession,
)
from aiusage.models.base import table_of
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
# What support answered (the reply's text is theirs to keep); not which operator wrote it.
SUPPORT_REPLY_FIELDS = ("id", "message_id", "created_at", "body")
SESSION_FIELDS = ("created_at", "expires_at", "user_agent", "ip_hash")
IDENTITY_FIELDS = ("provider", "email", "created_at")
CHECKOUT_FIELDS = ("created_at", "amount_nano", "currency", "status", "credited_at")
# The turns as stored (JSON); not the handle, which would let its holder read on.
ASSISTANT_FIELDS = ("id", "created_at", "updated_at", "transcript", "handed_over_message_id")


# Rows a page: one page is a few MB of text at most, serialised and compressed in one step.
PAGE_ROWS = 5_000
# Ids read at a time when listing a table's rows.
ID_PART = 20_000
# More rows than this and a table's JSON could pass 2 GiB (a usage row is ~0.9 KB, at most a
# few KB when its texts are all escapes): its entries then carry ZIP64 sizes.
ZIP64_ROWS = 400_000


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _is_time(column: Column[Any]) -> bool:
    kind = column.type
    if isinstance(kind, TypeDecorator):  # UTCDateTime
        kind = kind.impl_instance
    return isinstance(kind, DateTime)


@dataclass(frozen=True)
class _Table:
    name: str
    model: Any
    fields: tuple[str, ...]
    table: Table = field(init=False)
    columns: tuple[Column[Any], ...] = field(init=False)  # the fields' columns
    times: tuple[int, ...] = field(init=False)  # which fields hold datetimes

    def __post_init__(self) -> None:
        table = self.model.__table__
        columns = tuple(table.c[name] for name in self.fields)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "times", tuple(i for i, c in enumerate(columns) if _is_time(c)))

    def ids_query(self, user_id: int) -> Any:
        c = self.table.c
        return select(c.id).where(c.user_id == user_id).order_by(c.id)

    def page_query(self, ids: Sequence[int]) -> Any:
        # By primary key alone (with `user_id = ?` as well, SQLite reads every row of the user
        # through the (user_id, …) index for each page, then sorts); the owner comes last, to
        # be checked by `_owned`.
        c = self.table.c
        return select(*self.columns, c.user_id).where(c.id.in_(ids)).order_by(c.id)


@dataclass(frozen=True)
class _RepliesTable(_Table):
    """The replies to the user's support messages: a reply has no user id of its own, its
    message has (the owner column of a page is the message's)."""

    def ids_query(self, user_id: int) -> Any:
        reply, message = self.table.c, table_of(SupportMessage).c
        return (
            select(reply.id)
            .join_from(self.table, table_of(SupportMessage), message.id == reply.message_id)
            .where(message.user_id == user_id)
            .order_by(reply.id)
        )

    def page_query(self, ids: Sequence[int]) -> Any:
        reply, message = self.table.c, table_of(SupportMessage).c
        return (
            select(*self.columns, message.user_id)
            .join_from(self.table, table_of(SupportMessage), message.id == reply.message_id)
            .where(reply.id.in_(ids))
            .order_by(reply.id)
        )


# The zip's tables after the account, in the order the export has always had (tables added
# since come after the one they belong to).
TABLES = (
    _Table("proxy_keys", ProxyKey, PROXY_KEY_FIELDS),
    _Table("provider_keys", ProviderKey, PROVIDER_KEY_FIELDS),
    _Table("usage", UsageRecord, USAGE_FIELDS),
    _Table("ledger", LedgerEntry, LEDGER_FIELDS),
    _Table("support_messages", SupportMessage, SUPPORT_FIELDS),
    _RepliesTable("support_replies", SupportReply, SUPPORT_REPLY_FIELDS),
    _Table("sessions", UserSession, SESSION_FIELDS),
    _Table("identities", UserIdentity, IDENTITY_FIELDS),
    _Table("checkouts", CheckoutSession, CHECKOUT_FIELDS),
    _Table("assistant_conversations", AssistantConversation, ASSISTANT_FIELDS),
)
ACCOUNT_COLUMNS = (*ACCOUNT_FIELDS, "balance_usd")

README = """aiusage data export (format {version}), created {created}.

Each table is here twice: <name>.json (a list of objects) and <name>.csv (one row each).
Money is in nano-USD (1 USD = 1,000,000,000). Times are UTC (ISO 8601).
ip_hash is a keyed hash (HMAC) of an IP address; the address itself is never stored.
Keys appear as metadata only: the proxy keys' visible prefix, the provider keys' last four
characters. Request and response content is never stored, so it is not here either.
assistant_conversations holds your conversations with the onsite assistant (turns as JSON).
"""


# json.dumps(rows, indent=2) puts each object of the list as "  {", its items one a line
# indented by four, "  }". The C encoder writes the same items when given that line break
# as its item separator (all values are scalars: nothing nests), at several times the speed.
_OBJECT = json.JSONEncoder(ensure_ascii=False, separators=(",\n    ", ": "))


def _json_objects(fields: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> str:
    """The rows as the items of json.dumps(rows, indent=2, ensure_ascii=False): without the
    surrounding "[\n" and "\n]", joined by ",\n"."""
    encode = _OBJECT.encode
    return ",\n".join(
        ["  {\n    " + encode(dict(zip(fields, row, strict=True)))[1:-1] + "\n  }" for row in rows]
    )


def _csv_lines(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


class _Sink:
    """A write-only file without tell/seek, so zipfile streams onto it (the sizes and CRC
    follow each entry in a data descriptor). `take` hands over what has been written."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:  # zipfile never closes a file it was handed; typeshed asks for it
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class _ZipStream:
    """One zip written entry by entry; every method returns the bytes it produced. One
    method runs at a time (from the event loop or one worker thread at a time)."""

    def __init__(self) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED)
        self._stamp = time.localtime()[:6]  # what writestr stamped each entry with
        self._entry: Any = None
        self._fields: tuple[str, ...] = ()
        self._rows = 0  # rows written to the open JSON entry

    def _open(self, name: str, zip64: bool) -> None:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        self._entry = self._zip.open(info, "w", force_zip64=zip64)

    def _write(self, text: str) -> None:
        if text:
            self._entry.write(text.encode("utf-8"))

    def _close(self) -> bytes:
        self._entry.close()
        self._entry = None
        return self._sink.take()

    def text_file(self, name: str, text: str) -> bytes:
        self._open(name, zip64=False)
        self._write(text)
        return self._close()

    def open_json(self, name: str, fields: tuple[str, ...], zip64: bool) -> bytes:
        self._open(name, zip64)
        self._fields, self._rows = fields, 0
        return self._sink.take()

    def open_csv(self, name: str, fields: tuple[str, ...], zip64: bool) -> bytes:
        self._open(name, zip64)
        self._write(_csv_lines([fields]))
        return self._sink.take()

    def json_rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        if rows:
            self._write(("[\n" if not self._rows else ",\n") + _json_objects(self._fields, rows))
            self._rows += len(rows)
        return self._sink.take()

    def csv_rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        self._write(_csv_lines(rows))
        return self._sink.take()

    def close_json(self) -> bytes:
        self._write("\n]" if self._rows else "[]")
        return self._close()

    def close_csv(self) -> bytes:
        return self._close()

    def finish(self) -> bytes:
        self._zip.close()
        return self._sink.take()


def _plain(rows: Sequence[Sequence[Any]], times: tuple[int, ...]) -> list[list[Any]]:
    """Database rows as the export's values: times in ISO 8601."""
    plain = []
    for row in rows:
        values = list(row)
        for i in times:
            if values[i] is not None:
                values[i] = values[i].isoformat()
        plain.append(values)
    return plain


def _page_json(archive: _ZipStream, rows: Sequence[Sequence[Any]], times: tuple[int, ...]) -> bytes:
    return archive.json_rows(_plain(rows, times))


def _page_csv(archive: _ZipStream, rows: Sequence[Sequence[Any]], times: tuple[int, ...]) -> bytes:
    return archive.csv_rows(_plain(rows, times))


async def _ids(table: _Table, user_id: int) -> array[int]:
    """The ids of the user's rows of `table`, in order (8 bytes each), read off the
    (user_id, …) index a part at a time so the event loop is never held for long."""
    ids = array("q")
    async with session_scope() as db:
        result = await db.stream_scalars(table.ids_query(user_id))
        async for part in result.partitions(ID_PART):
            ids.extend(part)
    return ids


def _owned(result: Result[Any], user_id: int) -> list[tuple[Any, ...]]:
    """The page's rows without their trailing owner column, keeping only the user's: were a
    listed row deleted meanwhile and its id reused (SQLite can), the new row is not theirs."""
    return [row[:-1] for row in result.all() if row[-1] == user_id]


async def _pages(
    table: _Table, user_id: int, ids: array[int], page_rows: int
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """The user's rows with these ids, in id order, a page at a time, each page read in its
    own short session. A row deleted since the ids were listed is left out."""
    for start in range(0, len(ids), page_rows):
        async with session_scope() as db:
            result = await db.execute(table.page_query(ids[start : start + page_rows].tolist()))
            # Converting the fetched rows (times parsed row by row) is the costly part of a
            # read: done in a worker thread, before the session closes its cursor.
            rows = await anyio.to_thread.run_sync(_owned, result, user_id)
        if rows:
            yield rows


async def stream_zip(
    user_id: int, created: datetime, *, page_rows: int = PAGE_ROWS
) -> AsyncGenerator[bytes, None]:
    """The export's zip, chunk by chunk, as it is made. Memory stays at about one page (and
    8 bytes an id); reading, serialising and compressing a page run in a worker thread, and
    the event loop gets control back between pages."""
    archive = _ZipStream()
    async with session_scope() as db:
        user = await db.get(User, user_id)
        if user is not None:
            account = [_value(getattr(user, name)) for name in ACCOUNT_FIELDS]
            account.append(str(nano_to_usd(user.balance_nano)))
    # Every table's ids now, next to the balance (the ledger adds up to it), not when the
    # table's turn comes; both files of a table then hold the same rows.
    ids = {table.name: await _ids(table, user_id) for table in TABLES} if user else {}

    yield archive.text_file(
        "README.txt", README.format(version=FORMAT_VERSION, created=created.isoformat())
    )
    if user is None:
        yield archive.finish()
        return
    yield (
        archive.open_json("account.json", ACCOUNT_COLUMNS, zip64=False)
        + archive.json_rows([account])
        + archive.close_json()
        + archive.open_csv("account.csv", ACCOUNT_COLUMNS, zip64=False)
        + archive.csv_rows([account])
        + archive.close_csv()
    )

    for table in TABLES:
        table_ids = ids.pop(table.name)
        zip64 = len(table_ids) > ZIP64_ROWS
        for kind, open_entry, page, close_entry in (
            ("json", archive.open_json, _page_json, archive.close_json),
            ("csv", archive.open_csv, _page_csv, archive.close_csv),
        ):
            yield open_entry(f"{table.name}.{kind}", table.fields, zip64)
            async for rows in _pages(table, user_id, table_ids, page_rows):
                chunk = await anyio.to_thread.run_sync(page, archive, rows, table.times)
                if chunk:
                    yield chunk
            yield await anyio.to_thread.run_sync(close_entry)
    yield archive.finish()


async def write_zip(user_id: int, created: datetime, out: anyio.AsyncFile[bytes]) -> int:
    """Writes the export to a file as it is made (the CLI); returns its size."""
    size = 0
    async for chunk in stream_zip(user_id, created):
        await out.write(chunk)
        size += len(chunk)
    return size


def filename(created: datetime) -> str:
    return f"aiusage-export-{created.strftime('%Y%m%d-%H%M%S')}.zip"
