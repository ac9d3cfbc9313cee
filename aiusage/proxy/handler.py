"""One proxied request: authenticate, read the body, hold the worst-case cost, forward,
relay, settle. Settlement happens exactly once, whatever ends the request."""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import Receive, Scope, Send

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.proxy.auth import KeyGrant, presented_key
from aiusage.proxy.errors import ProxyError, error_body
from aiusage.proxy.holds import HoldTicket
from aiusage.proxy.relay import RelayOutcome, relay_body, relay_stream
from aiusage.proxy.runtime import ProxyRuntime
from aiusage.proxy.upstream import (
    UpstreamBroken,
    UpstreamResponse,
    UpstreamTimeout,
    UpstreamUnreachable,
    request_headers,
)
from aiusage.proxy.usage_counts import AnthropicMeter, Meter, OpenAIMeter
from aiusage.proxy.usage_writer import Settlement, counted_columns
from aiusage.proxy.validation import (
    MAX_SESSION_ID_CHARS,
    MAX_USER_AGENT_CHARS,
    RequestShape,
    header_text,
    model_name,
    parse_json_body,
    request_shape,
)
from aiusage.services import billing, client_ip, pricing
from aiusage.services.crypto import SealError, open_sealed
from aiusage.services.security import ip_hash

log = logging.getLogger("aiusage.proxy")


@dataclass(frozen=True)
class Route:
    provider: str  # "anthropic" | "openai"
    upstream_path: str
    metered: bool


async def send_error(send: Send, provider: str, error: ProxyError) -> None:
    body = error_body(provider, error.status, error.message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if error.retry_after is not None:
        headers.append((b"retry-after", str(error.retry_after).encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive, limit: int, declared: bytes | None) -> bytes:
    too_large = ProxyError(413, f"Request body is larger than {limit} bytes.")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ProxyError(400, "The client disconnected before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def authenticate(rt: ProxyRuntime, headers: dict[bytes, bytes]) -> KeyGrant:
    presented = presented_key(headers)
    if presented is None:
        raise ProxyError(
            401, "Missing API key: send your aiusage key as x-api-key or Authorization: Bearer."
        )
    grant = await rt.keys.lookup(presented)
    if grant is None:
        raise ProxyError(401, "Invalid API key: it is unknown or has been revoked.")
    if grant.rpm_limit is not None:
        wait = rt.rpm.try_hit(str(grant.key_id), grant.rpm_limit)
        if wait:
            raise ProxyError(
                429,
                f"This key's limit of {grant.rpm_limit} requests per minute is reached.",
                retry_after=wait,
            )
    return grant


def upstream_credentials(grant: KeyGrant, provider: str) -> tuple[str, bool]:
    """(upstream key, is it the user's own). The user's key wins over the platform's."""
    sealed = grant.provider_keys.get(provider)
    if sealed is not None:
        try:
            return open_sealed(sealed, grant.user_id, provider), True
        except SealError:
            log.error("a stored %s key of user %s cannot be opened", provider, grant.user_id)
            raise ProxyError(
                500,
                "Your stored provider key cannot be used; please enter it again in the dashboard.",
            ) from None
    settings = get_settings()
    platform = (
        settings.platform_anthropic_key if provider == "anthropic" else settings.platform_openai_key
    )
    if not platform:
        name = "Anthropic" if provider == "anthropic" else "OpenAI"
        raise ProxyError(
            403, f"No {name} key is set up for this account: add your own key in the dashboard."
        )
    return platform, False


def credential_headers(provider: str, key: str) -> list[tuple[bytes, bytes]]:
    if provider == "anthropic":
        return [(b"x-api-key", key.encode())]
    return [(b"authorization", b"Bearer " + key.encode())]


def hold_nano(price: pricing.Price, shape: RequestShape, request_bytes: int, byok: bool) -> int:
    """The worst case this request can cost the user, a true upper bound: request bytes bound
    its input tokens; its own output maximum (else the model's) times `n` bounds the output;
    each allowed server-tool use is charged at the dearer tool fee."""
    output = shape.max_output or pricing.max_output_tokens(price)
    worst = pricing.worst_case_cost_nano(
        price, request_bytes, output * shape.choices, shape.server_tool_uses
    )
    return pricing.charge_nano(worst, byok=byok)


def ask_for_stream_usage(payload: dict[str, Any]) -> bytes | None:
    """OpenAI streams carry usage only if asked: the proxy asks (the one change it makes to a
    body). Returns the new body, or None if the client asked already."""
    options = payload.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is True:
        return None
    payload["stream_options"] = {
        **(options if isinstance(options, dict) else {}),
        "include_usage": True,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class ProxyCall:
    """State of one request from arrival to settlement."""

    def __init__(self, rt: ProxyRuntime, route: Route, scope: Scope) -> None:
        self.rt = rt
        self.route = route
        self.scope = scope
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC)
        self.request_id = "req_" + secrets.token_hex(12)
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        self.user_agent = ""
        self.client_session_id: str | None = None

    @property
    def provider(self) -> str:
        return self.route.provider

    def upstream_url(self) -> str:
        settings = get_settings()
        base = (
            settings.anthropic_base_url
            if self.provider == "anthropic"
            else settings.openai_base_url
        )
        query = self.scope.get("query_string", b"")
        return base + self.route.upstream_path + ("?" + query.decode("latin-1") if query else "")

    async def open_upstream(
        self,
        method: str,
        body: bytes,
        credentials: list[tuple[bytes, bytes]],
        *,
        platform_key: bool,
        identity: bool = False,
    ) -> UpstreamResponse:
        """`platform_key`: only an allow-list of client headers goes upstream (none that
        could pick another organisation or workspace of the operator's account)."""
        assert self.rt.client is not None
        try:
            return await self.rt.client.open(
                method,
                self.upstream_url(),
                request_headers(
                    self.scope["headers"],
                    credentials,
                    identity=identity,
                    platform_key=platform_key,
                ),
                body if method != "GET" else None,
            )
        except UpstreamTimeout:
            raise ProxyError(504, "The upstream provider did not answer in time.") from None
        except (UpstreamUnreachable, UpstreamBroken) as error:
            log.warning("upstream unreachable (%s)", error)
            raise ProxyError(502, "Could not reach the upstream provider.") from None

    async def passthrough(self, receive: Receive, send: Send) -> None:
        """Unmetered routes (models, count_tokens): forward and relay, nothing charged. Only
        for an account that could pay for metered use (credit, or its own provider key), and
        rate-limited per key: they cost the platform key's owner upstream quota."""
        grant = await authenticate(self.rt, self.headers)
        wait = self.rt.unmetered_rpm.try_hit(str(grant.key_id), get_settings().unmetered_rpm)
        if wait:
            raise ProxyError(
                429, "Too many requests to this endpoint with this key.", retry_after=wait
            )
        body = await read_body(
            receive, get_settings().max_request_bytes, self.headers.get(b"content-length")
        )
        key, byok = upstream_credentials(grant, self.provider)
        if not byok:
            async with session_scope() as session:
                balance, held = await billing.balance(session, grant.user_id)
            if balance - held <= 0:
                raise ProxyError(
                    402,
                    "Your aiusage credit is too low for this request. Top up in the dashboard.",
                )
        response = await self.open_upstream(
            self.scope["method"],
            body,
            credential_headers(self.provider, key),
            platform_key=not byok,
        )
        try:
            await relay_body(response, send, None, self._extra_headers())
        finally:
            response.close()

    def _extra_headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"x-aiusage-request-id", self.request_id.encode())]

    async def metered(self, receive: Receive, send: Send) -> None:
        grant = await authenticate(self.rt, self.headers)
        body = await read_body(
            receive, get_settings().max_request_bytes, self.headers.get(b"content-length")
        )
        payload = parse_json_body(body)
        shape = request_shape(self.provider, payload, get_settings().server_tool_max_uses_default)
        # What the usage row keeps of the headers, checked before anything is held.
        self.user_agent = header_text(self.headers, b"user-agent", MAX_USER_AGENT_CHARS) or ""
        self.client_session_id = header_text(
            self.headers, b"x-claude-code-session-id", MAX_SESSION_ID_CHARS
        )
        upstream_body, strip_usage = body, False
        if self.provider == "openai" and payload.get("stream") is True:
            rewritten = ask_for_stream_usage(payload)
            if rewritten is not None:
                upstream_body, strip_usage = rewritten, True
        key, byok = upstream_credentials(grant, self.provider)
        price = await self.rt.price(self.provider, shape.model)
        ticket = HoldTicket(
            request_id=self.request_id,
            user_id=grant.user_id,
            key_id=grant.key_id,
            amount_nano=hold_nano(price, shape, len(body), byok),
            started_ms=math.floor(self.started_at.timestamp() * 1000),
            provider=self.provider,
            endpoint=self.route.upstream_path,
            model=shape.model,
            byok=byok,
            request_bytes=len(body),
        )
        key_hold = await self.rt.holds.place(grant, ticket)
        meter: Meter = (AnthropicMeter if self.provider == "anthropic" else OpenAIMeter)(len(body))
        outcome = RelayOutcome()
        try:
            response = await self.open_upstream(
                "POST",
                upstream_body,
                credential_headers(self.provider, key),
                platform_key=not byok,
                identity=strip_usage,
            )
            outcome.status = response.status
            try:
                if response.content_type.startswith("text/event-stream"):
                    outcome = await relay_stream(
                        response,
                        send,
                        receive,
                        meter,
                        self._extra_headers(),
                        provider=self.provider,
                        strip_usage=strip_usage,
                    )
                else:
                    outcome = await relay_body(response, send, meter, self._extra_headers())
            finally:
                response.close()
        except ProxyError as error:
            outcome.status = outcome.status or error.status
            outcome.error_type = (
                "upstream_timeout" if error.status == 504 else "upstream_unreachable"
            )
            raise
        except UpstreamTimeout:
            outcome.status = outcome.status or 504
            outcome.error_type = "upstream_timeout"
            raise ProxyError(504, "The upstream provider did not answer in time.") from None
        except UpstreamBroken:
            outcome.status = outcome.status or 502
            outcome.error_type = "upstream_error"
            raise ProxyError(502, "The upstream provider failed to answer.") from None
        except BaseException:
            # The client went away before the answer (cancelled), or the proxy failed: the
            # upstream may have billed what it accepted, and the hold is settled below.
            outcome.error_type = outcome.error_type or "proxy_interrupted"
            raise
        finally:
            self.settle(grant, shape, price, byok, ticket.amount_nano, key_hold, meter, outcome)

    def settle(
        self,
        grant: KeyGrant,
        shape: RequestShape,
        price: pricing.Price,
        byok: bool,
        hold: int,
        key_hold: int,
        meter: Meter,
        outcome: RelayOutcome,
    ) -> None:
        answered = 200 <= outcome.status < 300
        counts = meter.result(answered=answered)
        if answered and self.provider == "openai" and shape.server_tool_uses:
            counts.web_search_calls = shape.server_tool_uses  # one search per choice
        cost = pricing.cost_nano(price, counts)
        charge = pricing.charge_nano(cost, byok=byok)
        ended = time.perf_counter()
        self.rt.writer.submit(
            Settlement(
                user_id=grant.user_id,
                key_id=grant.key_id,
                hold_nano=hold,
                key_hold_nano=key_hold,
                charge_nano=charge,
                usage=dict(
                    request_id=self.request_id,
                    created_at=self.started_at,
                    provider=self.provider,
                    endpoint=self.route.upstream_path,
                    model=model_name(meter.model) or shape.model,
                    key_source="byok" if byok else "platform",
                    **counted_columns(counts),
                    cost_nano=cost,
                    charged_nano=charge,
                    priced_by_default=price.is_default,
                    status=outcome.status or 502,
                    error_type=outcome.error_type,
                    latency_ms=round((ended - self.started) * 1000),
                    ttfb_ms=(
                        round((outcome.first_byte_at - self.started) * 1000)
                        if outcome.first_byte_at
                        else None
                    ),
                    request_bytes=meter.request_bytes,
                    response_bytes=outcome.response_bytes,
                    streamed=outcome.streamed,
                    ip_hash=ip_hash(client_ip.from_scope(self.scope)),
                    user_agent=self.user_agent,
                    client_session_id=self.client_session_id,
                ),
            )
        )
