"""The one pooled upstream client, and which headers cross the proxy in each direction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import yarl

from aiusage.config import get_settings
from aiusage.proxy.decoding import SUPPORTED_ENCODINGS

# Never forwarded upstream: hop-by-hop headers, our own credentials and cookies, and
# anything that would reveal the client's address to the provider.
_DROP_REQUEST = frozenset(
    {
        b"host",
        b"content-length",
        b"connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
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
# Never passed back: hop-by-hop headers, lengths we recompute, and the upstream's cookies.
_DROP_RESPONSE = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"content-length",
        b"set-cookie",
        b"alt-svc",
        b"server",
        # The upstream account's identifiers: with a platform key, they are the operator's.
        b"anthropic-organization-id",
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


def request_headers(
    raw: list[tuple[bytes, bytes]], credentials: list[tuple[bytes, bytes]], *, identity: bool
) -> list[tuple[bytes, bytes]]:
    headers = [(k, v) for k, v in raw if k not in _DROP_REQUEST]
    client_encoding = next((v for k, v in raw if k == b"accept-encoding"), None)
    headers.append(
        (b"accept-encoding", b"identity" if identity else accept_encoding(client_encoding))
    )
    headers.extend(credentials)
    return headers


def response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower(), v) for k, v in raw if k.lower() not in _DROP_RESPONSE]
