""" "Connect your tools": base URLs from the site's public URL and copy-paste snippets.

Only a key's visible prefix is known after creation, so every snippet reads the key from
the AIUSAGE_API_KEY environment variable (nothing copied holds a key that cannot work); the
chosen key's prefix only says which key to put there.

While the account has no usage yet, the page waits for its first request: a background
event asks the database every POLL_SECONDS (model and time of the oldest usage row, never
content) and stops when it arrives, after WATCH_SECONDS, when the tab has left the page, or
when the state was reset or the page loaded again (each visit's watch has its own id)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime

import reflex as rx

from aiusage import routes
from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.models.base import id_of
from aiusage.services import keys, onboarding, usage
from aiusage.state.dashboard import local_time
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import TZ_SCRIPT
from aiusage.state.user import signed_in_user

DEFAULT_PLACEHOLDER = "sk-aiu-YOUR-KEY"
ROUTE = routes.CONNECT
POLL_SECONDS = 2.0
WATCH_SECONDS = 15 * 60  # then the page says it stopped waiting (a reload waits again)


def _site() -> str:
    return get_settings().site_url.rstrip("/")


def openai_snippet(site: str, model: str) -> str:
    """The OpenAI SDK (Python) through aiusage; a Claude model is translated on the way."""
    return (
        "import os\n\nfrom openai import OpenAI\n\n"
        "client = OpenAI(\n"
        f'    base_url="{site}/api/v1",\n'
        '    api_key=os.environ["AIUSAGE_API_KEY"],\n'
        ")\n"
        "reply = client.chat.completions.create(\n"
        f'    model="{model}",\n'
        '    messages=[{"role": "user", "content": "Hello"}],\n'
        ")\n"
        "print(reply.choices[0].message.content)"
    )


def codex_config(site: str) -> str:
    """~/.codex/config.toml for Codex through aiusage (the key comes from the environment)."""
    return (
        'model = "gpt-5"\n'
        'model_provider = "aiusage"\n\n'
        "[model_providers.aiusage]\n"
        'name = "aiusage"\n'
        f'base_url = "{site}/api/v1"\n'
        'env_key = "AIUSAGE_API_KEY"\n'
        'wire_api = "responses"'
    )


class ConnectState(rx.State):
    key_options: list[dict[str, str]] = []
    chosen: str = ""  # a key id of the user's, as text
    # The first request: "" (the account has usage already), waiting, received or stopped.
    first_status: str = ""
    first_model: str = ""
    first_time: str = ""
    _watch: str = ""  # the id of the watch that may still write here ("" none)
    _first_at: datetime | None = None  # kept to show the time again in another language
    _tz: int = 0

    @rx.event
    async def on_load(self):
        self._watch = ""  # an earlier visit's watch stops
        user = await signed_in_user(self)
        if user is None:
            self.key_options, self.chosen, self.first_status = [], "", ""
            return None
        async with session_scope() as db:
            rows = await keys.list_proxy_keys(db, id_of(user))
            first = await onboarding.first_request(db, id_of(user))
        self.key_options = [
            {"value": str(k.id), "label": f"{k.name} ({k.prefix}…)", "prefix": k.prefix}
            for k in rows
            if k.revoked_at is None
        ]
        if self.chosen not in {o["value"] for o in self.key_options}:
            self.chosen = self.key_options[0]["value"] if self.key_options else ""
        if first is not None:
            self.first_status = ""
            return None
        self.first_status = "waiting"
        self._watch = secrets.token_hex(8)
        # The time is shown in the browser's offset: ask for it, then start watching.
        return rx.call_script(TZ_SCRIPT, callback=ConnectState.watch_first_request)

    def _watching(self, watch: str) -> bool:
        """This watch is still the page's own, and the tab still shows the page."""
        return bool(watch) and self._watch == watch and self.router.url.path.rstrip("/") == ROUTE

    @rx.event(background=True)
    async def watch_first_request(self, offset: int | str):
        async with self:
            watch = self._watch
            self._tz = usage.clamp_offset(offset)
            user = await signed_in_user(self)
        if user is None or not watch:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WATCH_SECONDS
        while True:
            async with session_scope() as db:
                first = await onboarding.first_request(db, id_of(user))
            async with self:
                if not self._watching(watch):
                    return
                if first is not None:
                    self._watch = ""
                    self._first_at = first.at
                    self.first_model = first.model
                    self.first_time = local_time(first.at, self._tz, await page_lang(self))
                    self.first_status = "received"
                    return
                if loop.time() >= deadline:
                    self._watch = ""
                    self.first_status = "stopped"
                    return
            await asyncio.sleep(POLL_SECONDS)

    @rx.event
    async def relocalize(self):
        if self.first_status == "received" and self._first_at is not None:
            self.first_time = local_time(self._first_at, self._tz, await page_lang(self))

    @rx.event
    def choose(self, value: str):
        if value in {o["value"] for o in self.key_options}:
            self.chosen = value

    @rx.var
    def anthropic_base(self) -> str:
        return f"{_site()}/api"

    @rx.var
    def openai_base(self) -> str:
        return f"{_site()}/api/v1"

    @rx.var
    def placeholder(self) -> str:
        for option in self.key_options:
            if option["value"] == self.chosen:
                return f"{option['prefix']}…"
        return DEFAULT_PLACEHOLDER

    @rx.var
    def key_export(self) -> str:
        """Every snippet reads the key from AIUSAGE_API_KEY: nothing copied holds a key
        that cannot work (only the key's beginning is known after its creation)."""
        return 'export AIUSAGE_API_KEY="paste-your-full-aiusage-key-here"'

    @rx.var
    def claude_code(self) -> str:
        return (
            f'export ANTHROPIC_BASE_URL="{_site()}/api"\n'
            'export ANTHROPIC_AUTH_TOKEN="$AIUSAGE_API_KEY"\n'
            "claude"
        )

    @rx.var
    def anthropic_python(self) -> str:
        return (
            "import os\n\nimport anthropic\n\n"
            "client = anthropic.Anthropic(\n"
            f'    base_url="{_site()}/api",\n'
            '    api_key=os.environ["AIUSAGE_API_KEY"],\n'
            ")\n"
            "message = client.messages.create(\n"
            '    model="claude-sonnet-4-5",\n'
            "    max_tokens=256,\n"
            '    messages=[{"role": "user", "content": "Hello"}],\n'
            ")\n"
            "print(message.content[0].text)"
        )

    @rx.var
    def anthropic_typescript(self) -> str:
        return (
            'import Anthropic from "@anthropic-ai/sdk";\n\n'
            "const client = new Anthropic({\n"
            f'  baseURL: "{_site()}/api",\n'
            "  apiKey: process.env.AIUSAGE_API_KEY,\n"
            "});\n"
            "const message = await client.messages.create({\n"
            '  model: "claude-sonnet-4-5",\n'
            "  max_tokens: 256,\n"
            '  messages: [{ role: "user", content: "Hello" }],\n'
            "});\n"
            "console.log(message.content);"
        )

    @rx.var
    def openai_python(self) -> str:
        return openai_snippet(_site(), "gpt-4o-mini")

    @rx.var
    def codex(self) -> str:
        return codex_config(_site())

    @rx.var
    def cursor(self) -> str:
        return (
            f"Override OpenAI Base URL: {_site()}/api/v1\n"
            "OpenAI API Key: your aiusage key (the value of AIUSAGE_API_KEY)\n"
            "Models: claude-sonnet-4-5, gpt-5"
        )

    @rx.var
    def openai_claude(self) -> str:
        return openai_snippet(_site(), "claude-sonnet-4-5")

    @rx.var
    def curl(self) -> str:
        return (
            f"curl {_site()}/api/v1/messages \\\n"
            '  -H "x-api-key: $AIUSAGE_API_KEY" \\\n'
            '  -H "anthropic-version: 2023-06-01" \\\n'
            '  -H "content-type: application/json" \\\n'
            '  -d \'{"model": "claude-sonnet-4-5", "max_tokens": 256,'
            ' "messages": [{"role": "user", "content": "Hello"}]}\''
        )


relocalize_on(ROUTE, ConnectState.relocalize)
