"""Both languages everywhere: the catalogs hold the same keys with the same placeholders, the
language switcher turns the landing page Chinese, and no page shows a raw catalog key."""

from __future__ import annotations

import re
import string

from playwright.async_api import Page, expect

from tests.browser.test_browser_auth import log_in, path_is
from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page

expect.set_options(timeout=TIMEOUT_MS)

KEY_PATTERN = r"^[a-z_]+(\.[a-z0-9_]+)+$"
PUBLIC_PAGES = [
    "/",
    "/login",
    "/signup",
    "/forgot-password",
    "/reset-password",
    "/privacy",
    "/terms",
    "/zh/privacy",
    "/zh/terms",
]
CJK = re.compile(r"[\u4e00-\u9fff]")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_catalog_has_both_languages_with_the_same_keys_and_placeholders():
    import importlib
    import pkgutil

    from aiusage.i18n import catalogs

    modules = [m.name for m in pkgutil.iter_modules(catalogs.__path__)]
    assert {"common", "auth", "legal", "account"} <= set(modules)
    for name in modules:
        module = importlib.import_module(f"{catalogs.__name__}.{name}")
        assert set(module.EN) == set(module.ZH), (
            f"catalogs/{name}.py: only in EN {sorted(set(module.EN) - set(module.ZH))[:5]}, "
            f"only in ZH {sorted(set(module.ZH) - set(module.EN))[:5]}"
        )
        for key, text in module.EN.items():
            assert placeholders(text) == placeholders(module.ZH[key]), f"{name}: {key}"


def test_chinese_texts_are_written_in_chinese():
    from aiusage.i18n import all_catalogs

    zh = all_catalogs()["zh"]
    # A sentence (four words or more) with no Chinese character was not translated; shorter
    # Latin texts are names (a product, an SDK, "English version" on the Chinese page).
    untranslated = [
        key for key, text in zh.items() if len(text.split()) >= 4 and not CJK.search(text)
    ]
    assert not untranslated, f"not Chinese: {untranslated[:10]}"


def test_accept_language_picks_the_language():
    from aiusage.i18n import negotiate

    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert negotiate("en-US,en;q=0.9,zh;q=0.5") == "en"
    assert negotiate("fr-FR") == "en"
    assert negotiate(None) == "en"


async def choose_language(page: Page, name: str) -> None:
    await page.locator("#language-switcher").click()
    await page.get_by_role("option", name=name).click()


async def raw_keys(page: Page) -> list[str]:
    return await page.evaluate(
        """(pattern) => {
            const re = new RegExp(pattern), found = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const parent = node.parentElement;
                if (parent && ["SCRIPT", "STYLE"].includes(parent.tagName)) continue;
                const text = node.textContent.trim();
                if (re.test(text)) found.push(text);
            }
            for (const el of document.querySelectorAll("[placeholder],[aria-label],[title]")) {
                for (const name of ["placeholder", "aria-label", "title"]) {
                    const value = (el.getAttribute(name) || "").trim();
                    if (re.test(value)) found.push(`${name}=${value}`);
                }
            }
            if (re.test(document.title.trim())) found.push(`title=${document.title}`);
            return found;
        }""",
        KEY_PATTERN,
    )


async def test_switching_to_chinese_on_the_landing_page(browser, app_url):
    async with new_page(browser, app_url) as page:
        async with hydrated(page):
            await page.goto("/")
        await expect(page.get_by_role("link", name="Log in").first).to_be_visible()
        await choose_language(page, "简体中文")
        top = page.locator("body")
        await expect(top.get_by_text("登录", exact=True).first).to_be_visible()
        await expect(top.get_by_text("注册", exact=True).first).to_be_visible()
        await expect(page.locator("body")).to_contain_text("一个网关")
        await expect(page.locator("#footer-privacy")).to_have_text("隐私政策")
        await expect(page.locator("#footer-privacy")).to_have_attribute("href", "/zh/privacy")
        # Remembered: a new page load stays Chinese.
        async with hydrated(page):
            await page.reload()
        await expect(page.locator("#footer-terms")).to_have_text("服务条款")
        await expect(page.locator("#footer-terms")).to_have_attribute("href", "/zh/terms")
        # Back to English.
        await choose_language(page, "English")
        await expect(page.locator("#footer-privacy")).to_have_text("Privacy")
        await expect(page.locator("#footer-privacy")).to_have_attribute("href", "/privacy")


async def test_a_first_visit_follows_accept_language(browser, app_url):
    context = await browser.new_context(base_url=app_url, locale="zh-CN")
    try:
        page = await context.new_page()
        await page.goto("/login")
        await expect(page.locator("#footer-privacy")).to_have_text("隐私政策")
    finally:
        await context.close()


async def check_pages(page: Page, paths: list[str], lang: str) -> list[str]:
    problems = []
    for path in paths:
        async with hydrated(page):
            await page.goto(path)
        await expect(page).to_have_url(path_is(path))
        await page.wait_for_timeout(400)  # let on_load data arrive
        problems += [f"{lang} {path}: {text}" for text in await raw_keys(page)]
    return problems


async def test_no_page_shows_a_catalog_key(browser, app_url, make_account):
    from aiusage.components.layout import DASHBOARD_NAV

    account = await make_account(usd="3")
    dashboard_pages = [route for _key, route, _icon in DASHBOARD_NAV]
    problems: list[str] = []
    async with new_page(browser, app_url) as page:
        for lang, name in (("en", "English"), ("zh", "简体中文")):
            async with hydrated(page):
                await page.goto("/")
            await choose_language(page, name)
            problems += await check_pages(page, PUBLIC_PAGES, lang)
        await log_in(page, account.email, account.password)
        await expect(page).to_have_url(path_is("/dashboard"))
        for lang, name in (("en", "English"), ("zh", "简体中文")):
            await choose_language(page, name)
            problems += await check_pages(page, dashboard_pages, lang)
    assert not problems, "\n".join(problems)
