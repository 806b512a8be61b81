"""A part of a file served as a file of its own, with single HTTP range requests (for seeking).

Used for a member inside a tar (the member's bytes are `[offset, offset + size)` of the
tar) and for a whole file on object storage. One range per request (what video players
send); several ranges get the whole part.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import anyio
from starlette.responses import Response, StreamingResponse

CHUNK = 1 << 16
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

Reader = Callable[[int, int], AsyncIterator[bytes] | Iterator[bytes]]
"""`read(start, length)`: the bytes `[start, start + length)` of a file, in chunks."""


def wanted_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`(first, last)` byte of a single `Range: bytes=...` header; None for the whole part.

    Raises ValueError when the range starts past the end (the answer is 416).
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if first_text == "":  # the last N bytes
        return max(0, size - int(last_text)), size - 1
    first = int(first_text)
    last = min(size - 1, int(last_text)) if last_text else size - 1
    if first >= size or last < first:
        msg = f"range {header} outside 0-{size - 1}"
        raise ValueError(msg)
    return first, last


async def _read(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        await file.seek(start)
        while length > 0:
            chunk = await file.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def local_reader(path: Path) -> Reader:
    """The reader of the local file `path`."""
    return functools.partial(_read, path)


def part_response(
    read: Reader, offset: int, size: int, media_type: str, range_header: str | None
) -> Response:
    """Bytes `[offset, offset + size)` that `read` reads, as a response.

    206 for a range, 416 for one past the end.
    """
    headers = {"accept-ranges": "bytes"}
    try:
        wanted = wanted_range(range_header, size)
    except ValueError:
        headers["content-range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    if wanted is None:
        headers["content-length"] = str(size)
        return StreamingResponse(read(offset, size), 200, headers, media_type)
    first, last = wanted
    headers["content-range"] = f"bytes {first}-{last}/{size}"
    headers["content-length"] = str(last - first + 1)
    body = read(offset + first, last - first + 1)
    return StreamingResponse(body, 206, headers, media_type)
