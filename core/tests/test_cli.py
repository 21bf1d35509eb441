"""The `dock` command: each subcommand, JSON output, one-line errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import attrs
import cattrs
import numpy as np
import pytest

from learnware_dock.cli import main
from learnware_dock.domain import (
    CheckReport,
    CheckResult,
    Learnware,
    MixtureMatch,
    SearchResult,
    SingleMatch,
    StatSpecRef,
    Status,
    UserInfo,
    converter,
    structure_user_info,
)
from learnware_dock.errors import StoreError
from learnware_dock.market import Market
from learnware_dock.testing import (
    ToySpecification,
    build_package,
    table_semantic_spec,
    write_distribution,
)

T = TypeVar("T")

TOY_ONLY = "learnware_dock.testing"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A market path, and ToySpecification registered through a fake entry point (the only
    installed plugin that loads: ``DOCK_LOAD_PLUGINS=toy``)."""
    site = tmp_path / "site"
    write_distribution(site, "toy-plugin", {"toy": "toy_plugin"})
    (site / "toy_plugin.py").write_text(
        "from learnware_dock.testing import ToySpecPlugin\nplugin = ToySpecPlugin()\n"
        "dock_register_specifications = plugin.dock_register_specifications\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", "toy")
    monkeypatch.setenv("DOCK_MARKET", str(tmp_path / "market"))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_pack_add_list_show_search_rm(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    zipped = build_package(cli_env / "lw", X, (X[:, 0] > 0).astype(int))
    semantic = cli_env / "semantic.json"
    semantic.write_text(json.dumps(table_semantic_spec("cli model").to_dict()))

    code, out, _ = run(
        capsys, "pack", str(cli_env / "lw"), "-o", str(cli_env / "packed.zip"), "--json"
    )
    assert code == 0 and json.loads(out)["status"] == "NONUSABLE"
    code, out, _ = run(capsys, "add", str(cli_env / "packed.zip"), "-s", str(semantic), "--json")
    added = json.loads(out)
    assert code == 0 and (added["id"], added["status"]) == ("00000001", "NONUSABLE")
    code, out, _ = run(
        capsys,
        "add",
        str(zipped),
        "--name",
        "flags model",
        "--data",
        "Table",
        "--task",
        "Regression",
        "--library",
        "Others",
        "--scenario",
        "Health",
        "--license",
        "MIT",
        "--input-dim",
        "4",
        "--output-dim",
        "1",
    )
    assert code == 0 and "00000002" in out
    code, out, _ = run(capsys, "list", "--json")
    assert [row["semantic_spec"]["Name"]["Values"] for row in json.loads(out)] == [
        "cli model",
        "flags model",
    ]
    code, out, _ = run(capsys, "list")
    assert code == 0 and "cli model" in out
    code, out, _ = run(capsys, "show", "00000002", "--json")
    shown = json.loads(out)
    assert shown["semantic_spec"]["Task"]["Values"] == ["Regression"]
    with Market.open(str(cli_env / "market")) as market:  # the converter's shape, by name
        assert converter.structure(shown, Learnware) == market.get("00000002")
        assert shown["status"] == "NONUSABLE" and shown["report"]["status"] == "NONUSABLE"
    code, out, _ = run(capsys, "search", "--task", "Classification", "--json")
    found = json.loads(out)
    assert [s["learnware"]["name"] for s in found["singles"]] == ["cli model"]
    assert converter.structure(found, SearchResult).singles[0].learnware.id == "00000001"
    code, out, _ = run(capsys, "search", "--name", "flags")
    assert code == 0 and "flags model" in out
    code, out, _ = run(capsys, "rm", "00000001")
    assert code == 0
    code, out, err = run(capsys, "show", "00000001")
    assert code == 1 and err.startswith("error: no learnware '00000001'") and "Traceback" not in err


def test_check_exits_nonzero_for_invalid(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    X = np.random.default_rng(2).normal(size=(20, 4))
    zipped = build_package(cli_env / "lw", X, (X[:, 0] > 0).astype(int))
    code, out, _ = run(capsys, "check", str(zipped), "--name", "x", "--data", "Video", "--json")
    report = json.loads(out)
    assert code == 1 and report["status"] == "INVALID" and set(report) == {"status", "results"}
    assert report["results"][0]["checker"] == "semantic"
    assert report["results"][0]["status"] == "INVALID"
    assert "missing required key 'Task'" in report["results"][0]["message"]
    assert not (cli_env / "market").exists()  # checking touches no market


def test_errors_are_one_line_and_debug_shows_tracebacks(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "rm", "00000009", "-m", str(cli_env / "nowhere"))
    assert code == 1 and err.count("\n") == 1 and "no market at" in err
    code, _, err = run(capsys, "list", "--status", "BROKEN")
    assert code == 1 and "unknown status 'BROKEN'" in err
    code, _, err = run(capsys, "pack", str(cli_env), "-o", str(cli_env / "x.zip"))
    assert code == 1 and "has no learnware.yaml" in err
    run(capsys, "add", "--help")
    main(["search", "--name", "x"])
    capsys.readouterr()
    with pytest.raises(StoreError, match="no market at"):
        main(["--debug", "rm", "00000009"])
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "No such command" in err


def test_plugins_lists_defaults_and_installed_plugins(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plugins", "--json")
    data = json.loads(out)
    plugins = {p["name"]: p for p in data["plugins"]}
    toy = plugins["toy"]
    assert (toy["status"], toy["distribution"], toy["version"]) == ("loaded", "toy-plugin", "1.0")
    assert toy["hooks"] == ["dock_register_specifications"]
    assert plugins["defaults.sqlite"]["status"] == "loaded"
    assert {"package", "semantic"} <= set(data["components"]["checkers"])
    assert "ToySpecification" in data["components"]["specifications"]
    code, out, _ = run(capsys, "plugins")
    assert code == 0 and "toy-plugin" in out and "defaults.sqlite" in out


def test_help_imports_no_heavy_modules() -> None:
    probe = (
        "import sys; from learnware_dock.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sklearn', 'sqlite_utils', 'numpy') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_plugins_add_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from learnware_dock import cli

    site = tmp_path / "site"
    write_distribution(site, "hello-plugin", {"hello": "hello_plugin"})
    (site / "hello_plugin.py").write_text(
        "from learnware_dock import hookimpl\n\n"
        "@hookimpl\ndef dock_register_commands(app):\n"
        "    @app.command()\n    def hello(name: str) -> None:\n"
        "        '''Say hello.'''\n        print(f'hello {name}')\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", "hello")
    monkeypatch.setattr(cli, "_plugin_commands_added", False)
    registered = list(cli.app.registered_commands)
    try:
        assert main(["hello", "dock"]) == 0
        assert capsys.readouterr().out == "hello dock\n"
    finally:
        cli.app.registered_commands[:] = registered
        cli._plugin_commands_added = False


def test_json_bombs_given_to_the_cli_are_one_line_errors(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = cli_env / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    archive = build_package(cli_env / "lw", np.zeros((10, 4)), np.zeros(10, dtype=int))
    semantic = cli_env / "semantic.json"
    semantic.write_text(json.dumps(table_semantic_spec().to_dict()))
    assert run(capsys, "add", str(archive), "-s", str(semantic))[0] == 0
    for args in (
        ("add", str(archive), "-s", str(deep)),
        ("check", str(archive), "-s", str(deep)),
        ("search", "--stat", str(deep)),
    ):
        code, _, err = run(capsys, *args)
        assert code == 1, args
        assert "nested too deeply" in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1


def test_an_alias_bomb_in_environment_yml_fails_the_package_check(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    archive = build_package(
        cli_env / "bomb",
        np.zeros((10, 4)),
        np.zeros(10, dtype=int),
        files={"environment.yml": bomb.encode()},
    )
    semantic = cli_env / "semantic.json"
    semantic.write_text(json.dumps(table_semantic_spec().to_dict()))
    code, out, _ = run(capsys, "check", str(archive), "-s", str(semantic), "--json")
    report = json.loads(out)
    package = next(r for r in report["results"] if r["checker"] == "package")
    assert code == 1 and report["status"] == "INVALID", package
    assert "environment.yml is not safe, valid YAML" in package["message"]


# -- one JSON shape per domain object (the converter's, which every --json prints) ------------
def _report() -> CheckReport:
    return CheckReport(
        Status.USABLE,
        (CheckResult("package", Status.NONUSABLE, "ok", 0.25), CheckResult("stat", Status.USABLE)),
    )


def _learnware(number: int) -> Learnware:
    when = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    return Learnware(
        id=f"{number:08d}",
        semantic_spec=table_semantic_spec(f"model {number}"),
        status=Status.USABLE,
        sha256="ab" * 32,
        package_path=Path(f"/markets/m/blobs/{number}.zip"),
        stat_specs=(StatSpecRef("ToySpecification", "toy.json", "cd" * 32, "specs/cd.json"),),
        version=2,
        created=when,
        updated=when,
        report=_report(),
    )


def _via_json(obj: object, cls: type[T]) -> T:
    return converter.structure(json.loads(json.dumps(converter.unstructure(obj))), cls)


@pytest.mark.parametrize(
    "obj",
    [
        StatSpecRef("ToySpecification", "toy.json", "cd" * 32, "specs/cd.json"),
        CheckResult("stat", Status.INVALID, "the model failed", 1.5),
        _report(),
        CheckReport(Status.INVALID),
        _learnware(1),
        attrs.evolve(_learnware(2), stat_specs=(), created=None, updated=None, report=None),
        SingleMatch(_learnware(1), 0.75, 0.125),
        MixtureMatch((_learnware(1), _learnware(2)), (0.25, 0.75), 0.5),
        SearchResult(
            (SingleMatch(_learnware(1), 0.75), SingleMatch(_learnware(2), 0.5, 2.0)),
            (MixtureMatch((_learnware(1), _learnware(2)), (0.25, 0.75), 0.5, 0.01),),
            "rkme",
            7,
        ),
        SearchResult(),
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_domain_objects_round_trip_through_json(obj: object) -> None:
    assert _via_json(obj, type(obj)) == obj


def test_json_names_statuses_and_a_learnware_carries_its_name() -> None:
    data = converter.unstructure(_learnware(3))
    assert (data["id"], data["name"], data["status"]) == ("00000003", "model 3", "USABLE")
    assert [r["status"] for r in data["report"]["results"]] == ["NONUSABLE", "USABLE"]
    assert data["created"] == "2024-05-01T12:30:15.123456+00:00"
    assert data["package_path"] == "/markets/m/blobs/3.zip"
    # reports stored by earlier versions hold the `learnware` package's integers
    assert converter.structure({"status": 1, "results": []}, CheckReport).status is Status.USABLE
    with pytest.raises(cattrs.ClassValidationError):
        converter.structure({"status": "BROKEN", "results": []}, CheckReport)


def test_user_info_round_trips_with_its_statistical_specs() -> None:
    spec = ToySpecification.generate(np.arange(12.0).reshape(4, 3))
    info = UserInfo(
        semantic_spec=table_semantic_spec("wanted"),
        stat_specs={"ToySpecification": spec},
        learnware_ids=["00000001", "00000003"],
    )
    data = json.loads(json.dumps(converter.unstructure(info)))
    assert set(data) == {"semantic_spec", "stat_specs", "learnware_ids"}
    back = structure_user_info(data, lambda name, raw: ToySpecification.from_json(raw))
    assert (back.semantic_spec, back.learnware_ids) == (info.semantic_spec, info.learnware_ids)
    assert converter.unstructure(back) == data
    assert _via_json(UserInfo(learnware_ids=["00000002"]), UserInfo) == UserInfo(
        learnware_ids=["00000002"]
    )
    with pytest.raises(TypeError, match="structure_user_info"):
        converter.structure(data, UserInfo)  # the specs need a loader
