"""The worker protocol's framing, shared by the dock side and the worker.

This module imports only the standard library and numpy: the worker loads it by file path
inside the learnware's own environment, where learnware-dock is not installed.

A message is a 4-byte big-endian header length, a UTF-8 JSON header, then the arrays the
header lists in ``"arrays"`` (their byte lengths), each in ``.npy`` format written and
read with ``allow_pickle=False``. Nothing is ever pickled.
"""

from __future__ import annotations

import io
import json
import math
import os
import select
import struct
import time
from typing import Any, Protocol

import numpy as np

MAX_HEADER = 1 << 20


class WireError(Exception):
    """A malformed or truncated message, or a closed stream."""


class Stream(Protocol):
    def read(self, n: int, deadline: float) -> bytes:
        """Up to ``n`` bytes (``b""`` at end of stream); TimeoutError after ``deadline``."""

    def write(self, data: bytes) -> None: ...


class FileStream:
    """A stream over two file descriptors (pipes), with deadlines via ``select``."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd

    def read(self, n: int, deadline: float) -> bytes:
        if deadline != math.inf:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.read_fd], [], [], max(0.0, remaining))
            if not ready:
                raise TimeoutError
        return os.read(self.read_fd, n)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view) :]


def read_exactly(stream: Stream, n: int, deadline: float) -> bytes:
    chunks, size = [], 0
    while size < n:
        chunk = stream.read(min(n - size, 1 << 20), deadline)
        if not chunk:
            raise WireError("the stream closed in the middle of a message")
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def encode(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise WireError("arrays of Python objects cannot be sent (no pickle)")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def send(stream: Stream, header: dict[str, Any], arrays: tuple[np.ndarray, ...] = ()) -> None:
    payloads = [encode(a) for a in arrays]
    body = json.dumps({**header, "arrays": [len(p) for p in payloads]}).encode()
    stream.write(b"".join([struct.pack(">I", len(body)), body, *payloads]))


def receive(
    stream: Stream, deadline: float = math.inf
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """One message; raises WireError on a closed stream or malformed data."""
    first = stream.read(4, deadline)
    if not first:
        raise WireError("the stream closed")
    (length,) = struct.unpack(">I", first + read_exactly(stream, 4 - len(first), deadline))
    if length > MAX_HEADER:
        raise WireError(f"message header of {length} bytes is too large")
    try:
        header = json.loads(read_exactly(stream, length, deadline))
        sizes = [int(s) for s in header.pop("arrays", [])]
    except (ValueError, TypeError, AttributeError) as exc:
        raise WireError(f"malformed message header: {exc}") from exc
    arrays = []
    for size in sizes:
        data = read_exactly(stream, size, deadline)
        try:
            arrays.append(np.load(io.BytesIO(data), allow_pickle=False))
        except ValueError as exc:
            raise WireError(f"malformed array: {exc}") from exc
    return header, arrays
