"""Every UI and mail text in English and 简体中文, from one catalog per language.

Catalogs are split by area (`catalogs/<area>.py`, each with EN and ZH dicts) and merged
here; a test fails if one language lacks a key the other has."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from aiusage.i18n import catalogs

LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"


@functools.cache
def all_catalogs() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for module_info in sorted(pkgutil.iter_modules(catalogs.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{catalogs.__name__}.{module_info.name}")
        for lang, table in (("en", module.EN), ("zh", module.ZH)):
            clash = merged[lang].keys() & table.keys()
            if clash:
                raise RuntimeError(f"catalog keys defined twice: {sorted(clash)[:5]}")
            merged[lang].update(table)
    return merged


def catalog(lang: str) -> dict[str, str]:
    return all_catalogs()[lang if lang in LANGUAGES else DEFAULT]


def t(lang: str, key: str, **values: object) -> str:
    """One text in `lang`, with {placeholders} filled (server side: mails, messages)."""
    text = catalog(lang).get(key) or catalog(DEFAULT)[key]
    return text.format(**values) if values else text


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (zh-CN, zh-Hans, zh → zh)."""
    best, best_q = DEFAULT, -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best
