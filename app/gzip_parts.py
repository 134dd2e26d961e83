"""gzip for pages made mostly of text that never changes: kept parts compressed once.

A lesson page is its lesson's HTML (the same for everyone) with a little around and
between it for each learner. A deflate stream is a sequence of blocks, and a block that
ends on a sync flush leaves the stream byte-aligned and refers to nothing before it, so
streams compressed separately can be laid end to end. Each kept part is compressed once,
at level 9; only what lies between the parts is compressed per response, at
``COMPRESS_LEVEL``. The gzip trailer's CRC-32 and length cover the whole page.

A view lists the parts its page contains with ``send_kept_parts``; ``gzip_page``
finds them in the rendered page, in order, and falls back to the plain stream for any
part it does not find.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence

from flask import g

from app.fragments import kept

HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, no mtime
KEPT_LEVEL = 9
FINAL = zlib.compressobj(1, zlib.DEFLATED, -15).flush()  # an empty final block


def send_kept_parts(parts: Iterable[str]) -> None:
    """This response's page contains these texts, in this order (each once)."""
    g.gzip_kept_parts = tuple(parts)


def kept_parts() -> Sequence[str]:
    return g.get("gzip_kept_parts", ())


def gzip_page(body: bytes, parts: Sequence[str], level: int) -> bytes:
    """``body`` gzipped, with the kept parts' deflate blocks reused where they occur."""
    blocks = [HEADER]
    position = 0
    for text in parts:
        raw, deflated = _kept_part(text)
        found = body.find(raw, position)
        if found < 0:
            continue
        blocks.append(_deflate(body[position:found], level))
        blocks.append(deflated)
        position = found + len(raw)
    blocks.append(_deflate(body[position:], level))
    blocks.append(FINAL)
    blocks.append(trailer(zlib.crc32(body), len(body)))
    return b"".join(blocks)


def stored_block(data: bytes) -> bytes:
    """``data`` as uncompressed deflate blocks: for a few bytes that differ per response."""
    blocks = []
    for start in range(0, len(data), 0xFFFF):
        chunk = data[start : start + 0xFFFF]
        blocks.append(struct.pack("<BHH", 0, len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(blocks)


def trailer(crc: int, size: int) -> bytes:
    """The gzip trailer: CRC-32 and length (modulo 2**32) of the uncompressed page."""
    return struct.pack("<II", crc, size & 0xFFFFFFFF)


def _kept_part(text: str) -> tuple[bytes, bytes]:
    """The text's UTF-8 and its deflate blocks, made once (``app.fragments``)."""

    def make() -> tuple[bytes, bytes]:
        raw = text.encode()
        return raw, _deflate(raw, KEPT_LEVEL)

    return kept(("gzip-part", text), text, make)


def _deflate(data: bytes, level: int) -> bytes:
    """Raw deflate blocks for ``data``, ending byte-aligned (a sync flush), never final."""
    if not data:
        return b""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
