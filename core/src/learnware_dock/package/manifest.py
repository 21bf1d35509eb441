"""``learnware.yaml``: the package manifest, in the `learnware` package's schema."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import attrs
import cattrs
import yaml
from cattrs.v import format_exception

from learnware_dock.errors import PackageError
from learnware_dock.package.safezip import Limits

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

MANIFEST = "learnware.yaml"
MODEL_FILE = "__init__.py"
REQUIREMENT_FILES = ("requirements.txt", "environment.yaml", "environment.yml")
#: module path written for specs, so the `learnware` package can import them.
ANCHOR_SPEC_MODULE = "learnware.specification"


def _relative_file(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(f"{attribute.name} {value!r} must be a relative path inside the package")


@attrs.frozen
class ModelEntry:
    """``model:`` — the class in ``module_path`` and its constructor arguments."""

    class_name: str
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    module_path: str = attrs.field(default=MODEL_FILE, validator=_relative_file)


@attrs.frozen
class SpecEntry:
    """One ``stat_specifications:`` item. ``module_path`` is recorded, never imported."""

    class_name: str
    file_name: str = attrs.field(validator=_relative_file)
    module_path: str = ANCHOR_SPEC_MODULE
    kwargs: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Manifest:
    """The parsed ``learnware.yaml``."""

    model: ModelEntry
    stat_specifications: tuple[SpecEntry, ...] = ()

    @classmethod
    def from_dict(cls, data: Any, source: str = MANIFEST) -> Manifest:
        if not isinstance(data, dict):
            raise PackageError(f"{source} must be a mapping with 'model' and 'stat_specifications'")
        try:
            return _converter.structure(data, cls)
        except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
            details = (
                "; ".join(cattrs.transform_error(exc, path=source, format_exception=_describe))
                if isinstance(exc, cattrs.BaseValidationError)
                else str(exc)
            )
            raise PackageError(f"{source} does not match the learnware schema: {details}") from exc

    @classmethod
    def read(cls, root: Path, limits: Limits | None = None) -> Manifest:
        """Parse ``root/learnware.yaml`` safely (:func:`read_yaml`: bounded, no aliases,
        no python objects)."""
        path = root / MANIFEST
        if not path.is_file():
            raise PackageError(f"the package has no {MANIFEST} at its top level")
        return cls.from_dict(read_yaml(path, MANIFEST, limits))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {
                "class_name": self.model.class_name,
                "kwargs": dict(self.model.kwargs),
                **(
                    {}
                    if self.model.module_path == MODEL_FILE
                    else {"module_path": self.model.module_path}
                ),
            },
            "stat_specifications": [
                {
                    "module_path": s.module_path,
                    "class_name": s.class_name,
                    "file_name": s.file_name,
                    "kwargs": dict(s.kwargs),
                }
                for s in self.stat_specifications
            ],
        }

    def dump(self) -> str:
        """YAML text; tuples are written as ``!!python/tuple``, which the `learnware`
        package needs for shapes (and :class:`ManifestLoader` reads back)."""
        return yaml.dump(self.to_dict(), Dumper=ManifestDumper, sort_keys=False)


_converter = cattrs.Converter(forbid_extra_keys=False)


def _describe(exc: BaseException, type_: type | None) -> str:
    """cattrs' wording, but keep our validators' own messages."""
    if type(exc) is ValueError and exc.args:
        return str(exc)
    return format_exception(exc, type_)


class UnsafeYAMLError(PackageError, yaml.YAMLError):
    """YAML refused before it is built: too large, nested too deeply, with anchors or
    aliases, or with a number too long to convert. A :class:`PackageError`, and also a
    ``yaml.YAMLError`` so that callers reporting YAML errors per file name the file."""


#: longest integer scalar built (Python's own ``int`` limit; sexagesimal ints are slow).
_MAX_INT_CHARS = 4300


class ManifestLoader(_SafeLoader):
    """``yaml.SafeLoader`` (libyaml's when available) plus ``!!python/tuple``, which the
    `learnware` package's own templates write for shapes. It builds a plain tuple: no
    object, no code. Every other python tag is still refused, and so is any alias: a node
    is only built twice when an alias refers to it (an alias bomb expands that way).
    :func:`load_yaml` also refuses anchors, deep nesting and large texts before building."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise UnsafeYAMLError(
                f"YAML alias at {node.start_mark}: anchors and aliases are refused"
            )
        return super().construct_object(node, deep)


def _mark(event: yaml.Event) -> str:
    mark = getattr(event, "start_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


def _prescan(text: str, limits: Limits) -> None:
    """Walk the YAML events (nothing is built): refuse anchors, aliases and deep nesting."""
    depth = 0
    for event in yaml.parse(text, Loader=ManifestLoader):
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYAMLError(
                f"YAML alias *{event.anchor}{_mark(event)}: anchors and aliases are refused "
                "(they can expand a small file into gigabytes)"
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise UnsafeYAMLError(
                f"YAML anchor &{anchor}{_mark(event)}: anchors and aliases are refused "
                "(they can expand a small file into gigabytes)"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.max_yaml_depth:
                raise UnsafeYAMLError(
                    f"YAML nested more than {limits.max_yaml_depth} levels deep{_mark(event)}"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(text: str, source: str | None = None, limits: Limits | None = None) -> Any:
    """Parse untrusted YAML safely: no python objects (tuples allowed, see
    :class:`ManifestLoader`), no anchors or aliases, at most ``limits.max_yaml_bytes``
    and ``limits.max_yaml_depth`` levels of nesting. Refusals raise
    :class:`UnsafeYAMLError` (prefixed with ``source`` when given); other malformed
    YAML raises ``yaml.YAMLError``."""
    limits = limits or Limits()
    try:
        if len(text) > limits.max_yaml_bytes:
            raise UnsafeYAMLError(
                f"YAML text of {len(text)} characters exceeds the limit of "
                f"{limits.max_yaml_bytes} bytes"
            )
        _prescan(text, limits)
        try:
            return yaml.load(text, Loader=ManifestLoader)
        except (ValueError, RecursionError) as exc:  # e.g. int() over its digit limit
            raise UnsafeYAMLError(f"YAML value cannot be built: {exc}") from exc
    except UnsafeYAMLError as exc:
        if source is None:
            raise
        raise UnsafeYAMLError(f"{source} is not safe, valid YAML: {exc}") from exc


def read_yaml(path: Path, source: str | None = None, limits: Limits | None = None) -> Any:
    """Read and parse the untrusted YAML file ``path`` (see :func:`load_yaml`); reads at
    most ``limits.max_yaml_bytes``. Every problem is a :class:`PackageError` naming
    ``source`` (default: the file's name)."""
    limits = limits or Limits()
    source = source or path.name
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limits.max_yaml_bytes + 1)
    except OSError as exc:
        raise PackageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if len(raw) > limits.max_yaml_bytes:
        raise UnsafeYAMLError(
            f"{source} is not safe, valid YAML: it is larger than {limits.max_yaml_bytes} bytes"
        )
    try:
        text = raw.decode("utf-8")
        return load_yaml(text, limits=limits)
    except UnsafeYAMLError as exc:
        raise UnsafeYAMLError(f"{source} is not safe, valid YAML: {exc}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PackageError(f"{source} is not safe, valid YAML: {exc}") from exc


def _tuple(loader: yaml.SafeLoader, node: yaml.Node) -> tuple[Any, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!!python/tuple must tag a sequence", node.start_mark
        )
    return tuple(loader.construct_sequence(node, deep=True))


def _int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "an integer must be a scalar", node.start_mark
        )
    if len(node.value) > _MAX_INT_CHARS:
        raise UnsafeYAMLError(
            f"YAML integer of {len(node.value)} characters at {node.start_mark} is longer "
            f"than {_MAX_INT_CHARS} characters"
        )
    number: int = loader.construct_yaml_int(node)
    return number


ManifestLoader.add_constructor("tag:yaml.org,2002:python/tuple", _tuple)
ManifestLoader.add_constructor("tag:yaml.org,2002:int", _int)


class ManifestDumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that keeps tuples as ``!!python/tuple`` (see :class:`ManifestLoader`)
    and never writes anchors or aliases (which :func:`load_yaml` refuses): a value shared
    twice is written twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


ManifestDumper.add_representer(
    tuple,
    lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:python/tuple", list(value)),
)
