"""The one pooled upstream client, and which headers cross the proxy in each direction."""

from __future__ import annotations

import httpx

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


def new_client() -> httpx.AsyncClient:
    settings = get_settings()
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=settings.upstream_connect_timeout,
            read=settings.upstream_read_timeout,
            write=settings.upstream_read_timeout,
            pool=settings.upstream_connect_timeout,
        ),
        limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
        follow_redirects=False,
        trust_env=False,
    )


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
