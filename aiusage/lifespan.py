"""What runs beside the request handlers for the app's lifetime: the log output, migrations at
start, the email outbox sender, the proxy's runtime (upstream client, usage writer) and the
onsite assistant's platform account and key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio

from aiusage.db import dispose_engine
from aiusage.migrations import upgrade_to_head
from aiusage.observability.logs import configure_logging
from aiusage.proxy.runtime import runtime as proxy_runtime
from aiusage.services import assistant_platform, email, retention

log = logging.getLogger("aiusage.lifespan")


@contextlib.asynccontextmanager
async def app_lifespan() -> AsyncIterator[None]:
    configure_logging()  # in the server's worker, after the server set up its own loggers
    await anyio.to_thread.run_sync(upgrade_to_head)
    await proxy_runtime.start()
    await assistant_platform.start()  # never raises: the assistant waits for its first question
    stop = asyncio.Event()
    sender = asyncio.create_task(email.run_sender(stop), name="aiusage-email-outbox")
    purger = asyncio.create_task(retention.run_daily(stop), name="aiusage-retention-purge")
    try:
        yield
    finally:
        stop.set()
        sender.cancel()
        purger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        with contextlib.suppress(asyncio.CancelledError):
            await purger
        await proxy_runtime.stop()  # writes every pending usage row and charge
        await dispose_engine()
