"""One proxied request: authenticate, read the body, hold the worst-case cost, forward,
relay, settle. Settlement happens exactly once, whatever ends the request."""

from __future__ import annotations

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
from aiusage.observability import metrics
from aiusage.proxy.asgi_io import read_body, send_json
from aiusage.proxy.auth import KeyGrant, presented_key
from aiusage.proxy.errors import ProxyError
from aiusage.proxy.holds import HoldTicket
from aiusage.proxy.key_pool import retried_on_next_key
from aiusage.proxy.model_list import claude_model_list, listed_models
from aiusage.proxy.relay import RelayOutcome, relay_body, relay_stream
from aiusage.proxy.runtime import ProxyRuntime
from aiusage.proxy.surfaces import Surface
from aiusage.proxy.surfaces.openai_chat import OPENAI_CHAT
from aiusage.proxy.upstream import (
    UpstreamBroken,
    UpstreamResponse,
    UpstreamTimeout,
    UpstreamUnreachable,
    credential_headers,
    request_headers,
)
from aiusage.proxy.usage_counts import Meter
from aiusage.proxy.usage_writer import Settlement, counted_columns
from aiusage.proxy.validation import (
    MAX_SESSION_ID_CHARS,
    MAX_USER_AGENT_CHARS,
    RequestShape,
    header_text,
    model_name,
    parse_json_body,
)
from aiusage.services import billing, client_ip, key_rules, pricing
from aiusage.services.crypto import SealError, open_sealed
from aiusage.services.keys import PoolKey
from aiusage.services.security import ip_hash

log = logging.getLogger("aiusage.proxy")


@dataclass(frozen=True)
class Route:
    """Where a path goes. With a surface the request is metered and billed; without, it is
    passed through (lists, counts, stored responses) for an account that could pay."""

    method: str
    provider: str  # whose key and base URL: "anthropic" | "openai"
    upstream_path: str
    surface: Surface | None = None

    @property
    def client_format(self) -> str:
        return self.surface.client_format if self.surface else self.provider


async def authenticate(rt: ProxyRuntime, scope: Scope, headers: dict[bytes, bytes]) -> KeyGrant:
    """The key's grant, once its own rules let this request through (401/403/429)."""
    presented = presented_key(headers)
    if presented is None:
        raise ProxyError(
            401, "Missing API key: send your aiusage key as x-api-key or Authorization: Bearer."
        )
    grant = await rt.keys.lookup(presented)
    if grant is None:
        raise ProxyError(401, "Invalid API key: it is unknown or has been revoked.")
    if grant.suspended:
        raise ProxyError(403, "This account is suspended; its owner can contact support.")
    refuse_unusable_key(grant.disabled, grant.expires_at, datetime.now(UTC))
    if not key_rules.address_allowed(grant.allowed_networks, client_ip.from_scope(scope)):
        raise ProxyError(403, "This API key cannot be used from this network address.")
    if grant.rpm_limit is not None:
        wait = await rt.rpm.try_hit(str(grant.key_id), grant.rpm_limit)
        if wait:
            raise ProxyError(
                429,
                f"This key's limit of {grant.rpm_limit} requests per minute is reached.",
                retry_after=wait,
            )
    if grant.tpm_limit is not None:
        wait = await rt.tpm.retry_after(str(grant.key_id), grant.tpm_limit)
        if wait:
            raise ProxyError(
                429,
                f"This key's limit of {grant.tpm_limit} tokens per minute is reached.",
                retry_after=wait,
            )
    return grant


def refuse_unusable_key(disabled: bool, expires_at: datetime | None, now: datetime) -> None:
    """401 for a key its owner disabled, or one past its expiry."""
    if disabled:
        raise ProxyError(401, "This API key is disabled; its owner can enable it in the dashboard.")
    if expires_at is not None and expires_at <= now:
        raise ProxyError(401, f"This API key expired on {expires_at:%Y-%m-%d %H:%M} UTC.")


def check_model_allowed(grant: KeyGrant, model: str) -> None:
    if not key_rules.model_allowed(grant.allowed_models, model):
        raise ProxyError(
            403, "This API key may only use these models: " + ", ".join(grant.allowed_models) + "."
        )


@dataclass(frozen=True)
class Credential:
    """One upstream key a request may use: one of the user's pool, or the platform's."""

    secret: str
    pooled: PoolKey | None = None  # None: the platform's key

    @property
    def byok(self) -> bool:
        return self.pooled is not None


def upstream_credentials(
    rt: ProxyRuntime, grant: KeyGrant, provider: str
) -> tuple[list[PoolKey], Credential]:
    """The keys to try, in order, and the first one opened. The user's own keys win over
    the platform's; a pool whose every key the provider refused is a 403."""
    name = "Anthropic" if provider == "anthropic" else "OpenAI"
    pool = grant.provider_keys.get(provider, ())
    if pool:
        ordered = rt.pool_health.order(pool)
        if not ordered:
            raise ProxyError(
                403,
                f"{name} refused every {name} key of this account (401): replace them in the"
                " dashboard.",
            )
        return ordered, opened(grant, ordered[0])
    settings = get_settings()
    platform = (
        settings.platform_anthropic_key if provider == "anthropic" else settings.platform_openai_key
    )
    if not platform:
        raise ProxyError(
            403, f"No {name} key is set up for this account: add your own key in the dashboard."
        )
    return [], Credential(platform)


def opened(grant: KeyGrant, key: PoolKey) -> Credential:
    try:
        return Credential(open_sealed(key.sealed, grant.user_id, key.provider), key)
    except SealError:
        log.error("a stored %s key of user %s cannot be opened", key.provider, grant.user_id)
        raise ProxyError(
            500,
            "Your stored provider key cannot be used; please enter it again in the dashboard.",
        ) from None


def output_bound(price: pricing.Price, shape: RequestShape) -> int:
    """The most output tokens this request can produce: its own maximum (else the model's)
    times `n`."""
    return (shape.max_output or pricing.max_output_tokens(price)) * shape.choices


def hold_nano(price: pricing.Price, shape: RequestShape, request_bytes: int, byok: bool) -> int:
    """The worst case this request can cost the user, a true upper bound: request bytes bound
    its input tokens (unless the upstream reads stored context: then the shape's bound);
    `output_bound` bounds the output; each allowed server-tool use is charged at the dearest
    tool fee."""
    worst = pricing.worst_case_cost_nano(
        price,
        max(request_bytes, shape.input_tokens or 0),
        output_bound(price, shape),
        shape.server_tool_uses,
    )
    return pricing.charge_nano(worst, byok=byok)


class ProxyCall:
    """State of one request from arrival to settlement."""

    def __init__(self, rt: ProxyRuntime, route: Route, scope: Scope) -> None:
        self.rt = rt
        self.route = route
        self.client_format = route.client_format  # the error shape the caller reads
        self.scope = scope
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC)
        self.request_id = "req_" + secrets.token_hex(12)
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        self.user_agent = ""
        self.client_session_id: str | None = None
        self.credential: Credential | None = None  # the upstream key last used
        # What the metrics read when the request ends (`observe`), set on the way.
        self.surface: Surface | None = None  # the surface that serves the model
        self.outcome: RelayOutcome | None = None  # what was relayed, once known
        self.forwarded = False  # the upstream was (or was tried to be) called
        self.upstream_error: str | None = None

    @property
    def provider(self) -> str:
        return self.route.provider

    def upstream_url(self, provider: str, path: str) -> str:
        """The provider's base URL, the path, and the caller's query string as it came."""
        settings = get_settings()
        base = settings.anthropic_base_url if provider == "anthropic" else settings.openai_base_url
        query = self.scope.get("query_string", b"")
        return base + path + ("?" + query.decode("latin-1") if query else "")

    async def open_upstream(
        self,
        method: str,
        body: bytes,
        credentials: list[tuple[bytes, bytes]],
        *,
        platform_key: bool,
        identity: bool = False,
        where: tuple[str, str] | None = None,
    ) -> UpstreamResponse:
        """`platform_key`: only an allow-list of client headers goes upstream (none that
        could pick another organisation or workspace of the operator's account). `where`:
        (provider, path), the route's own by default."""
        assert self.rt.client is not None
        self.forwarded = True
        try:
            return await self.rt.client.open(
                method,
                self.upstream_url(*(where or (self.provider, self.route.upstream_path))),
                request_headers(
                    self.scope["headers"],
                    credentials,
                    identity=identity,
                    platform_key=platform_key,
                ),
                body if method != "GET" else None,
            )
        except UpstreamTimeout:
            self.upstream_error = "upstream_timeout"
            raise ProxyError(504, "The upstream provider did not answer in time.") from None
        except (UpstreamUnreachable, UpstreamBroken) as error:
            self.upstream_error = "upstream_unreachable"
            log.warning("upstream unreachable (%s)", error)
            raise ProxyError(502, "Could not reach the upstream provider.") from None

    async def passthrough(self, receive: Receive, send: Send) -> None:
        """Unmetered routes (models, count_tokens): forward and relay, nothing charged. Only
        for an account that could pay for metered use (credit, or its own provider key), and
        rate-limited per key: they cost the platform key's owner upstream quota."""
        grant = await authenticate(self.rt, self.scope, self.headers)
        wait = await self.rt.unmetered_rpm.try_hit(str(grant.key_id), get_settings().unmetered_rpm)
        if wait:
            raise ProxyError(
                429, "Too many requests to this endpoint with this key.", retry_after=wait
            )
        body = await read_body(
            receive, get_settings().max_request_bytes, self.headers.get(b"content-length")
        )
        # A model list shows what this key may use; in OpenAI's format (Cursor) it also
        # shows the Claude models its owner can reach.
        lists_models = self.route.upstream_path == "/v1/models"
        claude = [
            name
            for name in (await self._claude_models(grant) if lists_models else [])
            if self.provider == "openai" and key_rules.model_allowed(grant.allowed_models, name)
        ]
        rewrite = listed_models(claude, grant.allowed_models) if lists_models else None
        try:
            _, credential = upstream_credentials(self.rt, grant, self.provider)
        except ProxyError:
            if not claude:
                raise
            await send_json(send, 200, claude_model_list(claude))
            return
        key, byok = credential.secret, credential.byok
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
            identity=rewrite is not None,
        )
        try:
            self.outcome = await relay_body(response, send, None, self._extra_headers(), rewrite)
        finally:
            response.close()

    async def _claude_models(self, grant: KeyGrant) -> list[str]:
        """The Claude models of the price table, if this user can reach Anthropic."""
        if not grant.provider_keys.get("anthropic") and not get_settings().platform_anthropic_key:
            return []
        return (await self.rt.current_prices()).models("anthropic")

    def _extra_headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"x-aiusage-request-id", self.request_id.encode())]

    async def metered(self, surface: Surface, receive: Receive, send: Send) -> None:
        grant = await authenticate(self.rt, self.scope, self.headers)
        body = await read_body(
            receive, get_settings().max_request_bytes, self.headers.get(b"content-length")
        )
        payload = parse_json_body(body)
        tool_uses = get_settings().server_tool_max_uses_default
        shape = surface.shape(payload, tool_uses)
        check_model_allowed(grant, shape.model)
        surface = self.surface = surface.serving(shape.model, await self.rt.current_prices())
        # What the usage row keeps of the headers, checked before anything is held.
        self.user_agent = header_text(self.headers, b"user-agent", MAX_USER_AGENT_CHARS) or ""
        self.client_session_id = header_text(
            self.headers, b"x-claude-code-session-id", MAX_SESSION_ID_CHARS
        )
        pool, credential = upstream_credentials(self.rt, grant, surface.provider)
        byok = credential.byok
        price = await self.rt.price(surface.provider, shape.model)
        upstream_body, shape = surface.prepare(payload, body, shape, price, tool_uses)
        ticket = HoldTicket(
            request_id=self.request_id,
            user_id=grant.user_id,
            key_id=grant.key_id,
            # A translated body may be longer than the client's: the longer bounds input.
            amount_nano=hold_nano(price, shape, max(len(body), len(upstream_body)), byok),
            started_ms=math.floor(self.started_at.timestamp() * 1000),
            provider=surface.provider,
            endpoint=surface.endpoint,
            model=shape.model,
            byok=byok,
            request_bytes=len(body),
        )
        key_hold = await self.rt.holds.place(grant, ticket)
        meter = surface.meter(len(body))
        meter.output_cap = output_bound(price, shape)  # an estimate never exceeds the hold
        outcome = RelayOutcome()
        try:
            response = await self.forward(surface, grant, pool, credential, upstream_body, payload)
            outcome.status = response.status
            try:
                if response.content_type.startswith("text/event-stream"):
                    outcome = await relay_stream(
                        response,
                        send,
                        receive,
                        meter,
                        self._extra_headers(),
                        stream_error=surface.stream_error,
                        stream_filter=surface.stream_filter(meter, payload),
                    )
                else:
                    outcome = await relay_body(
                        response, send, meter, self._extra_headers(), surface.body_rewriter(payload)
                    )
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
            self.settle(
                grant,
                surface,
                shape,
                price,
                self.credential or credential,
                ticket.amount_nano,
                key_hold,
                meter,
                outcome,
            )

    async def forward(
        self,
        surface: Surface,
        grant: KeyGrant,
        pool: list[PoolKey],
        credential: Credential,
        body: bytes,
        payload: dict[str, Any],
    ) -> UpstreamResponse:
        """Sends the request upstream with the first key; while a pool key answers with a
        status another key may not (401, 429, 529, 5xx) and nothing reached the client, the
        next key of the pool is tried. Returns the answer to relay; `self.credential` is the
        key that gave it (the one the usage row names)."""
        attempt = 0
        while True:
            self.credential = credential
            response = await self.open_upstream(
                "POST",
                body,
                surface.credential_headers(credential.secret),
                platform_key=not credential.byok or surface.translates,
                identity=surface.rewrites(payload),
                where=(surface.provider, surface.upstream_path),
            )
            used = credential.pooled
            if used is None:
                return response
            if not retried_on_next_key(response.status):
                self.rt.pool_health.succeeded(used)
                return response
            self.rt.pool_health.failed(used, response.status)
            attempt += 1
            if attempt >= len(pool):
                return response  # counted with the request's outcome
            if kind := metrics.status_error(response.status):
                metrics.count_upstream_error(surface.provider, kind)
            response.close()
            log.info("provider key %s answered %s: trying the next", used.id, response.status)
            credential = opened(grant, pool[attempt])

    def settle(
        self,
        grant: KeyGrant,
        surface: Surface,
        shape: RequestShape,
        price: pricing.Price,
        credential: Credential,
        hold: int,
        key_hold: int,
        meter: Meter,
        outcome: RelayOutcome,
    ) -> None:
        byok = credential.byok
        used = credential.pooled
        answered = 200 <= outcome.status < 300
        counts = meter.result(answered=answered)
        if meter.upstream_error and outcome.error_type is None:
            outcome.error_type = "upstream_stream_error"  # an error event ended the stream
        self.outcome = outcome
        if answered and surface is OPENAI_CHAT and shape.server_tool_uses:
            counts.web_search_calls = shape.server_tool_uses  # one search per choice
        if grant.tpm_limit is not None:
            self.rt.tpm.add_soon(str(grant.key_id), counts.prompt + counts.output)
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
                key_budgeted=grant.budget_nano is not None,
                usage=dict(
                    request_id=self.request_id,
                    created_at=self.started_at,
                    provider=surface.provider,
                    endpoint=surface.endpoint,
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
                    provider_key_id=used.id if used else None,
                    provider_key_last4=used.last4 if used else None,
                    provider_key_label=used.label if used else None,
                ),
            )
        )

    def observe(self, refused: int) -> None:
        """Counts the ended request in the metrics. `refused`: the status of the error the
        proxy answered itself (0: it relayed the upstream's answer, or the client left)."""
        surface = self.surface or self.route.surface
        outcome = self.outcome
        upstream_status = outcome.status if outcome is not None else 0
        first_byte_at = outcome.first_byte_at if outcome is not None else None
        metrics.record_request(
            surface.provider if surface is not None else self.route.provider,
            surface.endpoint
            if surface is not None
            else metrics.surface_label(self.route.upstream_path),
            refused or upstream_status or metrics.CLIENT_CLOSED,
            forwarded=self.forwarded,
            seconds=time.perf_counter() - self.started,
            ttfb=first_byte_at - self.started if first_byte_at is not None else None,
            error_type=(outcome.error_type if outcome is not None else None) or self.upstream_error,
            upstream_status=upstream_status,
        )
