"""Checking a provider key before it is stored (and on the dashboard's "test" button): one
cheap authenticated call upstream — the model list — that tells a key the provider refuses
from one it accepts. A provider that cannot be reached says nothing about the key."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from aiusage.config import get_settings
from aiusage.services.errors import RateLimited
from aiusage.services.keys import validate_provider_key
from aiusage.services.ratelimit import SlidingWindow

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class KeyCheck:
    outcome: str  # "ok" | "refused" (401/403: the provider does not accept it) | "unknown"
    status: int | None  # the provider's HTTP status, None when it could not be reached


# Checks per user and minute: each is a call upstream that anyone signed in could ask for.
_CHECKS = SlidingWindow(limit=10, window_seconds=60)


async def check_provider_key(provider: str, plaintext: str, user_id: int | None = None) -> KeyCheck:
    """`user_id`: whose check it is (the dashboard's), limited to 10 a minute; None for the
    operator's CLI."""
    plaintext = validate_provider_key(provider, plaintext)
    if user_id is not None:
        wait = _CHECKS.try_hit(str(user_id))
        if wait:
            raise RateLimited("Too many key checks. Try again in a minute.", wait)
    settings = get_settings()
    if provider == "anthropic":
        url = settings.anthropic_base_url + "/v1/models"
        headers = {"x-api-key": plaintext, "anthropic-version": "2023-06-01"}
    else:
        url = settings.openai_base_url + "/v1/models"
        headers = {"authorization": f"Bearer {plaintext}"}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, trust_env=False) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError:
        return KeyCheck("unknown", None)
    if response.status_code == 200:
        return KeyCheck("ok", 200)
    if response.status_code in (401, 403):
        return KeyCheck("refused", response.status_code)
    return KeyCheck("unknown", response.status_code)
