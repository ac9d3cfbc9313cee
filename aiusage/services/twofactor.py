"""Two-factor sign-in: TOTP codes (RFC 6238, through pyotp) and single-use backup codes.

- Enrolment: the user proves it is them again (the caller asks the password again through
  services/reauth.py; an account without one — Google only — needs none, the confirming
  code proves the authenticator), gets a fresh secret as a QR code and as text, and
  confirms it with a current code. Until then the row is pending and changes nothing.
  Confirming shows ten backup codes, once.
- At rest the secret is sealed with AES-256-GCM under the app's master key, like provider
  keys (services/crypto.py), the user id bound in as associated data; backup codes are kept
  as SHA-256 hashes salted with the user id. Neither is ever logged.
- A TOTP code is good for one time step either side of now (clock drift) and only once:
  the last step accepted is kept and a code of that step or an earlier one is refused.
- Signing in: after the password (or Google), `start_challenge` makes a short-lived random
  token — the browser keeps it in an HttpOnly cookie, the database its hash — and only
  `finish_challenge` with a right code gives a session. A challenge takes a few tries and
  is gone once used; wrong codes also count per account over a window, across challenges.
- Turning it off needs the password again (the caller's reauth check, if the account has
  one) and a current or backup code; an operator can reset it from the CLI
  (`aiusage user reset-2fa`)."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import rowcount
from aiusage.models import BackupCode, SignInChallenge, TwoFactor, User, utcnow
from aiusage.models.base import id_of
from aiusage.services import crypto
from aiusage.services.errors import ServiceError
from aiusage.services.security import new_token, token_hash

ISSUER = "aiusage"
VALID_WINDOW = 1  # time steps either side of now
BACKUP_CODE_COUNT = 10
BACKUP_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read off a sheet
BACKUP_CODE_LENGTH = 12  # ~59 bits each
ENROL_TTL = timedelta(minutes=30)
CHALLENGE_TTL = timedelta(minutes=5)
CHALLENGE_MAX_ATTEMPTS = 5
FAILURE_LIMIT = 10  # wrong codes per account ...
FAILURE_WINDOW = timedelta(minutes=15)  # ... in this long
MAX_CODE_CHARS = 64

_TOTP_RE = re.compile(r"^[0-9]{6}$")


def wrong_code() -> ServiceError:
    return ServiceError("two_factor_wrong_code", "That code is not right.", status=401)


def expired() -> ServiceError:
    return ServiceError(
        "two_factor_expired", "This sign-in has expired. Sign in again.", status=401
    )


@dataclass(frozen=True)
class Enrolment:
    """What the settings page shows once while enrolling."""

    secret: str
    uri: str
    qr_data_url: str


@dataclass(frozen=True)
class Status:
    enabled: bool
    enabled_at: datetime | None
    backup_codes_left: int


def _aad(user_id: int) -> bytes:
    return f"aiusage/totp-secret/v1/{user_id}".encode()


def _open(row: TwoFactor) -> str:
    return crypto.open_with(
        crypto.Sealed(row.master_key_id, row.nonce, row.ciphertext), _aad(row.user_id)
    )


def _backup_hash(user_id: int, normalized: str) -> str:
    return token_hash(f"aiusage/backup-code/v1/{user_id}/{normalized}")


def _normalize_backup(code: str) -> str | None:
    value = code.strip().lower().replace("-", "").replace(" ", "")
    if len(value) != BACKUP_CODE_LENGTH or any(c not in BACKUP_ALPHABET for c in value):
        return None
    return value


def format_backup(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


async def _row(db: AsyncSession, user_id: int) -> TwoFactor | None:
    return (
        await db.execute(select(TwoFactor).where(col(TwoFactor.user_id) == user_id))
    ).scalar_one_or_none()


async def is_enabled(db: AsyncSession, user_id: int) -> bool:
    row = await _row(db, user_id)
    return row is not None and row.enabled_at is not None


async def status(db: AsyncSession, user_id: int) -> Status:
    row = await _row(db, user_id)
    if row is None or row.enabled_at is None:
        return Status(False, None, 0)
    left = (
        await db.execute(
            select(func.count())
            .select_from(BackupCode)
            .where(col(BackupCode.user_id) == user_id, col(BackupCode.used_at).is_(None))
        )
    ).scalar_one()
    return Status(True, row.enabled_at, left)


# --- enrolment -------------------------------------------------------------------------------


def qr_data_url(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#111", light="#fff")


async def begin_enrolment(db: AsyncSession, user: User) -> Enrolment:
    """A new secret, pending until confirmed with a code. Replaces an unconfirmed one. The
    caller has asked the password again (services/reauth.py)."""
    if await is_enabled(db, id_of(user)):
        raise ServiceError("two_factor_already_on", "Two-factor sign-in is already on.", status=409)
    secret = pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends
    sealed = crypto.seal_with(secret, _aad(id_of(user)))
    await db.execute(delete(TwoFactor).where(col(TwoFactor.user_id) == user.id))
    db.add(
        TwoFactor(
            user_id=id_of(user),
            master_key_id=sealed.key_id,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
        )
    )
    await db.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret, uri, qr_data_url(uri))


async def confirm_enrolment(db: AsyncSession, user: User, code: str) -> list[str]:
    """Turns two-factor sign-in on if `code` is current for the pending secret; returns the
    backup codes (shown once, only their hashes kept)."""
    row = await _row(db, id_of(user))
    if row is None or row.enabled_at is not None or row.created_at + ENROL_TTL <= utcnow():
        raise ServiceError(
            "two_factor_enrolment_expired",
            "This set-up has expired. Start again.",
            status=409,
        )
    if not await _accept_totp(db, row, code.strip().replace(" ", "")):
        raise wrong_code()
    await db.execute(
        update(TwoFactor)
        .where(col(TwoFactor.id) == row.id, col(TwoFactor.enabled_at).is_(None))
        .values(enabled_at=utcnow(), failed_count=0, failed_since=None)
    )
    return await _new_backup_codes(db, id_of(user))


async def cancel_enrolment(db: AsyncSession, user_id: int) -> None:
    """Drops an enrolment not yet confirmed (never an enabled second factor)."""
    await db.execute(
        delete(TwoFactor).where(
            col(TwoFactor.user_id) == user_id, col(TwoFactor.enabled_at).is_(None)
        )
    )


async def _new_backup_codes(db: AsyncSession, user_id: int) -> list[str]:
    await db.execute(delete(BackupCode).where(col(BackupCode.user_id) == user_id))
    codes = [
        "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
        for _ in range(BACKUP_CODE_COUNT)
    ]
    db.add_all(BackupCode(user_id=user_id, code_hash=_backup_hash(user_id, c)) for c in codes)
    await db.flush()
    return [format_backup(c) for c in codes]


# --- checking a code -------------------------------------------------------------------------


async def _accept_totp(db: AsyncSession, row: TwoFactor, code: str) -> bool:
    """True once per time step: the step is recorded with a guarded update, so the same code
    (or an older one) never passes again, even in two requests at once."""
    if not _TOTP_RE.match(code):
        return False
    totp = pyotp.TOTP(_open(row))
    now = totp.timecode(utcnow())
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if row.last_step is not None and step <= row.last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            result = await db.execute(
                update(TwoFactor)
                .where(
                    col(TwoFactor.id) == row.id,
                    or_(col(TwoFactor.last_step).is_(None), col(TwoFactor.last_step) < step),
                )
                .values(last_step=step)
            )
            return rowcount(result) == 1
    return False


async def _accept_backup(db: AsyncSession, user_id: int, code: str) -> bool:
    normalized = _normalize_backup(code)
    if normalized is None:
        return False
    result = await db.execute(
        update(BackupCode)
        .where(
            col(BackupCode.user_id) == user_id,
            col(BackupCode.code_hash) == _backup_hash(user_id, normalized),
            col(BackupCode.used_at).is_(None),
        )
        .values(used_at=utcnow())
    )
    return rowcount(result) == 1


async def _verify(db: AsyncSession, row: TwoFactor, code: str) -> None:
    """Accepts a current TOTP code or an unused backup code of this enabled row; else counts
    the failure (in `db`: the caller commits it before raising on) and raises."""
    now = utcnow()
    window_open = row.failed_since is not None and row.failed_since + FAILURE_WINDOW > now
    if window_open and row.failed_count >= FAILURE_LIMIT:
        raise ServiceError(
            "two_factor_rate_limited",
            "Too many wrong codes. Wait a few minutes and try again.",
            status=429,
        )
    code = (code or "")[:MAX_CODE_CHARS].strip().replace(" ", "")
    if _TOTP_RE.match(code):
        ok = await _accept_totp(db, row, code)
    else:
        ok = await _accept_backup(db, row.user_id, code)
    if ok:
        if row.failed_count:
            await db.execute(
                update(TwoFactor)
                .where(col(TwoFactor.id) == row.id)
                .values(failed_count=0, failed_since=None)
            )
        return
    counted = (
        {"failed_count": col(TwoFactor.failed_count) + 1}
        if window_open
        else {"failed_count": 1, "failed_since": now}
    )
    await db.execute(update(TwoFactor).where(col(TwoFactor.id) == row.id).values(**counted))
    raise wrong_code()


async def _enabled_row(db: AsyncSession, user_id: int) -> TwoFactor:
    row = await _row(db, user_id)
    if row is None or row.enabled_at is None:
        raise ServiceError("two_factor_off", "Two-factor sign-in is off.", status=409)
    return row


async def disable(db: AsyncSession, user: User, code: str) -> None:
    """Turns it off with a current or backup code (the caller has asked the password again).
    A wrong code is committed as a failure before the error is raised."""
    row = await _enabled_row(db, id_of(user))
    try:
        await _verify(db, row, code)
    except ServiceError:
        await db.commit()
        raise
    await forget(db, id_of(user))


async def forget(db: AsyncSession, user_id: int) -> bool:
    """Removes the user's second factor, backup codes and pending sign-ins (turning it off,
    an operator's reset, a closed account). True if it was on."""
    was_on = await is_enabled(db, user_id)
    await db.execute(delete(SignInChallenge).where(col(SignInChallenge.user_id) == user_id))
    await db.execute(delete(BackupCode).where(col(BackupCode.user_id) == user_id))
    await db.execute(delete(TwoFactor).where(col(TwoFactor.user_id) == user_id))
    return was_on


# --- the second step of signing in -------------------------------------------------------------


async def start_challenge(db: AsyncSession, user: User) -> str | None:
    """After a right password (or Google): None when the account has no second factor (sign
    in now); else the token for the pending-step cookie (only its hash is stored)."""
    if not await is_enabled(db, id_of(user)):
        return None
    now = utcnow()
    await db.execute(delete(SignInChallenge).where(col(SignInChallenge.expires_at) <= now))
    token = new_token()
    db.add(
        SignInChallenge(
            user_id=id_of(user), token_hash=token_hash(token), expires_at=now + CHALLENGE_TTL
        )
    )
    return token


async def finish_challenge(db: AsyncSession, token: str | None, code: str) -> User:
    """The user, once `code` is right for the challenge behind `token`; the challenge is then
    gone (single use). Wrong codes are committed before the error is raised; the last try a
    challenge allows ends it."""
    if not token or len(token) > 200:
        raise expired()
    challenge = (
        await db.execute(
            select(SignInChallenge).where(col(SignInChallenge.token_hash) == token_hash(token))
        )
    ).scalar_one_or_none()
    if challenge is None:
        raise expired()
    if challenge.expires_at <= utcnow() or challenge.attempts >= CHALLENGE_MAX_ATTEMPTS:
        await db.execute(delete(SignInChallenge).where(col(SignInChallenge.id) == challenge.id))
        await db.commit()
        raise expired()
    user = await db.get(User, challenge.user_id)
    row = await _row(db, challenge.user_id)
    if (
        user is None
        or user.closed_at is not None
        or user.suspended_at is not None
        or row is None
        or row.enabled_at is None
    ):
        # Closed, or the second factor was reset meanwhile: start again from the password.
        await db.execute(delete(SignInChallenge).where(col(SignInChallenge.id) == challenge.id))
        await db.commit()
        raise expired()
    try:
        await _verify(db, row, code)
    except ServiceError as error:
        if error.code == "two_factor_wrong_code":
            if challenge.attempts + 1 >= CHALLENGE_MAX_ATTEMPTS:
                await db.execute(
                    delete(SignInChallenge).where(col(SignInChallenge.id) == challenge.id)
                )
                error = ServiceError(
                    "two_factor_too_many",
                    "Too many wrong codes. Sign in again.",
                    status=401,
                )
            else:
                await db.execute(
                    update(SignInChallenge)
                    .where(col(SignInChallenge.id) == challenge.id)
                    .values(attempts=col(SignInChallenge.attempts) + 1)
                )
        await db.commit()
        raise error from None
    used = await db.execute(delete(SignInChallenge).where(col(SignInChallenge.id) == challenge.id))
    if rowcount(used) != 1:  # another request with the same cookie got there first
        raise expired()
    return user


# --- the operator --------------------------------------------------------------------------


async def rotate_master_key(db: AsyncSession) -> int:
    """Re-seals every TOTP secret with the active master key; returns how many changed."""
    active = get_settings().active_key_id
    rows = (
        (await db.execute(select(TwoFactor).where(col(TwoFactor.master_key_id) != active)))
        .scalars()
        .all()
    )
    for row in rows:
        crypto.reseal(row, _aad(row.user_id))
    return len(rows)
