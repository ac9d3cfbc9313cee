"""The base of every console state, and the middleware that lets only operators' events
reach them.

Every console state subclasses `ConsoleState`, so its events are named under it; before any
such event runs, `ConsoleEvents` resolves the tab's session to an operator (a console role
and two-factor sign-in, services/roles.py) and drops the event otherwise — whatever page the
tab is on and whatever the event's arguments. Handlers then ask `operator()` for who acts,
and the services they call check the role's permission again."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import StateUpdate

from aiusage.db import session_scope
from aiusage.services import roles
from aiusage.services.errors import ServiceError
from aiusage.state.user import signed_in_user

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import BaseState
    from reflex_base.event import Event

log = logging.getLogger("aiusage.console")


async def operator_of(state: rx.State) -> roles.Operator | None:
    """The operator behind the tab's session, or None."""
    user = await signed_in_user(state)
    if user is None:
        return None
    async with session_scope() as db:
        found = await roles.console_operator(db, user)
    return found if isinstance(found, roles.Operator) else None


class ConsoleState(rx.State):
    """What every console page shows about the operator, and the outcome of the last action
    (catalog keys, like the dashboard's)."""

    operator_email: str = ""
    operator_role: str = ""
    error: str = ""
    notice: str = ""

    async def operator(self) -> roles.Operator | None:
        found = await operator_of(self)
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


def _known_errors() -> set[str]:
    from aiusage.i18n import catalog

    return {key for key in catalog("en") if key.startswith("console.error.")}


class ConsoleEvents(Middleware):
    # Reflex calls middleware with these keyword arguments, used or not.
    async def preprocess(
        self,
        app: App,  # noqa: ARG002
        state: BaseState,
        event: Event,
    ) -> StateUpdate | None:
        if not event.name.startswith(ConsoleState.get_full_name() + "."):
            return None
        root = state._get_root_state()
        if await operator_of(root) is not None:
            return None
        log.warning("console event refused for a non-operator: %s", event.name.rpartition(".")[2])
        # The event does not run; the tab is told nothing it could use.
        return StateUpdate(final=True)
