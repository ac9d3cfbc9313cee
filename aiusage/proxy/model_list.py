"""`GET /v1/models` as a key sees it: only the models its allow-list lets it use, and, in
OpenAI's format, the Claude models its owner can reach (they are served translated)."""

from __future__ import annotations

import json
from typing import Any

from aiusage.proxy.relay import BodyRewriter
from aiusage.services import key_rules


def _entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "anthropic"}


def claude_model_list(names: list[str]) -> bytes:
    """An OpenAI-format model list of these Claude models (when OpenAI is out of reach)."""
    return json.dumps({"object": "list", "data": [_entry(name) for name in names]}).encode()


def listed_models(claude: list[str], patterns: tuple[str, ...]) -> BodyRewriter:
    """Adds the Claude models to the upstream's list and keeps only what `patterns` allow
    (an error, or a body that is not a list, passes as it came)."""

    def rewrite(status: int, body: bytes) -> tuple[int, bytes]:
        try:
            listing = json.loads(body)
        except ValueError:
            return status, body
        if (
            status != 200
            or not isinstance(listing, dict)
            or not isinstance(listing.get("data"), list)
        ):
            return status, body
        items = [item for item in listing["data"] if isinstance(item, dict)]
        known = {item.get("id") for item in items}
        items += [_entry(name) for name in claude if name not in known]
        listing["data"] = [
            item
            for item in items
            if isinstance(item.get("id"), str) and key_rules.model_allowed(patterns, item["id"])
        ]
        for end, index in (("first_id", 0), ("last_id", -1)):  # Anthropic's page bounds
            if end in listing:
                listing[end] = listing["data"][index]["id"] if listing["data"] else None
        return status, json.dumps(listing).encode()

    return rewrite
