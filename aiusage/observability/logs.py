"""The server's log output: today's plain text by default, or with AIUSAGE_LOG_FORMAT=json one
JSON object per line (UTC time, level, logger, message, process id and the record's
structured extras) for the app's loggers (aiusage.*), the server's (granian's messages and
access log, uvicorn's) and Reflex's in the same worker.

No log call writes a header, a body, a key or a token (they log ids, counts and exception
class names). As a second line of defence every line, text or JSON, passes through `redact`,
which masks anything shaped like one of our keys, a provider's or Stripe's, or a bearer
token."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from aiusage.config import get_settings

# Key prefixes, longest first (the first alternative that matches wins), then a token's
# characters; `\b` keeps "task-1234567" whole. Bearer tokens whatever their shape.
SECRET = re.compile(
    r"\b(sk-aiu-|sk-ant-|sk-proj-|sk-|sk_live_|sk_test_|rk_live_|rk_test_|whsec_)"
    r"[A-Za-z0-9_\-]{6,}"
    r"|\b(Bearer\s+)[A-Za-z0-9._~+/=\-]+",
    re.IGNORECASE,
)
HANDLER_NAME = "aiusage"
# The server's loggers: they have handlers of their own and do not propagate to the root.
SERVER_LOGGERS = ("_granian", "granian.access", "uvicorn", "uvicorn.error", "uvicorn.access")
# What granian's access record carries that a line may keep: not the client's address (the
# app keeps IPs only as keyed hashes) nor the query string.
ACCESS_FIELDS = ("method", "path", "protocol", "status", "dt_ms")
# A LogRecord's own attributes; anything else on a record came as `extra=` and is kept.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    return SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "[redacted]", text)


class RedactingFormatter(logging.Formatter):
    """The text format, masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line, masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.name == "granian.access" and isinstance(record.args, dict):
            entry.update({name: record.args[name] for name in ACCESS_FIELDS if name in record.args})
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and not name.startswith("_"):
                entry.setdefault(name, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def json_server_config() -> dict[str, Any]:
    """granian's `log_dictconfig` for JSON lines from its own process (the supervisor), which
    never runs `configure_logging`. It replaces granian's top-level keys: both formatters."""
    formatter = {"()": f"{__name__}.JsonFormatter"}
    return {"formatters": {"generic": formatter, "access": dict(formatter)}}


def configure_logging(log_format: str | None = None) -> None:
    """Installs this process's log output; again, it replaces what it installed before.

    Text (the default) is what Python prints without any configuration — the message alone,
    warnings and worse, on stderr — masked. JSON goes to stdout (where the server logs), with
    the app's loggers at INFO, and takes over the server's and Reflex's handlers."""
    log_format = log_format or get_settings().log_format
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    if log_format == "json":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logging.getLogger("aiusage").setLevel(logging.INFO)
        logging.captureWarnings(True)  # a library's warning as a line like the others
        for name in (*SERVER_LOGGERS, "reflex"):
            logger = logging.getLogger(name)
            if logger.handlers:  # a server that is not running here keeps no handlers
                logger.handlers = [handler]
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(RedactingFormatter("%(message)s"))
        handler.setLevel(logging.WARNING)  # as logging.lastResort, which it replaces
    handler.set_name(HANDLER_NAME)
    root.addHandler(handler)
