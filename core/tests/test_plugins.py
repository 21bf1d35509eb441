"""The microkernel: hook specs, plugin loading from entry points, switches, registries."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
import types
from pathlib import Path

import pytest

from learnware_dock import hookspecs
from learnware_dock import interfaces as itf
from learnware_dock.config import DockConfig
from learnware_dock.errors import PluginError, SemanticError
from learnware_dock.market import Market
from learnware_dock.plugins import (
    DEFAULT_PLUGINS,
    DockPluginManager,
    PluginImportError,
    get_plugin_manager,
    list_plugins,
)
from learnware_dock.registry import KINDS, Components, Registry
from learnware_dock.semantic import SemanticSpec
from learnware_dock.testing import ToySpecification, register_plugin, write_distribution

DOC_PLUGINS = {
    "specification": (itf.StatSpecification, "MeanSpecification"),
    "organizer": (itf.Organizer, "memory"),
    "searcher": (itf.Searcher, "prefix"),
    "checker": (itf.Checker, "has-readme"),
    "reuser": (itf.Reuser, "first"),
    "container": (itf.Container, "counting"),
    "backend": (itf.Backend, "numpy"),
}


def docstring_plugin(cls: type) -> types.ModuleType:
    """Execute the complete minimal plugin in an interface's docstring as a module."""
    doc = inspect.getdoc(cls) or ""
    code = textwrap.dedent(doc.split("::", 1)[1])
    module = types.ModuleType(f"doc_plugin_{cls.__name__}")
    exec(compile(code, module.__name__, "exec"), module.__dict__)
    return module


def test_every_hookspec_is_covered_by_a_kind_or_a_test() -> None:
    specs = {name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)}
    specs = {s for s in specs if s.startswith("dock_")}
    registered = {hook for hook, _ in KINDS.values()}
    events = {"dock_learnware_added", "dock_learnware_removed"}  # test_market.py
    cli = {"dock_register_commands"}  # test_cli.py
    assert specs == registered | events | cli | {"dock_configure", "dock_register_vocabulary"}


@pytest.mark.parametrize("kind", sorted(DOC_PLUGINS))
def test_interface_docstring_is_a_working_plugin(
    kind: str, plugin_manager: DockPluginManager
) -> None:
    interface, name = DOC_PLUGINS[kind]
    module = docstring_plugin(interface)
    with register_plugin(plugin_manager, module):
        registry = Registry.collect(plugin_manager, kind)
        cls = registry.get(name)
        assert issubclass(cls, interface)
    assert name not in Registry.collect(plugin_manager, kind)


def test_docstring_plugins_really_work(tmp_path: Path, plugin_manager: DockPluginManager) -> None:
    import numpy as np

    spec_cls = docstring_plugin(itf.StatSpecification).MeanSpecification
    a = spec_cls.generate(np.ones((3, 2)))
    b = spec_cls.from_json(a.to_json())
    assert a.dist(b) == 0.0 and a.dimension == 2
    backend = docstring_plugin(itf.Backend).NumpyBackend()
    z = np.zeros((1, 2))
    out = backend.cross_terms(z, np.ones(1), np.zeros((3, 1, 2)), np.ones((3, 1)), 0.1)
    assert out.tolist() == [1.0, 1.0, 1.0]
    organizer_module = docstring_plugin(itf.Organizer)
    with register_plugin(plugin_manager, organizer_module):
        from learnware_dock.market import Market

        market = Market(tmp_path, organizer="memory", plugin_manager=plugin_manager)
        assert len(market) == 0


def test_configure_is_retired_and_never_called(tmp_path: Path) -> None:
    pm = get_plugin_manager()
    seen: list[DockConfig] = []

    class Late:
        @hookspecs.hookimpl
        def dock_configure(self, config: DockConfig) -> None:
            seen.append(config)

    warns = pytest.warns(DeprecationWarning, match=r"retired.*config\.setting\(\)")
    with warns, register_plugin(pm, Late()):
        Market(tmp_path / "m", plugin_manager=pm).close()
    assert seen == []


def test_vocabulary_hook_extends_values(plugin_manager: DockPluginManager) -> None:
    class Space:
        @hookspecs.hookimpl
        def dock_register_vocabulary(self) -> dict[str, list[str]]:
            return {"Scenario": ["Space"]}

    spec = SemanticSpec(
        name="n",
        data=("Image",),
        task=("Others",),
        library=("Others",),
        scenario=("Space",),
        license=("MIT",),
    )
    with pytest.raises(SemanticError, match="Space"):
        spec.validate(Components(plugin_manager).vocabulary)
    with register_plugin(plugin_manager, Space()):
        assert spec.validate(Components(plugin_manager).vocabulary) is spec


def test_defaults_are_registered_and_blockable(monkeypatch: pytest.MonkeyPatch) -> None:
    pm = get_plugin_manager(load_entrypoints=False)
    assert set(DEFAULT_PLUGINS) <= {i.name for i in list_plugins(pm) if i.status == "loaded"}
    assert Components(pm).searchers.names() == ["semantic"]
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "defaults.semantic")
    pm = get_plugin_manager(load_entrypoints=False)
    assert {i.name: i.status for i in list_plugins(pm)}["defaults.semantic"] == "disabled"
    with pytest.raises(PluginError, match="no searcher named 'semantic'; installed: none"):
        Components(pm).searchers.get("semantic")


# -- installed plugins, through faked (on-disk) distribution metadata ----------------------
# (tests/test_core_with_plugins.py loads the real, pip-installed template distribution)
#: The entry-point names of the fake distributions below: the only installed plugins that
#: load in these tests (``DOCK_LOAD_PLUGINS``), whatever else the venv has.
FAKE_PLUGINS = (
    "fakeplug_ok",
    "fakeplug_broken",
    "fakeplug_mismatch",
    "fakeplug_unknown",
    "fakeplug_off",
)


def fake_distribution(root: Path, dist: str, module: str, source: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    write_distribution(root, dist, {module: module})


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("DOCK_STRICT_PLUGINS", raising=False)
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", ",".join(FAKE_PLUGINS))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("fakeplug")]:
        del sys.modules[name]


def test_installed_plugin_loads_through_its_distribution_metadata(fake_site: Path) -> None:
    source = """
    from learnware_dock import hookimpl
    from learnware_dock.testing import ToySpecification

    @hookimpl
    def dock_register_specifications():
        return [ToySpecification]
    """
    fake_distribution(fake_site, "fakeplug-ok", "fakeplug_ok", source)
    pm = get_plugin_manager()
    ok = {i.name: i for i in list_plugins(pm)}["fakeplug_ok"]
    assert (ok.status, ok.source) == ("loaded", "entrypoint")
    assert (ok.distribution, ok.version) == ("fakeplug-ok", "1.0")
    assert ok.hooks == ("dock_register_specifications",)
    assert Components(pm).specifications.get("ToySpecification") is ToySpecification


def test_import_error_is_skipped_and_reported(fake_site: Path) -> None:
    fake_distribution(fake_site, "fakeplug-broken", "fakeplug_broken", "import no_such_module_x\n")
    infos = {i.name: i for i in list_plugins(get_plugin_manager())}
    broken = infos["fakeplug_broken"]
    assert broken.status == "failed" and broken.distribution == "fakeplug-broken"
    assert "no_such_module_x" in (broken.error or "")
    assert infos["defaults.sqlite"].status == "loaded"


def test_strict_mode_reraises_import_errors(
    fake_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(fake_site, "fakeplug-broken", "fakeplug_broken", "import no_such_module_x\n")
    monkeypatch.setenv("DOCK_STRICT_PLUGINS", "1")
    with pytest.raises(PluginImportError, match=r"fakeplug-broken 1\.0") as info:
        get_plugin_manager()
    assert isinstance(info.value, ImportError)


def test_spec_mismatch_raises_naming_the_distribution(fake_site: Path) -> None:
    source = """
    from learnware_dock import hookimpl

    @hookimpl
    def dock_learnware_added(mkt):
        pass
    """
    fake_distribution(fake_site, "fakeplug-mismatch", "fakeplug_mismatch", source)
    with pytest.raises(PluginError, match=r"fakeplug_mismatch.*fakeplug-mismatch 1\.0"):
        get_plugin_manager()


def test_unknown_hook_raises_naming_the_distribution(fake_site: Path) -> None:
    source = """
    from learnware_dock import hookimpl

    @hookimpl
    def dock_register_widgets():
        return []
    """
    fake_distribution(fake_site, "fakeplug-unknown", "fakeplug_unknown", source)
    with pytest.raises(PluginError, match=r"fakeplug-unknown 1\.0.*dock_register_widgets"):
        get_plugin_manager()


def test_load_and_disable_switches(fake_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distribution(fake_site, "fakeplug-broken", "fakeplug_broken", "import no_such_module_x\n")
    fake_distribution(fake_site, "fakeplug-ok", "fakeplug_ok", "")
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", "fakeplug_ok")
    infos = {i.name: i.status for i in list_plugins(get_plugin_manager())}
    assert infos["fakeplug_broken"] == "disabled" and infos["fakeplug_ok"] == "loaded"
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", "")
    infos = {i.name: i.status for i in list_plugins(get_plugin_manager())}
    assert infos["fakeplug_broken"] == "disabled" and infos["fakeplug_ok"] == "disabled"
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", ",".join(FAKE_PLUGINS))
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "fakeplug_broken,defaults.inprocess")
    infos = {i.name: i.status for i in list_plugins(get_plugin_manager())}
    assert infos["fakeplug_broken"] == "disabled" and infos["fakeplug_ok"] == "loaded"
    assert infos["defaults.inprocess"] == "disabled" and infos["defaults.sqlite"] == "loaded"


def test_trace_switch_writes_hook_calls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCK_TRACE_PLUGINS", "1")
    Components(get_plugin_manager(load_entrypoints=False)).searchers.names()
    assert re.search(r"dock_register_searchers", capsys.readouterr().err)


# -- registries -----------------------------------------------------------------------------
class SearcherA(itf.Searcher):
    name = "same"

    def search(self, user_info, *, limit=10):  # type: ignore[no-untyped-def]
        raise AssertionError


class SearcherB(SearcherA):
    pass


def test_duplicate_names_raise_naming_both_classes() -> None:
    with pytest.raises(PluginError) as info:
        Registry("searcher", [SearcherA, SearcherB])
    message = str(info.value)
    assert "test_plugins.SearcherA" in message and "test_plugins.SearcherB" in message
    assert "DOCK_DISABLE_PLUGINS" in message


def test_missing_name_lists_installed_names_and_a_close_match() -> None:
    with pytest.raises(PluginError) as info:
        Registry("searcher", [SearcherA]).get("x")
    assert str(info.value) == (
        "no searcher named 'x'; installed: same; "
        "install the plugin that provides it (`dock plugins` lists them)"
    )
    with pytest.raises(PluginError, match=r"installed: same; did you mean 'same'\?"):
        Registry("searcher", [SearcherA]).get("sane")


def test_missing_name_lists_plugins_not_loaded_from_their_metadata(
    fake_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(fake_site, "fakeplug-off", "fakeplug_off", "")
    fake_distribution(fake_site, "fakeplug-broken", "fakeplug_broken", "import no_such_module_x\n")
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "fakeplug_off,defaults.semantic")
    with pytest.raises(PluginError) as info:
        Components(get_plugin_manager()).searchers.get("x")
    message = str(info.value)
    assert message.startswith("no searcher named 'x'; installed: ")
    assert "semantic" not in message.split("; ")[1]
    assert "fakeplug_off (fakeplug-off 1.0, disabled)" in message
    assert "fakeplug_broken (fakeplug-broken 1.0, failed)" in message
    assert "defaults.semantic (built-in, disabled)" in message
    assert "learnware-dock-x" not in message and "`dock plugins`" in message


def test_registered_classes_must_subclass_the_interface_and_have_a_name() -> None:
    with pytest.raises(PluginError, match="not a subclass"):
        Registry("searcher", [int])

    class Nameless(SearcherA):
        name = ""

    with pytest.raises(PluginError, match="no string `name`"):
        Registry("searcher", [Nameless])


def test_lazy_exports_import_on_first_use() -> None:
    import textwrap

    from learnware_dock.lazy import lazy_exports

    getter = lazy_exports("some_plugin", {"dedent": "textwrap", "nothing": "json"})

    assert getter("dedent") is textwrap.dedent
    with pytest.raises(AttributeError, match="'some_plugin' has no attribute 'missing'"):
        getter("missing")
    with pytest.raises(AttributeError, match="nothing"):
        getter("nothing")  # json has no such name: the import's own error
