"""The language switcher shown on every page."""

from __future__ import annotations

import reflex as rx

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
