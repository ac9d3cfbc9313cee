"""The whole schema, in one place (one module per area). Every change here comes with an
alembic migration.

Money columns are integers in nano-USD (10⁻⁹ dollar) so that per-token prices stay exact;
prices are integers in micro-USD per million tokens. Times are stored as UTC.
"""

from aiusage.models.accounts import (
    BackupCode,
    EmailToken,
    OutboxEmail,
    SignInChallenge,
    TwoFactor,
    User,
    UserIdentity,
    UserSession,
)
from aiusage.models.admin import AuditEntry
from aiusage.models.base import UTCDateTime, utcnow
from aiusage.models.billing import (
    CheckoutSession,
    LedgerEntry,
    ModelPrice,
    OperatorLoss,
    StripeEvent,
)
from aiusage.models.keys import ProviderKey, ProxyKey
from aiusage.models.support import AssistantConversation, SupportMessage, SupportReply
from aiusage.models.usage import (
    DAILY_PHASES_H,
    LATENCY_BUCKETS_MS,
    ROLLUP_SUMS,
    ROLLUP_TOTALS,
    DeadSettlement,
    Hold,
    UsageDaily,
    UsageHourly,
    UsageRecord,
    period_starts,
)

__all__ = [
    "DAILY_PHASES_H",
    "LATENCY_BUCKETS_MS",
    "ROLLUP_SUMS",
    "ROLLUP_TOTALS",
    "AssistantConversation",
    "AuditEntry",
    "BackupCode",
    "CheckoutSession",
    "DeadSettlement",
    "EmailToken",
    "Hold",
    "LedgerEntry",
    "ModelPrice",
    "OperatorLoss",
    "OutboxEmail",
    "ProviderKey",
    "ProxyKey",
    "SignInChallenge",
    "StripeEvent",
    "SupportMessage",
    "SupportReply",
    "TwoFactor",
    "UTCDateTime",
    "UsageDaily",
    "UsageHourly",
    "UsageRecord",
    "User",
    "UserIdentity",
    "UserSession",
    "period_starts",
    "utcnow",
]
