"""Options of components: each component class declares its options as one attrs class.

A reuser's or container's options are the fields of an attrs class (a default, an
optional validator, and a ``help`` text in the field's metadata, see :func:`option`). The
kernel builds that class from keyword arguments or from the command line's
``name=value`` strings with :func:`build_options`, which reports every unknown, malformed
or invalid option in one :class:`DockError`; :func:`describe_options` lists them for
``--help``-style output::

    import attrs
    from learnware_dock.options import build_options, option

    @attrs.frozen
    class VoteOptions:
        weighted: bool = option(True, help="Weight the vote by the mixture weights.")
        rounds: int = option(10, help="Boosting rounds.", validator=attrs.validators.ge(1))

    build_options(VoteOptions, {"rounds": "20"}, what="reuser 'vote'")
    # VoteOptions(weighted=True, rounds=20)
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from learnware_dock.errors import DockError

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NONE = frozenset({"none", "null", ""})


def option(
    default: Any,
    *,
    help: str,
    validator: Callable[[Any, attrs.Attribute[Any], Any], Any] | None = None,
) -> Any:
    """An attrs field with a default, a help text and an optional validator."""
    return attrs.field(default=default, validator=validator, metadata={"help": help})


@attrs.frozen
class OptionInfo:
    """One declared option, as shown to users."""

    name: str
    type: str
    default: Any
    help: str


def _field_types(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("pathlib.", "")


def describe_options(cls: type[Any]) -> list[OptionInfo]:
    """The options of an attrs options class, in declaration order."""
    hints = _field_types(cls)
    return [
        OptionInfo(
            f.name,
            _type_name(hints.get(f.name, Any)),
            f.default,
            str(f.metadata.get("help", "")),
        )
        for f in attrs.fields(cls)
    ]


def _members(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def parse_text(text: str, hint: Any) -> Any:
    """``text`` (from a command line) as a value of type ``hint``: bool, int, float, str,
    Path, a ``Literal``, or a union of these with None. Raises ValueError."""
    members = _members(hint)
    word = text.strip().lower()
    if type(None) in members and word in _NONE:
        return None
    for member in members:
        if member is type(None):
            continue
        if typing.get_origin(member) is typing.Literal:
            if text in typing.get_args(member):
                return text
            continue
        if member is bool:
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            continue
        if member is int:
            try:
                return int(text)
            except ValueError:
                continue
        if member is float:
            try:
                value = float(text)
            except ValueError:
                continue
            if math.isfinite(value):
                return value
            continue
        if member is str:
            return text
        if member is Path:
            return Path(text).expanduser()
    raise ValueError(f"{text!r} is not {_type_name(hint)}")


def parse_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` as ``{"a": "1", "b": "x"}``; a pair without ``=`` is an error."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise DockError(f"an option is NAME=VALUE, not {pair!r}")
        values[name.strip().replace("-", "_")] = text
    return values


def _unknown(name: str, known: Sequence[str]) -> str:
    from rapidfuzz import process

    match = process.extractOne(name, known, score_cutoff=70) if known else None
    hint = f" (did you mean {match[0]!r}?)" if match else ""
    return f"unknown option {name!r}{hint}"


def build_options(cls: type[T], values: Mapping[str, Any], *, what: str) -> T:
    """An instance of the options class ``cls`` from ``values``; string values are parsed
    to the field's type. Every problem is reported in one :class:`DockError` that names
    ``what`` (e.g. ``"reuser 'averaging'"``) and lists the options it has."""
    hints = _field_types(cls)
    known = [f.name for f in attrs.fields(cls)]  # type: ignore[arg-type]
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            problems.append(_unknown(name, known))
            continue
        if isinstance(value, str) and hints.get(name, str) is not str:
            try:
                value = parse_text(value, hints[name])
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
        parsed[name] = value
    if not problems:
        try:
            return cls(**parsed)
        except (TypeError, ValueError) as exc:
            problems.append(str(exc))
    else:  # also name every value its validator refuses (attrs stops at the first)
        for name, value in parsed.items():
            try:
                cls(**{name: value})
            except (TypeError, ValueError) as exc:
                problems.append(str(exc))
    listed = ", ".join(known) if known else "none"
    raise DockError(f"{what}: {'; '.join(problems)} (its options: {listed})")


def options_dict(options: Any) -> dict[str, Any]:
    """The fields of an options instance as a plain dict (shallow)."""
    return attrs.asdict(options, recurse=False)
