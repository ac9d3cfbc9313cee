"""Incremental server-sent-events splitting: bytes in, complete event blocks out."""

from __future__ import annotations


class SSESplitter:
    """Feeds arbitrary byte chunks; yields each complete event block (without its blank line).

    Providers end lines with \\n; \\r\\n is folded so either works."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._buffer + chunk
        if b"\r" in data:  # on the joined bytes: a \r\n may straddle two chunks
            data = data.replace(b"\r\n", b"\n")
        events = data.split(b"\n\n")
        self._buffer = events.pop()
        return [event for event in events if event]


def event_fields(block: bytes) -> tuple[bytes, bytes]:
    """(event name, data) of one event block; multi-line data is joined with \\n."""
    name = b""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[5:].lstrip(b" ") if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip()
    return name, b"\n".join(data)
