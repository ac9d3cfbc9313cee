"""Security headers on every HTTP response of the app: pages, web routes and proxy routes.

A pure ASGI middleware: it adds to each `http.response.start` the headers the response does
not set itself (a route's own value always wins). The list is computed once, from the
settings, when the middleware is built; per response it costs one pass over the response's
header names.

The Content-Security-Policy is the tightest the Reflex frontend (React Router + Vite, served
by the backend in `--env prod`) works with:

- `script-src 'self' 'unsafe-inline' 'unsafe-eval'`: the prerendered pages carry inline
  scripts (the colour-mode snippet, React Router's hydration context) and Reflex runs
  `rx.call_script` code, sent by the server or compiled into event handlers, through
  `eval` (utils/state.js) — the consent banner, the time-zone probe and the key copy button
  use it;
- `style-src 'self' 'unsafe-inline'`: Emotion and Radix write `<style>` elements and style
  attributes;
- `img-src 'self' data: blob:`: inline icons, and the charts' "save as image";
- `connect-src 'self'` plus the configured site's own ws:/wss: origin: the event websocket
  (Reflex connects to the page's host; CSP3 browsers match it with 'self' already, the
  explicit origin is for older ones);
- `default-src 'self'` for the rest (fonts, frames, workers, manifest), `object-src 'none'`,
  `base-uri 'self'`, `frame-ancestors 'none'` (with X-Frame-Options: DENY for older
  browsers);
- with `AIUSAGE_GTM_ID`, what Google's "Use Tag Manager with a Content Security Policy"
  guide lists for the container and Google Analytics 4: scripts from
  https://*.googletagmanager.com; images from it and https://*.google-analytics.com;
  connections to those and https://*.analytics.google.com.

No `form-action`: the "Continue with Google" and top-up forms end in redirects to the
identity provider and to Stripe Checkout, which Chromium checks against form-action.

Referrer-Policy is `strict-origin-when-cross-origin`, not `no-referrer`: with `no-referrer`
browsers send `Origin: null` on form posts, which the CSRF check (web/http.py) refuses.
Strict-Transport-Security (one year, this host only) only when AIUSAGE_SITE_URL is https."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiusage.config import get_settings

GTM_SCRIPT_SOURCES = ("https://*.googletagmanager.com",)
GTM_IMG_SOURCES = ("https://*.googletagmanager.com", "https://*.google-analytics.com")
GTM_CONNECT_SOURCES = (
    "https://*.googletagmanager.com",
    "https://*.google-analytics.com",
    "https://*.analytics.google.com",
)
HSTS = "max-age=31536000"


def websocket_origin(site_url: str) -> str:
    """The ws:/wss: origin of the site's own websocket (same host and port)."""
    parts = urlsplit(site_url)
    return ("wss" if parts.scheme == "https" else "ws") + "://" + parts.netloc


def content_security_policy(site_url: str, gtm_id: str = "") -> str:
    gtm = bool(gtm_id.strip())
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'", websocket_origin(site_url)],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    if gtm:
        directives["script-src"] += GTM_SCRIPT_SOURCES
        directives["img-src"] += GTM_IMG_SOURCES
        directives["connect-src"] += GTM_CONNECT_SOURCES
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def security_headers(site_url: str, gtm_id: str = "") -> list[tuple[bytes, bytes]]:
    """The headers added to every response (lower-case names, as ASGI sends them)."""
    headers = [
        (b"content-security-policy", content_security_policy(site_url, gtm_id).encode()),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
    ]
    if site_url.startswith("https://"):
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """Adds `security_headers()` of the configured site to every HTTP response of `app`,
    but for the headers a response sets itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = get_settings()
        self.headers = security_headers(settings.site_url, settings.gtm_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = list(message.get("headers", ()))
                names = {bytes(name).lower() for name, _ in own}
                message = {
                    **message,
                    "headers": own + [(k, v) for k, v in added if k not in names],
                }
            await send(message)

        await self.app(scope, receive, send_with_headers)
