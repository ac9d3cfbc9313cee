"""Billing over HTTP: Stripe's webhook, and starting a Checkout from the billing page's form
(cookie-authenticated, CSRF-checked, answered with a redirect to Stripe's page)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from aiusage.db import session_scope
from aiusage.models.base import id_of
from aiusage.services import stripe_webhooks, topups
from aiusage.services.errors import ServiceError
from aiusage.web.http import signed_in_user, site_form, user_error_response, wants_json

log = logging.getLogger("aiusage.stripe")

BILLING_PAGE = "/dashboard/billing"


async def webhook(request: Request) -> Response:
    declared = request.headers.get("content-length")
    if declared and (
        not (declared.isascii() and declared.isdigit())
        or int(declared) > stripe_webhooks.MAX_WEBHOOK_BYTES
    ):
        return JSONResponse({"error": "too_large"}, status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > stripe_webhooks.MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "too_large"}, status_code=413)
    result = await stripe_webhooks.handle_webhook(body, request.headers.get("stripe-signature"))
    return JSONResponse(
        {"received": result.status == 200, "outcome": result.outcome}, status_code=result.status
    )


async def checkout(request: Request) -> Response:
    try:
        fields = await site_form(request, "amount", "custom_amount")
        async with session_scope() as db:
            user = await signed_in_user(db, request)
        amount = fields["custom_amount"].strip() or fields["amount"]
        url = await topups.start_checkout(id_of(user), amount)
    except ServiceError as error:
        return user_error_response(request, error, BILLING_PAGE)
    if wants_json(request):
        return JSONResponse({"ok": True, "redirect": url})
    return RedirectResponse(url, status_code=303)


routes = [
    Route("/api/stripe/webhook", webhook, methods=["POST"]),
    Route("/api/billing/checkout", checkout, methods=["POST"]),
]
