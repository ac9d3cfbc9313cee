"""Which headers cross the proxy (issue 11, item 7), and the security headers of every response.

- With the platform key only an allow-list of client headers goes upstream: never the ones
  that pick an account (OpenAI-Organization, OpenAI-Project, Anthropic-Workspace-Id); with
  the user's own key the client's headers pass. Hop-by-hop headers, and the headers a
  Connection header names, cross in neither direction.
- `aiusage.web.security_headers.SecurityHeaders`: its header values on a small Starlette
  app, and, once the app applies it (aiusage/web/asgi.py or aiusage/aiusage.py), a real
  browser loading the app's pages with its Content-Security-Policy reports no violation."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from aiusage.proxy.upstream import request_headers, response_headers
from aiusage.web import security_headers
from aiusage.web.security_headers import SecurityHeaders, content_security_policy
from tests.browser.test_browser_auth import log_in
from tests.browser.test_privacy_consent import GTM_ID, gtm_server  # noqa: F401 (a fixture)
from tests.conftest import TEST_ENV
from tests.helpers.browser import hydrated, new_page
from tests.helpers.support import ROOT, wait_usage

USER_KEY = "sk-proj-" + "h" * 40 + "AbCd"
PLATFORM_KEY = TEST_ENV["AIUSAGE_PLATFORM_OPENAI_KEY"]
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}

# What an OpenAI SDK (or a curl) may send besides its key.
PROVIDER_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json",
    "user-agent": "OpenAI/Python 3.57.0",
    "openai-beta": "assistants=v2",
    "idempotency-key": "idem-123",
    "x-request-id": "client-req-1",
    "x-client-request-id": "client-req-2",
    "x-stainless-lang": "python",
    "x-stainless-retry-count": "0",
}
# Headers that choose an account of the key's owner.
ACCOUNT_PICKERS = {
    "openai-organization": "org-someone-else",
    "openai-project": "proj_someone_else",
    "anthropic-workspace-id": "wrkspc_someone_else",
    "anthropic-user-profile-id": "uprof_someone_else",
}
# Hop-by-hop: about the client's connection to us, never forwarded. (Not `upgrade: websocket`
# with `connection: upgrade`: granian takes that for a websocket handshake and answers 400
# itself; it hands any other upgrade to the app as a plain request, as it does all of these.)
HOP_BY_HOP = {
    "connection": "upgrade, x-hop-secret",
    "x-hop-secret": "named by Connection, so hop-by-hop too",
    "keep-alive": "timeout=5",
    "upgrade": "h2c",
    "te": "trailers",
    "trailer": "x-checksum",
    "proxy-authorization": "Basic cHJveHk6c2VjcmV0",
}
OTHER = {"x-custom-client-header": "anything", "accept-language": "de"}
# Hop-by-hop (and Connection-named) headers the fake upstream answers with.
UPSTREAM_HOP_BY_HOP = [
    ("connection", "keep-alive, x-upstream-hop"),
    ("x-upstream-hop", "secret"),
    ("keep-alive", "timeout=5, max=100"),
    ("upgrade", "h2c"),
    ("proxy-authenticate", 'Basic realm="upstream"'),
    ("trailer", "x-checksum"),
    ("x-ratelimit-remaining-requests", "99"),  # an ordinary header: passes
]


def proxy_chat(app_url: str, key: str, headers: dict[str, str], **body) -> httpx.Response:
    return httpx.post(
        f"{app_url}/api/v1/chat/completions",
        json={**CHAT, **body},
        headers={**headers, "authorization": f"Bearer {key}"},
        timeout=15,
    )


# --- request headers: the pure function --------------------------------------------------


def raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers.items()]


def forwarded(headers: dict[str, str], *, platform_key: bool) -> dict[str, str]:
    out = request_headers(
        raw(headers),
        [(b"authorization", b"Bearer upstream")],
        identity=False,
        platform_key=platform_key,
    )
    return {k.decode(): v.decode() for k, v in out}


def test_platform_key_forwards_only_the_allow_list():
    client = {
        **PROVIDER_HEADERS,
        **ACCOUNT_PICKERS,
        **HOP_BY_HOP,
        **OTHER,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219",
        "x-app": "cli",
        "x-claude-code-session-id": "b001c977-df51-4e7f-9b9f-a69b3eb5ce8d",
        "cookie": "bai_session=x",
        "x-forwarded-for": "10.0.0.1",
        "authorization": "Bearer sk-aiu-proxy",
    }
    sent = forwarded(client, platform_key=True)
    expected = {
        k: v
        for k, v in client.items()
        if k in PROVIDER_HEADERS
        or k in ("anthropic-version", "anthropic-beta", "x-app", "x-claude-code-session-id")
    }
    expected["accept-encoding"] = "identity"
    expected["authorization"] = "Bearer upstream"
    assert sent == expected


def test_own_key_forwards_the_client_headers_but_hop_by_hop_and_credentials():
    client = {**PROVIDER_HEADERS, **ACCOUNT_PICKERS, **HOP_BY_HOP, **OTHER, "x-api-key": "sk"}
    sent = forwarded(client, platform_key=False)
    expected = {**PROVIDER_HEADERS, **ACCOUNT_PICKERS, **OTHER}
    expected["accept-encoding"] = "identity"
    expected["authorization"] = "Bearer upstream"
    assert sent == expected


def test_response_headers_drop_hop_by_hop_and_connection_named_ones():
    upstream = [(k.title().encode(), v.encode()) for k, v in UPSTREAM_HOP_BY_HOP]
    upstream += [(b"Content-Type", b"application/json"), (b"Content-Length", b"2")]
    assert response_headers(upstream) == [
        (b"x-ratelimit-remaining-requests", b"99"),
        (b"content-type", b"application/json"),
    ]


def test_a_header_named_by_connection_is_dropped_even_when_allowed():
    client = {"connection": "X-Stainless-Lang", "x-stainless-lang": "python", "accept": "*/*"}
    for platform_key in (True, False):
        sent = forwarded(client, platform_key=platform_key)
        assert "x-stainless-lang" not in sent and sent["accept"] == "*/*"


# --- request headers: through the running app ---------------------------------------------


async def test_platform_key_request_carries_no_account_or_hop_by_hop_header(
    app_url, fake, make_account
):
    account = await make_account(usd="3")  # no own OpenAI key: the platform key serves

    reply = proxy_chat(
        app_url, account.proxy_key, {**PROVIDER_HEADERS, **ACCOUNT_PICKERS, **HOP_BY_HOP, **OTHER}
    )

    assert reply.status_code == 200, reply.text
    seen = fake.requests[-1].headers
    assert seen["authorization"] == f"Bearer {PLATFORM_KEY}"
    for name in [*ACCOUNT_PICKERS, *HOP_BY_HOP, *OTHER]:
        assert name not in seen, f"{name} reached the upstream with the platform key"
    for name, value in PROVIDER_HEADERS.items():
        assert seen[name] == value, f"{name} did not reach the upstream"
    await wait_usage(account.id, 1)


async def test_platform_key_unmetered_route_carries_no_account_header(app_url, fake, make_account):
    account = await make_account(usd="3")

    reply = httpx.get(
        f"{app_url}/api/v1/models",
        headers={**ACCOUNT_PICKERS, **HOP_BY_HOP, "authorization": f"Bearer {account.proxy_key}"},
        timeout=15,
    )

    assert reply.status_code == 200, reply.text
    seen = fake.requests[-1]
    assert (seen.method, seen.path) == ("GET", "/v1/models")
    assert seen.headers["authorization"] == f"Bearer {PLATFORM_KEY}"
    for name in [*ACCOUNT_PICKERS, *HOP_BY_HOP]:
        assert name not in seen.headers, f"{name} reached the upstream with the platform key"


async def test_own_key_request_carries_the_organization_headers(app_url, fake, make_account):
    account = await make_account(usd="3", provider_keys={"openai": USER_KEY})

    reply = proxy_chat(
        app_url, account.proxy_key, {**PROVIDER_HEADERS, **ACCOUNT_PICKERS, **HOP_BY_HOP, **OTHER}
    )

    assert reply.status_code == 200, reply.text
    seen = fake.requests[-1].headers
    assert seen["authorization"] == f"Bearer {USER_KEY}"
    for name, value in {**PROVIDER_HEADERS, **ACCOUNT_PICKERS, **OTHER}.items():
        assert seen[name] == value, f"{name} did not reach the upstream with the user's key"
    for name in HOP_BY_HOP:
        assert name not in seen, f"hop-by-hop {name} reached the upstream"
    await wait_usage(account.id, 1)


@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_hop_by_hop_headers_do_not_reach_the_client(
    app_url, fake, make_account, stream
):
    account = await make_account(usd="3", provider_keys={"openai": USER_KEY})
    fake.behavior.extra_response_headers = list(UPSTREAM_HOP_BY_HOP)

    reply = proxy_chat(app_url, account.proxy_key, {}, stream=stream)

    assert reply.status_code == 200, reply.text
    got = reply.headers
    for name in ("x-upstream-hop", "keep-alive", "upgrade", "proxy-authenticate", "trailer"):
        assert name not in got, f"upstream's {name} reached the client"
    assert "x-upstream-hop" not in got.get("connection", "")
    assert got["x-ratelimit-remaining-requests"] == "99"
    assert got["x-aiusage-request-id"].startswith("req_")
    await wait_usage(account.id, 1)


# --- security headers: the middleware on a small app --------------------------------------


class FakeSettings:
    def __init__(self, site_url: str, gtm_id: str = "") -> None:
        self.site_url = site_url
        self.gtm_id = gtm_id


async def plain(_request: Request) -> Response:
    return PlainTextResponse("hello")


async def own_headers(_request: Request) -> Response:
    return PlainTextResponse(
        "mine",
        headers={"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "SAMEORIGIN"},
    )


async def streamed(_request: Request) -> Response:
    async def parts():
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"

    return StreamingResponse(parts(), media_type="text/event-stream")


def secured_app(monkeypatch, site_url: str, gtm_id: str = "") -> SecurityHeaders:
    monkeypatch.setattr(security_headers, "get_settings", lambda: FakeSettings(site_url, gtm_id))
    inner = Starlette(
        routes=[
            Route("/", plain),
            Route("/own", own_headers),
            Route("/stream", streamed),
        ]
    )
    return SecurityHeaders(inner)


async def get(app, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = sources
    return parsed


async def test_security_headers_on_every_response(monkeypatch):
    app = secured_app(monkeypatch, "http://localhost:3000")

    reply = await get(app, "/")

    assert reply.text == "hello"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in reply.headers  # the site is not https
    policy = directives(reply.headers["content-security-policy"])
    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'", "ws://localhost:3000"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    assert not any("google" in source for sources in policy.values() for source in sources)
    # Each header once.
    names = [k for k, _ in reply.headers.raw]
    assert len(names) == len(set(names))


async def test_https_site_gets_hsts_and_a_wss_websocket(monkeypatch):
    app = secured_app(monkeypatch, "https://aiusage.example")

    reply = await get(app, "/")

    assert reply.headers["strict-transport-security"] == "max-age=31536000"
    policy = directives(reply.headers["content-security-policy"])
    assert policy["connect-src"] == ["'self'", "wss://aiusage.example"]


async def test_tag_manager_origins_only_with_a_gtm_id(monkeypatch):
    app = secured_app(monkeypatch, "https://aiusage.example", gtm_id="GTM-ABC123")

    policy = directives((await get(app, "/")).headers["content-security-policy"])

    assert policy["script-src"] == [
        "'self'",
        "'unsafe-inline'",
        "'unsafe-eval'",
        "https://*.googletagmanager.com",
    ]
    assert "https://*.googletagmanager.com" in policy["img-src"]
    assert "https://*.google-analytics.com" in policy["img-src"]
    assert policy["connect-src"] == [
        "'self'",
        "wss://aiusage.example",
        "https://*.googletagmanager.com",
        "https://*.google-analytics.com",
        "https://*.analytics.google.com",
    ]
    # A blank id is no id.
    assert content_security_policy("https://a.example", "  ") == content_security_policy(
        "https://a.example"
    )


async def test_a_routes_own_header_wins(monkeypatch):
    app = secured_app(monkeypatch, "https://aiusage.example")

    reply = await get(app, "/own")

    assert reply.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert reply.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert reply.headers["x-content-type-options"] == "nosniff"  # the others are added


async def test_streamed_bodies_pass_unchanged(monkeypatch):
    app = secured_app(monkeypatch, "http://localhost:3000")

    reply = await get(app, "/stream")

    assert reply.text == "data: 1\n\ndata: 2\n\n"
    assert reply.headers["x-frame-options"] == "DENY"


async def test_websockets_and_lifespan_are_not_touched(monkeypatch):
    seen = []

    async def inner(scope, receive, send):
        seen.append((scope["type"], receive, send))

    monkeypatch.setattr(
        security_headers, "get_settings", lambda: FakeSettings("http://localhost:3000")
    )
    app = SecurityHeaders(inner)

    async def receive():
        return {}

    async def send(_message):
        return None

    for kind in ("websocket", "lifespan"):
        await app({"type": kind, "path": "/"}, receive, send)
    assert seen == [("websocket", receive, send), ("lifespan", receive, send)]


async def test_errors_of_the_app_get_the_headers_too(monkeypatch):
    app = secured_app(monkeypatch, "http://localhost:3000")

    reply = await get(app, "/no-such-page")

    assert reply.status_code == 404
    assert reply.headers["x-frame-options"] == "DENY"


# --- security headers: the real app in a real browser -------------------------------------


def middleware_applied() -> bool:
    """Whether the app wraps its front door in SecurityHeaders (read, not imported: importing
    aiusage/aiusage.py would build the whole Reflex app)."""
    sources = [ROOT / "aiusage/web/asgi.py", ROOT / "aiusage/aiusage.py"]
    return any("SecurityHeaders" in path.read_text() for path in sources)


needs_wiring = pytest.mark.skipif(
    not middleware_applied(),
    reason="SecurityHeaders is not applied yet (aiusage/web/asgi.py or aiusage/aiusage.py)",
)

# Collects every CSP violation of every document the page loads, before any page script runs.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation({
    directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample,
    source: e.sourceFile, line: e.lineNumber, page: document.location.pathname,
  });
});
"""


async def watch_csp(page: Page) -> list:
    violations: list = []

    def report(violation: dict) -> None:
        violations.append(violation)

    await page.expose_function("__cspViolation", report)
    await page.add_init_script(REPORT_VIOLATIONS)

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append({"console": message.text})

    page.on("console", console)
    return violations


@needs_wiring
def test_the_app_sends_the_security_headers(http):
    for path in ["/", "/login", "/dashboard", "/api/health"]:
        reply = http.get(path)
        assert reply.headers["x-frame-options"] == "DENY", path
        assert reply.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"], path
    proxied = http.get("/api/v1/models")  # no key: the proxy's 401, with the headers too
    assert proxied.status_code == 401
    assert proxied.headers["x-frame-options"] == "DENY"


CHARTS = {"/dashboard": "overview-chart", "/dashboard/usage": "spend-chart"}


@needs_wiring
async def test_pages_run_under_the_csp_without_a_violation(
    browser, app_url, app_server, fake, make_account
):
    account = await make_account(usd="3")
    # A metered call first, so the dashboard and usage pages draw their charts and tables.
    assert proxy_chat(app_url, account.proxy_key, {}).status_code == 200
    await wait_usage(account.id, 1)
    async with new_page(browser, app_url) as page:
        violations = await watch_csp(page)
        for path in ["/", "/login", "/signup", "/forgot-password"]:
            async with hydrated(page):  # hydration: scripts ran and the websocket connected
                response = await page.goto(path)
            assert response is not None
            assert "content-security-policy" in await response.all_headers()
        await log_in(page, account.email, account.password)
        for path in [
            "/dashboard",
            "/dashboard/usage",
            "/dashboard/keys",
            "/dashboard/connect",
            "/dashboard/billing",
            "/dashboard/settings",
            "/dashboard/support",
        ]:
            async with hydrated(page):
                await page.goto(path)
            chart = CHARTS.get(path)
            if chart:  # plotly drew it
                await expect(page.locator(f"#{chart}")).to_have_class(re.compile("js-plotly-plot"))
            await page.wait_for_timeout(300)  # on_load's call_script (run with eval)
    assert violations == []


# What a GA4 tag in the container does: this stand-in for gtm.js loads the gtag library and
# sends hits the ways GA4 does (fetches and pixels).
FAKE_GTM_JS = """
var s = document.createElement("script");
s.src = "https://www.googletagmanager.com/gtag/js?id=G-TEST";
document.head.appendChild(s);
fetch("https://region1.google-analytics.com/g/collect?v=2", {method: "POST", mode: "no-cors"})
  .catch(function () {});
fetch("https://region1.analytics.google.com/g/collect?v=2", {method: "POST", mode: "no-cors"})
  .catch(function () {});
new Image().src = "https://www.google-analytics.com/g/collect?v=2";
new Image().src = "https://www.googletagmanager.com/a?v=2";
window.__fakeGtmRan = true;
"""
GOOGLE = re.compile(
    r"^https://[^/]*(googletagmanager\.com|google-analytics\.com|analytics\.google\.com)/"
)


@needs_wiring
async def test_tag_manager_runs_under_the_csp_after_consent(browser, gtm_server):  # noqa: F811
    """No internet here: Google's hosts are answered in the browser (gtm.js by a stand-in
    doing what a GA4 container does, the rest aborted), so only the CSP can block them."""
    requested: list[str] = []

    async def google(route) -> None:
        requested.append(route.request.url)
        if "/gtm.js" in route.request.url:
            await route.fulfill(content_type="text/javascript", body=FAKE_GTM_JS)
        else:
            await route.abort()

    async with new_page(browser, gtm_server.url) as page:
        violations = await watch_csp(page)
        await page.context.route(GOOGLE, google)
        async with hydrated(page):
            await page.goto("/")
        await page.locator("#consent-accept").click()
        await expect(page.locator("#consent-banner")).to_be_hidden()
        await page.wait_for_function("() => window.__fakeGtmRan === true")
        await page.wait_for_timeout(1000)
    assert any("/gtm.js?id=" + GTM_ID in url for url in requested), requested
    assert any("/gtag/js" in url for url in requested), requested
    assert violations == []
