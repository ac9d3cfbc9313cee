"""The dashboard's HTTP routes (aiusage/web/: auth, account, usage CSV, Google sign-in, health;
not the /api/v1 proxy, not Stripe's) fuzzed against the real app server with hostile query
strings, form and JSON bodies and headers (tests/helpers/fuzz_strategies.py), signed in and signed
out. Whatever arrives, a route answers 2xx/3xx, or 4xx in the routes' error shape
`{"error": {"code", "message"}}`, never 5xx; redirects stay on the site; and the server
still answers /api/health afterwards.

The examples are derandomized (fixed seed, no example database), so CI runs the same few
hundred requests every time (about a minute). Below the fuzzers: the bugs they found, pinned
as plain regression tests."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from starlette.requests import Request

from aiusage.services import usage
from aiusage.web.http import BadRequest, read_fields
from tests.helpers.fuzz_strategies import (
    content_types,
    cookie_headers,
    date_strings,
    fuzz,
    header_sets,
    hostile_strings,
    numeric_strings,
    other_digits,
    percent_encode,
    query_strings,
    request_bodies,
)

CSV = "/api/usage/export.csv"
CSV_PARAMS = ("range", "tz", "from", "to", "key", "provider", "model")
# GET routes and the query parameters each reads.
GET_ROUTES = {
    "/api/health": (),
    "/api/auth/me": (),
    "/api/auth/verify": ("token",),
    "/api/account/export": (),
    "/api/account/confirm-email": ("token", "email"),
    "/api/auth/google/start": (),
    "/api/auth/google/callback": ("state", "code", "error", "error_description", "scope"),
}
# POST routes: the body fields each reads, and whether it runs signed in. The routes that end
# sessions (log-out, sign out everywhere) run signed out, so the fuzzing keeps its session.
POST_ROUTES = {
    "/api/auth/login": (("email", "password"), False),
    "/api/auth/signup": (("email", "password", "lang"), False),
    "/api/auth/resend-verification": (("email",), False),
    "/api/auth/forgot-password": (("email",), False),
    "/api/auth/reset-password": (("token", "password"), False),
    "/api/auth/change-password": (("current_password", "new_password"), True),
    "/api/account/delete": (("confirm_email",), True),
    "/api/auth/logout": ((), False),
    "/api/auth/two-factor": (("code",), False),
    "/api/account/sign-out-everywhere": ((), False),
}
FUZZED_HEADERS = (
    "accept",
    "accept-language",
    "origin",
    "referer",
    "user-agent",
    "content-type",
    "x-forwarded-for",
    "host",
)


# --- what every answer must look like -------------------------------------------------------


def check_answer(response: httpx.Response) -> None:
    request = response.request
    where = f"{request.method} {request.url.raw_path.decode('ascii', 'replace')[:300]}"
    assert response.status_code < 500, f"{where} → {response.status_code}: {response.text[:500]}"
    if 400 <= response.status_code < 500:
        if response.status_code == 400 and not response.content:
            return  # refused by the HTTP server itself (granian) before the app saw it
        assert response.headers.get("content-type", "").startswith("application/json"), (
            f"{where} → {response.status_code} is not JSON: {response.text[:300]}"
        )
        error = response.json().get("error")
        assert isinstance(error, dict), f"{where} → {response.text[:300]}"
        assert isinstance(error.get("code"), str) and error["code"], response.text[:300]
        assert isinstance(error.get("message"), str) and error["message"], response.text[:300]
    elif 300 <= response.status_code < 400:
        location = response.headers["location"]
        site, issuer = os.environ["AIUSAGE_SITE_URL"], os.environ["AIUSAGE_GOOGLE_ISSUER"]
        on_site = location.startswith("/") and not location.startswith(("//", "/\\"))
        on_site = on_site or location.startswith(site + "/")
        assert on_site or location.startswith(issuer + "/"), f"{where} → {location!r}"
        assert "\r" not in location and "\n" not in location


def check_csv(response: httpx.Response) -> None:
    check_answer(response)
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/csv")
        assert response.text.startswith("time_utc,key,provider,model")


def get(client: httpx.Client, path: str, query: str = "", **kwargs) -> httpx.Response:
    return client.get(f"{path}?{query}" if query else path, **kwargs)


# --- clients ----------------------------------------------------------------------------------


@pytest.fixture
async def account(make_account):
    return await make_account()


@pytest.fixture
def signed_in(app_url, account) -> Iterator[httpx.Client]:
    """A client signed in through the log-in route, as a browser is."""
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as client:
        answer = client.post(
            "/api/auth/login", data={"email": account.email, "password": account.password}
        )
        assert answer.status_code == 303, answer.text
        assert client.cookies.get("bai_session")
        yield client


@pytest.fixture
def anonymous(app_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def still_healthy(app_url) -> Iterator[None]:
    yield
    answer = httpx.get(f"{app_url}/api/health", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text


# --- the fuzzers ------------------------------------------------------------------------------


def csv_values(name: str) -> st.SearchStrategy[str]:
    """Each CSV parameter: near-valid values (so the fuzzing reaches past the first check)
    mixed with hostile ones."""
    plausible = {
        "range": st.sampled_from(usage.RANGES),
        "tz": st.one_of(st.integers(-900, 900).map(str), numeric_strings()),
        "from": date_strings(),
        "to": date_strings(),
        "key": st.one_of(st.integers(-5, 10**20).map(str), other_digits(), numeric_strings()),
        "provider": st.sampled_from(["anthropic", "openai", "x" * 17]),
        "model": st.sampled_from(["claude-haiku-4-5", "gpt-4o", "m" * 101]),
    }[name]
    return st.one_of(plausible, plausible, hostile_strings())


@st.composite
def csv_queries(draw) -> str:
    """A CSV query string: a fuzzed one over the parameter names, or the page's own shape with
    fuzzed values — half the time a custom range, its two dates often the same day."""
    if draw(st.integers(0, 4)) == 0:
        return draw(query_strings(CSV_PARAMS))
    values: dict[str, str] = {}
    if draw(st.booleans()):
        values["range"] = "custom"
        values["from"] = draw(csv_values("from"))
        values["to"] = values["from"] if draw(st.booleans()) else draw(csv_values("to"))
    for name in CSV_PARAMS:
        if name not in values and draw(st.booleans()):
            values[name] = draw(csv_values(name))
    return "&".join(f"{name}={percent_encode(value)}" for name, value in values.items())


@fuzz(max_examples=150)
@given(query=csv_queries())
def test_csv_export_never_fails_on_any_query_string(signed_in, query):
    check_csv(get(signed_in, CSV, query))


@fuzz(max_examples=100)
@given(
    path=st.sampled_from(sorted(GET_ROUTES)),
    data=st.data(),
    as_user=st.booleans(),
    accept=st.sampled_from(["application/json", "text/html", "*/*"]),
)
def test_get_routes_never_fail_on_any_query_string(
    oidc_provider, signed_in, anonymous, path, data, as_user, accept
):
    query = data.draw(query_strings(GET_ROUTES[path]), label="query")
    client = signed_in if as_user else anonymous
    check_answer(get(client, path, query, headers={"accept": accept}))


ALL_FIELDS = sorted({name for names, _ in POST_ROUTES.values() for name in names})


ACCEPTS = ("application/json", "text/html", "")  # JSON errors, or redirects for HTML forms


@fuzz(max_examples=60)
@given(body=request_bodies(ALL_FIELDS), turn=st.integers(0, len(ACCEPTS) - 1))
def test_post_routes_never_fail_on_any_body(signed_in, anonymous, body, turn):
    """Each body goes to every POST route (a value that breaks one route rarely breaks the
    route it was drawn for), as a fetch() call or as an HTML form, by turns."""
    ctype, content = body
    for i, (path, (_, as_user)) in enumerate(POST_ROUTES.items()):
        client = signed_in if as_user else anonymous
        headers = {"content-type": ctype, "accept": ACCEPTS[(i + turn) % len(ACCEPTS)]}
        check_answer(client.post(path, content=content, headers=headers))


def not_fuzzed_here(path: str) -> bool:
    """The proxy (/api/v1/*, HEAD /api) and Stripe's routes have fuzzers of their own."""
    return path.startswith(("/api/v1", "/api/stripe", "/api/billing")) or path == "/api"


@st.composite
def api_paths(draw) -> str:
    """Known route paths, the same with junk appended, and /api/<junk>."""
    known = sorted({*GET_ROUTES, *POST_ROUTES, CSV})
    kind = draw(st.sampled_from(["known", "suffix", "junk"]))
    if kind == "known":
        return draw(st.sampled_from(known))
    junk = percent_encode(draw(hostile_strings(12))).replace("%2F", "/")
    if kind == "suffix":
        return draw(st.sampled_from(known)) + draw(st.sampled_from(["/", "//", "/.", ""])) + junk
    return "/api/" + junk


@fuzz(max_examples=60)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=api_paths(),
    accept=st.sampled_from(["application/json", "text/html", ""]),
)
def test_any_path_and_method_answers_in_the_error_shape(anonymous, method, path, accept):
    """Wrong methods and unknown /api/ paths: 404/405 in the error shape, not plain text."""
    request = anonymous.build_request(method, path, content=b"email=x", headers={"accept": accept})
    sent = request.url.path  # decoded, dot segments resolved: what the server routes on
    assume(not not_fuzzed_here(sent))
    answer = anonymous.send(request)
    if not sent.startswith("/api/") or "\n" in sent:
        # Not a web route: a Reflex page, or a path with a newline, which Reflex's outermost
        # mount never matches (its `.*` stops at "\n") and answers with a plain-text 404.
        assert answer.status_code < 500, answer.text
        return
    check_answer(answer)


COOKIE_READERS = (
    "/api/auth/google/callback?state=x&code=y",
    "/api/auth/google/callback",
    "/api/auth/me",
    "/api/account/export",
    CSV + "?range=7d",
)


@fuzz(max_examples=60)
@given(
    cookie=cookie_headers(["bai_session", "bai_oidc"]),
    accept=st.sampled_from(["application/json", "text/html"]),
)
def test_routes_never_fail_on_any_cookie(app_url, oidc_provider, cookie, accept):
    with httpx.Client(base_url=app_url, timeout=30) as client:
        for path in COOKIE_READERS:
            check_answer(client.get(path, headers={"cookie": cookie, "accept": accept}))


# Harmless well-formed bodies: none of them can sign anybody out or close the account.
HARMLESS_BODIES = {
    "/api/auth/login": b"email=nobody%40example.com&password=wrong-password",
    "/api/auth/signup": b"email=not-an-email&password=x",
    "/api/auth/resend-verification": b"email=nobody%40example.com",
    "/api/auth/forgot-password": b"email=nobody%40example.com",
    "/api/auth/reset-password": b"token=nope&password=long-enough-password",
    "/api/auth/change-password": b"current_password=wrong&new_password=long-enough-password",
    "/api/account/delete": b"confirm_email=someone-else%40example.com",
}


@fuzz(max_examples=120)
@given(
    path=st.sampled_from(sorted({*GET_ROUTES, *HARMLESS_BODIES, CSV})),
    headers=header_sets(
        FUZZED_HEADERS,
        extra={
            "cookie": cookie_headers(["bai_session", "bai_oidc"]),
            "content-type": content_types(),
        },
    ),
    with_session=st.booleans(),
)
def test_any_route_never_fails_on_any_headers(
    app_url, signed_in, oidc_provider, path, headers, with_session
):
    headers = dict(headers)
    if with_session:  # the real session cookie goes first, the fuzzed cookies after it
        session = f"bai_session={signed_in.cookies['bai_session']}".encode()
        headers["cookie"] = b"; ".join(filter(None, [session, headers.get("cookie")]))
    with httpx.Client(base_url=app_url, timeout=30) as client:
        if path in HARMLESS_BODIES:
            headers.setdefault("content-type", b"application/x-www-form-urlencoded")
            answer = client.post(path, content=HARMLESS_BODIES[path], headers=headers)
        else:
            answer = client.get(path, headers=headers)
    check_answer(answer)


@fuzz(max_examples=30)
@given(
    headers=header_sets(("user-agent", "accept-language", "accept", "x-forwarded-for")),
    form=st.booleans(),
)
def test_log_in_with_hostile_headers(app_url, account, headers, form):
    """Valid credentials: the session row stores the User-Agent, whatever it holds."""
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as client:
        credentials = {"email": account.email, "password": account.password}
        if form:
            answer = client.post("/api/auth/login", data=credentials, headers=headers)
        else:
            answer = client.post("/api/auth/login", json=credentials, headers=headers)
        check_answer(answer)
        assert answer.status_code in (200, 303), answer.text
        assert client.get("/api/auth/me").json()["email"] == account.email


# --- what the fuzzers found, pinned -------------------------------------------------------------


def error_code(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    return response.json()["error"]["code"]


@pytest.mark.parametrize(
    "key", ["²", "¹²", "١٢", "１２", "𝟙", "-1", "1e24", str(10**30), "1 OR 1=1", "\x00", "9" * 19]
)
def test_csv_key_that_is_not_plain_digits_is_a_clear_400(signed_in, key):
    """Was a 500: "²".isdigit() is true and int("²") raises (and "١٢" was read as key 12)."""
    answer = get(signed_in, CSV, f"range=7d&key={percent_encode(key)}")
    assert error_code(answer) == "bad_filter"
    assert "'key'" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("start", "end", "tz"),
    [
        ("0001-01-01", "0001-01-05", "0"),
        ("0001-01-01", "0001-01-01", "840"),
        ("9999-12-25", "9999-12-31", "0"),
        ("9999-12-31", "9999-12-31", "-840"),
        ("0001-01-01", "9999-12-31", "-840"),
        ("٢٠٢٦-٠١-٠١", "2026-01-02", "0"),
        ("2026-02-30", "2026-03-01", "0"),
        ("20260101", "2026-01-02", "0"),
    ],
)
def test_csv_custom_range_outside_the_calendar_is_a_clear_400(signed_in, start, end, tz):
    """Was a 500: year 1 or 9999, shifted by the time zone and padded by a day, overflowed."""
    query = f"range=custom&from={percent_encode(start)}&to={percent_encode(end)}&tz={tz}"
    answer = get(signed_in, CSV, query)
    assert error_code(answer) == "bad_filter"
    assert "'from'" in answer.json()["error"]["message"] or "'to'" in answer.text


@pytest.mark.parametrize(
    ("start", "end", "tz"),
    [
        ("2000-01-01", "2000-01-01", "840"),
        ("2999-12-31", "2999-12-31", "-840"),
        ("2999-12-31", "2000-01-01", "0"),  # reversed, and over the 400-day cap
    ],
)
def test_csv_custom_range_at_the_ends_of_the_calendar_is_an_empty_csv(signed_in, start, end, tz):
    answer = get(signed_in, CSV, f"range=custom&from={start}&to={end}&tz={tz}")
    check_csv(answer)
    assert answer.status_code == 200 and answer.text.count("\n") == 1  # the header only


@pytest.mark.parametrize(
    "query",
    ["tz=1e24", "tz=99999", "range=forever", "model=a%00b", "provider=" + "x" * 17, "to=2026-1-1"],
)
def test_csv_other_malformed_filters_are_a_clear_400(signed_in, query):
    assert error_code(get(signed_in, CSV, query)) == "bad_filter"


def test_usage_filters_never_overflow_in_the_service():
    """The page's own state reads the same parameters leniently: defaults, never a crash."""
    from datetime import date

    for tz in (-840, 0, 840):
        rng = usage.resolve_range("custom", tz, custom_start=date.min, custom_end=date.max)
        assert (rng.last_day - rng.first_day).days == usage.MAX_CUSTOM_DAYS - 1
        usage.bucket_labels(rng)
    assert usage.clamp_offset(float("inf")) == 0
    for params in (
        {"key": "²"},
        {"range": "custom", "from": "0001-01-01", "to": "9999-12-31", "tz": "1e24"},
        {"model": "\ud800", "provider": "\x00", "range": "\ud800"},
    ):
        flt, rng = usage.filter_from_params(7, params)  # lenient: the defaults
        assert (flt.proxy_key_id, flt.provider, flt.model) == (None, None, None)
        assert (rng.last_day - rng.first_day).days == 29  # the default 30 days
        with pytest.raises(usage.BadFilter):
            usage.filter_from_params(7, params, strict=True)


JSON = {"content-type": "application/json", "accept": "application/json"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login", b'{"email": "a@example.com", "password": "\\ud800aaaaaaaa"}'),
        ("/api/auth/login", b'{"email": "\\ud800@example.com", "password": "aaaaaaaaaa"}'),
        ("/api/auth/signup", b'{"email": "\\udfff@example.com", "password": "aaaaaaaaaa"}'),
        ("/api/auth/forgot-password", b'{"email": "\\ud800@example.com"}'),
        ("/api/auth/reset-password", b'{"token": "\\ud800", "password": "aaaaaaaaaa"}'),
        ("/api/auth/login", b'{"email": "a@example.com", "password": "a\\u0000aaaaaaaa"}'),
        ("/api/auth/login", b'{"email": ["a@example.com"], "password": 10000000000000000000}'),
        ("/api/auth/signup", b"[" * 8000 + b"]" * 8000),
        ("/api/auth/login", b'{"a":' * 2500 + b"1" + b"}" * 2500),
    ],
)
def test_json_bodies_no_form_sends_are_a_clear_400(anonymous, path, body):
    """Were 500s: lone surrogates reached the database and the password hash
    (UnicodeEncodeError); JSON nested thousands deep raised RecursionError."""
    assert error_code(anonymous.post(path, content=body, headers=JSON)) == "bad_request"


@pytest.mark.parametrize("password", ["9" * 4097, "x" * 10000])
def test_passwords_longer_than_the_hasher_takes_are_refused(signed_in, anonymous, password):
    """Were 500s: passlib raises PasswordSizeError over 4096 bytes, and log-in checked the
    length only for a well-formed address, change-password not at all."""
    json = {"accept": "application/json"}
    for email in ("not-an-email", f"nobody-{secrets.token_hex(4)}@example.com"):
        fields = {"email": email, "password": password}
        answer = anonymous.post("/api/auth/login", data=fields, headers=json)
        assert error_code(answer, 401) == "invalid_credentials"
    fields = {"current_password": password, "new_password": "long-enough-password"}
    answer = signed_in.post("/api/auth/change-password", data=fields, headers=json)
    assert error_code(answer, 403) == "wrong_password"


@pytest.mark.parametrize("token", ["€", "a\r\nSet-Cookie: evil=1", "a&notice=password_reset"])
def test_reset_password_keeps_the_token_encoded_in_the_redirect(anonymous, token):
    """Was a 500: the raw token went into the Location header (CR/LF, non-latin-1)."""
    answer = anonymous.post("/api/auth/reset-password", data={"token": token, "password": "short"})
    check_answer(answer)
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query == {"error": ["password_too_short"], "token": [token]}
    assert "evil" not in answer.headers.get("set-cookie", "")


def test_google_flow_cookie_with_non_ascii_text_is_refused(oidc_provider, app_url):
    """Was a 500: hmac.compare_digest raised TypeError on a non-ASCII signature."""
    with httpx.Client(base_url=app_url, timeout=30) as client:
        answer = client.get(
            "/api/auth/google/callback?state=x&code=y",
            headers={"cookie": b"bai_oidc=e30.\xe9\xe9\xe9"},
        )
    check_answer(answer)
    assert answer.headers["location"] == "/login?error=google_state"


def test_unknown_paths_and_methods_answer_in_the_error_shape(anonymous):
    missing = anonymous.get("/api/no-such-route")
    assert error_code(missing, 404) == "not_found"
    wrong_method = anonymous.get("/api/auth/login")
    assert error_code(wrong_method, 405) == "method_not_allowed"
    assert "POST" in wrong_method.headers["allow"]


def test_content_length_in_other_digits_never_reaches_a_500(app_url):
    """`Content-Length: ²` (latin-1 0xB2): the HTTP server refuses it before the app; the
    app's own check refuses it too (test_read_fields_refuses_what_no_form_sends)."""
    host, port = app_url.removeprefix("http://").split(":")
    request = (
        b"POST /api/auth/login HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b"Origin: " + app_url.encode() + b"\r\nContent-Length: \xb2\r\n"
        b"Connection: close\r\n\r\nab"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        status_line = sock.makefile("rb").readline()
    assert status_line.split()[1].startswith(b"4"), status_line


def _request(body: bytes, headers: list[tuple[bytes, bytes]]) -> Request:
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    return Request(scope, receive)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"email=a", [(b"content-length", "²".encode("latin-1"))]),
        (b"email=a", [(b"content-length", b"-1")]),
        (b'{"email": "\\ud800"}', [(b"content-type", b"application/json")]),
        (b'{"email": 1e999}', [(b"content-type", b"application/json")]),
        (b"[" * 3000 + b"]" * 3000, [(b"content-type", b"application/json")]),
        (b"email=a%00b", [(b"content-type", b"application/x-www-form-urlencoded")]),
        (b"email=\xed\xa0\x80", [(b"content-type", b"application/x-www-form-urlencoded")]),
    ],
)
async def test_read_fields_refuses_what_no_form_sends(body, headers):
    with pytest.raises(BadRequest) as refused:
        await read_fields(_request(body, headers), "email")
    assert refused.value.status == 400 and refused.value.code == "bad_request"
