"""The Reflex app: pages, the backend routes in front of it, and the background runtime."""

import reflex as rx

from aiusage.lifespan import app_lifespan
from aiusage.pages import (
    billing,
    connect,
    dashboard,
    keys,
    landing,
    legal,
    not_found,
    pricing,
    public,
    security,
    settings,
    sign_in_methods,
    support,
    usage,
)
from aiusage.pages.console import audit as console_audit
from aiusage.pages.console import overview as console_overview
from aiusage.pages.console import prices as console_prices
from aiusage.pages.console import support as console_support
from aiusage.pages.console import users as console_users
from aiusage.state.console import ConsoleEvents
from aiusage.state.tenancy import TenantBinding
from aiusage.web.asgi import FrontDoor

app = rx.App(api_transformer=FrontDoor)
app.register_lifespan_task(app_lifespan)
# Before any event (the first snapshot included): a tab's state is its session's alone.
app.add_middleware(TenantBinding(), index=0)
# Then: console events run only for operators (state/console.py).
app.add_middleware(ConsoleEvents(), index=1)

# Each page module registers its routes; a new area of the dashboard adds its module here.
PAGE_MODULES = [
    console_overview,
    console_users,
    console_support,
    console_audit,
    console_prices,
    landing,
    public,
    pricing,
    dashboard,
    sign_in_methods,
    usage,
    keys,
    connect,
    billing,
    legal,
    settings,
    security,
    support,
    not_found,
]
for module in PAGE_MODULES:
    module.add_pages(app)
