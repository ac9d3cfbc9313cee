"""The privacy policy and the terms: /privacy and /terms in English, /zh/privacy and
/zh/terms in Chinese, always reachable by URL whatever the language switcher says.

The texts come from the legal catalog, filled with the configuration the app runs with (the
session cookie's name, the retention periods the purge applies, the contact address, the
effective date), so the published policy cannot drift from what the code does.

The navigation and footer around a document speak its language: opening /zh/privacy makes the
page language Chinese (and /privacy English), and switching the language on a document opens
the same document in the other language."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from aiusage.components.layout import public_shell
from aiusage.config import get_settings
from aiusage.i18n import LANGUAGES, t
from aiusage.pages.landing import fee_values, page_meta
from aiusage.services import login_flash
from aiusage.services.sessions import COOKIE_NAME
from aiusage.services.twofactor import CHALLENGE_TTL
from aiusage.state.auth import SessionState
from aiusage.state.locale import LocaleState, page_lang, relocalize_on
from aiusage.web.oauth_routes import FLOW_COOKIE, FLOW_TTL_SECONDS
from aiusage.web.second_step import NEXT_COOKIE, PENDING_COOKIE

# A document is a list of sections: (heading key or None, paragraph keys, as a bullet list).
Section = tuple[str | None, tuple[str, ...], bool]

PRIVACY: list[Section] = [
    (None, ("privacy.intro",), False),
    (
        "privacy.collect.h",
        (
            "privacy.collect.account",
            "privacy.collect.keys",
            "privacy.collect.usage",
            "privacy.collect.billing",
            "privacy.collect.sessions",
            "privacy.collect.support",
        ),
        True,
    ),
    (
        "privacy.never.h",
        (
            "privacy.never.content",
            "privacy.never.keys",
            "privacy.never.cards",
            "privacy.never.ip",
        ),
        True,
    ),
    (
        "privacy.cookies.h",
        ("privacy.cookies.session", "privacy.cookies.local", "privacy.cookies.analytics"),
        False,
    ),
    ("privacy.purposes.h", ("privacy.purposes.body",), False),
    (
        "privacy.processors.h",
        (
            "privacy.processors.stripe",
            "privacy.processors.providers",
            "privacy.processors.email",
            "privacy.processors.host",
            "privacy.processors.google",
        ),
        True,
    ),
    (
        "privacy.retention.h",
        (
            "privacy.retention.usage",
            "privacy.retention.accounts",
            "privacy.retention.support",
            "privacy.retention.sessions",
        ),
        True,
    ),
    (
        "privacy.rights.h",
        (
            "privacy.rights.access",
            "privacy.rights.rectify",
            "privacy.rights.erase",
            "privacy.rights.object",
            "privacy.rights.contact",
        ),
        True,
    ),
    ("privacy.security.h", ("privacy.security.body",), False),
    ("privacy.changes.h", ("privacy.changes.body",), False),
]

TERMS: list[Section] = [
    (None, ("terms.intro",), False),
    ("terms.service.h", ("terms.service.body",), False),
    ("terms.account.h", ("terms.account.body",), False),
    ("terms.providers.h", ("terms.providers.body",), False),
    ("terms.money.h", ("terms.money.body",), False),
    ("terms.use.h", ("terms.use.body",), False),
    ("terms.availability.h", ("terms.availability.body",), False),
    ("terms.end.h", ("terms.end.body",), False),
    ("terms.changes.h", ("terms.changes.body",), False),
]

DOCUMENTS: dict[str, tuple[str, list[Section]]] = {
    "privacy": ("legal.privacy.title", PRIVACY),
    "terms": ("legal.terms.title", TERMS),
}


def months(days: int) -> int:
    return max(1, round(days / 30.4375))


def facts() -> dict[str, object]:
    """The values the texts quote, from the configuration the app runs with."""
    settings = get_settings()
    return {
        "cookie": COOKIE_NAME,
        "flow_cookie": FLOW_COOKIE,
        "flow_minutes": FLOW_TTL_SECONDS // 60,
        "two_factor_cookie": PENDING_COOKIE,
        "two_factor_minutes": int(CHALLENGE_TTL.total_seconds()) // 60,
        "two_factor_next_cookie": NEXT_COOKIE,
        "login_email_cookie": login_flash.COOKIE_NAME,
        "login_email_minutes": login_flash.TTL_SECONDS // 60,
        "usage_days": settings.usage_retention_days,
        "usage_months": months(settings.usage_retention_days),
        "grace_days": settings.closed_account_grace_days,
        "support_days": settings.support_retention_days,
        "support_months": months(settings.support_retention_days),
        "session_days": settings.session_ttl_days,
        "contact": settings.contact_email,
        "effective": settings.policy_effective_date,
        "site": settings.site_url,
    }


def path(doc: str, lang: str) -> str:
    return f"/zh/{doc}" if lang == "zh" else f"/{doc}"


# Every document's route → (document, language).
ROUTES: dict[str, tuple[str, str]] = {
    path(doc, lang): (doc, lang) for doc in DOCUMENTS for lang in LANGUAGES
}


class LegalState(rx.State):
    @rx.event
    async def show_in(self, lang: str):
        """on_load: the page around the document (navigation, footer) in the document's
        language. The page language is the browser's remembered choice, so opening a
        document in a language also chooses that language, as the switcher would."""
        locale = await self.get_state(LocaleState)
        if lang in LANGUAGES and locale.lang != lang:
            locale.lang = lang

    @rx.event
    async def follow_language(self):
        """After a language switch on a document: the same document in that language."""
        current = self.router.url.path.rstrip("/")
        if current not in ROUTES:
            return None
        doc, _lang = ROUTES[current]
        target = path(doc, await page_lang(self))
        return rx.redirect(target) if target != current else None


for _route in ROUTES:
    relocalize_on(_route, LegalState.follow_language)


def pricing_note(lang: str) -> rx.Component:
    """The fee, the markup and a link to every model's price (below the terms' money part)."""
    return rx.text(
        t(lang, "legal.pricing", **fee_values()),
        " ",
        rx.link(t(lang, "legal.pricing_link"), href="/pricing", id="legal-pricing"),
    )


# Components shown after a section, by its heading key.
AFTER_SECTION = {"terms.money.h": pricing_note}


def _section(lang: str, heading: str | None, paragraphs: tuple[str, ...], bullets: bool):
    values = facts()
    texts = [t(lang, key, **values) for key in paragraphs]
    body = (
        rx.el.ul(*[rx.el.li(rx.text(text), margin_bottom="0.5em") for text in texts])
        if bullets
        else rx.fragment(*[rx.text(text) for text in texts])
    )
    extra = AFTER_SECTION.get(heading or "")
    return rx.vstack(
        rx.heading(t(lang, heading), size="5", as_="h2") if heading else rx.fragment(),
        body,
        extra(lang) if extra else rx.fragment(),
        spacing="3",
        width="100%",
    )


def document(doc: str, lang: str) -> Callable[[], rx.Component]:
    title_key, sections = DOCUMENTS[doc]
    other_doc = "terms" if doc == "privacy" else "privacy"
    other_lang = "en" if lang == "zh" else "zh"

    def page() -> rx.Component:
        return public_shell(
            rx.el.article(
                rx.vstack(
                    rx.heading(t(lang, title_key), size="8", as_="h1", id="legal-title"),
                    rx.text(
                        t(lang, "legal.effective", **facts()),
                        color_scheme="gray",
                        id="legal-effective",
                    ),
                    rx.hstack(
                        rx.link(
                            t(lang, "legal.other_language"),
                            href=path(doc, other_lang),
                            id="legal-other-language",
                        ),
                        rx.link(
                            t(lang, f"legal.see_{other_doc}"),
                            href=path(other_doc, lang),
                            id="legal-other-document",
                        ),
                        spacing="4",
                    ),
                    *[_section(lang, *section) for section in sections],
                    spacing="5",
                    width="100%",
                ),
                lang="zh-Hans" if lang == "zh" else "en",
                id=f"legal-{doc}",
            )
        )

    page.__name__ = f"{doc}_{lang}"
    return page


def add_pages(app: rx.App) -> None:
    for route, (doc, lang) in ROUTES.items():
        title_key, sections = DOCUMENTS[doc]
        intro = sections[0][1][0]
        app.add_page(
            document(doc, lang),
            route=route,
            on_load=[SessionState.load_public, LegalState.show_in(lang)],
            **page_meta(f"{t(lang, title_key)} · aiusage", t(lang, intro, **facts())),
        )
