"""The proxy's own reading and answering at the ASGI level: a request body read within its
limit, a JSON answer, an error in the provider's own shape (proxy/errors.py)."""

from __future__ import annotations

from starlette.types import Receive, Send

from aiusage.proxy.errors import ProxyError, error_body


async def send_json(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, provider: str, error: ProxyError) -> None:
    retry = [] if error.retry_after is None else [(b"retry-after", str(error.retry_after).encode())]
    await send_json(send, error.status, error_body(provider, error.status, error.message), retry)


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
