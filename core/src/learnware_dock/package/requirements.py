"""What a learnware needs installed: ``requirements.txt``, or the pip section of a conda
``environment.yaml`` (part of the package format; containers build environments from it).
Only plain PEP 508 requirements are accepted: options (``-e``, ``--index-url``, ``-r``
...), URLs and paths could fetch or run code from anywhere. :func:`env_key` names the
environment a container builds for a list of requirements."""

from __future__ import annotations

import hashlib
import json
import sys
import sysconfig
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from learnware_dock.errors import PackageError
from learnware_dock.package.manifest import load_yaml
from learnware_dock.package.reader import package_file

#: conda entries that need nothing installed (the interpreter and pip themselves)
CONDA_HARMLESS = {"python", "pip"}


def parse_lines(text: str, source: str) -> list[str]:
    """Normalised requirements of a requirements file's text."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source} line {number} ({line!r})"
        if line.startswith("-"):
            raise PackageError(
                f"{where}: options such as -e, -r, --index-url are not allowed; "
                "list plain requirements (name and version) only"
            )
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise PackageError(f"{where} is not a valid requirement: {exc}") from exc
        if requirement.url:
            raise PackageError(f"{where}: URL and path requirements are not allowed")
        found.append(str(requirement))
    return found


def _conda_pip(data: Any, source: str) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", []), list):
        raise PackageError(f"{source} must be a mapping with a 'dependencies' list")
    pip: list[str] = []
    conda_only = []
    for entry in data.get("dependencies", []):
        if isinstance(entry, dict) and set(entry) == {"pip"} and isinstance(entry["pip"], list):
            pip += [str(line) for line in entry["pip"]]
        elif isinstance(entry, str):
            name = entry.split("::")[-1].split("=")[0].split("<")[0].split(">")[0].strip()
            if name.lower() not in CONDA_HARMLESS:
                conda_only.append(entry)
        else:
            raise PackageError(f"{source}: unexpected dependency entry {entry!r}")
    if conda_only:
        raise PackageError(
            f"{source} has conda-only dependencies: {', '.join(conda_only)}; the venv "
            "container installs with pip: move them to the 'pip:' section or a "
            "requirements.txt"
        )
    return parse_lines("\n".join(pip), f"{source} (pip section)")


def read_requirements(root: Path) -> list[str]:
    """The package's requirements (``requirements.txt`` wins over ``environment.yaml``)."""
    if (root / "requirements.txt").exists():
        path = package_file(root, "requirements.txt")
        return parse_lines(path.read_text(encoding="utf-8", errors="replace"), "requirements.txt")
    for name in ("environment.yaml", "environment.yml"):
        if (root / name).exists():
            text = package_file(root, name).read_text(encoding="utf-8", errors="replace")
            try:
                data = load_yaml(text)
            except yaml.YAMLError as exc:
                raise PackageError(f"{name} is not valid YAML: {exc}") from exc
            return _conda_pip(data, name)
    return []


def host_site_dirs() -> list[str]:
    """The dock installation's site-packages folders (what ``share_host`` links to)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def env_key(requirements: list[str], share_host: bool) -> str:
    """The cache key of an environment: the interpreter (version and where it lives),
    the requirements, and with ``share_host`` the dock installation it links to."""
    data: dict[str, Any] = {
        "python": f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}",
        "runtime": sys.base_prefix,
        "requirements": sorted(set(requirements)),
        "share_host": share_host,
        "wheels-only": True,
    }
    if share_host:
        data["host"] = host_site_dirs()
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]
