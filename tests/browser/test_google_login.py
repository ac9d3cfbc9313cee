"""Sign in with Google, end to end over real HTTP: the running app, a local OpenID provider
that signs real RS256 ID tokens (tests/fakes/oidc_provider.py), and every redirect followed
by hand: /api/auth/google/start → the provider's authorize endpoint → the app's callback."""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from aiusage.db import session_scope
from aiusage.i18n import catalog
from aiusage.models import User, UserIdentity
from aiusage.services import accounts, identities
from aiusage.services.errors import ServiceError
from aiusage.services.sessions import create_session
from aiusage.state.auth import _message_key


@pytest.fixture
def provider(oidc_provider, app_server):
    oidc_provider.reset()
    yield oidc_provider
    oidc_provider.reset()


def new_email() -> str:
    return f"google-{secrets.token_hex(6)}@example.com"


def new_sub() -> str:
    return str(secrets.randbelow(10**20))


def cookie_header(response: httpx.Response, name: str) -> str:
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, f"expected one Set-Cookie for {name}, got {found}"
    return found[0]


def google_flow(http: httpx.Client, provider, *, tamper_state: bool = False) -> httpx.Response:
    """Drives the redirects by hand; returns the app's answer to the callback."""
    start = http.get("/api/auth/google/start")
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(provider.issuer + "/authorize?")
    flow = cookie_header(start, "bai_oidc").lower()
    assert "httponly" in flow and "samesite=lax" in flow and "path=/api/auth/google" in flow

    at_provider = httpx.get(authorize)  # the browser, at the provider (no cookies of ours)
    assert at_provider.status_code == 302, at_provider.text
    back = at_provider.headers["location"]
    assert back.startswith(str(http.base_url).rstrip("/") + "/api/auth/google/callback?")
    if tamper_state:
        url = urlsplit(back)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        query["state"] = query["state"][:-4] + "AAAA"
        back = f"{url.scheme}://{url.netloc}{url.path}?{urlencode(query)}"
    return http.get(back)


def assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?error={code}"
    assert "bai_session=" not in " ".join(response.headers.get_list("set-cookie"))
    # The log-in page shows this code's own message (not the generic one), in both languages.
    assert _message_key("error", code) == f"error.{code}"
    assert catalog("en")[f"error.{code}"] and catalog("zh")[f"error.{code}"]


async def user_count(address: str) -> int:
    async with session_scope() as db:
        return (
            await db.execute(select(func.count()).select_from(User).where(User.email == address))
        ).scalar_one()


async def identity_for(sub: str) -> UserIdentity | None:
    async with session_scope() as db:
        return await identities.find_identity(db, identities.GOOGLE, sub)


def me(http: httpx.Client) -> dict:
    answer = http.get("/api/auth/me")
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- success ------------------------------------------------------------------------------


async def test_first_google_sign_in_creates_a_verified_account(http, provider):
    address, sub = new_email(), new_sub()
    provider.next_login(sub, address.upper(), name="Ada Lovelace")

    done = google_flow(http, provider)

    assert done.status_code == 303 and done.headers["location"] == "/dashboard"
    session_cookie = cookie_header(done, "bai_session").lower()
    assert "httponly" in session_cookie and "samesite=lax" in session_cookie
    assert "bai_oidc=" in cookie_header(done, "bai_oidc") and "max-age=0" in cookie_header(
        done, "bai_oidc"
    ).lower().replace('"', "")
    assert me(http)["email"] == address
    # The request to the provider carried state, nonce and a PKCE challenge.
    sent = provider.record.authorize[-1]
    assert sent["state"] and sent["nonce"] and sent["code_challenge_method"] == "S256"
    assert set(sent["scope"].split()) == {"openid", "email", "profile"}

    async with session_scope() as db:
        user = await accounts.get_by_email(db, address)
        assert user is not None
        assert user.password_hash is None and user.email_verified_at is not None
        methods = await identities.list_methods(db, user.id)
    assert [(m.kind, m.detail) for m in methods] == [("google", address)]

    # Signing in again finds the same account through the linked identity.
    with httpx.Client(base_url=str(http.base_url), timeout=30) as again:
        provider.next_login(sub, address)
        assert google_flow(again, provider).headers["location"] == "/dashboard"
        assert me(again)["id"] == user.id
    assert await user_count(address) == 1


async def test_verified_google_email_links_to_the_existing_password_account(http, provider):
    address, sub, password = new_email(), new_sub(), "pw-" + secrets.token_urlsafe(12)
    async with session_scope() as db:
        existing = await accounts.create_user(db, address, password, verified=True)
    provider.next_login(sub, address, email_verified=True)

    done = google_flow(http, provider)

    assert done.headers["location"] == "/dashboard"
    assert me(http) == {"id": existing.id, "email": address}
    identity = await identity_for(sub)
    assert identity is not None and identity.user_id == existing.id
    assert await user_count(address) == 1
    # The password still works: the account now has two ways in.
    with httpx.Client(base_url=str(http.base_url), headers={"Origin": str(http.base_url)}) as c:
        login = c.post("/api/auth/login", data={"email": address, "password": password})
        assert login.status_code == 303 and login.headers["location"] == "/dashboard"


async def test_google_link_drops_the_password_of_an_unverified_account(http, provider):
    """Someone who signed up with this address but never proved the mailbox must not keep a
    way into the account once its real owner arrives through Google."""
    address, sub = new_email(), new_sub()
    async with session_scope() as db:
        squatter = await accounts.create_user(db, address, "pw-" + secrets.token_urlsafe(12))
        token = await create_session(db, squatter)
    provider.next_login(sub, address)

    assert google_flow(http, provider).headers["location"] == "/dashboard"

    assert me(http)["id"] == squatter.id
    async with session_scope() as db:
        user = await db.get(User, squatter.id)
        assert user.password_hash is None and user.email_verified_at is not None
    squatter_me = httpx.get(
        str(http.base_url).rstrip("/") + "/api/auth/me", headers={"Cookie": f"bai_session={token}"}
    )
    assert squatter_me.status_code == 401


# --- refusals -----------------------------------------------------------------------------


async def test_tampered_state_is_refused_before_any_code_exchange(http, provider):
    address = new_email()
    provider.next_login(new_sub(), address)

    done = google_flow(http, provider, tamper_state=True)

    assert_refused(done, "google_state")
    assert provider.record.token == []  # the code was never exchanged
    assert await user_count(address) == 0
    assert http.get("/api/auth/me").status_code == 401


async def test_callback_without_the_flow_cookie_is_refused(http, provider, app_url):
    """A callback arriving in another browser (no signed flow cookie) is refused."""
    address = new_email()
    provider.next_login(new_sub(), address)
    start = http.get("/api/auth/google/start")
    back = httpx.get(start.headers["location"]).headers["location"]

    done = httpx.get(back)  # a different cookie jar: no bai_oidc

    assert_refused(done, "google_state")
    assert await user_count(address) == 0


@pytest.mark.parametrize(
    ("switch", "code"),
    [
        ("wrong_nonce", "google_nonce"),
        ("expired", "google_token_expired"),
        ("wrong_key", "google_token_invalid"),
        ("wrong_audience", "google_token_invalid"),
    ],
)
async def test_bad_id_tokens_are_refused(http, provider, switch, code):
    address, sub = new_email(), new_sub()
    provider.next_login(sub, address, **{switch: True})

    done = google_flow(http, provider)

    assert_refused(done, code)
    assert len(provider.record.token) == 1  # the code was exchanged; the ID token failed
    assert await user_count(address) == 0
    assert await identity_for(sub) is None
    assert http.get("/api/auth/me").status_code == 401


async def test_unverified_google_email_is_refused_and_nothing_created(http, provider):
    address, sub = new_email(), new_sub()
    provider.next_login(sub, address, email_verified=False)

    done = google_flow(http, provider)

    assert_refused(done, "google_email_unverified")
    assert "not verified" in catalog("en")["error.google_email_unverified"]
    assert await user_count(address) == 0
    assert await identity_for(sub) is None


async def test_unverified_google_email_does_not_link_to_an_existing_account(http, provider):
    address, sub = new_email(), new_sub()
    async with session_scope() as db:
        existing = await accounts.create_user(db, address, "pw-12345678", verified=True)
    provider.next_login(sub, address, email_verified="false")

    assert_refused(google_flow(http, provider), "google_email_unverified")
    assert await identity_for(sub) is None
    async with session_scope() as db:
        assert (await db.get(User, existing.id)).password_hash is not None


# --- sign-in methods ----------------------------------------------------------------------


async def linked_account(http, provider) -> tuple[User, str]:
    """A password account that has also signed in with Google; returns it and the sub."""
    address, sub = new_email(), new_sub()
    async with session_scope() as db:
        password = "pw-" + secrets.token_urlsafe(9)
        user = await accounts.create_user(db, address, password, verified=True)
    provider.next_login(sub, address)
    assert google_flow(http, provider).headers["location"] == "/dashboard"
    return user, sub


async def test_remove_a_method_while_another_remains_but_never_the_last(http, provider):
    user, sub = await linked_account(http, provider)
    async with session_scope() as db:
        methods = await identities.list_methods(db, user.id)
    assert [m.kind for m in methods] == ["password", "google"]
    google_id = methods[1].id

    async with session_scope() as db:
        await identities.remove_method(db, user.id, "password")
    with pytest.raises(ServiceError) as refused:
        async with session_scope() as db:
            await identities.remove_method(db, user.id, google_id)
    assert refused.value.code == "sign_in_last_method"
    assert catalog("en")["error.sign_in_last_method"]
    async with session_scope() as db:
        left = await identities.list_methods(db, user.id)
    assert [m.id for m in left] == [google_id]
    assert await identity_for(sub) is not None
    # Google still signs in to the account without a password.
    assert me(http)["id"] == user.id


def methods_state(session_token: str):
    """The page's state as the server holds it for a browser with this session cookie."""
    import reflex as rx

    from aiusage.state.sign_in_methods import SignInMethodsState

    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(SignInMethodsState.get_full_name().split("."))
    state.router_data = {"headers": {"cookie": f"bai_session={session_token}"}}
    state._update_router_vars(state.router_data, {})
    return state


async def test_methods_page_state_lists_both_and_checks_ownership(http, provider):
    from aiusage.state.sign_in_methods import SignInMethodsState

    owner, owner_sub = await linked_account(http, provider)
    with httpx.Client(base_url=str(http.base_url), timeout=30) as other_browser:
        other, _ = await linked_account(other_browser, provider)
    async with session_scope() as db:
        owner_token = await create_session(db, owner)
        other_methods = await identities.list_methods(db, other.id)

    state = methods_state(owner_token)
    await SignInMethodsState.load.fn(state)
    assert [(m["kind_key"], m["detail"]) for m in state.methods] == [
        ("identity.methods.password", ""),
        ("identity.methods.google", owner.email),
    ]
    assert state.removable

    # Another account's identity id, sent by this browser, is not found and left alone.
    await SignInMethodsState.remove.fn(state, other_methods[1].id)
    assert state.error == "error.sign_in_method_not_found"
    async with session_scope() as db:
        assert len(await identities.list_methods(db, other.id)) == 2

    await SignInMethodsState.remove.fn(state, "password")
    assert state.error == "" and state.notice == "identity.methods.removed"
    assert [m["kind_key"] for m in state.methods] == ["identity.methods.google"]
    assert not state.removable

    await SignInMethodsState.remove.fn(state, state.methods[0]["id"])
    assert state.error == "error.sign_in_last_method"
    assert await identity_for(owner_sub) is not None

    # Signed out: the event changes nothing and sends the browser to log in.
    signed_out = methods_state("not-a-session")
    answer = await SignInMethodsState.remove.fn(signed_out, "password")
    assert answer is not None and signed_out.methods == []
    async with session_scope() as db:
        assert len(await identities.list_methods(db, other.id)) == 2


# --- in a real browser --------------------------------------------------------------------


async def test_browser_google_button_flow_and_sign_in_methods_page(browser, app_url, provider):
    from playwright.async_api import expect

    from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page, screenshot

    expect.set_options(timeout=TIMEOUT_MS)
    address, sub = new_email(), new_sub()
    async with session_scope() as db:
        await accounts.create_user(db, address, "pw-" + secrets.token_urlsafe(9), verified=True)

    async with new_page(browser, app_url) as page:
        async with hydrated(page):
            await page.goto("/login?error=google_email_unverified")
        await expect(page.locator("#flash-error")).to_contain_text("has not verified the email")
        button = page.locator("#google-sign-in")
        form = button.locator("xpath=ancestor::form")
        await expect(form).to_have_attribute("action", "/api/auth/google/start")
        await expect(button).to_contain_text("Continue with Google")
        await screenshot(page, "google-login")

        provider.next_login(sub, address)
        async with hydrated(page):
            await button.click()  # start → the provider → callback → /dashboard
        await expect(page).to_have_url(re.compile(re.escape(app_url) + r"/dashboard/?$"))
        await expect(page.locator("#user-email")).to_have_text(address)
        cookies = [c for c in await page.context.cookies() if c["name"] == "bai_session"]
        assert len(cookies) == 1 and cookies[0]["httpOnly"] is True

        async with hydrated(page):
            await page.goto("/dashboard/sign-in")
        rows = page.locator(".sign-in-method")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_contain_text("Password")
        await expect(rows.nth(1)).to_contain_text("Google")
        await expect(rows.nth(1)).to_contain_text(address)
        await screenshot(page, "google-sign-in-methods")

        await rows.nth(0).locator(".remove-method").click()
        await expect(page.locator("#methods-notice")).to_be_visible()
        await expect(rows).to_have_count(1)
        await expect(rows.nth(0).locator(".remove-method")).to_be_disabled()
    async with session_scope() as db:
        user = await accounts.get_by_email(db, address)
        assert user.password_hash is None
        assert [m.kind for m in await identities.list_methods(db, user.id)] == ["google"]
