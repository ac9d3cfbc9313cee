"""The keys page's rows: a proxy key, a provider key of a pool, and what each provider key
served — as display strings, never more of a secret than a prefix or the last four."""

from __future__ import annotations

from datetime import datetime

from aiusage.i18n.formatting import format_number
from aiusage.models import ProxyKey
from aiusage.services import key_rules, keys, usage_breakdown
from aiusage.state.dashboard import local_time, usd

PROVIDER_LABELS = {"anthropic": "Anthropic", "openai": "OpenAI"}


def key_row(key: ProxyKey, now: datetime, tz: int, lang: str) -> dict[str, str]:
    period = key.budget_period
    budget = key.budget_nano is not None and period in key_rules.PERIODS
    expired = key.expires_at is not None and key.expires_at <= now
    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix + "…",
        "created": local_time(key.created_at, tz, lang, seconds=False),
        "last_used": local_time(key.last_used_at, tz, lang, seconds=False),
        "spent": usd(key.spent_nano, lang),
        "limit": usd(key.spend_limit_nano, lang) if key.spend_limit_nano else "",
        "rpm": format_number(key.rpm_limit, lang) if key.rpm_limit else "",
        "tpm": format_number(key.tpm_limit, lang) if key.tpm_limit else "",
        "budget": usd(key.budget_nano or 0, lang) if budget else "",
        "budget_spent": usd(key_rules.period_spent(key, now), lang) if budget else "",
        "budget_period": f"keys.period.{period}" if budget else "",
        "resets": (
            local_time(key_rules.next_reset(period or "", now), tz, lang, seconds=False)
            if budget
            else ""
        ),
        "models": ", ".join(key_rules.model_patterns(key.allowed_models)),
        "networks": ", ".join(str(n) for n in key_rules.networks(key.allowed_networks)),
        "expires": local_time(key.expires_at, tz, lang, seconds=False),
        "expired": "1" if expired else "",
        "disabled": "1" if key.disabled_at is not None else "",
        "revoked": local_time(key.revoked_at, tz, lang, seconds=False),
    }


def pool_row(info: keys.ProviderKeyInfo, tz: int, lang: str) -> dict[str, str]:
    """One key of a provider pool as its row shows it: never more of the secret than the
    last four characters, and the health the proxy learned from its answers."""
    return {
        "id": str(info.id),
        "provider": info.provider,
        "label": info.label,
        "last4": info.last4,
        "priority": str(info.priority),
        "weight": str(info.weight),
        "state": info.state,  # "ok" | "cooling" | "invalid"
        "until": local_time(info.unhealthy_until, tz, lang, seconds=False),
        "last_error": info.last_error or "",
    }


def spend_row(spend: usage_breakdown.ProviderKeySpend, lang: str) -> dict[str, str]:
    label = spend.label or ""
    return {
        "provider": PROVIDER_LABELS.get(spend.provider, spend.provider),
        "key_id": str(spend.key_id) if spend.key_id is not None else "",
        # The platform's key (no key id) is named by the page, in its language.
        "platform": "1" if spend.key_id is None else "",
        "key": (f"{label} " if label else "") + "••••" + (spend.last4 or ""),
        "requests": format_number(spend.requests, lang),
        "cost": usd(spend.cost_nano, lang),
        "charged": usd(spend.charged_nano, lang),
    }
