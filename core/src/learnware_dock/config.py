"""Where markets live, and plugin settings read from the environment.

Configuration has one channel: environment variables. A plugin reads each of its numeric
settings with :func:`setting`, which parses and validates it and names the variable and
the bad value in a :class:`DockError`::

    timeout = setting("DOCK_STAT_CHECK_TIMEOUT", float, default=60.0, minimum=0.1)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from learnware_dock.errors import DockError

DEFAULT_MARKET = "default"

Number = TypeVar("Number", int, float)


def _expected(number_type: type[Any], minimum: float | None, maximum: float | None) -> str:
    noun = "an integer" if number_type is int else "a finite number"
    if minimum is not None and maximum is not None:
        return f"{noun} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{noun} >= {minimum}"
    return f"{noun} <= {maximum}" if maximum is not None else noun


def setting(
    name: str,
    number_type: type[Number],
    *,
    default: Number,
    minimum: Number | None = None,
    maximum: Number | None = None,
    environ: Mapping[str, str] | None = None,
) -> Number:
    """``$name`` parsed as ``number_type`` (``int`` or ``float``), within ``minimum`` and
    ``maximum`` (inclusive); ``default`` when it is unset or blank.

    ``environ`` defaults to :data:`os.environ`. A value that does not parse, is not finite
    or is out of range raises a :class:`DockError` naming the variable, what it must be
    and the value.
    """
    if number_type not in (int, float):
        raise TypeError(f"setting {name}: number_type must be int or float, not {number_type!r}")
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return default
    try:
        value = number_type(text)
    except ValueError:
        value = None
    if (
        value is None
        or not math.isfinite(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        raise DockError(f"${name} must be {_expected(number_type, minimum, maximum)}, not {text!r}")
    return value


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
    """The argument type of the retired, never called ``dock_configure`` hook (kept so its
    spec stays typed). Use :func:`setting` instead."""

    root: Path
    name: str
    options: dict[str, Any] = attrs.field(factory=dict)
