"""Bounded reads of everything a worker sends (issue 12): frames, headers, stderr."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import threading
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from learnware_dock.errors import ContainerError
from learnware_dock.protocol import wire
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.tail import PipeTail

Start = Callable[..., ProcessModel]


@pytest.fixture
def pipe() -> Iterator[tuple[wire.FileStream, int]]:
    read_fd, write_fd = os.pipe()
    yield wire.FileStream(read_fd, -1), write_fd
    for fd in (read_fd, write_fd):
        with contextlib.suppress(OSError):
            os.close(fd)


def _frame(header: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", len(header)) + header + body


GARBAGE = {
    "deep-json": (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32"),
    "infinity": (b'{"ok": true, "x": Infinity}', "Infinity is not allowed"),
    "nan": (b'{"ok": NaN}', "NaN is not allowed"),
    "not-an-object": (b"[1, 2]", "a list, not an object"),
    "negative-size": (b'{"ok": true, "arrays": [-5]}', "non-negative integers"),
    "float-size": (b'{"ok": true, "arrays": [1.5]}', "non-negative integers"),
    "huge-size": (b'{"ok": true, "arrays": [3221225472]}', "exceeds the limit of 1073741824"),
    "many-arrays": (b'{"ok": true, "arrays": [' + b"0," * 99 + b"0]}", "at most 64 sizes"),
    "bad-utf8": (b'{"ok": "\xff"}', "malformed message header"),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_garbage_headers_are_refused_before_allocating(
    pipe: tuple[wire.FileStream, int], case: str
) -> None:
    stream, write_fd = pipe
    header, message = GARBAGE[case]
    writer = threading.Thread(target=os.write, args=(write_fd, _frame(header)[: 1 << 16]))
    if len(header) > 60_000:  # larger than a pipe buffer: write from a thread
        writer = threading.Thread(target=lambda: _write_all(write_fd, _frame(header)))
    writer.start()
    tracemalloc.start()
    try:
        with pytest.raises(wire.WireError, match=message):
            wire.receive(stream, max_bytes=1 << 30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        writer.join()
    assert peak < 8 << 20  # never the announced gigabytes


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def test_a_truncated_array_is_a_closed_stream(pipe: tuple[wire.FileStream, int]) -> None:
    stream, write_fd = pipe
    os.write(write_fd, _frame(json.dumps({"ok": True, "arrays": [1000]}).encode(), b"x" * 10))
    os.close(write_fd)
    with pytest.raises(wire.StreamClosed):
        wire.receive(stream)


def test_a_valid_message_round_trips(pipe: tuple[wire.FileStream, int]) -> None:
    stream, write_fd = pipe
    out = wire.FileStream(-1, write_fd)
    array = np.arange(12.0).reshape(3, 4)
    wire.send(out, {"ok": True, "note": "fine"}, (array,))
    header, arrays = wire.receive(stream)
    assert header == {"ok": True, "note": "fine"}
    np.testing.assert_array_equal(arrays[0], array)


def test_documents_round_trip_as_utf8_not_as_wide_unicode(
    pipe: tuple[wire.FileStream, int],
) -> None:
    stream, write_fd = pipe
    out = wire.FileStream(-1, write_fd)
    docs = np.empty(4, dtype=object)
    docs[:] = ["Grüße aus Köln", "", "x" * 50_000, "naïve \u2603 post"]
    numbers = np.arange(3.0)
    writer = threading.Thread(target=wire.send, args=(out, {"op": "predict"}, (numbers, docs)))
    writer.start()
    header, arrays = wire.receive(stream)
    writer.join()
    assert header == {"op": "predict"}
    np.testing.assert_array_equal(arrays[0], numbers)
    assert arrays[1].dtype == object and list(arrays[1]) == list(docs)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ((np.arange(3, dtype=np.uint8), np.array([1, 5], dtype=np.int64)), "do not match"),
        ((np.arange(3, dtype=np.uint8), np.array([2, 1, 3], dtype=np.int64)), "do not match"),
        ((np.array([0xFF], dtype=np.uint8), np.array([1], dtype=np.int64)), "utf-8"),
        ((np.arange(3.0), np.array([3], dtype=np.int64)), "expected uint8"),
    ],
    ids=["short-bytes", "decreasing", "bad-utf8", "wrong-dtype"],
)
def test_malformed_texts_are_refused(
    pipe: tuple[wire.FileStream, int], frames: tuple[np.ndarray, np.ndarray], message: str
) -> None:
    stream, write_fd = pipe
    payloads = [wire.encode(frame) for frame in frames]
    header = json.dumps({"ok": True, "texts": [0], "arrays": [len(p) for p in payloads]})
    os.write(write_fd, _frame(header.encode(), b"".join(payloads)))
    with pytest.raises(wire.WireError, match=message):
        wire.receive(stream)


def test_a_sandboxed_text_model_takes_documents(start: Start) -> None:
    source = (
        "import numpy as np\n\nclass Model:\n    def predict(self, X):\n"
        "        return np.array([len(doc.split()) for doc in X])\n"
    )
    model = start(source)
    np.testing.assert_array_equal(model.predict(["two words", "über drei wörter", ""]), [2, 3, 0])


def test_the_stderr_tail_is_bounded_however_much_is_written() -> None:
    read_fd, write_fd = os.pipe()
    tail = PipeTail(read_fd, size=64 << 10)
    chunk = b"x" * (1 << 20)
    for _ in range(64):
        os.write(write_fd, chunk)
    os.write(write_fd, b"the last words\n")
    os.close(write_fd)
    tail.join(10)
    assert tail.total == 64 * len(chunk) + 15
    assert len(tail._data) <= 2 * (64 << 10)
    text = tail.text(100)
    assert text.endswith("the last words\n")
    assert text.startswith(f"[{tail.total - 100} earlier bytes not shown]")


FRAME_WRITER = """
import os, stat, struct
import numpy as np

def _protocol_out():
    # the worker's private copy of stdout: a pipe opened for writing, other than 1 and 2
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
            flags = int(open(f"/proc/self/fdinfo/{fd}").read().split("flags:")[1].split()[0], 8)
            if flags & os.O_WRONLY:
                return fd

class Model:
    def predict(self, X):
        header = HEADER
        os.write(_protocol_out(), struct.pack(">I", len(header)) + header)
        import time; time.sleep(30)
"""


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested deeper"),
        (b'{"ok": true, "arrays": [Infinity]}', "Infinity is not allowed"),
        (b'{"ok": true, "arrays": [-1]}', "non-negative integers"),
        (b'{"ok": true, "arrays": [3221225472]}', "exceeds the limit"),
        (b'{"ok": true, "arrays": []}', "with 0 arrays, not one"),
    ],
    ids=["deep-json", "infinity", "negative-size", "huge-size", "no-array"],
)
def test_a_worker_sending_garbage_gives_a_container_error(
    start: Start, header: bytes, message: str
) -> None:
    model = start(FRAME_WRITER.replace("HEADER", repr(header)), timeout=20)
    with pytest.raises(ContainerError, match=message):
        model.predict(np.zeros((2, 4)))
    assert not model._alive()  # stopped, restarted on the next call


def test_a_flood_on_stderr_keeps_a_short_tail(start: Start) -> None:
    source = (
        "import sys\nfor _ in range(200):\n    sys.stderr.write('y' * (1 << 20))\n"
        "sys.stderr.write('\\nfinal line')\nraise RuntimeError('after the flood')\n"
    )
    with pytest.raises(ContainerError, match="after the flood") as error:
        start(source)
    text = str(error.value)
    assert len(text) < 10_000
    assert "earlier bytes not shown" in text and text.endswith("final line")
