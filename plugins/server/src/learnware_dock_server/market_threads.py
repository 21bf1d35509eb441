"""Where the market is touched: one reader thread (gets, lists, searches), one writer
thread (checks and stores uploads, updates, deletes) and one that reserves the ids of new
uploads, each with its own :class:`Market`.

Each thread owns its market's connections, so the SQLite store and the statistical
indexes are only ever used from the thread that opened them. The writer runs checks
outside any request; an upload waits on disk until its check is done, so a server killed
mid-check picks it up again on the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from learnware_dock.domain import converter
from learnware_dock.errors import CheckError, DockError
from learnware_dock.market import Market
from learnware_dock_server.settings import ServerSettings
from learnware_dock_server.state import DONE, FAILED, INVALID, PENDING, ServerState

log = logging.getLogger(__name__)
T = TypeVar("T")


class MarketThread:
    """A single thread that owns one :class:`Market` and runs calls on it in order."""

    def __init__(self, settings: ServerSettings, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"dock-{name}")
        self.market: Market = self._pool.submit(Market, settings.market).result()

    def submit(self, fn: Callable[[Market], T]) -> Future[T]:
        return self._pool.submit(fn, self.market)

    async def run(self, fn: Callable[[Market], T]) -> T:
        """Run ``fn(market)`` on the thread and await it from the event loop."""
        return await asyncio.wrap_future(self.submit(fn))

    def close(self) -> None:
        self._pool.submit(lambda: self.market.close()).result()
        self._pool.shutdown(wait=True)


class MarketThreads:
    """The reader and writer threads (each owning one Market) plus the server's state."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.state = ServerState(settings.state_dir)
        self._blas: Any = None
        if settings.blas_threads is not None:
            from threadpoolctl import threadpool_limits

            self._blas = threadpool_limits(settings.blas_threads, user_api="blas")
        self.reader = MarketThread(settings, "reader")
        self.writer = MarketThread(settings, "writer")
        # ids are handed out at once, not behind the reader's searches
        self.ids = MarketThread(settings, "ids")
        for upload in self.state.uploads(PENDING):  # left by a server that stopped
            log.info("resuming the check of upload %s", upload.id)
            self.enqueue(upload.id)

    def enqueue(self, upload_id: str) -> Future[None]:
        return self.writer.submit(lambda market: self._process(market, upload_id))

    def _process(self, market: Market, upload_id: str) -> None:
        upload = self.state.upload(upload_id)
        if upload is None or upload.state != PENDING:
            return
        package = self.state.upload_file(upload_id)
        checkers = self.settings.checkers
        if upload.filename and not package.exists():  # the server stopped while moving it
            self.state.finish_upload(
                upload_id, INVALID, f"the package {upload.filename} was lost; send it again"
            )
            return
        try:
            if upload.kind == "add":
                market.add(
                    package, upload.semantic or {}, checkers=checkers, learnware_id=upload_id
                )
            else:
                market.update(
                    upload_id,
                    package=package if package.exists() else None,
                    semantic_spec=upload.semantic,
                    checkers=checkers,
                )
        except CheckError as exc:
            report = None if exc.report is None else converter.unstructure(exc.report)
            self.state.finish_upload(upload_id, INVALID, str(exc), report)
        except DockError as exc:
            self.state.finish_upload(upload_id, INVALID, str(exc))
        except Exception as exc:  # a bug or a broken plugin: keep serving, say what happened
            log.exception("checking upload %s failed", upload_id)
            self.state.finish_upload(upload_id, FAILED, f"{type(exc).__name__}: {exc}")
        else:
            self.state.finish_upload(upload_id, DONE)

    def vocabulary(self) -> dict[str, list[str]]:
        """Allowed values per semantic key (with the plugins' additions)."""
        vocab = self.reader.market.components.vocabulary
        return {key: list(values) for key, values in vocab.values.items()}

    def close(self) -> None:
        for thread in (self.reader, self.writer, self.ids):
            thread.close()
        if self._blas is not None:
            self._blas.restore_original_limits()
