"""The Reflex app: pages, the backend routes in front of it, and the background runtime."""

import reflex as rx

from aiusage.pages import dashboard, public
from aiusage.runtime import app_lifespan
from aiusage.web.asgi import FrontDoor

app = rx.App(api_transformer=FrontDoor)
app.register_lifespan_task(app_lifespan)

# Each page module registers its routes; a new area of the dashboard adds its module here.
PAGE_MODULES = [public, dashboard]
for module in PAGE_MODULES:
    module.add_pages(app)
