"""The Stripe API as the services use it: one client per configuration, each call in a
worker thread (the `stripe` library is synchronous; the event loop — proxy and dashboard —
never waits on Stripe), answers as plain dicts."""

from __future__ import annotations

import functools
from typing import Any

import anyio
import stripe

from aiusage.config import get_settings
from aiusage.money import NANO_PER_USD
from aiusage.services.errors import ServiceError

NANO_PER_CENT = NANO_PER_USD // 100


def configured() -> bool:
    return bool(get_settings().stripe_secret_key)


@functools.cache
def _client_for(secret_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=1)


def client() -> stripe.StripeClient:
    settings = get_settings()
    return _client_for(settings.stripe_secret_key, settings.stripe_api_base)


async def call(method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """One Stripe API call in a worker thread; the answer as plain dicts."""
    result = await anyio.to_thread.run_sync(functools.partial(method, *args, **kwargs))
    answer: dict[str, Any] = result.to_dict()
    return answer


class Unavailable(ServiceError):
    status = 502
