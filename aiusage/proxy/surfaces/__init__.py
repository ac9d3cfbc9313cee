"""The API surfaces the proxy serves: one small object per surface, one file each.

A surface says everything the request path needs to know about one API: whose key and base
URL it uses, where the body goes upstream, what bounds its output (for the hold), how its
usage is read, the error shape its callers read, and any rewrite of the request or the
answer. `proxy/handler.py` runs the same steps for all of them; a new API (Gemini's
`generateContent` is the likely next) is a new file here and a line in `proxy/app.py`."""

from __future__ import annotations

from typing import Any

from aiusage.proxy.errors import stream_error_event
from aiusage.proxy.relay import BodyRewriter, StreamFilter
from aiusage.proxy.upstream import credential_headers
from aiusage.proxy.usage_counts import Meter
from aiusage.proxy.validation import RequestShape
from aiusage.services.pricing import Price, PriceBook

__all__ = ["BodyRewriter", "StreamFilter", "Surface", "asks_for_stream_usage"]


def asks_for_stream_usage(payload: dict[str, Any]) -> bool:
    """A Chat Completions stream carries usage only when the client asks for it."""
    options = payload.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


class Surface:
    """One API as the client speaks it. Subclasses set the class attributes and override
    what differs; the defaults forward the body unchanged and relay the answer as it is."""

    provider: str  # whose key, base URL and price rows: "anthropic" | "openai"
    client_format: str  # the error shape the caller's SDK reads: "anthropic" | "openai"
    upstream_path: str  # where the body goes at the provider
    endpoint: str  # the path the caller used, as the usage row names it
    # The request goes to another provider than the client addressed: only the allow-list of
    # generic headers crosses (never an OpenAI organisation id to Anthropic).
    translates = False

    def shape(self, payload: dict[str, Any], default_tool_uses: int) -> RequestShape:
        """What bounds the hold: the model, the output maximum, choices, server-tool uses."""
        raise NotImplementedError

    def meter(self, request_bytes: int) -> Meter:
        raise NotImplementedError

    def prepare(
        self,
        payload: dict[str, Any],
        body: bytes,
        shape: RequestShape,
        price: Price,
        default_tool_uses: int,
    ) -> tuple[bytes, RequestShape]:
        """The body sent upstream and the shape that bounds the hold: the client's body byte
        for byte, unless the surface must change it (and then the upstream is asked for an
        unencoded answer, see `rewrites`)."""
        return body, shape

    def serving(self, model: str, prices: PriceBook) -> Surface:
        """The surface that serves this model: this one, unless the model lives elsewhere."""
        return self

    def rewrites(self, payload: dict[str, Any]) -> bool:
        """True when the answer's bytes are rewritten on the way (read unencoded)."""
        return False

    def stream_filter(self, meter: Meter, payload: dict[str, Any]) -> StreamFilter | None:
        """None: stream events pass through byte for byte and each is metered."""
        return None

    def body_rewriter(self, payload: dict[str, Any]) -> BodyRewriter | None:
        """None: a whole (non-stream) answer goes to the client as it came (after metering)."""
        return None

    def stream_error(self, message: str) -> bytes:
        """The event that tells the client the upstream broke off the stream."""
        return stream_error_event(self.client_format, message)

    def credential_headers(self, key: str) -> list[tuple[bytes, bytes]]:
        return credential_headers(self.provider, key)
