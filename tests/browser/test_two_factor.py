"""Two-factor sign-in (TOTP + backup codes) against the running app: the password alone gives
no session, only a right code on the second step does; codes work once; wrong codes are
limited; turning it off needs a code; the operator's reset; the secret is never stored or
logged in plaintext. Then the whole thing in a real browser, from the settings page."""

from __future__ import annotations

import base64
import re
import secrets
import time

import httpx
import pyotp
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from aiusage.db import session_scope
from aiusage.models import BackupCode, SignInChallenge, TwoFactor, User
from aiusage.services import accounts, crypto, twofactor
from aiusage.services.errors import ServiceError
from aiusage.state.security import SecurityState  # at collection: Reflex registers states then
from tests.browser.test_browser_auth import click_submit, log_in, path_is
from tests.conftest import RUN_DIR
from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page, screenshot
from tests.integration.test_cli import run as run_cli

expect.set_options(timeout=TIMEOUT_MS)

CODE_PAGE = "/login/two-factor"
STEP = 30


# --- helpers ------------------------------------------------------------------------------


def code_at(secret: str, offset: int = 0) -> str:
    """The code `offset` time steps from now, computed with at least a few seconds left in
    the current step (so it is still in the server's window when it arrives)."""
    if time.time() % STEP > STEP - 4:
        time.sleep(STEP - time.time() % STEP + 0.1)
    return pyotp.TOTP(secret).at(time.time() + offset * STEP)


def wrong_code(secret: str) -> str:
    """Six digits that are no code of the steps around now."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(time.time() + k * STEP) for k in range(-3, 4)}
    while True:
        guess = f"{secrets.randbelow(10**6):06d}"
        if guess not in near:
            return guess


async def enrol(user_id: int, offset: int = -1) -> tuple[str, list[str]]:
    """Turns two-factor sign-in on through the services; returns the secret and the backup
    codes. The confirming code is `offset` steps from now, so later codes are newer."""
    async with session_scope() as db:
        user = await db.get(User, user_id)
        enrolment = await twofactor.begin_enrolment(db, user)
    async with session_scope() as db:
        user = await db.get(User, user_id)
        codes = await twofactor.confirm_enrolment(db, user, code_at(enrolment.secret, offset))
    return enrolment.secret, codes


def set_cookies(response: httpx.Response, name: str) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]


def password_step(http: httpx.Client, email: str, password: str) -> httpx.Response:
    answer = http.post("/api/auth/login", data={"email": email, "password": password})
    assert answer.status_code == 303, answer.text
    return answer


def code_step(http: httpx.Client, code: str) -> httpx.Response:
    return http.post("/api/auth/two-factor", data={"code": code})


def signed_in(http: httpx.Client) -> bool:
    return http.get("/api/auth/me").status_code == 200


async def backup_codes_left(user_id: int) -> int:
    async with session_scope() as db:
        return (await twofactor.status(db, user_id)).backup_codes_left


# --- over HTTP ----------------------------------------------------------------------------


async def test_password_alone_gives_no_session_only_a_right_code_does(http, make_account):
    account = await make_account(usd="0")
    secret, _ = await enrol(account.id)

    answer = password_step(http, account.email, account.password)
    assert answer.headers["location"] == CODE_PAGE
    assert not set_cookies(answer, "bai_session")
    (pending,) = set_cookies(answer, "bai_2fa")
    flags = pending.lower()
    assert "httponly" in flags and "samesite=lax" in flags
    assert "path=/api/auth/two-factor" in flags and "max-age=300" in flags
    assert not signed_in(http)
    async with session_scope() as db:  # the server keeps only the pending token's hash
        stored = (
            (await db.execute(select(SignInChallenge).where(SignInChallenge.user_id == account.id)))
            .scalars()
            .all()
        )
    token = http.cookies.get("bai_2fa", path="/api/auth/two-factor")
    assert len(stored) == 1 and stored[0].token_hash != token and token not in str(stored[0])

    refused = code_step(http, wrong_code(secret))
    assert refused.status_code == 303
    assert refused.headers["location"] == f"{CODE_PAGE}?error=two_factor_wrong_code"
    assert not set_cookies(refused, "bai_session")
    assert not signed_in(http)

    done = code_step(http, code_at(secret))
    assert done.status_code == 303 and done.headers["location"] == "/dashboard"
    (session_cookie,) = set_cookies(done, "bai_session")
    assert "httponly" in session_cookie.lower()
    assert http.get("/api/auth/me").json()["id"] == account.id

    # Single use: the pending step is gone, whoever kept its cookie.
    with httpx.Client(base_url=str(http.base_url), headers={"Origin": str(http.base_url)}) as c:
        c.cookies.set("bai_2fa", token, path="/api/auth/two-factor")
        again = c.post("/api/auth/two-factor", data={"code": code_at(secret, 1)})
        assert again.headers["location"] == "/login?error=two_factor_expired"
        assert not set_cookies(again, "bai_session")

    # fetch() callers get JSON saying where to go next, and still no session.
    with httpx.Client(base_url=str(http.base_url), headers={"Origin": str(http.base_url)}) as c:
        answer = c.post(
            "/api/auth/login", json={"email": account.email, "password": account.password}
        )
        assert answer.status_code == 200
        assert answer.json() == {"ok": True, "redirect": CODE_PAGE, "two_factor": True}
        assert not set_cookies(answer, "bai_session") and set_cookies(answer, "bai_2fa")
        wrong = c.post("/api/auth/two-factor", json={"code": wrong_code(secret)})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "two_factor_wrong_code"


async def test_a_backup_code_works_once(http, app_url, make_account):
    account = await make_account(usd="0")
    _, backup = await enrol(account.id)
    assert len(backup) == 10 and len(set(backup)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", c) for c in backup)

    password_step(http, account.email, account.password)
    # Typed loosely (upper case, spaces instead of dashes): still the code.
    done = code_step(http, backup[3].upper().replace("-", " "))
    assert done.headers["location"] == "/dashboard" and signed_in(http)
    assert await backup_codes_left(account.id) == 9

    with httpx.Client(base_url=app_url, headers={"Origin": app_url}) as other:
        password_step(other, account.email, account.password)
        again = code_step(other, backup[3])
        assert again.headers["location"] == f"{CODE_PAGE}?error=two_factor_wrong_code"
        assert not signed_in(other)
        assert code_step(other, backup[4]).headers["location"] == "/dashboard"
    assert await backup_codes_left(account.id) == 8


async def test_a_totp_code_is_accepted_once(http, app_url, make_account):
    account = await make_account(usd="0")
    secret, _ = await enrol(account.id, offset=-1)
    code = code_at(secret)

    password_step(http, account.email, account.password)
    assert code_step(http, code).headers["location"] == "/dashboard"

    with httpx.Client(base_url=app_url, headers={"Origin": app_url}) as replay:
        password_step(replay, account.email, account.password)
        refused = code_step(replay, code)
        assert refused.headers["location"] == f"{CODE_PAGE}?error=two_factor_wrong_code"
        assert not signed_in(replay)
        # A newer step's code is fine.
        assert code_step(replay, code_at(secret, 1)).headers["location"] == "/dashboard"
        assert signed_in(replay)


async def test_wrong_codes_are_limited_per_sign_in_and_per_account(app_url, make_account):
    account = await make_account(usd="0")
    secret, _ = await enrol(account.id)
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}) as browser_:
        password_step(browser_, account.email, account.password)
        token = browser_.cookies.get("bai_2fa", path="/api/auth/two-factor")
        for _ in range(twofactor.CHALLENGE_MAX_ATTEMPTS - 1):
            answer = code_step(browser_, wrong_code(secret))
            assert answer.headers["location"] == f"{CODE_PAGE}?error=two_factor_wrong_code"
        last = code_step(browser_, wrong_code(secret))
        assert last.headers["location"] == "/login?error=two_factor_too_many"
        assert not browser_.cookies.get("bai_2fa", path="/api/auth/two-factor")
    # That pending step is over, even with the right code.
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}) as kept_cookie:
        kept_cookie.cookies.set("bai_2fa", token, path="/api/auth/two-factor")
        late = code_step(kept_cookie, code_at(secret))
        assert late.headers["location"] == "/login?error=two_factor_expired"
        assert not signed_in(kept_cookie)

    with httpx.Client(base_url=app_url, headers={"Origin": app_url}) as browser_:
        # A new password step gets new tries, but the account's wrong codes add up.
        password_step(browser_, account.email, account.password)
        for _ in range(twofactor.FAILURE_LIMIT - twofactor.CHALLENGE_MAX_ATTEMPTS):
            code_step(browser_, wrong_code(secret))
        password_step(browser_, account.email, account.password)
        locked = code_step(browser_, code_at(secret))
        assert locked.headers["location"] == f"{CODE_PAGE}?error=two_factor_rate_limited"
        assert not signed_in(browser_)


async def test_turning_it_off_needs_a_code(http, make_account):
    account = await make_account(usd="0")
    secret, backup = await enrol(account.id)
    async with session_scope() as db:
        user = await db.get(User, account.id)
    with pytest.raises(ServiceError) as refused:
        async with session_scope() as db:
            await twofactor.disable(db, user, wrong_code(secret))
    assert refused.value.code == "two_factor_wrong_code"
    with pytest.raises(ServiceError) as empty:
        async with session_scope() as db:
            await twofactor.disable(db, user, "")
    assert empty.value.code == "two_factor_wrong_code"
    async with session_scope() as db:
        row = (
            await db.execute(select(TwoFactor).where(TwoFactor.user_id == account.id))
        ).scalar_one()
        assert row.enabled_at is not None
        assert row.failed_count == 2  # the failures were kept although the calls failed

    async with session_scope() as db:
        await twofactor.disable(db, user, backup[0])
    async with session_scope() as db:
        assert not await twofactor.is_enabled(db, account.id)
        assert not (
            await db.execute(select(BackupCode).where(BackupCode.user_id == account.id))
        ).all()
    # Off: the password alone signs in again.
    answer = password_step(http, account.email, account.password)
    assert answer.headers["location"] == "/dashboard" and signed_in(http)


async def test_operator_reset_from_the_cli(http, make_account):
    account = await make_account(usd="0")
    await enrol(account.id)
    assert password_step(http, account.email, account.password).headers["location"] == CODE_PAGE

    reset = run_cli("user", "reset-2fa", "--email", account.email)
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.strip() == "two-factor sign-in turned off"
    async with session_scope() as db:
        assert not await twofactor.is_enabled(db, account.id)
    # The pending step started before the reset is over too.
    late = code_step(http, "123456")
    assert late.headers["location"] == "/login?error=two_factor_expired"
    assert password_step(http, account.email, account.password).headers["location"] == (
        "/dashboard"
    )
    again = run_cli("user", "reset-2fa", "--email", account.email)
    assert again.returncode == 0 and again.stdout.strip() == "two-factor sign-in was not on"
    unknown = run_cli("user", "reset-2fa", "--email", "nobody-" + account.email)
    assert unknown.returncode == 1


async def test_the_secret_is_sealed_and_never_logged(http, app_server, make_account):
    account = await make_account(usd="0")
    secret, backup = await enrol(account.id)
    password_step(http, account.email, account.password)
    assert code_step(http, code_at(secret)).headers["location"] == "/dashboard"

    async with session_scope() as db:
        row = (
            await db.execute(select(TwoFactor).where(TwoFactor.user_id == account.id))
        ).scalar_one()
    sealed = crypto.Sealed(row.master_key_id, row.nonce, row.ciphertext)
    assert twofactor._open(row) == secret
    # Bound to its owner: the same ciphertext on another user's row does not open.
    with pytest.raises(crypto.SealError):
        crypto.open_with(sealed, twofactor._aad(account.id + 1))

    stored = b"".join(path.read_bytes() for path in (RUN_DIR / "data").glob("aiusage.db*"))
    raw_key = base64.b32decode(secret)
    for what, value in {
        "secret": secret.encode(),
        "secret (lower case)": secret.lower().encode(),
        "raw secret": raw_key,
        "backup code": backup[0].encode(),
        "backup code (bare)": backup[0].replace("-", "").encode(),
    }.items():
        assert value not in stored, f"the {what} is in the database"
    log = app_server.log_text()
    assert secret not in log and secret.lower() not in log
    assert backup[0] not in log


async def test_google_sign_in_asks_for_the_code_too(http, oidc_provider, make_account):
    from tests.browser.test_google_login import google_flow

    oidc_provider.reset()
    account = await make_account(usd="0")
    secret, _ = await enrol(account.id)
    oidc_provider.next_login(str(secrets.randbelow(10**20)), account.email)

    answer = google_flow(http, oidc_provider)
    assert answer.status_code == 303 and answer.headers["location"] == CODE_PAGE
    assert not set_cookies(answer, "bai_session") and set_cookies(answer, "bai_2fa")
    assert not signed_in(http)
    assert code_step(http, code_at(secret)).headers["location"] == "/dashboard"
    assert http.get("/api/auth/me").json()["id"] == account.id
    oidc_provider.reset()


# --- the settings page's events -------------------------------------------------------------


def security_state(session_token: str):
    """The settings page's security state as the server holds it for this cookie."""
    import reflex as rx

    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(SecurityState.get_full_name().split("."))
    state.router_data = {"headers": {"cookie": f"bai_session={session_token}"}}
    state._update_router_vars(state.router_data, {})
    return state


async def session_for(user_id: int) -> str:
    from aiusage.services.sessions import create_session

    async with session_scope() as db:
        return await create_session(db, await db.get(User, user_id))


async def test_enrolling_and_turning_off_ask_the_password_again(make_account):
    account = await make_account(usd="0")
    state = security_state(await session_for(account.id))
    await SecurityState.load.fn(state)
    assert state.has_password and not state.two_factor_on and not state.enrolling

    await SecurityState.start_enrolment.fn(state, {"password": account.password + "x"})
    assert state.tf_error == "error.wrong_password" and not state.enrolling
    async with session_scope() as db:
        assert (
            await db.execute(select(TwoFactor).where(TwoFactor.user_id == account.id))
        ).first() is None

    await SecurityState.start_enrolment.fn(state, {"password": account.password})
    assert state.tf_error == "" and state.enrolling
    assert state.enrol_qr.startswith("data:image/svg+xml")
    secret = state.enrol_secret.replace(" ", "")
    assert len(secret) == 32

    await SecurityState.confirm_enrolment.fn(state, {"code": wrong_code(secret)})
    assert state.tf_error == "error.two_factor_wrong_code" and state.enrolling
    await SecurityState.confirm_enrolment.fn(state, {"code": code_at(secret, -1)})
    assert state.tf_notice == "security.two_factor.turned_on"
    assert state.two_factor_on and len(state.new_backup_codes) == 10
    assert state.enrol_secret == "" and state.enrol_qr == ""  # out of the state for good
    assert "10" in state.two_factor_status
    SecurityState.backup_codes_saved.fn(state)
    assert state.new_backup_codes == []

    # Off: the password and a code, both right.
    code = code_at(secret)
    await SecurityState.disable.fn(state, {"password": "not it", "code": code})
    assert state.tf_error == "error.wrong_password" and state.two_factor_on
    await SecurityState.disable.fn(state, {"password": account.password, "code": "000"})
    assert state.tf_error == "error.two_factor_wrong_code" and state.two_factor_on
    await SecurityState.disable.fn(state, {"password": account.password, "code": code})
    assert state.tf_notice == "security.two_factor.turned_off" and not state.two_factor_on


async def test_a_google_only_account_enrols_without_a_password(make_account):
    account = await make_account(usd="0")
    async with session_scope() as db:
        user = await db.get(User, account.id)
        user.password_hash = None  # as if it signed up with Google
    state = security_state(await session_for(account.id))
    await SecurityState.load.fn(state)
    assert not state.has_password

    await SecurityState.start_enrolment.fn(state, {})
    assert state.enrolling
    secret = state.enrol_secret.replace(" ", "")
    await SecurityState.confirm_enrolment.fn(state, {"code": code_at(secret, -1)})
    assert state.two_factor_on
    # Turning it off: a code alone (there is no password to ask).
    await SecurityState.disable.fn(state, {"code": code_at(secret)})
    assert not state.two_factor_on, state.tf_error

    # Signed out: nothing happens, the browser is sent to log in.
    signed_out = security_state("not-a-session")
    assert await SecurityState.start_enrolment.fn(signed_out, {}) is not None
    assert not signed_out.enrolling
    async with session_scope() as db:
        assert not await twofactor.is_enabled(db, account.id)
        assert await accounts.get_by_email(db, account.email) is not None


# --- in a real browser --------------------------------------------------------------------


async def test_enrol_in_the_browser_then_sign_in_with_a_code(browser, app_url, make_account):
    account = await make_account(usd="0")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await expect(page).to_have_url(path_is("/dashboard"))
        async with hydrated(page):
            await page.goto("/dashboard/settings")
        card = page.locator("#settings-two-factor")
        await card.locator("input#two-factor-start-password").fill(account.password)
        await card.get_by_role("button", name="Set up two-factor sign-in").click()

        shown = page.locator("#two-factor-secret")
        await expect(shown).to_be_visible()
        await expect(page.locator("#two-factor-qr")).to_have_attribute(
            "src", re.compile(r"^data:image/svg\+xml")
        )
        await screenshot(page, "two-factor-enrol")
        secret = (await shown.inner_text()).replace(" ", "")
        await page.locator("input#two-factor-confirm-code").fill(code_at(secret))
        await card.get_by_role("button", name="Turn on").click()

        codes = page.locator(".backup-code")
        await expect(codes).to_have_count(10)
        await expect(page.locator("#two-factor-notice")).to_contain_text("is on")
        await expect(page.locator("#two-factor-status")).to_contain_text("Backup codes left: 10")
        await expect(shown).to_have_count(0)
        await screenshot(page, "two-factor-backup-codes")
        await page.locator("#two-factor-backup-saved").click()
        await expect(codes).to_have_count(0)

        await click_submit(page, page.locator("#logout-button"))
        await log_in(page, account.email, account.password)
        await expect(page).to_have_url(path_is(CODE_PAGE))
        assert not [c for c in await page.context.cookies() if c["name"] == "bai_session"]
        await screenshot(page, "two-factor-code-page")

        form = page.locator("#two-factor-form")
        await form.locator("input#code").fill(wrong_code(secret))
        await click_submit(page, form.locator("button[type=submit]"))
        await expect(page).to_have_url(path_is(CODE_PAGE))
        await expect(page.locator("#flash-error")).to_contain_text("That code is not right")

        await form.locator("input#code").fill(code_at(secret, 1))  # newer than enrolment's
        await click_submit(page, form.locator("button[type=submit]"))
        await expect(page).to_have_url(path_is("/dashboard"))
        await expect(page.locator("#user-email")).to_have_text(account.email)
        cookies = [c for c in await page.context.cookies() if c["name"] == "bai_session"]
        assert len(cookies) == 1 and cookies[0]["httpOnly"] is True
