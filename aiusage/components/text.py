"""`tr("key")`: a catalog text that follows the page language. Unknown keys fail at compile
time, so no page can show a raw key."""

from __future__ import annotations

import reflex as rx

from aiusage.i18n import all_catalogs
from aiusage.state.locale import LocaleState


def tr(key: str) -> rx.Var[str]:
    missing = [lang for lang, table in all_catalogs().items() if key not in table]
    if missing:
        raise KeyError(f"catalog key {key!r} missing in {missing}")
    return LocaleState.tr[key].to(str)


def tr_var(key: rx.Var[str]) -> rx.Var[str]:
    """A text whose key is only known at run time (flash messages)."""
    return LocaleState.tr[key].to(str)
