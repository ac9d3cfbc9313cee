"""The one pooled upstream client, and which headers cross the proxy in each direction.

Both directions drop the hop-by-hop headers (RFC 9110 section 7.6.1 and RFC 9112: Connection,
Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
Transfer-Encoding, Upgrade) and every header the message's own Connection header names.

Upstream, what else goes depends on whose key the proxy forwards with:

- the user's own key: every client header but the credentials (the proxy sets its own), the
  cookies, the client's address (Forwarded, X-Forwarded-*, X-Real-IP, Origin, Referer), Host
  and Content-Length (recomputed), and Accept-Encoding (replaced, see `accept_encoding`);
- the platform key (the operator's account): only the allow-list `PLATFORM_ALLOWED`, read off
  the providers' API references and what the official SDKs and Claude Code send:
  content-type, content-encoding, accept, user-agent; Anthropic's anthropic-version,
  anthropic-beta and anthropic-dangerous-direct-browser-access; OpenAI's openai-beta;
  idempotency-key, x-request-id, x-client-request-id (OpenAI's client-chosen request id);
  Claude Code's x-app and x-claude-code-session-id; and the SDKs' telemetry, every
  `x-stainless-*` header. Accept-Encoding is set by the proxy in both cases. Nothing that
  picks an account crosses: not OpenAI-Organization / OpenAI-Project (bill another
  organisation or project of the platform key), not Anthropic-Workspace-Id /
  Anthropic-User-Profile-Id (the Anthropic SDK's workspace and profile selectors), nor any
  header not named above."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import yarl

from aiusage.config import get_settings
from aiusage.proxy.decoding import SUPPORTED_ENCODINGS

# Hop-by-hop: they describe one connection, never the message, so never cross the proxy.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Never forwarded upstream, whatever the key: hop-by-hop headers, our own credentials and
# cookies, and anything that would reveal the client's address to the provider.
_DROP_REQUEST = HOP_BY_HOP | frozenset(
    {
        b"host",
        b"content-length",
        b"cookie",
        b"authorization",
        b"x-api-key",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-real-ip",
        b"origin",
        b"referer",
        b"accept-encoding",
    }
)
# With the platform key, the only client headers forwarded (with the proxy's own
# credentials and Accept-Encoding); see the module docstring for where the list comes from.
PLATFORM_ALLOWED = frozenset(
    {
        b"content-type",
        b"content-encoding",
        b"accept",
        b"user-agent",
        b"anthropic-version",
        b"anthropic-beta",
        b"anthropic-dangerous-direct-browser-access",
        b"openai-beta",
        b"idempotency-key",
        b"x-request-id",
        b"x-client-request-id",
        b"x-app",
        b"x-claude-code-session-id",
    }
)
PLATFORM_ALLOWED_PREFIX = b"x-stainless-"
# Never passed back: hop-by-hop headers, lengths we recompute, and the upstream's cookies.
_DROP_RESPONSE = HOP_BY_HOP | frozenset(
    {
        b"content-length",
        b"set-cookie",
        b"alt-svc",
        b"server",
        # The upstream account's identifiers: with a platform key, they are the operator's.
        b"anthropic-organization-id",
        b"anthropic-workspace-id",
        b"openai-organization",
        b"openai-project",
    }
)


class UpstreamTimeout(Exception):
    """The upstream did not answer (connect or read) in time."""


class UpstreamUnreachable(Exception):
    """No connection to the upstream could be made."""


class UpstreamBroken(Exception):
    """The upstream's response broke off (connection lost, bad framing) after it started."""


class UpstreamResponse:
    """The parts of an upstream response the relay needs, whatever the HTTP client."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.raw_headers: list[tuple[bytes, bytes]] = list(response.raw_headers)
        self.content_type = response.headers.get("content-type", "")
        self.content_encoding = response.headers.get("content-encoding", "")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive, still content-encoded."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except TimeoutError as error:
            raise UpstreamTimeout(type(error).__name__) from None
        except aiohttp.ClientError as error:
            raise UpstreamBroken(type(error).__name__) from None

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def close(self) -> None:
        """Returns the connection to the pool when the body was read to its end, else
        drops it (which also cancels an upstream stream the client walked away from)."""
        if self._response.content.is_eof():
            self._response.release()
        else:
            self._response.close()


class UpstreamClient:
    """One pooled client for every forward (aiohttp: measured at a fraction of httpx's CPU
    per request by bench/parts.py). Bodies are passed on exactly as received: no automatic
    decompression, no automatic headers."""

    def __init__(self) -> None:
        settings = get_settings()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512, limit_per_host=0, keepalive_timeout=60),
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=settings.upstream_connect_timeout,
                sock_read=settings.upstream_read_timeout,
            ),
            auto_decompress=False,
            trust_env=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )

    async def open(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes | None
    ) -> UpstreamResponse:
        try:
            response = await self._session.request(
                method,
                yarl.URL(url, encoded=True),  # the query string goes on byte for byte
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers],
                data=body,
                allow_redirects=False,
            )
        except TimeoutError:
            raise UpstreamTimeout("no answer in time") from None
        except aiohttp.ClientConnectorError as error:
            raise UpstreamUnreachable(type(error).__name__) from None
        except aiohttp.ClientError as error:
            raise UpstreamBroken(type(error).__name__) from None
        return UpstreamResponse(response)

    async def close(self) -> None:
        await self._session.close()


def accept_encoding(client_value: bytes | None) -> bytes:
    """The client's Accept-Encoding, less what the proxy could not decode to meter."""
    if not client_value:
        return b"identity"
    kept = []
    for item in client_value.decode("latin-1").split(","):
        name = item.split(";")[0].strip().lower()
        if name in SUPPORTED_ENCODINGS:
            kept.append(item.strip())
    return ", ".join(kept).encode() if kept else b"identity"


def connection_named(raw: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The (lower-case) header names a message's Connection header(s) list: hop-by-hop too."""
    names: set[bytes] = set()
    for key, value in raw:
        if key.lower() == b"connection":
            names.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(names)


def credential_headers(provider: str, key: str) -> list[tuple[bytes, bytes]]:
    """The upstream key as each provider takes it."""
    if provider == "anthropic":
        return [(b"x-api-key", key.encode())]
    return [(b"authorization", b"Bearer " + key.encode())]


def request_headers(
    raw: list[tuple[bytes, bytes]],
    credentials: list[tuple[bytes, bytes]],
    *,
    identity: bool,
    platform_key: bool = False,
) -> list[tuple[bytes, bytes]]:
    """The headers to send upstream: the client's `raw` (ASGI, lower-case names) filtered
    as the module docstring says, then Accept-Encoding and the proxy's `credentials`."""
    headers = []
    client_encoding = None
    connection = False
    for k, v in raw:
        if k in _DROP_REQUEST:
            if k == b"accept-encoding":
                client_encoding = client_encoding or v
            elif k == b"connection":
                connection = True
        elif not platform_key or k in PLATFORM_ALLOWED or k.startswith(PLATFORM_ALLOWED_PREFIX):
            headers.append((k, v))
    if connection:
        named = connection_named(raw)
        headers = [(k, v) for k, v in headers if k not in named]
    headers.append(
        (b"accept-encoding", b"identity" if identity else accept_encoding(client_encoding))
    )
    headers.extend(credentials)
    return headers


def response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's headers to pass back (lower-case names), less `_DROP_RESPONSE` and
    the headers its Connection header names."""
    headers = []
    connection = False
    for k, v in raw:
        k = k.lower()
        if k not in _DROP_RESPONSE:
            headers.append((k, v))
        elif k == b"connection":
            connection = True
    if connection:
        named = connection_named(raw)
        headers = [(k, v) for k, v in headers if k not in named]
    return headers
