"""A proxy key's settings as the dashboard's form writes them: text in, the keys service's
values out, and back again for the edit form. The rules themselves (limits, budgets, model
and network patterns, expiry) are checked by services/keys.py and key_rules.py; this module
only reads the form's text, and refuses what is not a number, an amount or a date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiusage.models import ProxyKey
from aiusage.money import nano_to_usd, parse_dollars
from aiusage.services import key_rules
from aiusage.services.errors import ServiceError

DEFAULT_PERIOD = "day"
# The form fields of a key's settings (create and edit), as the form names them.
FIELDS = (
    "name",
    "spend_limit",
    "rpm",
    "tpm",
    "budget",
    "budget_period",
    "budget_alerts",
    "models",
    "networks",
    "expires",
)


def _usd_input(nano: int | None) -> str:
    """An amount as the form shows it: '20.00', or every digit it has ('0.125')."""
    if nano is None:
        return ""
    value = nano_to_usd(nano)
    cents = value.quantize(Decimal("0.01"))
    return str(cents) if cents == value else format(value.normalize(), "f")


def _parse_usd(text: str) -> int | None:
    return parse_dollars(text, code="bad_amount", blank=True)


def _parse_count(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise ServiceError("bad_limit", "not a whole number")
    return int(text)


def _parse_expiry(text: str) -> datetime | None:
    """A day from the date input: the key stops at 00:00 UTC of that day."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ServiceError("bad_expiry", "not a date") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def form_values(key: ProxyKey) -> dict[str, str]:
    """A key's settings as the edit form's fields show them."""
    return {
        "name": key.name,
        "spend_limit": _usd_input(key.spend_limit_nano),
        "rpm": str(key.rpm_limit or ""),
        "tpm": str(key.tpm_limit or ""),
        "budget": _usd_input(key.budget_nano),
        "budget_period": key.budget_period or DEFAULT_PERIOD,
        "budget_alerts": ", ".join(key.budget_alerts.split(",")) if key.budget_alerts else "",
        "models": ", ".join(key_rules.model_patterns(key.allowed_models)),
        "networks": ", ".join(str(n) for n in key_rules.networks(key.allowed_networks)),
        "expires": key.expires_at.astimezone(UTC).date().isoformat() if key.expires_at else "",
    }


def submitted(form: dict[str, Any]) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in FIELDS}


def changed(fields: dict[str, str], before: dict[str, str]) -> set[str]:
    """The fields whose text differs from what the edit form showed."""
    return {name for name in FIELDS if fields[name].strip() != before[name].strip()}


def parsed_rules(fields: dict[str, str], changed: set[str] | None = None) -> dict[str, Any]:
    """The services' keyword arguments for the given form fields; with `changed`, only the
    rules whose fields changed (an untouched field never rewrites what is stored)."""

    def wanted(*names: str) -> bool:
        return changed is None or bool(changed.intersection(names))

    rules: dict[str, Any] = {}
    if wanted("spend_limit"):
        rules["spend_limit_nano"] = _parse_usd(fields["spend_limit"])
    if wanted("rpm"):
        rules["rpm_limit"] = _parse_count(fields["rpm"])
    if wanted("tpm"):
        rules["tpm_limit"] = _parse_count(fields["tpm"])
    if wanted("budget", "budget_period"):
        # An amount and a period together; without an amount, no budget at all.
        rules["budget_nano"] = _parse_usd(fields["budget"])
        period = fields["budget_period"].strip() or DEFAULT_PERIOD
        rules["budget_period"] = period if rules["budget_nano"] is not None else None
    if wanted("budget_alerts"):
        rules["budget_alerts"] = fields["budget_alerts"]
    if wanted("models"):
        rules["allowed_models"] = fields["models"]
    if wanted("networks"):
        rules["allowed_networks"] = fields["networks"]
    if wanted("expires"):
        rules["expires_at"] = _parse_expiry(fields["expires"])
    return rules


def pool_number(value: object, code: str) -> int | None:
    """A priority or weight from the form: a whole number, or None when left empty."""
    text = str(value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        raise ServiceError(code, "not a whole number")
    return int(text)
