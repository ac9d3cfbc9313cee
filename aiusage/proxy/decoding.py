"""Incremental decoders for the content encodings upstreams use, so the proxy can read usage
from the very bytes it passes on compressed."""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli
import zstandard


class Decoder(Protocol):
    def decompress(self, data: bytes, /) -> bytes: ...


class _Identity:
    def decompress(self, data: bytes) -> bytes:
        return data


class _Brotli:
    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        out: bytes = self._decoder.process(data)  # brotli has no type information
        return out


def decoder_for(content_encoding: str) -> Decoder:
    """An object with .decompress(bytes) -> bytes for this Content-Encoding value."""
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    if not encodings or encodings == ["identity"]:
        return _Identity()
    if len(encodings) != 1:
        raise ValueError("stacked content encodings are not supported")
    encoding = encodings[0]
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return zlib.decompressobj()
    if encoding == "br":
        return _Brotli()
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj()
    raise ValueError(f"unsupported content encoding {encoding!r}")


SUPPORTED_ENCODINGS = ("gzip", "deflate", "br", "zstd", "identity")
