"""The public pricing page (/pricing): the service fee on the user's own key, the markup on
prepaid credit (both from the configuration) and every model of the price table with its
rates per million tokens, grouped by provider.

The fee and the markup are filled in when the app is built, like the legal pages' figures;
the table is read on every visit (the operator edits it at run time) through
services/price_list.py, and formatted for the page's language."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.layout import public_shell
from aiusage.components.text import tr
from aiusage.db import session_scope
from aiusage.i18n import t
from aiusage.i18n.formatting import format_money
from aiusage.pages.landing import both, fee_values, page_meta
from aiusage.services import price_list
from aiusage.state.auth import SessionState
from aiusage.state.locale import LocaleState, page_lang, relocalize_on

ROUTE = routes.PRICING


class PricingState(rx.State):
    # Provider → its rows: a model's, or its long-prompt tier's (tier "1"), rates formatted.
    tables: dict[str, list[dict[str, str]]] = {provider: [] for provider in price_list.PROVIDERS}
    loaded: bool = False

    @rx.event
    async def load(self):
        lang = await page_lang(self)
        async with session_scope() as db:
            groups = await price_list.price_list(db)
        self.tables = {group.provider: price_list.table_rows(group, lang) for group in groups}
        self.loaded = True


# A language switch formats the table again ($ / US$).
relocalize_on(ROUTE, PricingState.load)


def money_values(lang: str) -> dict[str, str]:
    """The worked example and the price of unpriced models, formatted for `lang`."""
    cost, byok, credit = price_list.example_charges()
    unknown = price_list.unknown_model_rates()
    return {
        "cost": format_money(cost, lang),
        "byok": format_money(byok, lang),
        "credit": format_money(credit, lang),
        "input": price_list.per_mtok(unknown.input, lang),
        "output": price_list.per_mtok(unknown.output, lang),
    }


def plan_card(heading_key: str, figure_key: str, body_key: str, icon: str, card_id: str):
    values = fee_values()
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon(icon, size=20), rx.heading(tr(heading_key), size="4", as_="h2")),
            rx.heading(
                both(figure_key, **values),
                size="8",
                color=rx.color("accent", 11),
                id=f"{card_id}-figure",
            ),
            rx.text(both(body_key, **values), color_scheme="gray"),
            spacing="3",
        ),
        id=card_id,
        flex="1 1 300px",
    )


def plans() -> rx.Component:
    return rx.vstack(
        rx.flex(
            plan_card(
                "pricing.byok.h",
                "home.billing.byok.figure",
                "pricing.byok.body",
                "key-round",
                "pricing-fee",
            ),
            plan_card(
                "pricing.credit.h",
                "home.billing.credit.figure",
                "pricing.credit.body",
                "wallet",
                "pricing-markup",
            ),
            gap="1em",
            wrap="wrap",
            width="100%",
        ),
        rx.text(
            both("pricing.example", money_values, **fee_values()),
            size="2",
            color_scheme="gray",
            id="pricing-example",
        ),
        spacing="3",
        width="100%",
    )


def price_row(row: rx.Var) -> rx.Component:
    tier = row["tier"] == "1"
    return rx.table.row(
        rx.table.row_header_cell(
            rx.cond(
                tier,
                rx.text("↳ ", row["model"], size="1", color_scheme="gray", padding_left="1em"),
                rx.code(row["model"], variant="ghost"),
            ),
            white_space="nowrap",
        ),
        *[
            rx.table.cell(
                row[column],
                text_align="right",
                white_space="nowrap",
                class_name=f"price-{column}",
            )
            for column in price_list.RATE_NAMES
        ],
        class_name=rx.cond(tier, "price-tier", "price-model"),
        data_model=rx.cond(tier, "", row["model"]),
    )


def provider_table(provider: str, name: str) -> rx.Component:
    rows = PricingState.tables[provider].to(list[dict[str, str]])
    headers = ["pricing.col.model", *[f"pricing.col.{c}" for c in price_list.RATE_NAMES]]
    table = rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(
                            tr(h),
                            text_align="left" if i == 0 else "right",
                            width="28%" if i == 0 else "14.4%",
                        )
                        for i, h in enumerate(headers)
                    ]
                )
            ),
            rx.table.body(rx.foreach(rows, price_row)),
            variant="surface",
            size="1",
            width="100%",
            # The same column widths in every provider's table; a phone scrolls it sideways.
            table_layout="fixed",
            min_width="640px",
        ),
        overflow_x="auto",
        width="100%",
    )
    return rx.vstack(
        rx.heading(name, size="5", as_="h3"),
        rx.cond(
            ~PricingState.loaded,
            rx.skeleton(rx.box(height="8em", width="100%"), loading=True),
            rx.cond(rows.length() > 0, table, rx.text(tr("pricing.empty"), color_scheme="gray")),
        ),
        spacing="3",
        width="100%",
        id=f"pricing-{provider}",
    )


def price_tables() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("pricing.table.h"), size="7", as_="h2"),
        rx.text(tr("pricing.table.note"), color_scheme="gray"),
        *[provider_table(provider, name) for provider, name in price_list.PROVIDERS.items()],
        rx.text(tr("pricing.long_note"), size="2", color_scheme="gray"),
        rx.text(tr("pricing.tools"), size="2", color_scheme="gray"),
        rx.text(
            both("pricing.unknown", money_values),
            size="2",
            color_scheme="gray",
            id="pricing-unknown",
        ),
        spacing="4",
        width="100%",
        padding_top="1.5em",
    )


def pricing() -> rx.Component:
    return public_shell(
        rx.vstack(
            rx.heading(tr("pricing.title"), size="9", as_="h1", id="pricing-title"),
            rx.text(tr("pricing.lead"), size="4", color_scheme="gray"),
            plans(),
            price_tables(),
            rx.hstack(
                rx.text(tr("pricing.terms"), size="2"),
                rx.link(
                    tr("footer.terms"),
                    href=rx.cond(LocaleState.current == "zh", "/zh/terms", "/terms"),
                    size="2",
                    id="pricing-terms",
                ),
                wrap="wrap",
            ),
            rx.link(rx.button(tr("home.cta_signup"), size="3"), href="/signup"),
            spacing="5",
            width="100%",
        )
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        pricing,
        route=ROUTE,
        on_load=[SessionState.load_public, PricingState.load],
        **page_meta("Pricing · aiusage", t("en", "pricing.lead")),
    )
