"""Errors services raise: a stable code the UI translates, and a plain-English message."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal a user can understand. `code` is stable; messages never carry secrets."""

    status: int = 400

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    status = 404


class RateLimited(ServiceError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("rate_limited", message)
        self.retry_after = retry_after
