"""The onsite assistant without a browser: retrieval picks the documents a question is about;
questions are checked before anything is stored or sent (a 1 MB text, a NUL, a pasted key);
the assistant and its button are off without a platform key; the model's request carries
the documents and nothing secret; a conversation is found only by its own handle and owner;
a hand-over becomes a support message with the operator's copy in the outbox; a user's
export holds their conversations and the purge removes old ones and a closed account's."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import reflex as rx
from sqlalchemy import select

QUESTION = "How do I use Claude Code with aiusage?"


# --- retrieval ------------------------------------------------------------------------------


def test_the_claude_code_question_picks_the_claude_code_sections():
    from aiusage.services import assistant_docs

    sections = assistant_docs.static_sections("en")
    chosen = assistant_docs.select(sections, QUESTION)
    assert 1 <= len(chosen) <= assistant_docs.MAX_SECTIONS
    assert "ANTHROPIC_BASE_URL" in chosen[0].text, chosen[0].title
    titles = [(s.source, s.title) for s in chosen]
    # The README's section with the Claude Code command line, and the Connect page's snippet.
    readme = [s for s in chosen if s.source == "README" and "ANTHROPIC_BASE_URL=" in s.text]
    assert readme, titles
    assert any(s.title.endswith("Claude Code") for s in chosen), titles
    assert sum(len(s.text) + len(s.title) for s in chosen) <= assistant_docs.MAX_CONTEXT_CHARS


def test_other_questions_pick_their_own_documents():
    from aiusage.services import assistant_docs

    en = assistant_docs.static_sections("en")
    zh = assistant_docs.static_sections("zh")

    def top(sections, question: str, context: str = "") -> str:
        return assistant_docs.select(sections, question, context)[0].title

    assert "How long we keep it" in top(en, "How long do you keep my support messages?")
    assert "Codex" in top(en, "Where does the Codex config.toml go?")
    # A follow-up keeps the subject of the question before it.
    assert "Codex" in top(en, "and which wire_api?", "How do I set up Codex?")
    # Chinese: the Chinese Connect page and policy.
    assert top(zh, "如何在 aiusage 中使用 Claude Code？").endswith("Claude Code")
    assert "数据保存多久" in top(zh, "客服消息保存多久？")
    # Nothing in common with the documents: nothing is sent.
    assert assistant_docs.select(en, "zzqx wvvt") == []


def test_the_readme_is_cut_by_heading_and_sub_heading_without_operator_sections():
    from aiusage.services import assistant_docs

    text = (
        "# aiusage\n\nIntro.\n\n## Using the proxy\n\nBase URL <site>/api:\n\n```sh\n"
        "ANTHROPIC_BASE_URL=http://localhost:3000/api claude\n\n# two\n```\n\n"
        "**Codex CLI** (config):\n\n```toml\nx = 1\n```\n\n## Layout\n\nsecret-ish tree\n"
    )
    sections = assistant_docs.readme_sections(text, "https://gw.example")
    assert [s.title for s in sections] == [
        "aiusage",
        "Using the proxy",
        "Using the proxy: Codex CLI",
    ]
    assert "ANTHROPIC_BASE_URL=https://gw.example/api claude\n\n# two" in sections[1].text
    assert "Base URL https://gw.example/api" in sections[1].text
    assert not any("tree" in s.text for s in sections)


# --- questions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("", "question_required"),
        ("   \n ", "question_required"),
        (None, "question_required"),
        ("x" * 1_000_001, "question_too_long"),
        ("x" * 1001, "question_too_long"),
        ("what\x00now", "bad_text"),
        ("bad \ud800 text", "bad_text"),
        ("is sk-aiu-" + "A" * 40 + " right?", "secret"),
        ("my key sk-ant-api03-" + "b" * 30, "secret"),
    ],
)
def test_questions_are_checked_before_anything_is_kept(question, code):
    from aiusage.services import assistant
    from aiusage.services.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        assistant.checked_question(question)
    assert refused.value.code == code


def test_a_question_of_a_thousand_characters_on_several_lines_is_fine():
    from aiusage.services import assistant

    text = ("line\n" * 200)[:1000]
    assert assistant.checked_question(f"  {text}  ") == text.strip()


# --- on and off -----------------------------------------------------------------------------


def test_no_platform_key_no_assistant_and_no_button(monkeypatch):
    from aiusage.components import assistant as component
    from aiusage.config import get_settings
    from aiusage.services import assistant_platform

    settings = get_settings()
    assert settings.platform_openai_key  # the test server's configuration
    assert assistant_platform.provider() == "openai"
    widget = component.assistant_widget()
    assert "assistant-button" in str(widget)

    off = settings.model_copy(update={"platform_openai_key": "", "platform_anthropic_key": ""})
    monkeypatch.setattr(assistant_platform, "get_settings", lambda: off)
    assert not assistant_platform.enabled()
    widget = component.assistant_widget()
    assert isinstance(widget, rx.Fragment) and not widget.children
    assert "assistant" not in str(widget)

    anthropic_only = off.model_copy(update={"platform_anthropic_key": "sk-ant-x"})
    assert assistant_platform.provider(anthropic_only) == "anthropic"


def test_the_platform_account_is_on_an_address_no_mail_reaches():
    from aiusage.services import accounts, assistant_platform

    address = assistant_platform.account_email()
    assert address.startswith("assistant@") and address.endswith(".invalid")
    assert accounts.normalize_email(address) == address


# --- what the model is sent -----------------------------------------------------------------


def test_the_request_holds_the_documents_the_question_and_nothing_secret():
    from aiusage.config import get_settings
    from aiusage.services import assistant_docs, assistant_model

    sections = assistant_docs.select(assistant_docs.static_sections("zh"), QUESTION)
    system = assistant_model.system_prompt("zh", sections)
    assert "Simplified Chinese" in system and "only from the documents" in system
    assert all(s.text in system for s in sections)
    history = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]

    path, body = assistant_model.request_for("openai", system, history, QUESTION)
    assert path == "/api/v1/chat/completions"
    assert body["model"] == assistant_model.MODELS["openai"]
    assert body["max_tokens"] == assistant_model.ANSWER_MAX_TOKENS
    assert body["messages"][0] == {"role": "system", "content": system}
    assert body["messages"][1:] == [*history, {"role": "user", "content": QUESTION}]

    path, body = assistant_model.request_for("anthropic", system, history, QUESTION)
    assert path == "/api/v1/messages" and body["system"] == system
    assert body["messages"] == [*history, {"role": "user", "content": QUESTION}]

    settings = get_settings()
    everything = json.dumps(body)
    for secret in (
        settings.platform_openai_key,
        settings.secret_key,
        settings.encryption_key.partition(":")[2],
    ):
        assert secret and secret not in everything


def test_the_answer_is_read_from_either_shape():
    from aiusage.services import assistant_model

    chat = {"choices": [{"message": {"role": "assistant", "content": " Set it. "}}]}
    messages = {"content": [{"type": "text", "text": "Set "}, {"type": "text", "text": "it."}]}
    assert assistant_model.answer_text("openai", chat) == "Set it."
    assert assistant_model.answer_text("anthropic", messages) == "Set it."
    assert assistant_model.answer_text("openai", {"error": {}}) == ""
    assert assistant_model.answer_text("anthropic", {"content": "nope"}) == ""


def test_history_keeps_only_answered_questions():
    from aiusage.services import assistant_model

    turns = [
        {"role": "user", "text": "unanswered"},
        {"role": "user", "text": "q1"},
        {"role": "assistant", "text": "a1"},
        *[
            t
            for i in range(5)
            for t in (
                {"role": "user", "text": f"q{i + 2}"},
                {"role": "assistant", "text": f"a{i + 2}"},
            )
        ],
    ]
    history = assistant_model.history(turns)
    assert len(history) == 2 * assistant_model.HISTORY_PAIRS
    assert history[-1] == {"role": "assistant", "content": "a6"}
    assert "unanswered" not in json.dumps(history)


# --- conversations in the database ----------------------------------------------------------


def client() -> str:
    return f"test-{secrets.token_hex(4)}"


async def test_a_conversation_is_found_only_by_its_handle_and_its_owner(app_server, make_account):
    from aiusage.db import session_scope
    from aiusage.services import assistant

    account = await make_account(usd="0")
    other = await make_account(usd="0")
    visitor = await assistant.record_question("", None, "visitor question", client())
    mine = await assistant.record_question("", account.id, "my question", client())
    assert visitor != mine and len(visitor) >= 43

    async with session_scope() as db:
        assert await assistant.transcript(db, visitor, None) == [
            {"role": "user", "text": "visitor question"}
        ]
        assert await assistant.transcript(db, mine, account.id) == [
            {"role": "user", "text": "my question"}
        ]
        # Someone else, signed out or signed in as another account, gets nothing.
        assert await assistant.find(db, mine, None) is None
        assert await assistant.find(db, mine, other.id) is None
        assert await assistant.find(db, visitor, account.id) is None
        for handle in ("", "x", mine[:-1], mine + "x", "%", "A" * 1000, assistant.new_handle()):
            assert await assistant.find(db, handle, account.id) is None

    # A question with someone else's handle starts a conversation of its own.
    theirs = await assistant.record_question(mine, other.id, "other question", client())
    assert theirs != mine
    async with session_scope() as db:
        assert await assistant.transcript(db, mine, account.id) == [
            {"role": "user", "text": "my question"}
        ]


async def test_a_conversation_is_bounded_and_rate_limited(app_server):
    from aiusage.db import session_scope
    from aiusage.models import AssistantConversation
    from aiusage.services import assistant
    from aiusage.services.errors import RateLimited, ServiceError

    who = client()
    handle = await assistant.record_question("", None, "first", who)
    for i in range(4):
        await assistant.record_question(handle, None, f"again {i}", who)
    with pytest.raises(RateLimited):  # five a minute per client
        await assistant.record_question(handle, None, "sixth", who)

    turns = [{"role": "user", "text": f"q{i}"} for i in range(assistant.QUESTIONS_MAX)]
    async with session_scope() as db:
        conversation = await assistant.find(db, handle, None)
        assert isinstance(conversation, AssistantConversation)
        conversation.transcript = json.dumps(turns)
    with pytest.raises(ServiceError) as full:
        await assistant.record_question(handle, None, "one more", client())
    assert full.value.code == "conversation_full"


async def test_handing_over_makes_a_support_message_for_the_operator(app_server, make_account):
    from aiusage.config import get_settings
    from aiusage.db import session_scope
    from aiusage.models import OutboxEmail, SupportMessage, User
    from aiusage.services import assistant, support
    from aiusage.services.errors import ServiceError

    handle = await assistant.record_question("", None, "Can I pay by invoice?", client())
    async with session_scope() as db:
        with pytest.raises(ServiceError) as bad:
            await assistant.hand_over(db, handle, None, "not an address", "en", client())
        assert bad.value.code == "email_invalid"
    async with session_scope() as db:
        message = await assistant.hand_over(db, handle, None, "Visitor@Example.com", "zh", client())
        message_id = message.id
    async with session_scope() as db:
        message = await db.get(SupportMessage, message_id)
        assert message is not None
        assert (message.source, message.status, message.user_id) == ("assistant", "open", None)
        assert message.email == "visitor@example.com"
        assert "Can I pay by invoice?" in message.body and "page language: zh" in message.body
        conversation = await assistant.find(db, handle, None)
        assert conversation is not None and conversation.handed_over_message_id == message_id
        copy = (
            await db.execute(
                select(OutboxEmail).where(
                    OutboxEmail.created_at == message.created_at,
                    OutboxEmail.subject == support.operator_subject(message.subject),
                )
            )
        ).scalar_one()
        assert copy.to_address == get_settings().operator_email
        with pytest.raises(ServiceError) as again:
            await assistant.hand_over(db, handle, None, "visitor@example.com", "en", client())
        assert again.value.code == "already_handed_over"
    with pytest.raises(ServiceError) as closed:  # the conversation is with support now
        await assistant.record_question(handle, None, "and?", client())
    assert closed.value.code == "already_handed_over"

    # Signed in: the account's address, no matter what is typed.
    account = await make_account(usd="0")
    handle = await assistant.record_question("", account.id, "Where is my invoice?", client())
    async with session_scope() as db:
        user = await db.get(User, account.id)
        message = await assistant.hand_over(db, handle, user, "ignored", "en", client())
        assert (message.user_id, message.email) == (account.id, account.email)
        with pytest.raises(ServiceError) as empty:
            await assistant.hand_over(db, assistant.new_handle(), user, "", "en", client())
        assert empty.value.code == "nothing_to_hand_over"


async def test_export_holds_the_conversations_and_the_purge_removes_them(app_server, make_account):
    from aiusage.db import session_scope
    from aiusage.models import AssistantConversation, User, utcnow
    from aiusage.services import assistant, export, retention

    account = await make_account(usd="0")
    handle = await assistant.record_question("", account.id, "Export question ü 中文", client())
    await assistant.record_question("", None, "someone else's", client())

    chunks = [chunk async for chunk in export.stream_zip(account.id, datetime.now(UTC))]
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        rows = json.loads(archive.read("assistant_conversations.json"))
        csv_text = archive.read("assistant_conversations.csv").decode()
        everything = b"".join(archive.read(name) for name in archive.namelist())
    assert len(rows) == 1
    assert json.loads(rows[0]["transcript"]) == [{"role": "user", "text": "Export question ü 中文"}]
    assert "Export question" in csv_text
    assert handle.encode() not in everything and b"someone else" not in everything

    # Old conversations go at the support retention; recent ones stay.
    old = AssistantConversation(
        handle=assistant.new_handle(), created_at=utcnow() - timedelta(days=3000)
    )
    async with session_scope() as db:
        db.add(old)
    removed = await retention.purge_assistant_conversations(utcnow() - timedelta(days=2000))
    assert removed >= 1
    async with session_scope() as db:
        assert await db.get(AssistantConversation, old.id) is None
        assert await assistant.find(db, handle, account.id) is not None

    # A closed account's conversations go at its purge.
    async with session_scope() as db:
        user = await db.get(User, account.id)
        await retention.close_account(db, user, account.email)
    async with session_scope() as db:
        (await db.get(User, account.id)).purge_after = utcnow() - timedelta(seconds=1)
    assert await retention.anonymise_account(account.id)
    async with session_scope() as db:
        left = await db.execute(
            select(AssistantConversation).where(AssistantConversation.user_id == account.id)
        )
        assert left.first() is None


async def test_a_database_failure_logs_nothing_of_the_conversation(caplog):
    from sqlalchemy.exc import OperationalError

    from aiusage.services import assistant
    from aiusage.services.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        async with assistant.quiet_db():
            raise OperationalError("UPDATE ...", {"transcript": "private words"}, Exception("x"))
    assert refused.value.code == "unavailable"
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert "OperationalError" in caplog.text and "private words" not in caplog.text
