"""The current password, asked again before a change that would hand the account over or
end it: a new email address, a new password, closing the account. A stolen session cookie
alone is then not enough.

Wrong passwords given here count exactly as wrong log-in passwords (services/throttle.py:
per address and IP, per IP, per address), so these forms are no way around the log-in
throttle.

Accounts without a password (signed up with Google, or whose password was removed) keep
what they had before this check existed: an email change needs only the session, closing
the account the typed address, and changing the password is refused with wrong_password as
before (such accounts get a password through "forgot password")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiusage.models import User
from aiusage.services.accounts import WRONG_PASSWORD_CODE, wrong_password
from aiusage.services.errors import RateLimited, ServiceError
from aiusage.services.security import verify_password
from aiusage.services.throttle import login_throttle


# A new exception per refusal: re-raising one module-level instance would chain each raise's
# traceback onto the last (and keep their frames alive).
def _required() -> ServiceError:
    return ServiceError("current_password_required", "Enter your current password.")


async def _check_wait(user: User, ip: str) -> None:
    wait = await login_throttle().retry_after(user.email, ip)
    if wait:
        raise RateLimited("Too many wrong passwords. Try again later.", wait)


async def confirm_password(user: User, password: str, ip: str) -> None:
    """Raises unless `password` is the account's current one (no-op without a password)."""
    if not user.password_hash:
        return
    if not password:
        raise _required()
    await _check_wait(user, ip)
    if not await verify_password(password, user.password_hash):
        await login_throttle().failed(user.email, ip)
        raise wrong_password()
    await login_throttle().succeeded(user.email, ip)


@asynccontextmanager
async def counted(user: User, ip: str) -> AsyncIterator[None]:
    """Around a service call that checks the current password itself (change_password):
    refused while throttled, and a wrong_password it raises is counted."""
    await _check_wait(user, ip)
    try:
        yield
    except ServiceError as error:
        if error.code == WRONG_PASSWORD_CODE:
            await login_throttle().failed(user.email, ip)
        raise
