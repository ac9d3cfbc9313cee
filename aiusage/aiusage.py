"""The Reflex app: pages, the backend routes in front of it, and the background runtime."""

import reflex as rx

from aiusage.pages import dashboard, public
from aiusage.runtime import app_lifespan
from aiusage.web.asgi import FrontDoor

app = rx.App(api_transformer=FrontDoor)
app.register_lifespan_task(app_lifespan)
public.add_pages(app)
dashboard.add_pages(app)
