"""The base of every console state, and the middleware that lets only operators' events
reach them.

Every console state subclasses `ConsoleState`, so its events are named under it; before any
such event runs, `ConsoleEvents` resolves the tab's session to an operator (a console role
and two-factor sign-in, services/roles.py) and drops the event otherwise — whatever page the
tab is on and whatever the event's arguments. Handlers then ask `operator()` for who acts (a
check of their own, which reuses the middleware's lookup for the same event and tab rather
than querying again), and the services they call check the role's permission again."""

from __future__ import annotations

import functools
import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import StateUpdate
from reflex_base.event.context import EventContext

from aiusage.db import session_scope
from aiusage.services import roles
from aiusage.services.errors import ServiceError
from aiusage.state.page import Outcome
from aiusage.state.user import signed_in_user

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import BaseState
    from reflex_base.event import Event

log = logging.getLogger("aiusage.console")

# The operator ConsoleEvents let in, with the event and the tab it was found for. Reflex runs
# each event in a task of its own and sets that event's EventContext at the task's start, so
# a handler finds here only its own event's lookup: another event (a chained one included,
# even if its task inherited this value) has another EventContext, another tab another token.
_let_in: ContextVar[tuple[EventContext, str, roles.Operator] | None] = ContextVar(
    "aiusage_console_operator", default=None
)


def _this_event() -> EventContext | None:
    try:
        return EventContext.get()
    except LookupError:  # outside an event (a test, a script)
        return None


def _tab(state: rx.State) -> str:
    return state.router.session.client_token


def remember_operator(state: rx.State, operator: roles.Operator | None) -> None:
    """What the middleware found for the event being processed (None forgets it)."""
    event = _this_event()
    found = (event, _tab(state), operator) if event is not None and operator is not None else None
    _let_in.set(found)


def remembered_operator(state: rx.State) -> roles.Operator | None:
    """The operator the middleware let in for this very event and tab, else None."""
    found = _let_in.get()
    if found is None:
        return None
    event, tab, operator = found
    if event is not _this_event() or tab != _tab(state):
        return None
    return operator


async def operator_of(state: rx.State) -> roles.Operator | None:
    """The operator behind the tab's session, or None."""
    user = await signed_in_user(state)
    if user is None:
        return None
    async with session_scope() as db:
        found = await roles.console_operator(db, user)
    return found if isinstance(found, roles.Operator) else None


class ConsoleState(Outcome, rx.State):
    """What every console page shows about the operator, and the outcome of the last action
    (catalog keys, like the dashboard's)."""

    operator_email: str = ""
    operator_role: str = ""

    async def operator(self) -> roles.Operator | None:
        """Who acts: the operator the middleware let in for this event, else looked up."""
        found = remembered_operator(self) or await operator_of(self)
        self.operator_email = found.label if found else ""
        self.operator_role = found.role if found else ""
        return found

    @rx.event
    async def load_operator(self):
        """Every console page's first load: who is acting (the middleware let them in)."""
        self.error = self.notice = ""
        await self.operator()

    def outcome(self, error: ServiceError | None = None, notice: str = "") -> None:
        """Shows a service's refusal (by its code) or a notice key."""
        self.error = f"console.error.{error.code}" if error else ""
        self.notice = notice
        if error is not None and self.error not in _known_errors():
            self.error = "console.error.generic"


@functools.cache
def _known_errors() -> frozenset[str]:
    """The console's refusals the catalog explains (the catalog does not change at run time)."""
    from aiusage.i18n import catalog

    return frozenset(key for key in catalog("en") if key.startswith("console.error."))


class ConsoleEvents(Middleware):
    # Reflex calls middleware with these keyword arguments, used or not.
    async def preprocess(
        self,
        app: App,  # noqa: ARG002
        state: BaseState,
        event: Event,
    ) -> StateUpdate | None:
        root = state._get_root_state()
        assert isinstance(root, rx.State)  # the app's root state: every state's ancestor
        remember_operator(root, None)
        if not event.name.startswith(ConsoleState.get_full_name() + "."):
            return None
        found = await operator_of(root)
        if found is not None:
            remember_operator(root, found)
            return None
        log.warning("console event refused for a non-operator: %s", event.name.rpartition(".")[2])
        # The event does not run; the tab is told nothing it could use.
        return StateUpdate(final=True)
