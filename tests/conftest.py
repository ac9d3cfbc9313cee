"""Session-wide real parts: a fake upstream on loopback, a real SMTP server, and the app
running as a real server (`reflex run --env prod`) over a fresh SQLite database built by the
migrations. The test process points its own settings at the same database so tests can
arrange data through the services and check what the server wrote."""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from tests.helpers.support import ARTIFACTS, ROOT, AppServer, Mailbox, free_port, start_smtp

# Configuration must be in place before anything imports aiusage.config.
RUN_DIR = Path(tempfile.mkdtemp(prefix="aiusage-tests-"))
APP_PORT, SMTP_PORT, UPSTREAM_PORT = free_port(), free_port(), free_port()
UPSTREAM_URL = f"http://127.0.0.1:{UPSTREAM_PORT}"
APP_URL = f"http://127.0.0.1:{APP_PORT}"
MAX_REQUEST_BYTES = 2_000_000
TEST_ENV = {
    "AIUSAGE_DATA_DIR": str(RUN_DIR / "data"),
    "AIUSAGE_SITE_URL": APP_URL,
    "AIUSAGE_ENCRYPTION_KEY": "t1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "AIUSAGE_SECRET_KEY": secrets.token_urlsafe(32),
    "AIUSAGE_EMAIL_BACKEND": "smtp",
    "AIUSAGE_SMTP_HOST": "127.0.0.1",
    "AIUSAGE_SMTP_PORT": str(SMTP_PORT),
    "AIUSAGE_EMAIL_SEND_INTERVAL": "0.1",
    "AIUSAGE_ANTHROPIC_BASE_URL": UPSTREAM_URL,
    "AIUSAGE_OPENAI_BASE_URL": UPSTREAM_URL,
    "AIUSAGE_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
    "AIUSAGE_UPSTREAM_READ_TIMEOUT": "3",
    "AIUSAGE_UPSTREAM_CONNECT_TIMEOUT": "3",
    "AIUSAGE_PLATFORM_OPENAI_KEY": "sk-platform-openai-" + secrets.token_hex(12),
    # Log-in throttling: 5 free failures per (address, IP); every test shares 127.0.0.1, so
    # the per-IP limits are out of the way. The app trusts 127.0.0.1 as a proxy, so a test
    # can act from other client IPs with X-Forwarded-For (tests/browser/test_auth_abuse.py).
    "AIUSAGE_LOGIN_FREE_FAILURES": "5",
    "AIUSAGE_LOGIN_MAX_FAILURES_PER_IP": "1000",
    "AIUSAGE_MAIL_LIMIT_PER_IP": "1000",
    "AIUSAGE_TRUSTED_PROXIES": "127.0.0.1/32",
    # Non-default privacy settings: the privacy page must show these, not the defaults.
    "AIUSAGE_USAGE_RETENTION_DAYS": "400",
    "AIUSAGE_CLOSED_ACCOUNT_GRACE_DAYS": "45",
    "AIUSAGE_SUPPORT_RETENTION_DAYS": "700",
    "AIUSAGE_CONTACT_EMAIL": "privacy@aiusage.test",
    "AIUSAGE_OPERATOR_EMAIL": "operator@aiusage.test",
    # GET /metrics answers this bearer token (tests/integration/test_metrics.py).
    "AIUSAGE_METRICS_TOKEN": secrets.token_hex(20),
}
# Sign in with Google against a local OpenID provider (tests/fakes/oidc_provider.py).
OIDC_PORT = free_port()
OIDC_CLIENT_ID, OIDC_CLIENT_SECRET = "aiusage-test.apps.example", secrets.token_urlsafe(24)
TEST_ENV.update(
    AIUSAGE_GOOGLE_ISSUER=f"http://127.0.0.1:{OIDC_PORT}",
    AIUSAGE_GOOGLE_CLIENT_ID=OIDC_CLIENT_ID,
    AIUSAGE_GOOGLE_CLIENT_SECRET=OIDC_CLIENT_SECRET,
)


SERVER_FIXTURES = {"app_server", "app_url", "http", "make_account", "fake", "upstream"}
# Servers of their own (PostgreSQL, Redis, the whole cluster) also make a test integration.
SERVER_FIXTURES |= {"pg", "app_db", "redis_server", "redis_link", "cluster", "instances"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One kind per test: browser (Playwright), integration (the app served), or unit."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "browser" in fixtures or "browser" in Path(item.nodeid.split("::")[0]).name:
            item.add_marker(pytest.mark.browser)
        elif fixtures & SERVER_FIXTURES or "AIUSAGE" in item.nodeid:
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator:
    from tests.fakes.oidc_provider import FakeOIDCProvider

    provider = FakeOIDCProvider(OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET).start()
    yield provider
    provider.stop()


# Billing against a local fake of Stripe's API (tests/fakes/stripe.py).
STRIPE_PORT = free_port()
STRIPE_WEBHOOK_SECRET = "whsec_" + secrets.token_hex(16)
TEST_ENV.update(
    AIUSAGE_STRIPE_SECRET_KEY="sk_test_" + secrets.token_hex(12),
    AIUSAGE_STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
    AIUSAGE_STRIPE_API_BASE=f"http://127.0.0.1:{STRIPE_PORT}",
)


@pytest.fixture(scope="session")
def stripe_api() -> Iterator:
    from tests.fakes.stripe import FakeStripe

    fake = FakeStripe(port=STRIPE_PORT).start()
    yield fake
    fake.stop()


os.environ.update(TEST_ENV)
ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def upstream() -> Iterator:
    from tests.fakes.upstream import FakeUpstream

    fake = FakeUpstream(port=UPSTREAM_PORT).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(upstream):
    """The fake upstream, reset to its default behaviour for this test."""
    upstream.reset()
    yield upstream
    upstream.reset()


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    controller, box = start_smtp(SMTP_PORT)
    yield box
    controller.stop()


@pytest.fixture(scope="session")
def app_server(upstream, mailbox) -> Iterator[AppServer]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_")}
    env.update(TEST_ENV)
    # Each test session builds its own frontend, so parallel sessions never share one .web.
    env["REFLEX_WEB_WORKDIR"] = str(RUN_DIR / "web")
    env["REFLEX_STATES_WORKDIR"] = str(RUN_DIR / "states")
    env["PATH"] = f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}"
    server = AppServer(APP_PORT, env, RUN_DIR / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server.url


@pytest.fixture
def http(app_url) -> Iterator[httpx.Client]:
    """A browser-like HTTP client of the running app (same-origin Origin header)."""
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as client:
        yield client


@dataclass
class Account:
    id: int
    email: str
    password: str
    proxy_key: str
    key_id: int


@pytest.fixture
async def make_account(app_server):
    """Creates verified accounts with credit, a proxy key and optionally a provider key
    (after the app has migrated the database)."""
    from aiusage.db import session_scope
    from aiusage.money import usd_to_nano
    from aiusage.services import accounts, billing, keys

    async def create(
        *,
        usd: str = "10",
        provider_keys: dict[str, str] | None = None,
        spend_limit_usd: str | None = None,
        rpm: int | None = None,
    ) -> Account:
        email = f"user-{secrets.token_hex(6)}@example.com"
        password = secrets.token_urlsafe(12)
        async with session_scope() as session:
            user = await accounts.create_user(session, email, password, verified=True)
            if usd != "0":
                await billing.grant(session, user.id, usd_to_nano(usd), "test credit")
            key, plaintext = await keys.create_proxy_key(
                session,
                user.id,
                "test key",
                spend_limit_nano=usd_to_nano(spend_limit_usd) if spend_limit_usd else None,
                rpm_limit=rpm,
            )
            for provider, secret in (provider_keys or {}).items():
                await keys.set_provider_key(session, user.id, provider, secret)
        return Account(user.id, email, password, plaintext, key.id)

    return create


@pytest.fixture(scope="module")
async def browser(app_server) -> AsyncIterator[Browser]:
    """Debian's chromium, one per test module (tests/helpers/browser.py)."""
    from tests.helpers.browser import launch_chromium

    async with launch_chromium() as launched:
        yield launched


@pytest.fixture(scope="session", autouse=True)
async def _dispose_engine() -> AsyncIterator[None]:
    yield
    from aiusage.db import dispose_engine

    await dispose_engine()


@pytest.fixture(scope="session")
def redis_server() -> Iterator:
    """A Redis of the tests' own (Debian's redis-server), for what instances share."""
    from tests.helpers.redis_server import RedisServer

    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture
async def redis_link(redis_server) -> AsyncIterator:
    """A link to that Redis, emptied for this test."""
    from aiusage.services.redis_link import RedisLink

    redis_server.cli("FLUSHALL")
    link = RedisLink(redis_server.url)
    yield link
    await link.client().aclose()
