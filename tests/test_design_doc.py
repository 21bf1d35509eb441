"""docs/design.md stays true to the code: the files of its layout exist, it names every
hook spec and only real ones, and every setting it names is read somewhere."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from learnware_dock import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
SOURCES = [ROOT / "core" / "src", *ROOT.glob("plugins/*/src"), *ROOT.glob("contrib/*/src")]


def design() -> str:
    return DESIGN.read_text(encoding="utf-8")


def layout_paths(text: str) -> list[str]:
    """The paths of the layout block: one entry per line, nested by indentation."""
    block = text.split("## 2. Layout", 1)[1].split("```", 2)[1]
    stack: list[tuple[int, str]] = []
    paths = []
    for line in block.splitlines():
        entry = re.match(r"^( *)([\w./-]+)$", line.split("#")[0].rstrip())
        if not entry:  # blank, or a line of several names (a pattern, not a path)
            continue
        indent, name = len(entry.group(1)), entry.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        path = parent + name
        paths.append(path)
        if name.endswith("/"):
            stack.append((indent, path))
    return paths


def test_the_layout_names_files_that_exist() -> None:
    paths = layout_paths(design())
    assert "core/src/learnware_dock/protocol/" in paths  # the parser follows the nesting
    assert len(paths) > 40
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/design.md names files that do not exist: {missing}"


def test_every_hook_spec_is_named_and_every_named_hook_exists() -> None:
    specs = {
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("dock_")
    }
    named = set(re.findall(r"`(dock_[a-z_]+)", design()))
    assert specs - named == set(), f"hook specs missing from docs/design.md: {specs - named}"
    assert named - specs == set(), f"docs/design.md names unknown hooks: {named - specs}"


@pytest.mark.parametrize("variable", sorted(set(re.findall(r"`(DOCK_[A-Z_]+)`", design()))))
def test_every_setting_named_is_read_by_the_code(variable: str) -> None:
    assert any(
        variable in path.read_text(encoding="utf-8")
        for source in SOURCES
        for path in source.rglob("*.py")
    ), f"docs/design.md names {variable}, which no distribution reads"


def test_the_readme_links_the_design() -> None:
    assert "](docs/design.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
