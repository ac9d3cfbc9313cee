"""All configuration, from AIUSAGE_* environment variables, in one place.

A fresh checkout runs with no configuration at all: SQLite under ./data and development
secrets generated once into ./data/dev-secrets.json (with a loud warning), so that encrypted
provider keys still decrypt after a restart.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import logging
import os
import secrets
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger("aiusage.config")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "AIUSAGE_"
DEV_KEY_ID = "dev1"  # the key id of generated development encryption keys


class ConfigError(SystemExit):
    """Bad configuration: the message names the variable. Exits the process when uncaught."""


def _decode_key(value: str) -> bytes:
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(raw) != 32:
        raise ValueError("must be 32 bytes, base64-encoded")
    return raw


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "0.0.0.0", "::1")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Where the app lives and what it stores.
    # "production" refuses to start on development secrets (generated or copied from
    # data/dev-secrets.json); "development" generates them when missing.
    env: Literal["development", "production"] = "development"
    site_url: str = "http://localhost:3000"
    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""  # default: sqlite file under data_dir
    redis_url: str | None = None

    # Secrets. Empty means "generate a development secret" (with a warning).
    # encryption_key: "kid:base64(32 bytes)"; old keys (same form, comma-separated) still decrypt.
    encryption_key: str = ""
    encryption_old_keys: str = ""
    secret_key: str = ""  # HMAC of client IPs, signed one-off tokens

    # Upstream providers.
    anthropic_base_url: str = "https://api.anthropic.com"
    openai_base_url: str = "https://api.openai.com"
    platform_anthropic_key: str = ""
    platform_openai_key: str = ""
    upstream_connect_timeout: float = Field(10.0, gt=0)
    upstream_read_timeout: float = Field(600.0, gt=0)
    max_request_bytes: int = Field(32 * 1024 * 1024, gt=0)

    # Money. Fees in basis points (1/100 of a percent) so they stay exact.
    byok_service_fee_bps: int = Field(500, ge=0, le=100_000)
    platform_markup_bps: int = Field(1000, ge=0, le=100_000)
    unknown_model_input_usd_per_mtok: Decimal = Field(Decimal("15"), ge=0)
    unknown_model_output_usd_per_mtok: Decimal = Field(Decimal("75"), ge=0)
    # What a request that names no output maximum is held for, when the price table does not
    # know the model's; and a server-side tool use's fee when the table has none.
    unknown_model_max_output_tokens: int = Field(128_000, gt=0, le=10_000_000)
    unknown_server_tool_usd_per_call: Decimal = Field(Decimal("0.05"), ge=0)
    # OpenAI's hosted tools in the Responses API, billed per use (list prices, 2026): a file
    # search call, and a code interpreter container (each distinct container a response used).
    openai_file_search_usd_per_call: Decimal = Field(Decimal("0.0025"), ge=0)
    openai_code_interpreter_usd_per_container: Decimal = Field(Decimal("0.03"), ge=0)
    # Input held for a Responses request that makes the upstream read stored context
    # (`previous_response_id`, `conversation`, a stored `prompt`): its size is not in the
    # request. The largest OpenAI context window (GPT-4.1's 1,047,576 tokens).
    stored_context_max_input_tokens: int = Field(1_047_576, gt=0, le=100_000_000)
    # A pool key that failed three times in a row is tried last for this long.
    provider_key_cooldown_seconds: float = Field(60.0, gt=0, le=86_400)
    # Uses of a server-side tool (web search/fetch) held for when the request sets no max_uses.
    server_tool_max_uses_default: int = Field(20, gt=0, le=10_000)

    # Accounts and sessions.
    session_ttl_days: int = Field(30, gt=0)
    # Log-in throttling (services/throttle.py): failures an (address, IP) pair may make before
    # it waits 1 s, 2 s, 4 s … up to the maximum; failures one IP may make over any addresses
    # before it waits too; failures on one address (any IP) after which its every pair waits
    # from its first failure. Failures are forgotten after a quiet window.
    login_free_failures: int = Field(3, ge=0, le=1000)
    login_max_failures_per_ip: int = Field(30, gt=0)
    login_account_slowdown_failures: int = Field(20, gt=0)
    login_max_delay_seconds: int = Field(900, ge=1, le=86400)
    login_window_seconds: int = Field(900, gt=0)
    # Mails anyone can make us send to an address (password reset, verification again, "someone
    # tried to sign up with your address"), per address and per client IP, per hour.
    mail_limit_per_address: int = Field(3, gt=0)
    mail_limit_per_ip: int = Field(20, gt=0)
    # Reverse proxies whose X-Forwarded-For is believed (services/client_ip.py).
    trusted_proxies: Annotated[
        tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...], NoDecode
    ] = ()
    verification_ttl_hours: int = Field(48, gt=0)
    reset_ttl_minutes: int = Field(60, gt=0)

    # Email.
    email_backend: Literal["console", "smtp"] = "console"
    email_from: str = "aiusage <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, gt=0, lt=65536)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    email_send_interval: float = Field(2.0, gt=0)

    # Proxy key cache: revocation takes effect within this many seconds.
    key_cache_ttl: float = Field(1.0, ge=0)
    # The usage writer gathers this long before writing a batch (never on a response path).
    usage_flush_interval: float = Field(0.05, ge=0, le=5)
    # A graceful stop waits this long for the usage writer; what is still unwritten then is
    # kept in a file under data_dir and booked at the next start.
    usage_stop_timeout: float = Field(10.0, gt=0, le=300)
    # A hold's lease: renewed by its live owner every third of it; when it runs out (the
    # owner died), any live instance books the request as interrupted.
    hold_lease_seconds: float = Field(30.0, ge=1, le=3600)
    # Unmetered proxy routes (models, count_tokens): requests per minute per key.
    unmetered_rpm: int = Field(120, gt=0)

    # Billing (Stripe). Without a secret key, top-up says it is not configured.
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    currency: str = "usd"
    topup_min_usd: Decimal = Field(Decimal("5"), gt=0)
    topup_max_usd: Decimal = Field(Decimal("1000"), gt=0)
    topup_presets_usd: str = "10,25,50,100"
    low_balance_default_usd: Decimal = Field(Decimal("5"), ge=0)
    auto_topup_min_interval_minutes: int = Field(60, gt=0)

    # Sign in with Google (OpenID Connect); hidden unless client id and secret are set.
    google_issuer: str = "https://accounts.google.com"
    google_client_id: str = ""
    google_client_secret: str = ""

    # Operations. GET /metrics (Prometheus) answers only a request with this bearer token;
    # without one the endpoint is off (404). Logs: today's plain text, or one JSON object per
    # line for a log collector.
    metrics_token: str = ""
    log_format: Literal["text", "json"] = "text"

    # Privacy: retention periods, contact, analytics (only after consent).
    usage_retention_days: int = Field(396, gt=0)  # 13 months
    closed_account_grace_days: int = Field(90, ge=0)
    support_retention_days: int = Field(730, gt=0)  # 24 months
    contact_email: str = "privacy@localhost"
    operator_email: str = "support@localhost"
    gtm_id: str = ""
    policy_effective_date: str = "2026-11-23"

    @field_validator(
        "site_url", "anthropic_base_url", "openai_base_url", "stripe_api_base", "google_issuer"
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://example.com")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _cidrs(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        networks = []
        for entry in filter(None, (v.strip() for v in value.split(","))):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"{entry[:60]!r} is not an address range: give comma-separated CIDRs such "
                    "as 10.0.0.0/8,127.0.0.1/32"
                ) from None
        return tuple(networks)

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str) -> str:
        # A scraper sends it on every request: long and random, never a guessable word.
        if value and (len(value) < 16 or any(c.isspace() for c in value)):
            raise ValueError(
                "must be at least 16 characters without spaces, e.g. from `openssl rand -hex 32`"
            )
        return value

    @field_validator("encryption_key")
    @classmethod
    def _enc_key(cls, value: str) -> str:
        if value:
            _parse_keyring_entry(value)
        return value

    @field_validator("encryption_old_keys")
    @classmethod
    def _old_keys(cls, value: str) -> str:
        for entry in filter(None, (v.strip() for v in value.split(","))):
            _parse_keyring_entry(entry)
        return value

    # Derived values -----------------------------------------------------------------
    @property
    def site_origin(self) -> str:
        parts = urlsplit(self.site_url)
        return f"{parts.scheme}://{parts.netloc}"

    @functools.cached_property
    def allowed_origins(self) -> tuple[str, ...]:
        """Origins whose pages may open the app's websocket: the site's own; for a site on a
        loopback name over http (development), every loopback name on its port, so the
        address the server prints (0.0.0.0) and 127.0.0.1 work as well as localhost."""
        parts = urlsplit(self.site_url)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_NAMES:
            return (self.site_origin,)
        port = f":{parts.port}" if parts.port else ""
        names = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")
        return (
            self.site_origin,
            *(f"http://{n}{port}" for n in names if f"http://{n}{port}" != self.site_origin),
        )

    @property
    def secure_cookies(self) -> bool:
        return self.site_url.startswith("https://")

    @property
    def async_database_url(self) -> str:
        url = self.database_url or f"sqlite:///{self.data_dir / 'aiusage.db'}"
        if url.startswith("sqlite:"):
            return "sqlite+aiosqlite:" + url.split(":", 1)[1]
        if url.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.startswith("sqlite")

    @functools.cached_property
    def encryption_keyring(self) -> dict[str, bytes]:
        """Key id → key; the first entry is the one new secrets are sealed with."""
        entries = [self.encryption_key, *self.encryption_old_keys.split(",")]
        ring: dict[str, bytes] = {}
        for entry in filter(None, (e.strip() for e in entries)):
            kid, key = _parse_keyring_entry(entry)
            ring.setdefault(kid, key)
        return ring

    @property
    def active_key_id(self) -> str:
        return next(iter(self.encryption_keyring))

    @property
    def secret_key_bytes(self) -> bytes:
        return self.secret_key.encode()


def _parse_keyring_entry(entry: str) -> tuple[str, bytes]:
    kid, sep, key = entry.partition(":")
    if not sep or not kid:
        raise ValueError("must look like 'keyid:base64key'")
    return kid, _decode_key(key)


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Development secrets, generated once and kept under data_dir."""
    path = data_dir / "dev-secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = {
        "encryption_key": f"{DEV_KEY_ID}:"
        + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "secret_key": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(generated, fh)
    return generated


def _variable_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        name = ENV_PREFIX + str(item["loc"][0]).upper() if item["loc"] else ENV_PREFIX
        lines.append(f"{name}: {item['msg']}")
    return "; ".join(lines)


def refuse_development_secrets(settings: Settings, missing: list[str]) -> None:
    """In production: every secret set, and none of them the development ones (a key with
    the generated `dev1` id, or a value of data/dev-secrets.json)."""
    if missing:
        names = ", ".join(ENV_PREFIX + name.upper() for name in missing)
        raise ConfigError(f"aiusage: {names} must be set when {ENV_PREFIX}ENV=production")
    dev_file = settings.data_dir / "dev-secrets.json"
    dev_values = set(json.loads(dev_file.read_text()).values()) if dev_file.exists() else set()
    if (
        DEV_KEY_ID in settings.encryption_keyring
        or settings.secret_key in dev_values
        or settings.encryption_key in dev_values
    ):
        raise ConfigError(
            f"aiusage: {ENV_PREFIX}ENV=production refuses the development secrets: "
            "generate real ones (see the README's Configuration section)"
        )


@functools.cache
def get_settings() -> Settings:
    """The process's settings. Bad configuration exits with a message naming the variable."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigError(f"aiusage: bad configuration: {_variable_errors(error)}") from None
    missing = [name for name in ("encryption_key", "secret_key") if not getattr(settings, name)]
    if settings.env == "production":
        refuse_development_secrets(settings, missing)
    if missing:
        generated = _dev_secrets(settings.data_dir)
        names = ", ".join(ENV_PREFIX + name.upper() for name in missing)
        print(
            f"WARNING: {names} not set: using development secrets from "
            f"{settings.data_dir / 'dev-secrets.json'}. Set them in production.",
            file=sys.stderr,
        )
        settings = settings.model_copy(update={name: generated[name] for name in missing})
    return settings
