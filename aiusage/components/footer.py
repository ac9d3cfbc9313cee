"""The footer on every page: the pricing page, privacy policy and terms in the page's
language, cookie settings, and the cookie banner."""

from __future__ import annotations

import reflex as rx

from aiusage.components.consent import consent_banner, cookie_settings_link
from aiusage.components.text import tr
from aiusage.state.locale import LocaleState


def _localized(path: str) -> rx.Var[str]:
    return rx.cond(LocaleState.current == "zh", f"/zh{path}", path)


def footer() -> rx.Component:
    return rx.fragment(
        rx.el.footer(
            rx.hstack(
                rx.text(tr("footer.made"), size="2", color_scheme="gray"),
                rx.spacer(),
                rx.link(tr("footer.pricing"), href="/pricing", size="2", id="footer-pricing"),
                rx.link(
                    tr("footer.privacy"),
                    href=_localized("/privacy"),
                    size="2",
                    id="footer-privacy",
                ),
                rx.link(tr("footer.terms"), href=_localized("/terms"), size="2", id="footer-terms"),
                cookie_settings_link(),
                align="center",
                wrap="wrap",
                spacing="4",
            ),
            padding="1.5em",
            margin_top="3em",
            border_top=f"1px solid {rx.color('gray', 5)}",
        ),
        consent_banner(),
    )
