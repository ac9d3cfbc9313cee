"""The whole schema, in one place. Every change here comes with an alembic migration.

Money columns are integers in nano-USD (10⁻⁹ dollar) so that per-token prices stay exact;
prices are integers in micro-USD per million tokens. Times are stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


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

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _time(*, nullable: bool = True, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def _created() -> Column:
    return Column(UTCDateTime(), nullable=False, default=utcnow)


def _count() -> Column:
    return Column(sa.BigInteger(), nullable=False, default=0)


def _money(*, nullable: bool = False) -> Column:
    return Column(sa.BigInteger(), nullable=nullable, default=0 if not nullable else None)


def _flag() -> Column:
    return Column(sa.Boolean(), nullable=False, default=False, server_default=sa.false())


def _fk(target: str, *, index: bool = True, nullable: bool = False) -> Column:
    return Column(sa.Integer(), sa.ForeignKey(target), nullable=nullable, index=index)


# --- accounts -----------------------------------------------------------------------------


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(sa.String(320), unique=True, nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(sa.String(255)))
    email_verified_at: datetime | None = Field(default=None, sa_column=_time())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    locale: str = Field(default="en", sa_column=Column(sa.String(8), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=_time())
    # balance = sum of this user's ledger; held = worst-case cost of requests in flight.
    balance_nano: int = Field(default=0, sa_column=_money())
    held_nano: int = Field(default=0, sa_column=_money())
    # Product news is opt-in: a new account is opted out until it asks for the mails.
    marketing_opt_out: bool = Field(
        default=True,
        sa_column=Column(sa.Boolean(), nullable=False, default=True, server_default=sa.true()),
    )
    # Closed accounts stop working at once and are purged after the grace period.
    purge_after: datetime | None = Field(default=None, sa_column=_time(index=True))
    # Billing (Stripe): the customer, the saved card's brand and last four digits, alerts.
    stripe_customer_id: str | None = Field(
        default=None, sa_column=Column(sa.String(64), unique=True)
    )
    stripe_payment_method_id: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    card_brand: str | None = Field(default=None, sa_column=Column(sa.String(16)))
    card_last4: str | None = Field(default=None, sa_column=Column(sa.String(4)))
    low_balance_threshold_nano: int | None = Field(default=None, sa_column=_money(nullable=True))
    low_balance_alerted_at: datetime | None = Field(default=None, sa_column=_time())
    auto_topup_enabled: bool = Field(default=False, sa_column=_flag())
    auto_topup_below_nano: int | None = Field(default=None, sa_column=_money(nullable=True))
    auto_topup_amount_nano: int | None = Field(default=None, sa_column=_money(nullable=True))
    auto_topup_last_at: datetime | None = Field(default=None, sa_column=_time())


class UserIdentity(SQLModel, table=True):
    """A way to sign in other than the password, e.g. Google (OpenID Connect `sub`)."""

    __tablename__ = "user_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    provider: str = Field(sa_column=Column(sa.String(32), nullable=False))
    subject: str = Field(sa_column=Column(sa.String(255), nullable=False))
    email: str = Field(default="", sa_column=Column(sa.String(320), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie's token is kept."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    expires_at: datetime = Field(sa_column=_time(nullable=False))
    user_agent: str = Field(default="", sa_column=Column(sa.String(512), nullable=False))
    ip_hash: str = Field(default="", sa_column=Column(sa.String(64), nullable=False))
    # Approximate: refreshed at most every few minutes (services/sessions.py), for the list
    # of sessions the owner sees.
    last_used_at: datetime | None = Field(default=None, sa_column=_time())


class TwoFactor(SQLModel, table=True):
    """A user's TOTP authenticator. The secret is sealed with AES-256-GCM like provider keys
    (services/crypto.py), the user bound in as associated data. No `enabled_at`: an enrolment
    shown but not yet confirmed with a code, which signs nothing in."""

    __tablename__ = "two_factor"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(sa.Integer(), sa.ForeignKey("users.id"), nullable=False, unique=True)
    )
    master_key_id: str = Field(sa_column=Column(sa.String(32), nullable=False))
    nonce: bytes = Field(sa_column=Column(sa.LargeBinary(12), nullable=False))
    ciphertext: bytes = Field(sa_column=Column(sa.LargeBinary(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    enabled_at: datetime | None = Field(default=None, sa_column=_time())
    # The last TOTP time step accepted: a code is good once (no replay).
    last_step: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    # Wrong codes in the current window (all sign-in attempts and settings changes together).
    failed_count: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, default=0, server_default="0")
    )
    failed_since: datetime | None = Field(default=None, sa_column=_time())


class BackupCode(SQLModel, table=True):
    """A single-use code for when the authenticator is lost; only a hash is kept."""

    __tablename__ = "backup_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    code_hash: str = Field(sa_column=Column(sa.String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    used_at: datetime | None = Field(default=None, sa_column=_time())


class SignInChallenge(SQLModel, table=True):
    """A password (or Google) sign-in waiting for its second step: the hash of the token in
    the short-lived `bai_2fa` cookie. Deleted when a code is accepted, spent or expired."""

    __tablename__ = "sign_in_challenges"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    expires_at: datetime = Field(sa_column=_time(nullable=False, index=True))
    attempts: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, default=0, server_default="0")
    )


class EmailToken(SQLModel, table=True):
    """One-off links (verify email, reset password); only the token's hash is kept."""

    __tablename__ = "email_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    purpose: str = Field(sa_column=Column(sa.String(16), nullable=False))
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    expires_at: datetime = Field(sa_column=_time(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_time())


class OutboxEmail(SQLModel, table=True):
    """Mail waiting to be sent: written in the same transaction as what caused it."""

    __tablename__ = "email_outbox"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(sa_column=Column(sa.String(320), nullable=False))
    subject: str = Field(sa_column=Column(sa.String(255), nullable=False))
    body_text: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    sent_at: datetime | None = Field(default=None, sa_column=_time(index=True))
    attempts: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False, default=0))
    last_error: str | None = Field(default=None, sa_column=Column(sa.String(255)))


# --- keys ---------------------------------------------------------------------------------


class ProxyKey(SQLModel, table=True):
    """What tools send. Only the SHA-256 of the key is kept, plus a visible prefix."""

    __tablename__ = "proxy_keys"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    name: str = Field(sa_column=Column(sa.String(100), nullable=False))
    prefix: str = Field(sa_column=Column(sa.String(24), nullable=False))
    key_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    last_used_at: datetime | None = Field(default=None, sa_column=_time())
    revoked_at: datetime | None = Field(default=None, sa_column=_time())
    spend_limit_nano: int | None = Field(default=None, sa_column=_money(nullable=True))
    rpm_limit: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    spent_nano: int = Field(default=0, sa_column=_money())
    # Worst-case cost of this key's requests in flight, so a spend limit holds under load.
    held_nano: int = Field(default=0, sa_column=_money())
    # What a key may do (issue: keys people can hand out safely). Patterns are comma-separated
    # model names with `*` wildcards; networks comma-separated CIDRs. None: no restriction.
    allowed_models: str | None = Field(default=None, sa_column=Column(sa.String(2000)))
    allowed_networks: str | None = Field(default=None, sa_column=Column(sa.String(2000)))
    tpm_limit: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    expires_at: datetime | None = Field(default=None, sa_column=_time())
    disabled_at: datetime | None = Field(default=None, sa_column=_time())
    # A spend cap per day, week or month (UTC: midnight, Monday, the 1st). The period's
    # spend restarts when a hold or a booking finds `period_start_ms` before the current
    # period's start (milliseconds since the epoch: compared on the hot path as integers).
    budget_nano: int | None = Field(default=None, sa_column=_money(nullable=True))
    budget_period: str | None = Field(default=None, sa_column=Column(sa.String(8)))
    period_start_ms: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    period_spent_nano: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    # Mails at these percentages of the budget (comma-separated; "" for none), each once per
    # period: the highest one mailed, and in which period.
    budget_alerts: str = Field(
        default="50,80,100",
        sa_column=Column(sa.String(32), nullable=False, server_default="50,80,100"),
    )
    budget_alerted_percent: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    budget_alerted_period_ms: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )


class ProviderKey(SQLModel, table=True):
    """A user's own Anthropic/OpenAI key, sealed with AES-256-GCM (see services/crypto.py)."""

    __tablename__ = "provider_keys"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    master_key_id: str = Field(sa_column=Column(sa.String(32), nullable=False))
    nonce: bytes = Field(sa_column=Column(sa.LargeBinary(12), nullable=False))
    ciphertext: bytes = Field(sa_column=Column(sa.LargeBinary(), nullable=False))
    last4: str = Field(sa_column=Column(sa.String(4), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    # A pool: the user's keys for one provider are tried by priority (lowest first), by
    # weight among equals. What the proxy learned: consecutive failures, the last error, a
    # cool-down after repeated failures, and the provider's refusal (401) until replaced.
    label: str = Field(
        default="", sa_column=Column(sa.String(64), nullable=False, server_default="")
    )
    priority: int = Field(
        default=1, sa_column=Column(sa.Integer(), nullable=False, server_default="1")
    )
    weight: int = Field(
        default=1, sa_column=Column(sa.Integer(), nullable=False, server_default="1")
    )
    failures: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    last_error: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    unhealthy_until_ms: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    invalid_at: datetime | None = Field(default=None, sa_column=_time())


# --- money --------------------------------------------------------------------------------


class ModelPrice(SQLModel, table=True):
    """List prices in micro-USD per million tokens. `model` matches as a prefix."""

    __tablename__ = "model_prices"
    __table_args__ = (sa.UniqueConstraint("provider", "model"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    input_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    output_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    cache_write_5m_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    cache_write_1h_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    cache_read_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    # Some models charge every token of a request at dearer rates once its prompt (input +
    # cache writes + cache reads) is over a threshold: those rates, when the model has them.
    long_prompt_threshold: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_input_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_output_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_cache_write_5m_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_cache_write_1h_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_cache_read_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    # The most output tokens the model can produce: what a request that names no maximum is
    # held for. Empty: the configured default for unknown models.
    max_output_tokens: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    # Server-side tool fees per use, in micro-USD (Anthropic web search/fetch, OpenAI web
    # search). Empty: the configured default.
    web_search_call_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    web_fetch_call_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_created())


class LedgerEntry(SQLModel, table=True):
    """Every change of a balance. A user's balance always equals the sum of amount_nano."""

    __tablename__ = "ledger"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    kind: str = Field(sa_column=Column(sa.String(16), nullable=False))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    balance_after_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    description: str = Field(default="", sa_column=Column(sa.String(255), nullable=False))
    # Idempotency for external events (e.g. a Stripe event id): one row per reference.
    reference: str | None = Field(default=None, sa_column=Column(sa.String(128), unique=True))
    # Indexed: the retention purge unlinks the ledger rows of the usage rows it deletes.
    usage_id: int | None = Field(default=None, sa_column=_fk("usage.id", nullable=True))


class UsageRecord(SQLModel, table=True):
    """One row per proxied request: metadata only, never prompt or response content."""

    __tablename__ = "usage"
    __table_args__ = (sa.Index("ix_usage_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(sa_column=Column(sa.String(40), unique=True, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=_time(nullable=False, index=True)
    )
    user_id: int = Field(sa_column=_fk("users.id", index=False))
    proxy_key_id: int | None = Field(default=None, sa_column=_fk("proxy_keys.id", nullable=True))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    endpoint: str = Field(sa_column=Column(sa.String(64), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    key_source: str = Field(sa_column=Column(sa.String(16), nullable=False))
    input_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    output_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    cache_write_5m_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    cache_write_1h_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    cache_read_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    web_search_calls: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    web_fetch_calls: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    file_search_calls: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    code_interpreter_containers: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    # The user's own provider key that served the request (None: the platform's key). Its
    # last four and label are kept: the key may be deleted later.
    provider_key_id: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    provider_key_last4: str | None = Field(default=None, sa_column=Column(sa.String(4)))
    provider_key_label: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    cost_nano: int = Field(default=0, sa_column=_money())
    charged_nano: int = Field(default=0, sa_column=_money())
    priced_by_default: bool = Field(default=False, sa_column=Column(sa.Boolean(), nullable=False))
    tokens_estimated: bool = Field(default=False, sa_column=Column(sa.Boolean(), nullable=False))
    status: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    error_type: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    latency_ms: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    ttfb_ms: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    request_bytes: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    response_bytes: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    streamed: bool = Field(default=False, sa_column=Column(sa.Boolean(), nullable=False))
    ip_hash: str = Field(default="", sa_column=Column(sa.String(64), nullable=False))
    user_agent: str = Field(default="", sa_column=Column(sa.String(512), nullable=False))
    client_session_id: str | None = Field(default=None, sa_column=Column(sa.String(128)))


class UsageHourly(SQLModel, table=True):
    """Usage rolled up per user, key, model and hour, kept current by the usage writer, so
    charts never scan the raw table. Latency is kept as a histogram for percentiles."""

    __tablename__ = "usage_hourly"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "proxy_key_id", "provider", "model", "hour"),
        sa.Index("ix_usage_hourly_user_hour", "user_id", "hour"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("users.id", index=False))
    proxy_key_id: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    hour: datetime = Field(sa_column=_time(nullable=False))
    requests: int = Field(default=0, sa_column=_count())
    errors: int = Field(default=0, sa_column=_count())
    input_tokens: int = Field(default=0, sa_column=_count())
    output_tokens: int = Field(default=0, sa_column=_count())
    cache_write_tokens: int = Field(default=0, sa_column=_count())
    cache_read_tokens: int = Field(default=0, sa_column=_count())
    cost_nano: int = Field(default=0, sa_column=_count())
    charged_nano: int = Field(default=0, sa_column=_count())
    # Our part of charged_nano: the service fee on the user's own key (all of its charge) or
    # the markup on the platform's key (charge minus provider cost). See pricing.fee_nano.
    fee_nano: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, default=0, server_default="0")
    )
    latency_ms_sum: int = Field(default=0, sa_column=_count())
    # Requests whose latency was at most LATENCY_BUCKETS_MS[i] (and above the one before).
    lat_0: int = Field(default=0, sa_column=_count())
    lat_1: int = Field(default=0, sa_column=_count())
    lat_2: int = Field(default=0, sa_column=_count())
    lat_3: int = Field(default=0, sa_column=_count())
    lat_4: int = Field(default=0, sa_column=_count())
    lat_5: int = Field(default=0, sa_column=_count())
    lat_6: int = Field(default=0, sa_column=_count())
    lat_7: int = Field(default=0, sa_column=_count())
    lat_8: int = Field(default=0, sa_column=_count())
    lat_9: int = Field(default=0, sa_column=_count())


# Upper bounds (ms) of UsageHourly.lat_0 … lat_9; the last catches everything slower.
LATENCY_BUCKETS_MS = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 2**31 - 1)


class Hold(SQLModel, table=True):
    """A request in flight: the worst-case cost it reserved on the balance (and on its key).

    Written in the same transaction that raises `users.held_nano`, deleted in the one that
    books the request, so `users.held_nano` is always the sum of the user's hold rows. The
    owning process renews `lease_until_ms` while it lives; a hold whose lease has run out
    belongs to a dead process, and any live one books it as an interrupted request. What the
    reclaim needs to price it is kept here (never content)."""

    __tablename__ = "holds"
    # One B-tree on SQLite (no rowid table beside the key's index): a hold row is written and
    # deleted once per request on the hot path.
    __table_args__ = {"sqlite_with_rowid": False}

    request_id: str = Field(sa_column=Column(sa.String(40), primary_key=True))
    # No other index: the table holds only requests in flight (scans are cheap), and every
    # index would be written twice per request on the hot path (measured: ~30 µs each).
    user_id: int = Field(sa_column=_fk("users.id", index=False))
    proxy_key_id: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    key_amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    owner: str = Field(sa_column=Column(sa.String(40), nullable=False))
    # Milliseconds since the Unix epoch (UTC): compared on the hot path without conversions.
    lease_until_ms: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    started_ms: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    endpoint: str = Field(sa_column=Column(sa.String(64), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    byok: bool = Field(sa_column=Column(sa.Boolean(), nullable=False))
    request_bytes: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))


class DeadSettlement(SQLModel, table=True):
    """A settlement the usage writer could not book, set aside whole (as ASCII JSON) for the
    operator instead of blocking every other user's charges. Its hold was released."""

    __tablename__ = "dead_settlements"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    request_id: str = Field(sa_column=Column(sa.String(64), nullable=False))
    user_id: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    error: str = Field(sa_column=Column(sa.String(255), nullable=False))
    payload: str = Field(sa_column=Column(sa.Text(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=_time())


class OperatorLoss(SQLModel, table=True):
    """Cost the operator bore: what a request cost beyond what its user's balance covered
    (an upstream surprise past the hold). The user's balance never goes below zero."""

    __tablename__ = "operator_losses"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=_time(nullable=False, index=True)
    )
    user_id: int = Field(sa_column=Column(sa.Integer(), nullable=False, index=True))
    request_id: str = Field(sa_column=Column(sa.String(40), nullable=False))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    reason: str = Field(sa_column=Column(sa.String(64), nullable=False))


# --- billing ------------------------------------------------------------------------------


class CheckoutSession(SQLModel, table=True):
    """A Stripe Checkout Session we created for a top-up; credited at most once."""

    __tablename__ = "checkout_sessions"

    id: int | None = Field(default=None, primary_key=True)
    stripe_session_id: str = Field(sa_column=Column(sa.String(255), unique=True, nullable=False))
    user_id: int = Field(sa_column=_fk("users.id"))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    currency: str = Field(default="usd", sa_column=Column(sa.String(8), nullable=False))
    status: str = Field(default="open", sa_column=Column(sa.String(16), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created())
    credited_at: datetime | None = Field(default=None, sa_column=_time())


class StripeEvent(SQLModel, table=True):
    """Webhook events already handled (by Stripe's event id): each acts exactly once."""

    __tablename__ = "stripe_events"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(sa_column=Column(sa.String(255), unique=True, nullable=False))
    type: str = Field(sa_column=Column(sa.String(64), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=_created())


# --- support ------------------------------------------------------------------------------


class SupportMessage(SQLModel, table=True):
    """A message from the dashboard's contact form (kept for the configured retention)."""

    __tablename__ = "support_messages"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, sa_column=_fk("users.id", nullable=True))
    email: str = Field(sa_column=Column(sa.String(320), nullable=False))
    subject: str = Field(sa_column=Column(sa.String(200), nullable=False))
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=_time(nullable=False, index=True)
    )
