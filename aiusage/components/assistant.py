"""The onsite assistant: a floating button at the bottom right of every public and dashboard
page that opens a panel to ask questions about using aiusage and hand the conversation over
to support. Absent altogether when no platform key is configured (decided when the app is
built, like the fee and the policy's figures)."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr, tr_var
from aiusage.config import get_settings
from aiusage.i18n import t
from aiusage.services import assistant_platform
from aiusage.services.assistant import QUESTION_MAX
from aiusage.state.assistant import AssistantState
from aiusage.state.auth import SessionState
from aiusage.state.locale import LocaleState


def _note() -> rx.Var[str]:
    """What happens to a question, with the retention the purge applies."""
    days = get_settings().support_retention_days
    return rx.cond(
        LocaleState.current == "zh",
        t("zh", "assistant.note", days=days),
        t("en", "assistant.note", days=days),
    )


def _turn(turn: rx.Var) -> rx.Component:
    mine = turn["role"] == "user"
    return rx.box(
        rx.text(rx.cond(mine, tr("assistant.you"), tr("assistant.bot")), size="1", weight="bold"),
        # Plain text (never Markdown or HTML): an answer can hold anything a question asked for.
        rx.text(turn["text"], size="2", white_space="pre-wrap", overflow_wrap="anywhere"),
        class_name=rx.cond(
            mine, "assistant-turn assistant-question", "assistant-turn assistant-answer"
        ),
        background=rx.cond(mine, rx.color("accent", 3), rx.color("gray", 3)),
        align_self=rx.cond(mine, "flex-end", "flex-start"),
        border_radius="10px",
        padding="0.5em 0.75em",
        max_width="92%",
    )


def _conversation() -> rx.Component:
    return rx.auto_scroll(
        rx.vstack(
            rx.cond(
                AssistantState.turns.length() > 0,
                rx.foreach(AssistantState.turns, _turn),
                rx.text(tr("assistant.empty"), size="2", color_scheme="gray"),
            ),
            rx.cond(
                AssistantState.pending,
                rx.hstack(
                    rx.spinner(size="2"),
                    rx.text(tr("assistant.thinking"), size="2", color_scheme="gray"),
                    align="center",
                    id="assistant-pending",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        id="assistant-turns",
        max_height="min(50vh, 420px)",
        width="100%",
    )


def _callouts() -> rx.Component:
    return rx.fragment(
        rx.cond(
            AssistantState.error != "",
            rx.callout(
                tr_var(AssistantState.error),
                icon="triangle-alert",
                color_scheme="red",
                size="1",
                id="assistant-error",
                role="alert",
                width="100%",
            ),
        ),
        rx.cond(
            AssistantState.notice != "",
            rx.callout(
                tr_var(AssistantState.notice),
                icon="circle-check",
                color_scheme="green",
                size="1",
                id="assistant-notice",
                role="status",
                width="100%",
            ),
        ),
    )


def _question_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text_area(
                name="question",
                id="assistant-question",
                placeholder=tr("assistant.placeholder"),
                aria_label=tr("assistant.placeholder"),
                max_length=QUESTION_MAX,
                required=True,
                rows="2",
                enter_key_submit=True,
                width="100%",
            ),
            rx.hstack(
                rx.button(
                    tr("assistant.handover"),
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                    on_click=AssistantState.show_handover,
                    id="assistant-handover",
                ),
                rx.spacer(),
                rx.button(
                    tr("assistant.send"),
                    type="submit",
                    size="2",
                    loading=AssistantState.pending,
                    id="assistant-send",
                ),
                width="100%",
                align="center",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=AssistantState.ask,
        reset_on_submit=True,
        id="assistant-form",
        width="100%",
    )


def _handover_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.cond(
                SessionState.signed_in,
                rx.text(tr("assistant.handover.signed_in"), size="2"),
                rx.vstack(
                    rx.el.label(
                        tr("assistant.handover.signed_out"),
                        html_for="assistant-email",
                        font_size="var(--font-size-2)",
                    ),
                    rx.input(
                        name="email",
                        id="assistant-email",
                        type="email",
                        auto_complete="email",
                        placeholder=tr("assistant.email"),
                        max_length=254,
                        required=True,
                        width="100%",
                    ),
                    spacing="1",
                    width="100%",
                ),
            ),
            rx.hstack(
                rx.button(
                    tr("common.cancel"),
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                    on_click=AssistantState.hide_handover,
                ),
                rx.spacer(),
                rx.button(
                    tr("assistant.handover.send"),
                    type="submit",
                    size="2",
                    id="assistant-handover-send",
                ),
                width="100%",
                align="center",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=AssistantState.hand_over,
        id="assistant-handover-form",
        width="100%",
    )


def _panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(tr("assistant.title"), size="3", as_="h2"),
            rx.spacer(),
            rx.tooltip(
                rx.icon_button(
                    rx.icon("rotate-ccw", size=16),
                    variant="ghost",
                    color_scheme="gray",
                    aria_label=tr("assistant.new"),
                    on_click=AssistantState.new_conversation,
                    id="assistant-new",
                ),
                content=tr("assistant.new"),
            ),
            rx.popover.close(
                rx.icon_button(
                    rx.icon("x", size=16),
                    variant="ghost",
                    color_scheme="gray",
                    aria_label=tr("assistant.close"),
                    id="assistant-close",
                )
            ),
            width="100%",
            align="center",
            spacing="3",
        ),
        rx.text(_note(), size="1", color_scheme="gray", id="assistant-note"),
        _conversation(),
        _callouts(),
        rx.cond(AssistantState.handing_over, _handover_form(), _question_form()),
        spacing="3",
        width="100%",
    )


def assistant_widget() -> rx.Component:
    """The button and its panel, or nothing when the assistant is off."""
    if not assistant_platform.enabled():
        return rx.fragment()
    return rx.box(
        rx.popover.root(
            rx.popover.trigger(
                rx.icon_button(
                    rx.icon("message-circle-question", size=24),
                    size="4",
                    radius="full",
                    aria_label=tr("assistant.open"),
                    title=tr("assistant.open"),
                    id="assistant-button",
                    box_shadow="0 4px 14px rgba(0, 0, 0, 0.18)",
                )
            ),
            rx.popover.content(
                _panel(),
                side="top",
                align="end",
                width="min(400px, calc(100vw - 2em))",
                id="assistant-panel",
                aria_label=tr("assistant.title"),
            ),
            open=AssistantState.is_open,
            on_open_change=AssistantState.set_open,
        ),
        position="fixed",
        bottom="1.25em",
        right="1.25em",
        z_index="900",  # under the cookie banner (1000) while it asks
        id="assistant-widget",
    )
