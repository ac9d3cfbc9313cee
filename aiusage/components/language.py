"""The language switcher shown on every page, and the document's language attribute."""

from __future__ import annotations

import reflex as rx

from aiusage.components.effects import on_change
from aiusage.i18n import LANGUAGES
from aiusage.state.locale import LocaleState


def language_switcher() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(variant="ghost", aria_label="Language / 语言", id="language-switcher"),
        rx.select.content(*[rx.select.item(name, value=code) for code, name in LANGUAGES.items()]),
        value=LocaleState.current,
        on_change=LocaleState.set_language,
        size="2",
    )


def document_language() -> rx.Component:
    """Keeps `<html lang>` on the page language, so screen readers, fonts and translation
    tools treat a Chinese page as Chinese (the exported HTML says "en" until it runs)."""
    lang = LocaleState.current
    return on_change(lang, f"document.documentElement.lang = {lang} === 'zh' ? 'zh-CN' : 'en';")
