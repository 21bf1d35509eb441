"""The worker protocol's framing, shared by the dock side and the worker.

This module imports only the standard library and numpy: the worker loads it by file path
inside the learnware's own environment, where learnware-dock is not installed.

A message is a 4-byte big-endian header length, a UTF-8 JSON header, then the arrays the
header lists in ``"arrays"`` (their byte lengths), each in ``.npy`` format written and
read with ``allow_pickle=False``. Nothing is ever pickled. Documents (a 1-D array of
Python strings, what text learnwares take) travel as two arrays, their UTF-8 bytes
(uint8) and the end offset of each (int64), listed by position in the header's ``"texts"``;
the receiver gets them back as a 1-D object array of ``str``.

Everything a peer sends is bounded before it is allocated: the header (``MAX_HEADER``
bytes, JSON nesting depth ``MAX_DEPTH``, no ``NaN``/``Infinity``, an object), each array's
size (a non-negative integer) and the message's total (``max_bytes``, by default
``MAX_MESSAGE`` = 8 GiB or ``$DOCK_MAX_MESSAGE_BYTES``). Arrays are read into one buffer
of their announced size, never assembled from copies.
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
MAX_DEPTH = 32
MAX_ARRAYS = 64
MAX_MESSAGE = int(os.environ.get("DOCK_MAX_MESSAGE_BYTES", str(8 << 30)))


class WireError(Exception):
    """A malformed or truncated message, or a closed stream."""


class StreamClosed(WireError):
    """The peer closed the stream (before or in the middle of a message)."""


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


def read_exactly(stream: Stream, n: int, deadline: float) -> bytes | bytearray:
    if n <= 1 << 16:
        first = stream.read(n, deadline)
        if len(first) == n:
            return first
    else:
        first = b""
    buffer = bytearray(n)
    buffer[: len(first)] = first
    size = len(first)
    while size < n:
        chunk = stream.read(min(n - size, 1 << 20), deadline)
        if not chunk:
            raise StreamClosed("the stream closed in the middle of a message")
        buffer[size : size + len(chunk)] = chunk
        size += len(chunk)
    return buffer


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a message header")


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (cheap: before json.loads)."""
    depth = deepest = 0
    quoted = escaped = False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_header(data: bytes | bytearray) -> dict[str, Any]:
    """A message header: a JSON object, bounded in depth, without NaN or Infinity."""
    try:
        text = bytes(data).decode()
        if _depth(text) > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        header = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed message header: {exc}") from None
    if not isinstance(header, dict):
        raise WireError(f"malformed message header: a {type(header).__name__}, not an object")
    return header


def array_sizes(header: dict[str, Any], max_bytes: int) -> list[int]:
    """The byte sizes of the arrays a header announces, checked against ``max_bytes``."""
    sizes = header.pop("arrays", [])
    if not isinstance(sizes, list) or len(sizes) > MAX_ARRAYS:
        raise WireError(f"malformed message header: 'arrays' must list at most {MAX_ARRAYS} sizes")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in sizes):
        raise WireError("malformed message header: array sizes must be non-negative integers")
    if sum(sizes) > max_bytes:
        raise WireError(
            f"a message of {sum(sizes)} bytes of arrays exceeds the limit of {max_bytes} bytes"
        )
    return sizes


def is_texts(array: np.ndarray) -> bool:
    """A 1-D array of strings (object dtype holding only ``str``, or a unicode dtype)."""
    if array.ndim != 1:
        return False
    return array.dtype.kind == "U" or (
        array.dtype.hasobject and all(isinstance(item, str) for item in array)
    )


def encode(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    if array.dtype.hasobject:
        raise WireError(
            "arrays of Python objects cannot be sent (no pickle; texts can: a 1-D array of str)"
        )
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _text_frames(array: np.ndarray) -> tuple[bytes, bytes]:
    encoded = [str(item).encode("utf-8") for item in array]
    ends = np.cumsum([len(item) for item in encoded], dtype=np.int64)
    return encode(np.frombuffer(b"".join(encoded), dtype=np.uint8)), encode(ends)


def _texts(data: np.ndarray, ends: np.ndarray) -> np.ndarray:
    if data.dtype != np.uint8 or data.ndim != 1 or ends.dtype != np.int64 or ends.ndim != 1:
        raise WireError("malformed texts: expected uint8 bytes and int64 end offsets")
    if len(ends) and (ends[-1] != len(data) or (np.diff(ends, prepend=0) < 0).any()):
        raise WireError("malformed texts: end offsets do not match the bytes")
    raw = data.tobytes()
    starts = np.concatenate([[0], ends[:-1]]).astype(int)
    out = np.empty(len(ends), dtype=object)
    try:
        for i, (start, end) in enumerate(zip(starts, ends.astype(int), strict=True)):
            out[i] = raw[start:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"malformed texts: {exc}") from exc
    return out


def send(stream: Stream, header: dict[str, Any], arrays: tuple[np.ndarray, ...] = ()) -> None:
    payloads: list[bytes] = []
    texts = []
    for position, array in enumerate(np.asarray(a) for a in arrays):
        if is_texts(array):
            texts.append(position)
            payloads.extend(_text_frames(array))
        else:
            payloads.append(encode(array))
    extra = {"texts": texts} if texts else {}
    body = json.dumps({**header, **extra, "arrays": [len(p) for p in payloads]}).encode()
    stream.write(b"".join([struct.pack(">I", len(body)), body, *payloads]))


def receive(
    stream: Stream, deadline: float = math.inf, max_bytes: int = MAX_MESSAGE
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """One message; raises WireError on a closed stream, malformed or oversized data."""
    first = stream.read(4, deadline)
    if not first:
        raise StreamClosed("the stream closed")
    (length,) = struct.unpack(">I", first + read_exactly(stream, 4 - len(first), deadline))
    if length > MAX_HEADER:
        raise WireError(f"message header of {length} bytes is too large")
    header = parse_header(read_exactly(stream, length, deadline))
    sizes = array_sizes(header, max_bytes)
    texts = header.pop("texts", [])
    if not isinstance(texts, list) or not all(isinstance(t, int) for t in texts):
        raise WireError("malformed message header: 'texts' must list array positions")
    frames = []
    for size in sizes:
        data = read_exactly(stream, size, deadline)
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, EOFError, OSError) as exc:
            raise WireError(f"malformed array: {exc}") from exc
        if not isinstance(array, np.ndarray):
            raise WireError("malformed array: not a single .npy array")
        frames.append(array)
    arrays: list[np.ndarray] = []
    while frames:
        if len(arrays) in texts:
            if len(frames) < 2:
                raise WireError("malformed message: texts need two arrays")
            arrays.append(_texts(frames.pop(0), frames.pop(0)))
        else:
            arrays.append(frames.pop(0))
    return header, arrays
