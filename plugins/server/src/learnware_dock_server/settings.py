"""What a server is configured with."""

from __future__ import annotations

from pathlib import Path

import attrs


@attrs.frozen(kw_only=True)
class ServerSettings:
    """``market``: the market's folder. Reads need no token when ``public_reads``; writes
    always need one. Uploads over ``max_upload_bytes`` are refused (413)."""

    market: Path = attrs.field(converter=Path)
    public_reads: bool = True
    max_upload_bytes: int = 64 << 20
    max_per_page: int = 100
    checkers: tuple[str, ...] | None = None  # None: every installed checker

    @property
    def state_dir(self) -> Path:
        return self.market / "server"
