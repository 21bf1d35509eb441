"""The worker protocol over a Docker attach socket.

Without a TTY, Docker multiplexes the container's stdout and stderr on the attach socket:
each frame is an 8-byte header (stream type: 1 stdout, 2 stderr; then a big-endian
length) and its payload. :class:`AttachStream` reads stdout frames for the protocol and
keeps the tail of stderr for error messages; writes go to the container's stdin.
"""

from __future__ import annotations

import contextlib
import select
import struct
import time
from typing import Any

STDERR_TAIL = 4000


class AttachStream:
    """A :class:`learnware_dock.protocol.wire.Stream` over an attach socket."""

    def __init__(self, sock: Any) -> None:
        self.raw = getattr(sock, "_sock", sock)  # docker returns a SocketIO around it
        self.handle = sock
        self.pending = b""
        self.stderr = b""
        self.closed = False

    def _recv(self, n: int, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining != float("inf"):
            ready, _, _ = select.select([self.raw], [], [], max(0.0, remaining))
            if not ready:
                raise TimeoutError
        data: bytes = self.raw.recv(n)
        if not data:
            self.closed = True
        return data

    def _exactly(self, n: int, deadline: float) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._recv(n - len(data), deadline)
            if not chunk:
                return b""
            data += chunk
        return data

    def read(self, n: int, deadline: float) -> bytes:
        while not self.pending:
            header = self._exactly(8, deadline)
            if not header:
                return b""
            stream, size = struct.unpack(">BxxxL", header)
            payload = self._exactly(size, deadline) if size else b""
            if size and not payload:
                return b""
            if stream == 2:
                self.stderr = (self.stderr + payload)[-STDERR_TAIL:]
            elif stream == 1:
                self.pending = payload
        data, self.pending = self.pending[:n], self.pending[n:]
        return data

    def write(self, data: bytes) -> None:
        self.raw.sendall(data)

    def close(self) -> None:
        self.closed = True
        for handle in (self.handle, self.raw):
            with contextlib.suppress(OSError):
                handle.close()
