"""The language switcher shown on every page, and the document's language attribute."""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar
from reflex_base.vars.base import Var, VarData
from reflex_components_core.base.fragment import Fragment

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


class DocumentLanguage(Fragment):
    """Keeps `<html lang>` on the page language, so screen readers, fonts and translation
    tools treat a Chinese page as Chinese (the exported HTML says "en" until it runs)."""

    lang: Var[str]

    def add_hooks(self) -> list[str | Var]:
        lang = str(self.lang)
        return [
            Var(
                f"useEffect(() => {{ document.documentElement.lang = {lang} === 'zh' "
                f"? 'zh-CN' : 'en'; }}, [{lang}])",
                _var_data=VarData.merge(
                    self.lang._get_all_var_data(),
                    VarData(imports={"react": [ImportVar(tag="useEffect")]}),
                ),
            )
        ]


def document_language() -> rx.Component:
    return DocumentLanguage.create(lang=LocaleState.current)
