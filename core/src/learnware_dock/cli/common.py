"""Shared pieces of the ``dock`` commands (for plugins adding commands too): option types,
output helpers, opening a market, reading a statistical spec file."""

from __future__ import annotations

import functools
import inspect
import json
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from learnware_dock.errors import DockError

if TYPE_CHECKING:
    from learnware_dock.market import Market
    from learnware_dock.semantic import SemanticSpec

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="dock",
    help="learnware-dock: publish models with specifications; find and reuse them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


MarketOpt = Annotated[
    str | None,
    typer.Option(
        "--market", "-m", help="Market name (under $DOCK_HOME) or path.", envvar="DOCK_MARKET"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def make_console() -> Any:
    from rich.console import Console

    return Console()


def emit(data: Any) -> None:
    """Print ``data`` as JSON; domain objects inside it in the converter's one shape."""
    from learnware_dock.domain import converter

    sys.stdout.write(json.dumps(converter.unstructure(data), indent=2, default=str) + "\n")


def open_market(market: str | None, create: bool = True) -> Market:
    from learnware_dock.market import Market

    return Market.open(market, create=create)


def semantic_spec(semantic: Path | None, fields: dict[str, Any]) -> SemanticSpec:
    from learnware_dock.semantic import IOSpec, SemanticSpec

    if semantic is not None:
        return SemanticSpec.read_json(semantic)  # bounded: size, depth, valid JSON
    kwargs: dict[str, Any] = {}
    for key in ("name", "description"):
        if fields.get(key) is not None:
            kwargs[key] = fields[key]
    for key in ("data", "task", "library", "license", "model"):
        if fields.get(key):
            kwargs[key] = (fields[key],)
    if fields.get("scenario"):
        kwargs["scenario"] = tuple(fields["scenario"])
    for key in ("input", "output"):
        if fields.get(f"{key}_dim"):
            kwargs[key] = IOSpec(fields[f"{key}_dim"])
    return SemanticSpec(**kwargs)


Name = Annotated[str | None, typer.Option(help="Name (for search: free text).")]
Description = Annotated[str | None, typer.Option(help="Description.")]
Data = Annotated[str | None, typer.Option(help="Data type: Table, Image, Text.")]
Task = Annotated[str | None, typer.Option(help="Task, e.g. Classification.")]
Library = Annotated[str | None, typer.Option(help="Library, e.g. Scikit-learn.")]
Scenario = Annotated[list[str] | None, typer.Option(help="Scenario tag (repeatable).")]
License = Annotated[str | None, typer.Option(help="License, e.g. MIT.")]
InputDim = Annotated[int | None, typer.Option(help="Input dimension.")]
OutputDim = Annotated[int | None, typer.Option(help="Output dimension.")]
SemanticFile = Annotated[
    Path | None,
    typer.Option("--semantic", "-s", help="Semantic spec JSON (learnware dict format)."),
]


_FLAGS = {
    "name": Name,
    "description": Description,
    "data": Data,
    "task": Task,
    "library": Library,
    "scenario": Scenario,
    "license": License,
    "input_dim": InputDim,
    "output_dim": OutputDim,
}
_LAST = ("market", "json_out")  # the flags go before these options


def semantic_flags(*, io: bool = True) -> Callable[[F], F]:
    """Give a command the semantic spec options (``--name``, ``--data``, ...; with ``io``
    also ``--input-dim``/``--output-dim``); it receives their values as ``fields``."""
    names = [n for n in _FLAGS if io or not n.endswith("_dim")]
    flags = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_FLAGS[n])
        for n in names
    ]

    def decorate(func: F) -> F:
        hints = typing.get_type_hints(func, include_extras=True)  # typer reads Annotated
        own = [p for p in inspect.signature(func).parameters.values() if p.name != "fields"]
        at = next((i for i, p in enumerate(own) if p.name in _LAST), len(own))
        params = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[p.name]) for p in own
        ]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            fields = {n: kwargs.pop(n, None) for n in names}
            return func(*args, fields=fields, **kwargs)

        command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            params[:at] + flags + params[at:]
        )
        return command  # type: ignore[return-value]

    return decorate


def load_stat_spec(market: Market, path: Path) -> Any:
    """A statistical spec file, read through the registered class its "type" names."""
    from learnware_dock.package.safezip import Limits

    limit = Limits().max_json_bytes
    try:
        with open(path, "rb") as fh:
            text = fh.read(limit + 1)
        if len(text) > limit:
            raise DockError(f"statistical spec {path} is larger than {limit} bytes")
        type_name = json.loads(text).get("type")
    except RecursionError:
        raise DockError(f"statistical spec {path} is nested too deeply") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise DockError(f"cannot read statistical spec {path}: {exc}") from exc
    if not type_name:
        raise DockError(f"{path} has no 'type' key naming its specification type")
    return market.components.specifications.get(type_name).load(path)
