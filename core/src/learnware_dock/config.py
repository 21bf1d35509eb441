"""Where markets live and what configuration a market is opened with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

DEFAULT_MARKET = "default"


def dock_home() -> Path:
    """Root folder for named markets: ``$DOCK_HOME``, else the user data dir."""
    env = os.environ.get("DOCK_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("learnware-dock", appauthor=False))


def cache_home() -> Path:
    """Root folder for caches (unpacked packages, environments): ``$DOCK_CACHE``, else the
    user cache dir. Everything in it can be deleted at any time."""
    env = os.environ.get("DOCK_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("learnware-dock", appauthor=False))


def resolve_market_root(market: str | os.PathLike[str] | None) -> Path:
    """Turn a market name (``default``, ``demo``) or a path into the market's folder.

    A value containing a path separator, or starting with ``.`` or ``~``, is a path;
    anything else is a name under :func:`dock_home`.
    """
    if market is None:
        market = os.environ.get("DOCK_MARKET", DEFAULT_MARKET)
    text = os.fspath(market)
    if isinstance(market, Path) or os.sep in text or text.startswith((".", "~")):
        return Path(text).expanduser().resolve()
    return (dock_home() / text).resolve()


@attrs.frozen
class DockConfig:
    """What ``dock_configure`` receives: the market's folder, name and free-form options."""

    root: Path
    name: str
    options: dict[str, Any] = attrs.field(factory=dict)
