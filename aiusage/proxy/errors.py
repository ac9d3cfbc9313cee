"""Errors in each provider's own shape, so SDKs raise their usual exceptions."""

from __future__ import annotations

import json
from typing import Any

ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    402: ("insufficient_quota", "insufficient_quota"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_exceeded", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", "upstream_error"),
    503: ("server_error", "overloaded"),
    504: ("server_error", "upstream_timeout"),
}


class ProxyError(Exception):
    """A refusal or failure answered by the proxy itself, in the caller's format."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def error_body(provider: str, status: int, message: str) -> bytes:
    if provider == "openai":
        kind, code = OPENAI_TYPES.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        payload: dict[str, Any] = {
            "error": {"message": message, "type": kind, "param": None, "code": code}
        }
    else:
        payload = {
            "type": "error",
            "error": {"type": ANTHROPIC_TYPES.get(status, "api_error"), "message": message},
        }
    return json.dumps(payload).encode()


def stream_error_event(provider: str, message: str) -> bytes:
    """What a client gets when the upstream breaks off a stream."""
    if provider == "openai-responses":
        # The Responses stream's own `error` event (what Codex reads), with the `error`
        # object the openai SDK raises an APIError on.
        event = {
            "type": "error",
            "code": "upstream_error",
            "message": message,
            "param": None,
            "error": {"type": "server_error", "code": "upstream_error", "message": message},
        }
        return b"event: error\ndata: " + json.dumps(event).encode() + b"\n\n"
    if provider == "openai":
        return b"data: " + error_body("openai", 502, message) + b"\n\n"
    return b"event: error\ndata: " + error_body("anthropic", 500, message) + b"\n\n"
