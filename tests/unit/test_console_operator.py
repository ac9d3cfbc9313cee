"""The console handlers' own operator check reuses what the ConsoleEvents middleware found,
but only for the very event and tab it was found for: another event (a chained one whose task
inherited the value included), another tab or no event at all looks the operator up again."""

from __future__ import annotations

import asyncio
import contextvars
from types import SimpleNamespace

from aiusage.services import roles


def tab(token: str) -> SimpleNamespace:
    return SimpleNamespace(router=SimpleNamespace(session=SimpleNamespace(client_token=token)))


def event_context(token: str):
    from reflex_base.event.context import EventContext

    return EventContext(token=token, state_manager=None, enqueue_impl=None)


def operator(label: str) -> roles.Operator:
    return roles.Operator(id=1, label=label, role="admin")


def test_the_middlewares_operator_serves_only_its_own_event_and_tab():
    from reflex_base.event.context import EventContext

    from aiusage.state.console import remember_operator, remembered_operator

    admin = operator("admin@example.com")

    def one_event() -> None:
        EventContext.set(event_context("tab-a"))
        assert remembered_operator(tab("tab-a")) is None  # nothing found yet
        remember_operator(tab("tab-a"), admin)
        assert remembered_operator(tab("tab-a")) is admin
        assert remembered_operator(tab("tab-b")) is None  # another tab
        # The next event, even in the same context: its own EventContext.
        EventContext.set(event_context("tab-a"))
        assert remembered_operator(tab("tab-a")) is None
        # A refusal forgets it.
        remember_operator(tab("tab-a"), admin)
        remember_operator(tab("tab-a"), None)
        assert remembered_operator(tab("tab-a")) is None

    contextvars.copy_context().run(one_event)
    # Another task's context never saw it; outside any event nothing is reused.
    assert contextvars.copy_context().run(remembered_operator, tab("tab-a")) is None


async def test_a_task_started_by_the_event_does_not_reuse_it():
    from reflex_base.event.context import EventContext

    from aiusage.state.console import remember_operator, remembered_operator

    admin = operator("admin@example.com")

    async def chained() -> roles.Operator | None:
        EventContext.set(event_context("tab-a"))  # as Reflex does for each event's task
        return remembered_operator(tab("tab-a"))

    async def event() -> tuple[roles.Operator | None, roles.Operator | None]:
        EventContext.set(event_context("tab-a"))
        remember_operator(tab("tab-a"), admin)
        return remembered_operator(tab("tab-a")), await asyncio.create_task(chained())

    mine, theirs = await asyncio.create_task(event())
    assert mine is admin and theirs is None
