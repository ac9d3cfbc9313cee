"""The onsite assistant: questions about using aiusage, answered from the product's own
documentation (services/assistant_docs.py) by a model reached through our own proxy
(services/assistant_model.py) on a platform account's key (services/assistant_platform.py).

Conversations live in `assistant_conversations` only, found by a random handle that stays on
the server (the tab's backend state), and bound to the account that started them (or to none,
for a visitor signed out). A question is recorded before the model is asked (so a failed
call leaves it, unanswered, for support to see), the answer after; no transaction stays open
while the model answers. Handing a conversation over makes it a support message (source
"assistant") with the operator's copy mailed through the outbox, as the contact form does.
Nothing of a conversation is logged."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.i18n import DEFAULT as DEFAULT_LANGUAGE
from aiusage.i18n import LANGUAGES, t
from aiusage.models import AssistantConversation, SupportMessage, User, utcnow
from aiusage.services import accounts, assistant_docs, assistant_model, email, support
from aiusage.services.assistant_platform import enabled, provider
from aiusage.services.errors import RateLimited, ServiceError
from aiusage.services.ratelimit import SlidingWindow
from aiusage.services.text import checked_text

log = logging.getLogger("aiusage.assistant")

QUESTION_MAX = 1000  # characters
QUESTIONS_MAX = 12  # per conversation; then a new one (or support)
HANDOVER_SUBJECT = "Onsite assistant conversation"

# Per client address (IPv6 by its /64), and for the whole process: each question costs us.
per_client_minute = SlidingWindow(5, 60)
per_client_hour = SlidingWindow(30, 3600)
everyone_hour = SlidingWindow(600, 3600)
handovers_per_client = SlidingWindow(3, 3600)

# Something pasted that looks like a key: never stored nor sent to a provider.
_SECRET = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{16,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{16,}"
    r"|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abp]-[A-Za-z0-9-]{10,})"
)


# --- conversations -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def quiet_db() -> AsyncIterator[None]:
    """Database failures while a conversation is read or written: logged by kind only (the
    driver's message would quote the statement's parameters, the conversation's text among
    them) and told to the visitor as "cannot answer right now"."""
    try:
        yield
    except SQLAlchemyError as error:
        log.warning("the assistant's database work failed: %s", type(error).__name__)
        raise ServiceError("unavailable", "The assistant cannot answer right now.") from None


def new_handle() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits, 43 characters


def turns_of(conversation: AssistantConversation) -> list[dict[str, str]]:
    try:
        raw = json.loads(conversation.transcript or "[]")
    except ValueError:
        return []
    return [
        {"role": str(turn.get("role", "")), "text": str(turn.get("text", ""))}
        for turn in raw
        if isinstance(turn, dict) and turn.get("role") in ("user", "assistant")
    ]


def _store(conversation: AssistantConversation, turns: list[dict[str, str]]) -> None:
    conversation.transcript = json.dumps(turns, ensure_ascii=False)
    conversation.updated_at = utcnow()


async def find(
    session: AsyncSession, handle: str, user_id: int | None
) -> AssistantConversation | None:
    """The conversation with this handle if it belongs to `user_id` (None: a visitor signed
    out, whose conversations have no account). Another's handle finds nothing."""
    if not isinstance(handle, str) or not 20 <= len(handle) <= 64:
        return None
    conversation = (
        await session.execute(
            select(AssistantConversation).where(col(AssistantConversation.handle) == handle)
        )
    ).scalar_one_or_none()
    if conversation is None or conversation.user_id != user_id:
        return None
    return conversation


async def transcript(
    session: AsyncSession, handle: str, user_id: int | None
) -> list[dict[str, str]]:
    conversation = await find(session, handle, user_id)
    return turns_of(conversation) if conversation is not None else []


def checked_question(value: object) -> str:
    """The question as it may be stored and sent, or a ServiceError saying why not."""
    if not isinstance(value, str):
        raise ServiceError("question_required", "Type a question.")
    if len(value) > QUESTION_MAX * 4:  # refused before any work on a huge text
        raise ServiceError("question_too_long", f"Ask in at most {QUESTION_MAX} characters.")
    text = value.strip()
    if not text:
        raise ServiceError("question_required", "Type a question.")
    if len(text) > QUESTION_MAX:
        raise ServiceError("question_too_long", f"Ask in at most {QUESTION_MAX} characters.")
    text = checked_text(text, code="bad_text", max_chars=QUESTION_MAX, multiline=True)
    if _SECRET.search(text):
        raise ServiceError("secret", "That looks like a key. Never paste one here.")
    return text


def _limit(client: str) -> None:
    for window, key in (
        (per_client_minute, client),
        (per_client_hour, client),
        (everyone_hour, "*"),
    ):
        wait = window.retry_after(key)
        if wait:
            raise RateLimited("Too many questions. Try again later.", wait)
    for window, key in ((per_client_minute, client), (per_client_hour, client)):
        window.hit(key)
    everyone_hour.hit("*")


async def record_question(handle: str, user_id: int | None, question: object, client: str) -> str:
    """Stores the question in the handle's conversation (a new one if there is none) and
    returns the handle to ask `answer` with. `client`: the limit key of the caller."""
    if not enabled():
        raise ServiceError("unavailable", "The assistant is not available.")
    text = checked_question(question)
    async with quiet_db(), session_scope() as session:
        conversation = await find(session, handle, user_id) if handle else None
        if conversation is not None:
            turns = turns_of(conversation)
            if conversation.handed_over_message_id is not None:
                raise ServiceError("already_handed_over", "This conversation went to support.")
            if sum(turn["role"] == "user" for turn in turns) >= QUESTIONS_MAX:
                raise ServiceError("conversation_full", "Start a new conversation.")
        _limit(client)
        if conversation is None:
            conversation = AssistantConversation(handle=new_handle(), user_id=user_id)
            session.add(conversation)
            turns = []
        _store(conversation, [*turns, {"role": "user", "text": text}])
        return conversation.handle


async def answer(handle: str, user_id: int | None, lang: str) -> str:
    """Answers the conversation's last question from the documents that fit it best; the
    answer is stored and returned. The model sees the documents, the last few questions and
    answers, and the question: nothing else."""
    provider_name = provider()
    if provider_name is None:
        raise ServiceError("unavailable", "The assistant is not available.")
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    async with quiet_db(), session_scope() as session:
        conversation = await find(session, handle, user_id)
        if conversation is None:
            raise ServiceError("unavailable", "The conversation is gone.")
        turns = turns_of(conversation)
        documents = await assistant_docs.corpus(session, lang)
    if not turns or turns[-1]["role"] != "user":
        raise ServiceError("question_required", "Type a question.")
    question = turns[-1]["text"]
    earlier = [turn["text"] for turn in turns[:-1] if turn["role"] == "user"]
    sections = assistant_docs.select(documents, question, earlier[-1] if earlier else "")
    system = assistant_model.system_prompt(lang, sections)
    path, body = assistant_model.request_for(
        provider_name, system, assistant_model.history(turns[:-1]), question
    )
    text = await assistant_model.ask_proxy(provider_name, path, body)
    async with quiet_db(), session_scope() as session:
        conversation = await find(session, handle, user_id)
        if conversation is not None:  # purged meanwhile: nothing to keep
            _store(conversation, [*turns_of(conversation), {"role": "assistant", "text": text}])
    return text


# --- handing over to support ----------------------------------------------------------------


def handover_body(turns: list[dict[str, str]], lang: str) -> str:
    lines = [f"Conversation with the onsite assistant (page language: {lang})."]
    for turn in turns:
        who = "Visitor" if turn["role"] == "user" else "Assistant"
        lines.append(f"{who}:\n{turn['text']}")
    return "\n\n".join(lines)


async def hand_over(
    session: AsyncSession,
    handle: str,
    user: User | None,
    address: str,
    lang: str,
    client: str,
) -> SupportMessage:
    """The conversation as a support message (source "assistant", open) from the signed-in
    user, or from a visitor at `address`; the operator's copy goes through the outbox like a
    contact-form message's (same subject form and time, which is how a purge finds it)."""
    user_id = user.id if user is not None else None
    conversation = await find(session, handle, user_id) if handle else None
    turns = turns_of(conversation) if conversation is not None else []
    if conversation is None or not turns:
        raise ServiceError("nothing_to_hand_over", "Ask a question first.")
    if conversation.handed_over_message_id is not None:
        raise ServiceError("already_handed_over", "This conversation went to support.")
    sender = user.email if user is not None else accounts.normalize_email(address)
    wait = handovers_per_client.try_hit(client)
    if wait:
        raise RateLimited("Too many messages. Try again later.", wait)
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    body = handover_body(turns, lang)
    message = SupportMessage(
        user_id=user_id,
        email=sender,
        subject=HANDOVER_SUBJECT,
        body=body,
        source="assistant",
        status="open",
    )
    session.add(message)
    await session.flush()
    await email.enqueue(
        session,
        get_settings().operator_email,
        support.operator_subject(HANDOVER_SUBJECT),
        t(
            "en",
            "mail.support.body",
            id=message.id,
            user_id=user_id if user_id is not None else "(signed out)",
            email=sender,
            locale=user.locale if user is not None else lang,
            subject=HANDOVER_SUBJECT,
            body=body,
        ),
        created_at=message.created_at,
    )
    conversation.handed_over_message_id = message.id
    conversation.updated_at = utcnow()
    return message
