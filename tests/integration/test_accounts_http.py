"""Accounts over real HTTP against the running app, with mail from a real SMTP server."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.helpers.support import link_in


def new_email() -> str:
    return f"person-{secrets.token_hex(5)}@example.com"


def form(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data=fields, follow_redirects=False)


def error_code(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return parse_qs(urlsplit(response.headers["location"]).query).get("error", [""])[0]


def test_sign_up_verify_log_in_and_log_out(http, mailbox):
    email, password = new_email(), "correct horse battery"
    signed_up = form(http, "/api/auth/signup", email=email, password=password)
    assert signed_up.status_code == 303
    assert signed_up.headers["location"] == "/login?notice=check_email"

    # Not verified yet: log-in is refused with a clear reason.
    early = http.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"Accept": "application/json"},
    )
    assert early.status_code == 403
    assert early.json()["error"]["code"] == "email_not_verified"

    mail = mailbox.wait_for(email, "confirm")
    verified = http.get(link_in(mail, "/api/auth/verify"), follow_redirects=False)
    assert verified.headers["location"] == "/login?notice=verified"

    logged_in = form(http, "/api/auth/login", email=email.upper(), password=password)
    assert logged_in.status_code == 303 and logged_in.headers["location"] == "/dashboard"
    cookie = logged_in.headers["set-cookie"]
    assert cookie.startswith("bai_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # the test site is plain http
    token = http.cookies["bai_session"]
    assert http.get("/api/auth/me").json()["email"] == email

    logged_out = form(http, "/api/auth/logout")
    assert logged_out.status_code == 303
    assert http.cookies.get("bai_session") is None
    # The old token no longer works: the session ended on the server, not only in the browser.
    stale = httpx.get(http.base_url.join("/api/auth/me"), cookies={"bai_session": token})
    assert stale.status_code == 401


def test_verification_link_works_once(http, mailbox):
    email = new_email()
    form(http, "/api/auth/signup", email=email, password="password-one")
    link = link_in(mailbox.wait_for(email, "confirm"), "/api/auth/verify")
    assert http.get(link, follow_redirects=False).headers["location"].endswith("notice=verified")
    again = http.get(link, follow_redirects=False)
    assert error_code(again) == "token_invalid"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"email": "not-an-email", "password": "longenough"}, "email_invalid"),
        ({"email": "", "password": "longenough"}, "email_required"),
        ({"email": "a@example.com", "password": ""}, "password_required"),
        ({"email": "a@example.com", "password": "short"}, "password_too_short"),
        ({"email": "a@example.com", "password": "x" * 300}, "password_too_long"),
        ({"email": "x" * 250 + "@example.com", "password": "longenough"}, "email_invalid"),
    ],
)
def test_sign_up_rejects_bad_fields_clearly(http, fields, code):
    response = http.post("/api/auth/signup", json=fields, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.text


def test_duplicate_sign_up_and_nothing_half_written(http, mailbox):
    email = new_email()
    first = form(http, "/api/auth/signup", email=email, password="first-password")
    assert first.status_code == 303
    mailbox.wait_for(email, "confirm")
    again = form(http, "/api/auth/signup", email=email.upper(), password="second-password")
    # The same answer as a new address (nothing tells that the address has an account); its
    # owner is told by mail instead.
    assert (again.status_code, again.headers["location"]) == (303, first.headers["location"])
    mailbox.wait_for(email, "tried to sign up")
    # One account, one verification mail: the second sign-up changed nothing.
    import time

    time.sleep(0.5)
    assert len(mailbox.to(email)) == 2
    assert len([m for m in mailbox.to(email) if "confirm" in m["Subject"].lower()]) == 1


def test_oversized_form_is_refused(http):
    response = http.post(
        "/api/auth/signup", data={"email": "a@example.com", "password": "p" * 100_000}
    )
    assert response.status_code == 303 and error_code(response) == "too_large"


def test_wrong_password_and_unknown_email_look_the_same(http, mailbox):
    email = new_email()
    form(http, "/api/auth/signup", email=email, password="right-password")
    http.get(link_in(mailbox.wait_for(email, "confirm"), "/api/auth/verify"))
    wrong = form(http, "/api/auth/login", email=email, password="wrong-password")
    unknown = form(http, "/api/auth/login", email=new_email(), password="wrong-password")
    assert error_code(wrong) == error_code(unknown) == "invalid_credentials"
    assert "bai_session" not in wrong.headers.get("set-cookie", "")


def test_log_in_is_rate_limited_per_account(http, mailbox):
    email = new_email()
    form(http, "/api/auth/signup", email=email, password="right-password")
    http.get(link_in(mailbox.wait_for(email, "confirm"), "/api/auth/verify"))
    for _ in range(5):  # the test server allows 5 failures per account
        assert (
            error_code(form(http, "/api/auth/login", email=email, password="nope-nope"))
            == "invalid_credentials"
        )
    limited = http.post(
        "/api/auth/login",
        json={"email": email, "password": "right-password"},
        headers={"Accept": "application/json"},
    )
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


def test_cross_site_posts_are_refused(app_url):
    evil = {"Origin": "https://evil.example"}
    response = httpx.post(
        f"{app_url}/api/auth/login",
        data={"email": "a@b.co", "password": "x"},
        headers=evil,
        follow_redirects=False,
    )
    assert error_code(response) == "csrf"
    no_origin = httpx.post(f"{app_url}/api/auth/logout", follow_redirects=False)
    assert error_code(no_origin) == "csrf"


def test_cors_allows_only_the_sites_own_origin(app_url):
    preflight = {"Access-Control-Request-Method": "POST"}
    evil = httpx.options(
        f"{app_url}/api/auth/login", headers={"Origin": "https://evil.example", **preflight}
    )
    assert evil.headers.get("access-control-allow-origin") != "https://evil.example"
    assert evil.headers.get("access-control-allow-origin") != "*"
    own = httpx.options(f"{app_url}/api/auth/login", headers={"Origin": app_url, **preflight})
    assert own.headers.get("access-control-allow-origin") == app_url


def test_password_reset_and_change(http, mailbox):
    email = new_email()
    form(http, "/api/auth/signup", email=email, password="old-password")
    http.get(link_in(mailbox.wait_for(email, "confirm"), "/api/auth/verify"))
    form(http, "/api/auth/login", email=email, password="old-password")
    old_token = http.cookies["bai_session"]

    assert (
        form(http, "/api/auth/forgot-password", email=email).headers["location"]
        == "/login?notice=reset_sent"
    )
    reset_link = link_in(mailbox.wait_for(email, "reset"), "/reset-password")
    token = parse_qs(urlsplit(reset_link).query)["token"][0]
    done = form(http, "/api/auth/reset-password", token=token, password="new-password")
    assert done.headers["location"] == "/login?notice=password_reset"
    # Resetting the password ended the sessions that existed before.
    assert (
        httpx.get(
            http.base_url.join("/api/auth/me"), cookies={"bai_session": old_token}
        ).status_code
        == 401
    )
    assert (
        error_code(form(http, "/api/auth/login", email=email, password="old-password"))
        == "invalid_credentials"
    )
    assert (
        form(http, "/api/auth/login", email=email, password="new-password").headers["location"]
        == "/dashboard"
    )

    wrong = form(
        http,
        "/api/auth/change-password",
        current_password="nope-nope",
        new_password="newer-password",
    )
    assert error_code(wrong) == "wrong_password"
    changed = form(
        http,
        "/api/auth/change-password",
        current_password="new-password",
        new_password="newer-password",
    )
    assert changed.headers["location"] == "/dashboard/settings?notice=password_changed"
    assert http.get("/api/auth/me").status_code == 200  # this browser stays signed in
    assert (
        form(http, "/api/auth/login", email=email, password="newer-password").headers["location"]
        == "/dashboard"
    )


def test_forgot_password_for_unknown_email_says_the_same(http, mailbox):
    email = new_email()
    response = form(http, "/api/auth/forgot-password", email=email)
    assert response.headers["location"] == "/login?notice=reset_sent"
    assert mailbox.to(email) == []


def test_health_reports_the_database(app_url):
    response = httpx.get(f"{app_url}/api/health")
    assert response.status_code == 200
    health = response.json()
    assert (health["status"], health["database"]) == ("ok", "ok")
    assert isinstance(health["dead_settlements"], int) and isinstance(health["expired_holds"], int)


def _websocket_handshake_status(app_url: str, origin: str) -> int:
    import base64
    import os
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(app_url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request.encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def test_state_websocket_accepts_only_the_sites_origin(app_url):
    # Otherwise any web page could open a signed-in websocket with the visitor's cookie.
    assert _websocket_handshake_status(app_url, app_url) == 101
    assert _websocket_handshake_status(app_url, "https://evil.example") != 101
