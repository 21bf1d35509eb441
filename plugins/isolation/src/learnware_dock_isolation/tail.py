"""A bounded tail of a pipe: what a worker writes to stderr, never more than ``size`` bytes
kept in memory and nothing on disk, however much it writes."""

from __future__ import annotations

import os
import threading


class PipeTail:
    """Drains ``fd`` on a thread (so the writer never blocks) keeping the last bytes."""

    def __init__(self, fd: int, size: int = 64 << 10) -> None:
        self.fd, self.size = fd, size
        self.total = 0
        self._data = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="dock-worker-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self.fd, 1 << 16):
                with self._lock:
                    self.total += len(chunk)
                    self._data += chunk
                    if len(self._data) > 2 * self.size:
                        del self._data[: len(self._data) - self.size]
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self, limit: int = 3000) -> str:
        """The last ``limit`` bytes written so far, decoded; says how much was dropped."""
        with self._lock:
            data = bytes(self._data[-limit:])
            dropped = self.total - len(data)
        text = data.decode(errors="replace")
        return f"[{dropped} earlier bytes not shown]\n{text}" if dropped > 0 else text

    def join(self, timeout: float = 1.0) -> None:
        """Wait (briefly) for the writer's last bytes after it ended."""
        self._thread.join(timeout)
