"""Accounts: users, their sign-in identities, sessions, two-factor, email tokens and mail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from aiusage.models.base import created_col, fk_col, flag_col, money_col, time_col, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(sa.String(320), unique=True, nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(sa.String(255)))
    email_verified_at: datetime | None = Field(default=None, sa_column=time_col())
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    locale: str = Field(default="en", sa_column=Column(sa.String(8), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=time_col())
    # balance = sum of this user's ledger; held = worst-case cost of requests in flight.
    balance_nano: int = Field(default=0, sa_column=money_col())
    held_nano: int = Field(default=0, sa_column=money_col())
    # Product news is opt-in: a new account is opted out until it asks for the mails.
    marketing_opt_out: bool = Field(
        default=True,
        sa_column=Column(sa.Boolean(), nullable=False, default=True, server_default=sa.true()),
    )
    # Closed accounts stop working at once and are purged after the grace period.
    purge_after: datetime | None = Field(default=None, sa_column=time_col(index=True))
    # The operator's console: "admin" or "support" (services/roles.py); empty for users.
    role: str | None = Field(default=None, sa_column=Column(sa.String(16)))
    # Suspended by an operator: cannot sign in, and the account's keys are refused (403).
    suspended_at: datetime | None = Field(default=None, sa_column=time_col())
    # Billing (Stripe): the customer, the saved card's brand and last four digits, alerts.
    stripe_customer_id: str | None = Field(
        default=None, sa_column=Column(sa.String(64), unique=True)
    )
    stripe_payment_method_id: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    card_brand: str | None = Field(default=None, sa_column=Column(sa.String(16)))
    card_last4: str | None = Field(default=None, sa_column=Column(sa.String(4)))
    low_balance_threshold_nano: int | None = Field(default=None, sa_column=money_col(nullable=True))
    low_balance_alerted_at: datetime | None = Field(default=None, sa_column=time_col())
    auto_topup_enabled: bool = Field(default=False, sa_column=flag_col())
    auto_topup_below_nano: int | None = Field(default=None, sa_column=money_col(nullable=True))
    auto_topup_amount_nano: int | None = Field(default=None, sa_column=money_col(nullable=True))
    auto_topup_last_at: datetime | None = Field(default=None, sa_column=time_col())


class UserIdentity(SQLModel, table=True):
    """A way to sign in other than the password, e.g. Google (OpenID Connect `sub`)."""

    __tablename__ = "user_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    provider: str = Field(sa_column=Column(sa.String(32), nullable=False))
    subject: str = Field(sa_column=Column(sa.String(255), nullable=False))
    email: str = Field(default="", sa_column=Column(sa.String(320), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie's token is kept."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    expires_at: datetime = Field(sa_column=time_col(nullable=False))
    user_agent: str = Field(default="", sa_column=Column(sa.String(512), nullable=False))
    ip_hash: str = Field(default="", sa_column=Column(sa.String(64), nullable=False))
    # Approximate: refreshed at most every few minutes (services/sessions.py), for the list
    # of sessions the owner sees.
    last_used_at: datetime | None = Field(default=None, sa_column=time_col())


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
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    enabled_at: datetime | None = Field(default=None, sa_column=time_col())
    # The last TOTP time step accepted: a code is good once (no replay).
    last_step: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    # Wrong codes in the current window (all sign-in attempts and settings changes together).
    failed_count: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, default=0, server_default="0")
    )
    failed_since: datetime | None = Field(default=None, sa_column=time_col())


class BackupCode(SQLModel, table=True):
    """A single-use code for when the authenticator is lost; only a hash is kept."""

    __tablename__ = "backup_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    code_hash: str = Field(sa_column=Column(sa.String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    used_at: datetime | None = Field(default=None, sa_column=time_col())


class SignInChallenge(SQLModel, table=True):
    """A password (or Google) sign-in waiting for its second step: the hash of the token in
    the short-lived `bai_2fa` cookie. Deleted when a code is accepted, spent or expired."""

    __tablename__ = "sign_in_challenges"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    expires_at: datetime = Field(sa_column=time_col(nullable=False, index=True))
    attempts: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, default=0, server_default="0")
    )


class EmailToken(SQLModel, table=True):
    """One-off links (verify email, reset password); only the token's hash is kept."""

    __tablename__ = "email_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    purpose: str = Field(sa_column=Column(sa.String(16), nullable=False))
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    expires_at: datetime = Field(sa_column=time_col(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=time_col())


class OutboxEmail(SQLModel, table=True):
    """Mail waiting to be sent: written in the same transaction as what caused it."""

    __tablename__ = "email_outbox"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(sa_column=Column(sa.String(320), nullable=False))
    subject: str = Field(sa_column=Column(sa.String(255), nullable=False))
    body_text: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    sent_at: datetime | None = Field(default=None, sa_column=time_col(index=True))
    attempts: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False, default=0))
    last_error: str | None = Field(default=None, sa_column=Column(sa.String(255)))
