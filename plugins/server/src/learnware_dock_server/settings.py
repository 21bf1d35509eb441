"""What a server is configured with."""

from __future__ import annotations

from pathlib import Path

import attrs

from learnware_dock_server.state import FOLDER


@attrs.frozen(kw_only=True)
class ServerSettings:
    """``market``: the market's folder. Reads need no token when ``public_reads``; writes
    always need one. Uploads over ``max_upload_bytes`` are refused (413)."""

    market: Path = attrs.field(converter=Path)
    public_reads: bool = True
    max_upload_bytes: int = 64 << 20
    max_per_page: int = 100
    checkers: tuple[str, ...] | None = None  # None: every installed checker
    #: BLAS threads per call: the server gets its parallelism from its threads, and BLAS
    #: pools on top oversubscribe the cores (8x slower searches measured on 2 cores)
    blas_threads: int | None = 1

    @property
    def state_dir(self) -> Path:
        return self.market / FOLDER
