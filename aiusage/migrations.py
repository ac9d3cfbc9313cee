"""Apply the alembic migrations from code (the CLI and the app at start use this)."""

from __future__ import annotations

import asyncio

from alembic.config import Config

from aiusage.config import PROJECT_ROOT
from alembic import command


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["configure_logging"] = False
    return config


def upgrade_to_head() -> None:
    """Bring the database to the newest schema. Safe to run at every start."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(), "head")
        return
    raise RuntimeError("upgrade_to_head() runs its own event loop: call it from a thread")
