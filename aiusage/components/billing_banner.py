"""The low-balance banner every dashboard page shows (included by `dashboard_shell`)."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.text import tr
from aiusage.state.billing import BalanceBannerState


def low_balance_banner() -> rx.Component:
    return rx.box(
        rx.cond(
            BalanceBannerState.low,
            rx.callout(
                rx.hstack(
                    rx.text(
                        tr("billing.banner.low"), " ", rx.text.strong(BalanceBannerState.balance)
                    ),
                    rx.link(tr("billing.banner.cta"), href=routes.BILLING),
                    spacing="3",
                    wrap="wrap",
                ),
                icon="wallet",
                color_scheme="amber",
                role="status",
                id="low-balance-banner",
            ),
        ),
        on_mount=BalanceBannerState.load,
        width="100%",
    )
