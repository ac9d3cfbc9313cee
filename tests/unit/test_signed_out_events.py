"""Events that act for the signed-in user, sent by a browser with no session: each answers
with a redirect to log in and acts on nothing (state/user.py's `leave_if_signed_out` and
`require_user`), whether the handler returns its events or yields them. Reflex still sees
each handler's own arguments through the wrapper."""

from __future__ import annotations

import inspect

import pytest
import reflex as rx

from aiusage.state.billing import BillingState
from aiusage.state.keys import KeysState
from aiusage.state.security import SecurityState
from aiusage.state.settings import SettingsState
from aiusage.state.sign_in_methods import SignInMethodsState
from aiusage.state.support import SupportState
from aiusage.state.user import LOG_IN, LOG_IN_AGAIN

FORM = {"key_id": "1", "provider_key": "sk-ant-x", "password": "x", "code": "123456"}
EVENTS = [
    (KeysState, "create_key", (FORM,), LOG_IN),
    (KeysState, "open_edit", ("1",), LOG_IN),
    (KeysState, "save_edit", (FORM,), LOG_IN),
    (KeysState, "set_key_enabled", ("1", False), LOG_IN),
    (KeysState, "revoke", ("1",), LOG_IN),
    (KeysState, "check_new_key", ("sk-ant-x",), LOG_IN),
    (KeysState, "save_provider_key", (FORM,), LOG_IN),
    (KeysState, "open_provider_edit", ("1",), LOG_IN),
    (KeysState, "save_provider_edit", (FORM,), LOG_IN),
    (KeysState, "open_provider_replace", ("1",), LOG_IN),
    (KeysState, "check_replacement_key", ("sk-ant-x",), LOG_IN),
    (KeysState, "save_provider_replace", (FORM,), LOG_IN),
    (KeysState, "remove_provider_key", ("1",), LOG_IN),
    (SecurityState, "start_enrolment", (FORM,), LOG_IN_AGAIN),
    (SecurityState, "confirm_enrolment", (FORM,), LOG_IN_AGAIN),
    (SecurityState, "cancel_enrolment", (), LOG_IN_AGAIN),
    (SecurityState, "disable", (FORM,), LOG_IN_AGAIN),
    (SecurityState, "revoke_session", ("1",), LOG_IN_AGAIN),
    (SignInMethodsState, "remove", ("password",), LOG_IN_AGAIN),
    (SettingsState, "request_email_change", (FORM,), LOG_IN),
    (SettingsState, "save_threshold", (FORM,), LOG_IN),
    (SettingsState, "set_marketing", (True,), LOG_IN),
    (BillingState, "save_threshold", (FORM,), LOG_IN),
    (BillingState, "save_auto", (FORM,), LOG_IN),
    (SupportState, "send", (FORM,), LOG_IN),
]


def signed_out(state_cls: type[rx.State]) -> rx.State:
    """The state as the server holds it for a browser without a session cookie."""
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(state_cls.get_full_name().split("."))
    state.router_data = {"headers": {}}
    state._update_router_vars(state.router_data, {})
    return state


def redirect_path(spec: object) -> str | None:
    if not isinstance(spec, rx.event.EventSpec):
        return None
    args = {name._js_expr: value._var_value for name, value in spec.args}
    return args.get("path")


@pytest.mark.parametrize(
    ("state_cls", "name", "args", "to"), EVENTS, ids=[f"{s.__name__}.{n}" for s, n, *_ in EVENTS]
)
async def test_a_signed_out_event_goes_to_log_in(state_cls, name, args, to):
    handler = getattr(state_cls, name)
    state = signed_out(state_cls)
    if inspect.isasyncgenfunction(handler.fn):
        events = [event async for event in handler.fn(state, *args)]
    else:
        events = [await handler.fn(state, *args)]
    assert [redirect_path(event) for event in events] == [to]
    # Reflex reads the event's arguments from the handler the wrapper wraps.
    assert (
        list(handler.get_parameters())[1:]
        == list(inspect.signature(handler.fn.__wrapped__).parameters)[1:]
    )
    assert len(handler.get_parameters()) == len(args) + 1


async def test_the_security_page_forgets_its_secrets_when_signed_out():
    state = signed_out(SecurityState)
    state.enrol_secret, state.enrol_qr = "ABCD EFGH", "data:image/svg+xml;base64,"
    state.new_backup_codes = ["one", "two"]
    state.sessions = [{"id": "1"}]
    state.tf_error = "error.x"
    await SecurityState.confirm_enrolment.fn(state, FORM)
    assert (state.enrol_secret, state.enrol_qr, state.new_backup_codes, state.sessions) == (
        "",
        "",
        [],
        [],
    )
    assert state.tf_error == ""
