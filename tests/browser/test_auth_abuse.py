"""Abuse of the account routes, against the real server (issue 11): log-in throttling that an
attacker cannot turn into a lock-out, sign-up and mail routes that never tell whether an
address has an account and cannot be used to bomb a mailbox, the current password re-asked
before changes that hand the account over, and X-Forwarded-For believed only from a trusted
proxy.

The test server trusts 127.0.0.1 as a proxy (AIUSAGE_TRUSTED_PROXIES in tests/conftest.py), so
a test acts from any client IP by sending X-Forwarded-For; each test uses its own addresses."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from tests.browser.test_browser_auth import log_in as browser_log_in
from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page
from tests.helpers.support import ROOT, body_of

expect.set_options(timeout=TIMEOUT_MS)

JSON = {"Accept": "application/json"}
SIGNUP_EXISTS = "tried to sign up"


def new_ip() -> str:
    """A client address of its own (198.18.0.0/15 is set aside for tests like this)."""
    return f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


def new_email() -> str:
    return f"abuse-{secrets.token_hex(6)}@example.com"


def log_in(http: httpx.Client, email: str, password: str, ip: str) -> httpx.Response:
    return http.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={**JSON, "X-Forwarded-For": ip},
    )


def settle(mailbox, address: str, subject: str, at_least: int) -> int:
    """How many mails about `subject` reached `address`, once at least `at_least` have and no
    more came for a while."""
    deadline = time.monotonic() + 15
    while True:
        count = len([m for m in mailbox.to(address) if subject.lower() in m["Subject"].lower()])
        if count >= at_least or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(1.5)  # the mail loop sends every 0.1 s here: anything more would be in by now
    return len([m for m in mailbox.to(address) if subject.lower() in m["Subject"].lower()])


def setting(name: str, test_value: int) -> int:
    """A limit the server runs with (the test process has the same configuration); the
    fallback is the test configuration's value, for running these tests against code older
    than the setting."""
    from aiusage.config import get_settings

    return getattr(get_settings(), name, test_value)


def free_failures() -> int:
    return setting("login_free_failures", 5)


async def user_row(user_id: int):
    from aiusage.db import session_scope
    from aiusage.models import User

    async with session_scope() as db:
        return await db.get(User, user_id)


# --- log-in throttling ---------------------------------------------------------------------


async def test_an_attacker_cannot_lock_the_owner_out(http, make_account):
    account = await make_account(usd="0")
    attacker = new_ip()
    codes = [log_in(http, account.email, f"guess-{n}", attacker).status_code for n in range(12)]
    free = free_failures()
    assert codes[:free] == [401] * free
    assert set(codes[free:]) == {429}  # the attacker's pair waits; its guesses are not checked
    # Even the right password from the attacker's IP waits out the delay ...
    assert log_in(http, account.email, account.password, attacker).status_code == 429
    # ... but the owner, from their own IP, is not affected at all.
    owner = log_in(http, account.email, account.password, new_ip())
    assert owner.status_code == 200, owner.text

    # A botnet: one wrong password from each of many IPs puts the account under the slow-down.
    for _ in range(setting("login_account_slowdown_failures", 20)):
        assert log_in(http, account.email, "botnet-guess", new_ip()).status_code == 401
    # Now a new IP gets no free guess: it waits from its first failure ...
    bot = new_ip()
    assert log_in(http, account.email, "botnet-guess", bot).status_code == 401
    held = log_in(http, account.email, "botnet-guess", bot)
    assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    # ... while the owner's right password from a new IP still signs in.
    for _ in range(2):
        owner = log_in(http, account.email, account.password, new_ip())
        assert owner.status_code == 200, owner.text


async def test_the_wait_grows_and_says_so_in_retry_after(http, make_account):
    account = await make_account(usd="0")
    ip = new_ip()
    for _ in range(free_failures()):
        assert log_in(http, account.email, "wrong-password", ip).status_code == 401
    for expected in (1, 2, 4):  # 1 s, then doubling with each further failure
        refused = log_in(http, account.email, "wrong-password", ip)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) == expected
        time.sleep(expected + 0.2)
        assert log_in(http, account.email, "wrong-password", ip).status_code == 401
    # Case and spaces do not make a new pair; an HTML form gets the wait too.
    form = http.post(
        "/api/auth/login",
        data={"email": f"  {account.email.upper()} ", "password": account.password},
        headers={"X-Forwarded-For": ip},
        follow_redirects=False,
    )
    assert form.status_code == 303 and form.headers["location"] == "/login?error=rate_limited"
    assert int(form.headers["retry-after"]) >= 7


def _fresh_redis_link(request):
    from aiusage.services.redis_link import RedisLink

    server = request.getfixturevalue("redis_server")
    server.cli("FLUSHALL")
    return RedisLink(server.url)


@pytest.mark.parametrize("kept_in", ["process", "redis"])
async def test_login_throttle_is_bounded_and_never_locks_a_new_ip(kept_in, request):
    """The same rules whether the counts are kept in this process or shared in Redis."""
    from aiusage.services.throttle import LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(
        free_failures=3,
        ip_free_failures=10,
        account_slowdown_failures=20,
        max_delay=900,
        window=900,
        max_entries=100,
        clock=lambda: now[0],
        link=_fresh_redis_link(request) if kept_in == "redis" else None,
    )
    huge = "x" * 16384 + "@example.com"
    for _ in range(3):
        await throttle.failed(huge, "203.0.113.1")
    assert await throttle.retry_after(huge, "203.0.113.1") == 1
    for table in (throttle.pairs, throttle.ips, throttle.accounts):
        assert all(len(key) == 16 for key in table._counts)  # digests, never the text
    if kept_in == "redis":  # nothing counted in the process; Redis names keys by digest only
        assert not (throttle.pairs._counts or throttle.ips._counts or throttle.accounts._counts)
        names = [name async for name in throttle.shared.link.client().scan_iter("aiusage:login:*")]
        assert names and all("x" * 32 not in name.decode() for name in names)
    # Doubling, capped at the maximum.
    waits = []
    for _ in range(14):
        now[0] += await throttle.retry_after(huge, "203.0.113.1")
        await throttle.failed(huge, "203.0.113.1")
        waits.append(await throttle.retry_after(huge, "203.0.113.1"))
    assert waits[:5] == [2, 4, 8, 16, 32] and waits[-1] == 900 and max(waits) == 900
    # 17 failures so far; three more from other IPs put the account under the slow-down: a
    # new IP still may try at once, but waits from its first failure.
    assert await throttle.retry_after(huge, "203.0.113.2") == 0
    await throttle.failed(huge, "203.0.113.2")
    assert await throttle.retry_after(huge, "203.0.113.2") == 0  # not yet: 18 failures
    for ip in ("203.0.113.3", "203.0.113.4"):
        await throttle.failed(huge, ip)
    assert await throttle.retry_after(huge, "203.0.113.2") == 1
    assert await throttle.retry_after(huge, "203.0.113.5") == 0
    await throttle.failed(huge, "203.0.113.5")
    assert await throttle.retry_after(huge, "203.0.113.5") == 1
    # One IP failing over many addresses waits too; IPv6 counts by /64.
    for n in range(10):
        await throttle.failed(f"user{n}@example.com", "2001:db8:1:2::1")
    assert await throttle.retry_after("someone@example.com", "2001:db8:1:2:ffff::9") == 1
    assert await throttle.retry_after("someone@example.com", "2001:db8:1:3::1") == 0
    # Forgotten after its delay plus a quiet window; the tables never outgrow their cap.
    now[0] += 900 + 900 + 1
    assert await throttle.retry_after(huge, "203.0.113.1") == 0
    for n in range(1000):
        await throttle.failed(f"spray-{n}@example.com", f"10.0.{n // 250}.{n % 250}")
    assert max(len(throttle.pairs), len(throttle.ips), len(throttle.accounts)) <= 100
    if kept_in == "redis":  # each count expires after its longest memory
        ttl = await throttle.shared.link.client().pttl(names[0])
        assert 0 < ttl <= (900 + 900 + 1) * 1000


# --- sign-up and the mail routes --------------------------------------------------------------


def sign_up(http: httpx.Client, email: str, as_json: bool, ip: str) -> httpx.Response:
    fields = {"email": email, "password": "a-fine-password"}
    headers = {"X-Forwarded-For": ip, **(JSON if as_json else {})}
    if as_json:
        return http.post("/api/auth/signup", json=fields, headers=headers)
    return http.post("/api/auth/signup", data=fields, headers=headers, follow_redirects=False)


def answer_of(response: httpx.Response) -> tuple:
    headers = response.headers
    return (
        response.status_code,
        response.content,
        headers.get("location"),
        headers.get("content-type"),
        "set-cookie" in headers,
    )


async def test_sign_up_never_tells_that_an_address_has_an_account(http, make_account, mailbox):
    account = await make_account(usd="0")
    before = await user_row(account.id)
    ip = new_ip()
    for as_json in (False, True):
        fresh = sign_up(http, new_email(), as_json, ip)
        taken = sign_up(http, account.email.upper(), as_json, ip)
        assert answer_of(taken) == answer_of(fresh)
        assert fresh.status_code in (200, 303), fresh.text

    # About the same time: the password is hashed on both paths.
    timings: dict[str, list[float]] = {"fresh": [], "taken": []}
    for _ in range(3):
        for kind in ("fresh", "taken"):
            email = new_email() if kind == "fresh" else account.email
            started = time.perf_counter()
            sign_up(http, email, True, ip)
            timings[kind].append(time.perf_counter() - started)
    fresh_time, taken_time = (statistics.median(timings[k]) for k in ("fresh", "taken"))
    assert taken_time > fresh_time / 3, timings

    # The owner is told by mail instead, at most the mail limit an hour (5 attempts here) ...
    limit = setting("mail_limit_per_address", 3)
    assert settle(mailbox, account.email, SIGNUP_EXISTS, limit) == limit
    mail = next(m for m in mailbox.to(account.email) if SIGNUP_EXISTS in m["Subject"])
    assert "/login" in body_of(mail) and "/forgot-password" in body_of(mail)
    assert not [m for m in mailbox.to(account.email) if "confirm" in m["Subject"].lower()]
    # ... and nothing else about the account changed: the old password still works.
    after = await user_row(account.id)
    assert (after.password_hash, after.email_verified_at, after.locale) == (
        before.password_hash,
        before.email_verified_at,
        before.locale,
    )
    assert log_in(http, account.email, account.password, new_ip()).status_code == 200


async def test_forgot_password_and_resend_cannot_bomb_a_mailbox(http, make_account, mailbox):
    limit = setting("mail_limit_per_address", 3)
    account = await make_account(usd="0")
    unknown = new_email()
    answers = set()
    for n in range(12):
        ip = new_ip() if n % 3 == 0 else "203.0.113.77"  # other IPs do not lift the cap
        for address in (account.email, unknown):
            form = http.post(
                "/api/auth/forgot-password",
                data={"email": address},
                headers={"X-Forwarded-For": ip},
                follow_redirects=False,
            )
            as_json = http.post(
                "/api/auth/forgot-password",
                json={"email": address},
                headers={**JSON, "X-Forwarded-For": ip},
            )
            answers.add((answer_of(form), answer_of(as_json)))
    assert len(answers) == 1  # the same answer, below and beyond the limit, known or not
    ((form_answer, _json_answer),) = answers
    assert form_answer[0] == 303 and form_answer[2] == "/login?notice=reset_sent"
    assert settle(mailbox, account.email, "reset", limit) == limit
    assert mailbox.to(unknown) == []

    # Verification again: the same limit on an unverified account.
    pending = new_email()
    assert sign_up(http, pending, False, new_ip()).status_code == 303
    for _ in range(8):
        again = http.post(
            "/api/auth/resend-verification",
            data={"email": pending},
            headers={"X-Forwarded-For": new_ip()},
            follow_redirects=False,
        )
        assert again.headers["location"] == "/login?notice=check_email"
    assert settle(mailbox, pending, "confirm", 1 + limit) == 1 + limit


def test_mail_limit_per_ip():
    from aiusage.services.throttle import MailLimiter

    limiter = MailLimiter(per_address=3, per_ip=20)
    allowed = [limiter.allow(f"victim-{n}@example.com", "203.0.113.9") for n in range(30)]
    assert allowed == [True] * 20 + [False] * 10
    assert limiter.allow("victim-29@example.com", "203.0.113.10")  # another IP
    assert [limiter.allow("one@example.com", "203.0.113.11") for _ in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert not limiter.allow(" ONE@example.com", "203.0.113.12")  # the same address


# --- the current password, re-asked -----------------------------------------------------------


@contextmanager
def signed_in_client(app_url: str, email: str, password: str, ip: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=app_url, headers={"Origin": app_url, "X-Forwarded-For": ip}, timeout=30
    ) as client:
        answer = client.post(
            "/api/auth/login", json={"email": email, "password": password}, headers=JSON
        )
        assert answer.status_code == 200, answer.text
        yield client


async def test_deleting_the_account_and_changing_the_password_need_the_current_password(
    app_url, make_account
):
    account = await make_account(usd="0")
    ip = new_ip()
    with signed_in_client(app_url, account.email, account.password, ip) as client:
        delete = "/api/account/delete"
        bare = client.post(delete, data={"confirm_email": account.email}, headers=JSON)
        assert bare.status_code == 400
        assert bare.json()["error"]["code"] == "current_password_required"
        wrong = client.post(
            delete,
            data={"confirm_email": account.email, "current_password": "not-my-password"},
            headers=JSON,
        )
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
        assert (await user_row(account.id)).closed_at is None
        assert client.get("/api/auth/me").status_code == 200

        # Wrong current passwords count as wrong log-in passwords: a stolen cookie is no way
        # around the throttle.
        for _ in range(free_failures() - 1):
            refused = client.post(
                "/api/auth/change-password",
                data={"current_password": "still-not-it", "new_password": "new-password-1"},
                headers=JSON,
            )
            assert refused.status_code == 403
        held = client.post(
            "/api/auth/change-password",
            data={"current_password": account.password, "new_password": "new-password-1"},
            headers=JSON,
        )
        assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
        assert log_in(client, account.email, account.password, ip).status_code == 429
        assert (await user_row(account.id)).password_hash is not None
        time.sleep(int(held.headers["retry-after"]) + 0.2)

        done = client.post(
            delete,
            data={"confirm_email": account.email, "current_password": account.password},
            headers=JSON,
        )
        assert done.status_code == 200, done.text
    assert (await user_row(account.id)).closed_at is not None

    # An account without a password (Google-only) has none to ask: the typed address still
    # confirms, as before.
    from aiusage.db import session_scope
    from aiusage.models import User, utcnow
    from aiusage.services import sessions

    email = new_email()
    async with session_scope() as db:
        user = User(email=email, password_hash=None, email_verified_at=utcnow())
        db.add(user)
        await db.flush()
        token = await sessions.create_session(db, user)
        user_id = user.id
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as client:
        client.cookies.set("bai_session", token)
        mismatch = client.post(
            "/api/account/delete", data={"confirm_email": "other@example.com"}, headers=JSON
        )
        assert mismatch.json()["error"]["code"] == "delete_confirm_mismatch"
        done = client.post("/api/account/delete", data={"confirm_email": email}, headers=JSON)
        assert done.status_code == 200, done.text
    assert (await user_row(user_id)).closed_at is not None


async def test_changing_the_email_needs_the_current_password(
    browser, app_url, make_account, mailbox
):
    account = await make_account(usd="0")
    new_address = "moved-" + account.email
    async with new_page(browser, app_url) as page:
        await browser_log_in(page, account.email, account.password)
        async with hydrated(page):
            await page.goto("/dashboard/settings")
        form = page.locator("#email-form")
        password = form.locator("input[name=current_password]")
        message = page.locator("#settings-email-message")

        await form.locator("input#new_email").fill(new_address)
        await password.evaluate("input => input.removeAttribute('required')")
        await form.locator("button[type=submit]").click()
        await expect(message).to_contain_text("Enter your current password")

        await form.locator("input#new_email").fill(new_address)
        await password.fill("not-my-password")
        await form.locator("button[type=submit]").click()
        await expect(message).to_contain_text("current password is not right")
        await asyncio.sleep(1)
        assert mailbox.to(new_address) == []

        await form.locator("input#new_email").fill(new_address)
        await password.fill(account.password)
        await form.locator("button[type=submit]").click()
        await expect(message).to_contain_text("new address")
        assert "confirm" in mailbox.wait_for(new_address, "new aiusage email")["Subject"].lower()


# --- X-Forwarded-For, believed only from a trusted proxy --------------------------------------


async def session_ip_hashes(user_id: int) -> set[str]:
    from aiusage.db import session_scope
    from aiusage.models import UserSession

    async with session_scope() as db:
        rows = await db.execute(select(UserSession.ip_hash).where(UserSession.user_id == user_id))
        return set(rows.scalars())


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(app_url, make_account):
    from aiusage.services.security import ip_hash

    free = free_failures()
    account = await make_account(usd="0")
    # From the trusted proxy (127.0.0.1): the right-most address it did not add is the
    # client; what the client wrote to its left is not believed.
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as proxy:
        for _ in range(free + 2):  # every attempt from another client: nobody waits
            assert log_in(proxy, account.email, "wrong-password", new_ip()).status_code == 401
        client = new_ip()
        spoofed = f"{new_ip()}, {client}, 127.0.0.1"
        assert log_in(proxy, account.email, account.password, spoofed).status_code == 200
    assert await session_ip_hashes(account.id) == {ip_hash(client)}

    # From a peer that is not trusted (127.0.0.2), X-Forwarded-For is ignored: changing it
    # does not make a new client, and the peer's own address is what is stored.
    other = await make_account(usd="0")
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(
        base_url=app_url, headers={"Origin": app_url}, timeout=30, transport=transport
    ) as direct:
        codes = [log_in(direct, other.email, "wrong", new_ip()).status_code for _ in range(free)]
        assert codes == [401] * free
        assert log_in(direct, other.email, other.password, new_ip()).status_code == 429
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as proxy:
        assert log_in(proxy, other.email, other.password, "127.0.0.2").status_code == 429
        assert log_in(proxy, other.email, other.password, new_ip()).status_code == 200
    with httpx.Client(
        base_url=app_url, headers={"Origin": app_url}, timeout=30, transport=transport
    ) as direct:
        fresh = await make_account(usd="0")
        assert log_in(direct, fresh.email, fresh.password, new_ip()).status_code == 200
    assert await session_ip_hashes(fresh.id) == {ip_hash("127.0.0.2")}


def test_client_ip_resolution():
    from ipaddress import ip_network

    from aiusage.services.client_ip import limit_key, resolve

    trusted = [ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32"), ip_network("fd00::/8")]
    assert resolve("203.0.113.5", "198.51.100.1", trusted) == "203.0.113.5"  # untrusted peer
    assert resolve("10.1.1.1", "198.51.100.1", trusted) == "198.51.100.1"
    assert resolve("10.1.1.1", "6.6.6.6, 198.51.100.1, 10.2.2.2", trusted) == "198.51.100.1"
    assert resolve("10.1.1.1", "10.3.3.3,10.2.2.2", trusted) == "10.3.3.3"  # all trusted
    assert resolve("10.1.1.1", "junk, 10.2.2.2", trusted) == "10.2.2.2"  # never the junk
    assert resolve("10.1.1.1", "", trusted) == "10.1.1.1"
    assert resolve("10.1.1.1", "198.51.100.7:4711", trusted) == "198.51.100.7"
    assert resolve("::ffff:127.0.0.1", "[2001:db8::1]:443", trusted) == "2001:db8::1"
    assert resolve("fd00::1", "x" * 20000 + ",198.51.100.2", trusted) == "198.51.100.2"
    assert resolve("10.1.1.1", "198.51.100.1", []) == "10.1.1.1"  # nothing trusted
    assert resolve(None, "198.51.100.1", trusted) == ""
    assert limit_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert limit_key("198.51.100.1") == "198.51.100.1"


def test_a_bad_trusted_proxies_value_stops_the_start_naming_the_variable(tmp_path):
    env = {**os.environ, "AIUSAGE_TRUSTED_PROXIES": "10.0.0.0/8, not-a-network"}
    env["AIUSAGE_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "from aiusage.config import get_settings; get_settings()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "AIUSAGE_TRUSTED_PROXIES" in result.stderr and "not-a-network" in result.stderr
