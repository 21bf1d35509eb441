"""``learnware.yaml``: the package manifest, in the `learnware` package's schema."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import attrs
import cattrs
import yaml
from cattrs.v import format_exception

from learnware_dock.errors import PackageError

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
    def read(cls, root: Path) -> Manifest:
        """Parse ``root/learnware.yaml`` safely (:class:`ManifestLoader`: no python objects)."""
        path = root / MANIFEST
        if not path.is_file():
            raise PackageError(f"the package has no {MANIFEST} at its top level")
        try:
            data = load_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise PackageError(f"{MANIFEST} is not safe, valid YAML: {exc}") from exc
        return cls.from_dict(data)

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


class ManifestLoader(_SafeLoader):
    """``yaml.SafeLoader`` (libyaml's when available) plus ``!!python/tuple``, which the
    `learnware` package's own templates write for shapes. It builds a plain tuple: no
    object, no code. Every other python tag is still refused."""


def load_yaml(text: str) -> Any:
    """Parse untrusted YAML safely (no python objects; tuples allowed, see ManifestLoader)."""
    return yaml.load(text, Loader=ManifestLoader)


def _tuple(loader: yaml.SafeLoader, node: yaml.Node) -> tuple[Any, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!!python/tuple must tag a sequence", node.start_mark
        )
    return tuple(loader.construct_sequence(node, deep=True))


ManifestLoader.add_constructor("tag:yaml.org,2002:python/tuple", _tuple)


class ManifestDumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that keeps tuples as ``!!python/tuple`` (see :class:`ManifestLoader`)."""


ManifestDumper.add_representer(
    tuple,
    lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:python/tuple", list(value)),
)
