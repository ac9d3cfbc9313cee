"""The landing page (/): what aiusage does, for which tools, how billing works (the fee and
the markup from the configuration), a picture of the dashboard and the privacy promise.

Also the public pages' shared pieces: `both()` for a text with figures in it, and
`page_meta()` for the social-preview tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from aiusage.components.layout import public_shell
from aiusage.components.text import tr
from aiusage.config import get_settings
from aiusage.i18n import t
from aiusage.services.price_list import fees, percent
from aiusage.state.auth import SessionState
from aiusage.state.locale import LocaleState

# (name, icon, catalog key of its one-liner, how it is pointed at us: a template of {site})
TOOLS: list[tuple[str, str, str, str]] = [
    ("Claude Code", "terminal", "home.tool.claude_code", "ANTHROPIC_BASE_URL={site}/api"),
    ("Codex", "square-terminal", "home.tool.codex", 'base_url = "{site}/api/v1"'),
    ("Cursor", "mouse-pointer-2", "home.tool.cursor", "{site}/api/v1"),
    ("Anthropic SDK", "braces", "home.tool.anthropic_sdk", 'Anthropic(base_url="{site}/api")'),
    ("OpenAI SDK", "code-xml", "home.tool.openai_sdk", 'OpenAI(base_url="{site}/api/v1")'),
    ("curl", "file-code", "home.tool.curl", "curl {site}/api/v1/messages"),
]
SOCIAL_IMAGE = "/og-image.png"  # 1200×630, in assets/
DASHBOARD_IMAGE = "/dashboard.png"


def site() -> str:
    return get_settings().site_url.rstrip("/")


def both(
    key: str, per_lang: Callable[[str], dict[str, str]] | None = None, **values: object
) -> rx.Var[str]:
    """A catalog text in the page's language with its {placeholders} filled when the app is
    built (from the configuration the server runs with, as the legal pages are); `per_lang`
    gives the values each language formats its own way (money)."""

    def text(lang: str) -> str:
        return t(lang, key, **values, **(per_lang(lang) if per_lang else {}))

    return rx.cond(LocaleState.current == "zh", text("zh"), text("en"))


def fee_values() -> dict[str, str]:
    current = fees()
    return {"fee": percent(current.service_fee_bps), "markup": percent(current.markup_bps)}


def page_meta(title: str, description: str) -> dict[str, Any]:
    """add_page() arguments for a public page: description, social image (absolute: the
    crawlers of chat apps and social sites do not resolve relative URLs) and the SVG icon."""
    return {
        "title": title,
        "description": description,
        "image": site() + SOCIAL_IMAGE,
        "meta": [
            {"property": "og:title", "content": title},
            {"property": "og:description", "content": description},
            {"property": "og:type", "content": "website"},
            {"property": "og:image:width", "content": "1200"},
            {"property": "og:image:height", "content": "630"},
            {"name": "twitter:card", "content": "summary_large_image"},
            rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        ],
    }


def section(heading_key: str, *children: rx.Component, section_id: str) -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading(tr(heading_key), size="7", as_="h2"),
            *children,
            spacing="4",
            width="100%",
        ),
        id=section_id,
        width="100%",
        padding_top="2.5em",
    )


def hero() -> rx.Component:
    return rx.vstack(
        rx.badge(tr("home.eyebrow"), size="2", variant="soft", radius="full"),
        rx.heading(tr("home.title"), size="9", as_="h1", id="landing-title"),
        rx.text(tr("home.lead"), size="5", color_scheme="gray"),
        rx.hstack(
            rx.link(
                rx.button(tr("home.cta_signup"), rx.icon("arrow-right", size=18), size="4"),
                href="/signup",
                id="landing-signup",
            ),
            rx.link(
                rx.button(tr("home.cta_pricing"), size="4", variant="soft"),
                href="/pricing",
                id="landing-pricing",
            ),
            wrap="wrap",
            spacing="3",
        ),
        spacing="5",
        padding_top="2em",
        width="100%",
    )


def tool_card(name: str, icon: str, key: str, template: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=20, color=rx.color("accent", 11)),
                rx.heading(name, size="4", as_="h3"),
                align="center",
            ),
            rx.text(tr(key), size="2", color_scheme="gray"),
            rx.code(
                template.format(site=site()), size="1", variant="ghost", word_break="break-all"
            ),
            spacing="2",
        ),
        class_name="landing-tool",
    )


def tools() -> rx.Component:
    return section(
        "home.tools.h",
        rx.text(
            both("home.tools.body", anthropic_url=f"{site()}/api", openai_url=f"{site()}/api/v1")
        ),
        rx.grid(
            *[tool_card(*tool) for tool in TOOLS],
            columns=rx.breakpoints(initial="1", sm="2", md="3"),
            spacing="3",
            width="100%",
        ),
        section_id="landing-tools",
    )


def billing_card(heading_key: str, figure_key: str, body_key: str, icon: str, card_id: str):
    values = fee_values()
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon(icon, size=20), rx.heading(tr(heading_key), size="4", as_="h3")),
            rx.heading(both(figure_key, **values), size="7", color=rx.color("accent", 11)),
            rx.text(both(body_key, **values), color_scheme="gray"),
            spacing="3",
        ),
        id=card_id,
        flex="1 1 300px",
    )


def billing() -> rx.Component:
    return section(
        "home.billing.h",
        rx.flex(
            billing_card(
                "home.billing.byok.h",
                "home.billing.byok.figure",
                "home.billing.byok.body",
                "key-round",
                "landing-byok",
            ),
            billing_card(
                "home.billing.credit.h",
                "home.billing.credit.figure",
                "home.billing.credit.body",
                "wallet",
                "landing-credit",
            ),
            gap="1em",
            wrap="wrap",
            width="100%",
        ),
        rx.link(
            rx.hstack(tr("home.billing.link"), rx.icon("arrow-right", size=16), align="center"),
            href="/pricing",
            id="landing-pricing-link",
        ),
        section_id="landing-billing",
    )


def dashboard_picture() -> rx.Component:
    return section(
        "home.dashboard.h",
        rx.text(tr("home.dashboard.body"), color_scheme="gray"),
        rx.image(
            src=DASHBOARD_IMAGE,
            alt=tr("home.dashboard.alt"),
            width="100%",
            height="auto",
            border=f"1px solid {rx.color('gray', 6)}",
            border_radius="12px",
            box_shadow="0 8px 30px rgba(0, 0, 0, 0.08)",
            id="landing-dashboard-image",
        ),
        section_id="landing-dashboard",
    )


def privacy() -> rx.Component:
    return section(
        "home.privacy.h",
        rx.callout(
            rx.vstack(
                rx.text(tr("home.privacy.body")),
                rx.link(
                    tr("home.privacy.link"),
                    href=rx.cond(LocaleState.current == "zh", "/zh/privacy", "/privacy"),
                    id="landing-privacy-link",
                ),
                spacing="2",
            ),
            icon="shield-check",
            color_scheme="green",
            size="2",
            width="100%",
        ),
        section_id="landing-privacy",
    )


def get_started() -> rx.Component:
    return section(
        "home.start.h",
        rx.text(tr("home.start.body"), color_scheme="gray"),
        rx.hstack(
            rx.link(rx.button(tr("home.cta_signup"), size="3"), href="/signup"),
            rx.link(rx.button(tr("home.cta_pricing"), size="3", variant="soft"), href="/pricing"),
            wrap="wrap",
            spacing="3",
        ),
        section_id="landing-start",
    )


def landing() -> rx.Component:
    return public_shell(
        rx.vstack(
            hero(),
            tools(),
            billing(),
            dashboard_picture(),
            privacy(),
            get_started(),
            spacing="0",
            width="100%",
        ),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        landing,
        route="/",
        on_load=SessionState.load_public,
        **page_meta(
            "aiusage · one gateway for your AI model APIs",
            t("en", "home.lead"),
        ),
    )
