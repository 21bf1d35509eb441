"""Semantic specifications: the vocabulary, the `SemanticSpec` model and its validation.

`SemanticSpec` converts losslessly to and from the `learnware` package's dict format::

    {"Data": {"Type": "Class", "Values": ["Table"]},
     "Name": {"Type": "String", "Values": "digits"},
     "Input": {"Dimension": 64, "Description": {"0": "pixel (0, 0)"}}, ...}

A key absent from the dict is ``None`` on the spec; a key present with empty values is
``()`` or ``""``. Unknown keys are kept verbatim in ``extra``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from learnware_dock.errors import SemanticError

KeyType = Literal["Class", "Tag", "Optional", "String"]

#: key -> (attribute name, Type) for the keys with a value list or string.
FIELDS: dict[str, tuple[str, KeyType]] = {
    "Data": ("data", "Class"),
    "Task": ("task", "Class"),
    "Library": ("library", "Class"),
    "Scenario": ("scenario", "Tag"),
    "License": ("license", "Class"),
    "Model": ("model", "Optional"),
    "Name": ("name", "String"),
    "Description": ("description", "String"),
}
IO_KEYS = {"Input": "input", "Output": "output"}
#: keys that a submitted learnware must have (Model is optional, as in learnware 0.4).
REQUIRED = ("Data", "Task", "Library", "Scenario", "License", "Name")

DEFAULT_VALUES: dict[str, tuple[str, ...]] = {
    "Data": ("Table", "Image", "Text"),
    "Task": (
        "Classification",
        "Regression",
        "Feature Extraction",
        "Segmentation",
        "Object Detection",
        "Text Generation",
        "Others",
    ),
    "Library": ("Scikit-learn", "PyTorch", "TensorFlow", "Others"),
    "Scenario": (
        "Business",
        "Financial",
        "Health",
        "Politics",
        "Computer",
        "Internet",
        "Traffic",
        "Nature",
        "Fashion",
        "Industry",
        "Agriculture",
        "Education",
        "Entertainment",
        "Architecture",
        "Others",
    ),
    "License": (
        "MIT",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "GPL-2.0",
        "GPL-3.0",
        "LGPL-2.1",
        "LGPL-3.0",
        "AGPL-3.0",
        "ECL-2.0",
        "AFL-3.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "Others",
    ),
    "Model": ("Base Model", "Fine-tuned Model", "PEFT Model", "Others"),
}
NEEDS_OUTPUT = frozenset({"Classification", "Regression"})
#: tasks the `learnware` package allows per data type.
TASKS_FOR_DATA = {
    "Table": ("Classification", "Regression", "Feature Extraction", "Others"),
    "Image": (
        "Classification",
        "Regression",
        "Feature Extraction",
        "Segmentation",
        "Object Detection",
        "Others",
    ),
    "Text": ("Classification", "Regression", "Feature Extraction", "Text Generation", "Others"),
}


#: largest semantic spec JSON text read by :meth:`SemanticSpec.from_json` (16 MiB).
MAX_JSON_BYTES = 16 << 20
#: deepest nesting accepted in a semantic spec dict (the format itself needs 3 levels).
MAX_NESTING = 32

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Distinct lower-cased words of free text, in order (how queries are tokenised)."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))


@attrs.frozen
class Vocabulary:
    """Allowed values per Class/Tag key; plugins add values via ``dock_register_vocabulary``."""

    values: Mapping[str, tuple[str, ...]]

    @classmethod
    def default(cls) -> Vocabulary:
        return cls(dict(DEFAULT_VALUES))

    def extended(self, additions: Iterable[Mapping[str, Sequence[str]]]) -> Vocabulary:
        merged = {k: list(v) for k, v in self.values.items()}
        for addition in additions:
            for key, extra in (addition or {}).items():
                if key not in merged:
                    raise SemanticError(
                        f"a plugin extends unknown semantic key {key!r}; "
                        f"extendable keys: {', '.join(sorted(merged))}"
                    )
                merged[key] += [v for v in extra if v not in merged[key]]
        return Vocabulary({k: tuple(v) for k, v in merged.items()})


def _check_nesting(value: Any) -> None:
    """Refuse containers nested deeper than :data:`MAX_NESTING` (iteratively: a deep
    value must not exhaust the stack here, nor later when it is stored as JSON)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > MAX_NESTING:
            raise SemanticError(f"semantic spec is nested more than {MAX_NESTING} levels deep")
        stack.extend((child, depth + 1) for child in children)


def _description(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise SemanticError(f"{where}.Description must be a mapping of index -> text")
    return {str(k): str(v) for k, v in value.items()}


@attrs.frozen
class IOSpec:
    """Input or output of a model: its dimension and per-feature/per-label descriptions."""

    dimension: int
    description: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_dict(cls, value: Any, where: str) -> IOSpec:
        if not isinstance(value, Mapping) or "Dimension" not in value:
            raise SemanticError(f"semantic spec {where} needs a 'Dimension'")
        dim = value["Dimension"]
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise SemanticError(f"semantic spec {where}.Dimension must be a positive integer")
        return cls(dim, _description(value.get("Description", {}), where))

    def to_dict(self) -> dict[str, Any]:
        return {"Dimension": self.dimension, "Description": dict(self.description)}


@attrs.frozen(kw_only=True)
class SemanticSpec:
    """What a learnware is for. ``None`` = key absent; ``()``/``""`` = present but empty."""

    name: str | None = None
    description: str | None = None
    data: tuple[str, ...] | None = None
    task: tuple[str, ...] | None = None
    library: tuple[str, ...] | None = None
    scenario: tuple[str, ...] | None = None
    license: tuple[str, ...] | None = None
    model: tuple[str, ...] | None = None
    input: IOSpec | None = None
    output: IOSpec | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> SemanticSpec:
        """Parse the `learnware` package's dict format; raises :class:`SemanticError`."""
        if not isinstance(spec, Mapping):
            raise SemanticError(f"a semantic spec must be a mapping, not {type(spec).__name__}")
        _check_nesting(spec)
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, entry in spec.items():
            if key in IO_KEYS:
                kwargs[IO_KEYS[key]] = IOSpec.from_dict(entry, key)
                continue
            if key not in FIELDS:
                extra[key] = entry
                continue
            attr, kind = FIELDS[key]
            if not isinstance(entry, Mapping) or "Values" not in entry:
                raise SemanticError(f"semantic spec {key} must be {{'Type': ..., 'Values': ...}}")
            if entry.get("Type", kind) != kind:
                raise SemanticError(
                    f"semantic spec {key} has Type {entry.get('Type')!r}; expected {kind!r}"
                )
            values = entry["Values"]
            if kind == "String":
                if not isinstance(values, str):
                    raise SemanticError(f"semantic spec {key}.Values must be a string")
                kwargs[attr] = values
            else:
                if isinstance(values, str) or not isinstance(values, Sequence):
                    raise SemanticError(f"semantic spec {key}.Values must be a list of strings")
                if not all(isinstance(v, str) for v in values):
                    raise SemanticError(f"semantic spec {key}.Values must be a list of strings")
                kwargs[attr] = tuple(values)
        return cls(**kwargs, extra=extra)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "semantic spec") -> SemanticSpec:
        """Parse untrusted JSON text (:meth:`from_dict` format): at most
        :data:`MAX_JSON_BYTES`; bad, too deeply nested or unconvertible JSON is a
        :class:`SemanticError` naming ``source``."""
        if len(text) > MAX_JSON_BYTES:
            raise SemanticError(f"{source} is larger than {MAX_JSON_BYTES} bytes")
        try:
            data = json.loads(text)
        except RecursionError:
            raise SemanticError(f"{source} is nested too deeply to be a semantic spec") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
            raise SemanticError(f"{source} is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def read_json(cls, path: str | Path) -> SemanticSpec:
        """:meth:`from_json` of a file, reading at most :data:`MAX_JSON_BYTES` + 1 bytes."""
        try:
            with open(path, "rb") as fh:
                text = fh.read(MAX_JSON_BYTES + 1)
        except OSError as exc:
            raise SemanticError(f"cannot read semantic spec {path}: {exc}") from exc
        return cls.from_json(text, f"semantic spec {path}")

    def to_dict(self) -> dict[str, Any]:
        """The `learnware` package's dict format (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {}
        for key, (attr, kind) in FIELDS.items():
            value = getattr(self, attr)
            if value is not None:
                out[key] = {"Type": kind, "Values": value if kind == "String" else list(value)}
        for key, attr in IO_KEYS.items():
            io = getattr(self, attr)
            if io is not None:
                out[key] = io.to_dict()
        out.update(self.extra)
        return out

    def values_of(self, key: str) -> tuple[str, ...]:
        """The Class/Tag values of ``key``; empty when absent."""
        return getattr(self, FIELDS[key][0]) or ()

    def text(self) -> str:
        """All free text: name, description and input/output descriptions."""
        parts = [self.name or "", self.description or ""]
        for io in (self.input, self.output):
            if io is not None:
                parts.extend(io.description.values())
        return "\n".join(p for p in parts if p)

    def validate(self, vocabulary: Vocabulary | None = None) -> SemanticSpec:
        """Check a *submitted* spec against the vocabulary and the anchor's cardinality rules.

        Class keys (and Optional ones, when present) hold exactly one value, Tag keys one
        or more; the task must suit the data type; Input is required for Table data and
        Output for Classification/Regression (classification: more than one class).
        Unlike the `learnware` package, Model may be left out. Returns ``self``.
        """
        vocabulary = vocabulary or Vocabulary.default()
        for key in REQUIRED:
            attr, _ = FIELDS[key]
            if getattr(self, attr) is None:
                raise SemanticError(f"semantic spec is missing required key {key!r}")
        if not (self.name or "").strip():
            raise SemanticError("semantic spec Name must not be empty")
        for key, (attr, kind) in FIELDS.items():
            values = getattr(self, attr)
            if kind == "String" or values is None:
                continue
            if kind in ("Class", "Optional") and len(values) != 1:
                raise SemanticError(
                    f"semantic spec {key} is a Class: it needs exactly one value, "
                    f"got {list(values)}"
                )
            if kind == "Tag" and not values:
                raise SemanticError(f"semantic spec {key} is a Tag: it needs at least one value")
            allowed = vocabulary.values.get(key, ())
            for value in values:
                if value not in allowed:
                    raise SemanticError(
                        f"semantic spec {key} value {value!r} is not in the vocabulary; "
                        f"allowed: {', '.join(allowed)}"
                    )
        data, task = (self.data or ("",))[0], (self.task or ("",))[0]
        if data in TASKS_FOR_DATA and task not in TASKS_FOR_DATA[data]:
            raise SemanticError(
                f"semantic spec Task {task!r} does not suit {data} data; "
                f"use one of {', '.join(TASKS_FOR_DATA[data])}"
            )
        if task == "Classification" and self.output is not None and self.output.dimension < 2:
            raise SemanticError("semantic spec Output.Dimension must be > 1 for Classification")
        if "Table" in (self.data or ()) and self.input is None:
            raise SemanticError("semantic spec needs 'Input' (Dimension) for Table data")
        if NEEDS_OUTPUT & set(self.task or ()) and self.output is None:
            raise SemanticError(
                f"semantic spec needs 'Output' (Dimension) for task {self.task[0]}"  # type: ignore[index]
            )
        for key, io in (("Input", self.input), ("Output", self.output)):
            if io is None:
                continue
            for index in io.description:
                if not index.isdigit() or int(index) >= io.dimension:
                    raise SemanticError(
                        f"semantic spec {key}.Description key {index!r} is not an index "
                        f"in [0, {io.dimension})"
                    )
        return self
