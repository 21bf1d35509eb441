"""Domain objects (attrs) and the one cattrs converter that turns them into JSON and back.

Every JSON view of a domain object (the CLI's ``--json``, the server's API, its client)
is :data:`converter`'s: statuses by name (``"USABLE"``), paths as strings, dates in ISO
8601, semantic specs in the `learnware` dict format, statistical specs as their JSON.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
import cattrs.gen

from learnware_dock.semantic import SemanticSpec

if TYPE_CHECKING:
    from learnware_dock.interfaces import StatSpecification


class Status(enum.IntEnum):
    """Check outcome; JSON names it (``"USABLE"``). The values are the `learnware`
    package's (-1/0/1), for the store and the `learnware`-compatible layers only."""

    INVALID = -1  # rejected: nothing is stored
    NONUSABLE = 0  # stored; the model has not passed a model-running check
    USABLE = 1  # stored and its model passed every model-running check


@attrs.frozen
class StatSpecRef:
    """A statistical specification stored with a learnware (loaded on demand)."""

    type: str  # registered specification name, e.g. "RKMETableSpecification"
    file: str  # file name inside the package
    sha256: str
    path: str  # path of the stored JSON, relative to the market root


@attrs.frozen
class CheckResult:
    """One checker's verdict on a submission."""

    checker: str
    status: Status
    message: str = ""
    seconds: float = 0.0


@attrs.frozen
class CheckReport:
    """All checkers' verdicts and the combined status."""

    status: Status
    results: tuple[CheckResult, ...] = ()

    @property
    def message(self) -> str:
        return "; ".join(f"{r.checker}: {r.message}" for r in self.results if r.message)


@attrs.frozen(kw_only=True)
class Learnware:
    """A stored learnware: what the market knows of it, without its package's code."""

    id: str
    semantic_spec: SemanticSpec
    status: Status
    sha256: str  # of the package zip
    package_path: Path  # the stored zip (content-addressed)
    stat_specs: tuple[StatSpecRef, ...] = ()
    version: int = 1
    created: datetime | None = None
    updated: datetime | None = None
    report: CheckReport | None = None

    @property
    def name(self) -> str:
        return self.semantic_spec.name or ""

    def stat_spec_ref(self, type_name: str) -> StatSpecRef | None:
        return next((ref for ref in self.stat_specs if ref.type == type_name), None)


def _ids(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen(kw_only=True)
class UserInfo:
    """What a user searches with: a (partial) semantic spec, statistical specs, filters."""

    semantic_spec: SemanticSpec = attrs.field(factory=SemanticSpec)
    stat_specs: Mapping[str, StatSpecification] = attrs.field(factory=dict)
    learnware_ids: Sequence[str] | None = attrs.field(default=None, converter=_ids)


@attrs.frozen
class SingleMatch:
    """One learnware in a search result: raw distance (lower is closer) and absolute score.

    ``space`` names the space the distance was measured in when a searcher compares in
    more than one ("" when it does not say; the ``hetero`` searcher: "table" for the
    learnware's own feature space, "heteromap" for the market mapping's embeddings).
    """

    learnware: Learnware
    score: float  # in [0, 1], comparable across queries and markets
    distance: float | None = None  # the searcher's raw distance, when it has one
    space: str = ""


@attrs.frozen
class MixtureMatch:
    """A weighted combination of learnwares that together fit the user's data."""

    learnwares: tuple[Learnware, ...]
    weights: tuple[float, ...]
    score: float
    distance: float | None = None


@attrs.frozen
class SearchResult:
    """Ranked singles (best first) and mixtures, and how many learnwares matched in all;
    ``notes`` say what the user should know about how it was answered (for example that
    a searcher fell back to a narrower search, and why)."""

    singles: tuple[SingleMatch, ...] = ()
    mixtures: tuple[MixtureMatch, ...] = ()
    searcher: str = ""
    total: int = 0
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.singles)


#: rebuilds a statistical spec from its type name and JSON (e.g. through the registry)
SpecLoader = Callable[[str, Mapping[str, Any]], "StatSpecification"]


def structure_user_info(data: Mapping[str, Any], load: SpecLoader) -> UserInfo:
    """A :class:`UserInfo` from its JSON; ``load`` rebuilds each statistical spec.

    Errors are the semantic spec's and ``load``'s own (not wrapped by cattrs)."""
    ids, specs = data.get("learnware_ids"), data.get("stat_specs") or {}
    return UserInfo(
        semantic_spec=SemanticSpec.from_dict(data.get("semantic_spec") or {}),
        stat_specs={name: load(name, spec) for name, spec in specs.items()},
        learnware_ids=None if ids is None else [str(i) for i in ids],
    )


def _no_loader(name: str, data: Mapping[str, Any]) -> StatSpecification:
    raise TypeError(f"structure a UserInfo with {name} through structure_user_info(data, load)")


def _structure_status(value: Any, _: Any) -> Status:
    """By name; an int is read too, as reports stored by older versions hold them."""
    if isinstance(value, str):
        try:
            return Status[value]
        except KeyError:
            names = ", ".join(Status.__members__)
            raise ValueError(f"unknown status {value!r}; one of {names}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return Status(value)
    raise ValueError(f"a status is a name ({', '.join(Status.__members__)}), not {value!r}")


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(SemanticSpec, lambda s: s.to_dict())
    conv.register_structure_hook(SemanticSpec, lambda d, _: SemanticSpec.from_dict(d))
    conv.register_unstructure_hook(Path, str)
    conv.register_structure_hook(Path, lambda v, _: Path(v))
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    conv.register_unstructure_hook(Status, lambda s: s.name)
    conv.register_structure_hook(Status, _structure_status)

    fields = cattrs.gen.make_dict_unstructure_fn(Learnware, conv)

    def unstructure_learnware(lw: Learnware) -> dict[str, Any]:
        data = fields(lw)  # with its derived name (ignored when structured)
        return {"id": data.pop("id"), "name": lw.name, **data}

    def unstructure_user_info(info: UserInfo) -> dict[str, Any]:
        ids = info.learnware_ids
        return {
            "semantic_spec": info.semantic_spec.to_dict(),
            "stat_specs": {name: spec.to_json() for name, spec in info.stat_specs.items()},
            "learnware_ids": None if ids is None else list(ids),
        }

    conv.register_unstructure_hook(Learnware, unstructure_learnware)
    # by predicate: registering the class would resolve its TYPE_CHECKING-only hints
    conv.register_unstructure_hook_func(lambda t: t is UserInfo, unstructure_user_info)
    conv.register_structure_hook_func(
        lambda t: t is UserInfo, lambda d, _: structure_user_info(d, _no_loader)
    )
    return conv


#: Converts every domain object to JSON-ready builtins and back (:class:`UserInfo` with
#: statistical specs: :func:`structure_user_info`).
converter = _make_converter()
