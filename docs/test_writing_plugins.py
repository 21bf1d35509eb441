"""Runs ``docs/writing-plugins.md`` from top to bottom, so the tutorial cannot rot.

Conventions of the page (its last section repeats them for editors):

* a fenced ``bash`` block runs with ``bash -euo pipefail``; the working directory and the
  environment carry over to the next block, as in one terminal session;
* a block whose first line is ``# file: PATH`` (or ``<!-- file: PATH -->``) is written to
  ``PATH`` relative to the current directory, without that line;
* consecutive ``pycon`` blocks (no ``bash`` or file block between them) form one Python
  session, run by :mod:`doctest` in a subprocess, so their output is checked;
* a ``python`` block whose first line is ``# from PATH`` is an excerpt of that file of
  the repository and must appear in it verbatim;
* ``text`` blocks are only shown; any other block fails the test.

Everything runs in subprocesses, in ``tmp_path``, with ``DOCK_HOME`` there and
``DOCK_STRICT_PLUGINS=1``. The single command not run as written is the tutorial's
``python -m pip install -e .``: installing into this interpreter's environment would leak
the plugin into other tests, and an isolated build would need the network. It is replaced
by :func:`fake_editable_install`, which writes the entry-point metadata of the tutorial's
``pyproject.toml`` to a folder on ``PYTHONPATH``; importlib.metadata discovers it there
exactly as it discovers an installed distribution.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

from learnware_dock.plugins import ENTRY_POINT_GROUP
from learnware_dock.testing import write_distribution

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
TUTORIAL = DOCS / "writing-plugins.md"

FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
FILE_LINE = re.compile(r"^(?:#|<!--)\s*file:\s*(?P<path>[^\s>]+)\s*(?:-->)?\s*$")
EXCERPT_LINE = re.compile(r"^#\s*from\s+(?P<path>\S+)\s*$")

#: The tutorial's install command, and what the test runs in its place.
INSTALL = "python -m pip install -e ."


@dataclass(frozen=True)
class Block:
    """One fenced block of the tutorial: what to do with it, and where it starts."""

    kind: str  # "bash", "file", "pycon", "excerpt" or "shown"
    body: str
    line: int
    path: str | None = None


def parse(text: str) -> list[Block]:
    """The fenced blocks of ``text``, in order, classified by the page's conventions."""
    blocks: list[Block] = []
    for match in FENCE.finditer(text):
        info = match["info"].strip().split()
        language = info[0] if info else ""
        body = match["body"]
        line = text.count("\n", 0, match.start()) + 1
        first, _, rest = body.partition("\n")
        mark = FILE_LINE.match(first)
        excerpt = EXCERPT_LINE.match(first) if language == "python" else None
        if mark:
            blocks.append(Block("file", rest, line, mark["path"]))
        elif excerpt:
            blocks.append(Block("excerpt", rest, line, excerpt["path"]))
        elif language in {"bash", "pycon"}:
            blocks.append(Block(language, body, line))
        elif language == "text":
            blocks.append(Block("shown", body, line))
        else:
            raise AssertionError(
                f"{TUTORIAL.name}:{line}: a ```{language} block is neither run nor shown; "
                "use bash, pycon, text, a `# file:` or (python) a `# from` first line"
            )
    return blocks


def fake_editable_install(project: Path, site: Path) -> None:
    """Make ``project`` importable and its entry points discoverable through ``site``.

    Writes ``<name>-<version>.dist-info`` (``METADATA`` and ``entry_points.txt``, from
    ``pyproject.toml``, with :func:`learnware_dock.testing.write_distribution`) into
    ``site`` and links the wheel's packages there, which is what an editable install
    amounts to for entry-point discovery. Checks that the declared dependencies are
    installed, as pip would.
    """
    project = project.resolve()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    meta = pyproject["project"]
    for requirement in meta.get("dependencies", []):
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        try:
            distribution(name)
        except PackageNotFoundError:
            raise SystemExit(f"dependency {requirement!r} is not installed") from None
    groups = meta.get("entry-points", {})
    plugins = groups.get(ENTRY_POINT_GROUP, {})
    write_distribution(site, meta["name"], plugins, meta["version"], groups=groups)
    for package in pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]:
        source = project / package
        assert (source / "__init__.py").is_file(), f"wheel package {package} does not exist"
        (site / source.name).symlink_to(source, target_is_directory=True)


@dataclass
class Terminal:
    """A shell session carried across subprocesses: working directory and environment."""

    cwd: Path
    env: dict[str, str]
    state: Path
    outputs: list[tuple[str, str]] = field(default_factory=list)

    def run(self, argv: list[str], where: str) -> str:
        proc = subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"{where} failed (exit {proc.returncode}):\n{proc.stdout}"
        return proc.stdout

    def bash(self, script: str, where: str) -> str:
        cwd_file, env_file = self.state / "cwd", self.state / "env"
        wrapped = (
            f"set -euo pipefail\n{script}\n"
            f"pwd > {shlex.quote(str(cwd_file))}\nenv -0 > {shlex.quote(str(env_file))}\n"
        )
        output = self.run(["bash", "-c", wrapped], where)
        self.cwd = Path(cwd_file.read_text(encoding="utf-8").strip())
        pairs = env_file.read_text(encoding="utf-8").split("\0")
        self.env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        return output

    def doctest(self, session: str, where: str) -> str:
        path = self.state / f"session-{len(self.outputs)}.txt"
        path.write_text(session, encoding="utf-8")
        options = ["-o", "ELLIPSIS", "-o", "NORMALIZE_WHITESPACE"]
        return self.run([sys.executable, "-m", "doctest", *options, str(path)], where)

    def output_of(self, command: str) -> str:
        """The output of the one block whose source contains ``command``."""
        found = [out for source, out in self.outputs if command in source]
        assert len(found) == 1, f"{len(found)} tutorial blocks run {command!r}"
        return found[0]


def run_tutorial(blocks: list[Block], terminal: Terminal, install: str) -> int:
    """Execute ``blocks`` in order; return how often :data:`INSTALL` was substituted."""
    substituted = 0
    session: list[Block] = []

    def flush() -> None:
        if session:
            # Pad with blank lines so that doctest's line numbers are the page's.
            text = ""
            for b in session:
                text += "\n" * (b.line - text.count("\n")) + b.body
            where = f"Python session at {TUTORIAL.name}:{session[0].line} (same line numbers)"
            terminal.outputs.append((text, terminal.doctest(text, where)))
            session.clear()

    for block in blocks:
        if block.kind == "pycon":
            session.append(block)
            continue
        if block.kind in {"shown", "excerpt"}:
            continue
        flush()
        where = f"{TUTORIAL.name}:{block.line}"
        if block.kind == "file":
            assert block.path is not None and not Path(block.path).is_absolute(), where
            target = terminal.cwd / block.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body, encoding="utf-8")
            continue
        lines = block.body.splitlines()
        substituted += lines.count(INSTALL)
        script = "\n".join(install if line == INSTALL else line for line in lines)
        terminal.outputs.append((block.body, terminal.bash(script, f"bash block at {where}")))
    flush()
    return substituted


@pytest.mark.slow
def test_tutorial_runs(tmp_path: Path) -> None:
    blocks = parse(TUTORIAL.read_text(encoding="utf-8"))
    kinds = {b.kind for b in blocks}
    assert {"bash", "file", "pycon"} <= kinds

    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "dock").exists(), f"no `dock` next to {sys.executable}"
    site, work, state = tmp_path / "site", tmp_path / "work", tmp_path / "state"
    for folder in (site, work, state):
        folder.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DOCK_", "PYTEST_", "PYTHON")) and k != "COLUMNS"
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=str(site),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONWARNINGS="error",
        PYTEST_ADDOPTS=f"-p no:cacheprovider -W error --basetemp={tmp_path / 'pytest'}",
        DOCK_SRC=str(REPO),
        DOCK_HOME=str(tmp_path / "home"),
        DOCK_STRICT_PLUGINS="1",
        COLUMNS="120",  # wide enough that rich tables do not wrap
    )
    install = " ".join(
        shlex.quote(part)
        for part in (sys.executable, __file__, "fake-editable-install", ".", str(site))
    )
    terminal = Terminal(work, env, state)

    assert run_tutorial(blocks, terminal, install) == 1, f"{INSTALL!r} must appear once"

    plugin = work / "learnware-dock-recent"
    assert terminal.env["DOCK_HOME"] == str(work / "dock-home")
    leftovers = [
        p.relative_to(plugin)
        for p in plugin.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and "template" in p.read_text("utf-8")
    ]
    assert not leftovers, f"'template' left after the rename: {leftovers}"
    assert not (plugin / "src" / "learnware_dock_recent" / "checker.py").exists()

    listing = terminal.output_of(INSTALL)
    assert re.search(r"recent\s*│\s*learnware-dock-recent\s*│\s*0\.1\.0\s*│\s*loaded", listing)
    assert re.search(r"^searchers: .*\brecent\b", listing, re.M), listing

    tests = next(b for b in blocks if b.path == "tests/test_recent.py")
    expected = len(re.findall(r"^def test_", tests.body, re.M))
    summary = terminal.output_of("python -m pytest")
    assert re.search(rf"\b{expected} passed\b", summary), summary
    assert not re.search(r"\b(failed|skipped|error|warnings?)\b", summary), summary

    found = terminal.output_of("--task Classification --searcher recent")
    assert found.index("churn") < found.index("credit") < found.index("fraud"), found
    missing = terminal.output_of("--searcher popular")
    assert "error: no searcher named 'popular'" in missing
    assert "exit status 1" in missing

    reusers = terminal.output_of("dock reusers")
    assert re.search(r"newest\s*│\s*-\s*│\s*members\s*│\s*int\s*│\s*1\s*│", reusers), reusers

    switches = terminal.output_of("DOCK_LOAD_PLUGINS=")
    assert re.search(r"recent\s*│\s*learnware-dock-recent\s*│\s*0\.1\.0\s*│\s*disabled", switches)
    assert "error: no searcher named 'recent'" in switches
    assert "RecentSearcher" in switches


def test_the_searcher_uses_the_public_prefilter() -> None:
    blocks = parse(TUTORIAL.read_text(encoding="utf-8"))
    sources = [b.body for b in blocks if b.kind == "file" and (b.path or "").endswith(".py")]
    assert sources and not any("learnware_dock.defaults" in body for body in sources)
    recent = next(b.body for b in blocks if b.path == "src/learnware_dock_recent/recent.py")
    assert "self.market.semantic_matches(user_info)" in recent


def test_the_reuser_declares_options_and_is_built_from_a_search() -> None:
    blocks = parse(TUTORIAL.read_text(encoding="utf-8"))
    files = {b.path: b.body for b in blocks if b.kind == "file"}
    newest = files["src/learnware_dock_recent/newest.py"]
    assert "options_class = NewestOptions" in newest
    assert "def from_search(cls, context: ReuseContext, options: NewestOptions)" in newest
    assert "return [NewestReuser]" in files["src/learnware_dock_recent/hooks.py"]
    sessions = "".join(b.body for b in blocks if b.kind == "pycon")
    assert 'market.reuser(result, "newest", {"members": "3"}' in sessions


def test_excerpts_match_the_repository() -> None:
    excerpts = [b for b in parse(TUTORIAL.read_text(encoding="utf-8")) if b.kind == "excerpt"]
    assert excerpts
    for block in excerpts:
        assert block.path is not None
        source = (REPO / block.path).read_text(encoding="utf-8")
        assert block.body in source, f"{TUTORIAL.name}:{block.line} is not in {block.path}"


def test_parse_conventions() -> None:
    text = (
        "```bash\necho hi\n```\n"
        "````markdown\n<!-- file: README.md -->\n# x\n```bash\nnot run\n```\n````\n"
        "```python\n# file: src/a.py\nA = 1\n```\n"
        "```python\n# from core/x.py\nshown = True\n```\n"
        "```text\noutput\n```\n"
        "```pycon\n>>> 1\n1\n```\n"
    )
    blocks = parse(text)
    assert [(b.kind, b.path) for b in blocks] == [
        ("bash", None),
        ("file", "README.md"),
        ("file", "src/a.py"),
        ("excerpt", "core/x.py"),
        ("shown", None),
        ("pycon", None),
    ]
    assert blocks[1].body == "# x\n```bash\nnot run\n```\n"
    with pytest.raises(AssertionError, match="neither run nor shown"):
        parse("```sh\nls\n```\n")
    with pytest.raises(AssertionError, match="neither run nor shown"):
        parse("```python\nnot_an_excerpt = True\n```\n")


if __name__ == "__main__":  # the substitute for `pip install -e`, see the module docstring
    if sys.argv[1:2] != ["fake-editable-install"] or len(sys.argv) != 4:
        raise SystemExit(f"usage: {sys.argv[0]} fake-editable-install PROJECT SITE")
    fake_editable_install(Path(sys.argv[2]), Path(sys.argv[3]))
