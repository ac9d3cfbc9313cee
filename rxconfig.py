"""Reflex configuration. The app's own settings live in aiusage/config.py (AIUSAGE_* variables)."""

import reflex as rx

from aiusage.config import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="aiusage",
    telemetry_enabled=False,
    # Reflex's default is "*" with credentials, which would let any site drive a signed-in
    # websocket; only the site's own origin may.
    cors_allowed_origins=list(_settings.allowed_origins),
    redis_url=_settings.redis_url,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="inherit", accent_color="indigo", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
