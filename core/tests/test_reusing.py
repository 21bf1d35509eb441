"""Reusers built through the registry (`learnware_dock.reusing`, `Market.reuser`, `dock
reuse --method NAME -O k=v`, `dock reusers`), with the core alone: an in-test plugin,
loaded through a real entry point, registers a toy spec, a searcher that returns a
mixture, and two reusers; the learnwares are real packages run in-process."""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
import types
from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np
import pytest

from learnware_dock import cli
from learnware_dock.cli import main
from learnware_dock.domain import MixtureMatch, SearchResult, SingleMatch, UserInfo
from learnware_dock.errors import DockError, SearchError
from learnware_dock.hookspecs import hookimpl
from learnware_dock.interfaces import LoadedModel, NoOptions, ReuseContext, Reuser, Searcher
from learnware_dock.market import Market
from learnware_dock.options import option
from learnware_dock.plugins import get_plugin_manager
from learnware_dock.testing import (
    ToySpecification,
    build_package,
    register_plugin,
    table_semantic_spec,
    write_distribution,
)

IDS = ["00000001", "00000002", "00000003"]


class MixtureSearcher(Searcher):
    """Every learnware, in id order, as one mixture weighted by 1 / (1 + distance)."""

    name = "toy-mixture"
    priority = 10

    def supports(self, user_info: UserInfo) -> bool:
        return ToySpecification.name in user_info.stat_specs

    def search(
        self, user_info: UserInfo, *, limit: int = 10, max_search_num: int = 5
    ) -> SearchResult:
        user = user_info.stat_specs[ToySpecification.name]
        found = self.market.list()[:max_search_num]
        dists = [self.market.stat_spec(lw, user.name).dist(user) for lw in found]
        weights = np.array([1.0 / (1.0 + d) for d in dists])
        singles = tuple(SingleMatch(lw, 1.0, d) for lw, d in zip(found, dists, strict=True))
        mixture = MixtureMatch(tuple(found), tuple((weights / weights.sum()).tolist()), 1.0)
        return SearchResult(singles[:limit], (mixture,), self.name, len(found))


@attrs.frozen
class VoteOptions:
    member: int | None = option(
        None,
        help="Only this member predicts (0-based); none: a vote.",
        validator=attrs.validators.optional(attrs.validators.ge(0)),
    )
    weighted: bool = option(True, help="Weight the vote by the mixture.")


class VoteReuser(Reuser):
    """A (weighted) vote of 0/1 labels, or one member's labels."""

    name = "toy-vote"
    options_class = VoteOptions
    contexts: ClassVar[list[ReuseContext]] = []

    def __init__(self, models: Any, weights: Any = None, *, member: int | None = None) -> None:
        super().__init__(models, weights)
        if member is not None and member >= len(self.models):
            raise DockError(f"member {member} of a mixture of {len(self.models)}")
        self.member = member

    @classmethod
    def from_search(cls, context: ReuseContext, options: VoteOptions) -> VoteReuser:
        cls.contexts.append(context)
        weights = list(context.weights) if options.weighted else None
        return cls(list(context.models), weights, member=options.member)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.member is not None:
            return np.asarray(self.models[self.member].predict(X))
        votes = np.stack([m.predict(X) for m in self.models]).astype(float)
        weights = np.ones(len(self.models)) if self.weights is None else np.array(self.weights)
        return np.asarray(weights @ votes / weights.sum() >= 0.5).astype(int)


class BestReuser(Reuser):
    """The member most accurate on the user's labels predicts."""

    name = "toy-best"
    needs_labels = True

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> BestReuser:
        if y is None:
            raise DockError("toy-best needs labels")
        self.chosen = int(np.argmax([(m.predict(X) == y).mean() for m in self.models]))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.models[self.chosen].predict(X))


class ToyReusePlugin:
    @hookimpl
    def dock_register_specifications(self) -> list[type[Any]]:
        return [ToySpecification]

    @hookimpl
    def dock_register_searchers(self) -> list[type[Searcher]]:
        return [MixtureSearcher]

    @hookimpl
    def dock_register_reusers(self) -> list[type[Reuser]]:
        return [VoteReuser, BestReuser]


class Tracked(LoadedModel):
    """A started model whose closing is recorded."""

    def __init__(self, inner: LoadedModel) -> None:
        self.inner, self.closed = inner, False

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.inner.predict(X)

    def close(self) -> None:
        self.closed = True
        self.inner.close()


@attrs.define
class Env:
    root: Path
    rows: Path
    labels: Path
    stat: Path
    out: Path
    X: np.ndarray
    y: np.ndarray
    member_predictions: list[np.ndarray]
    loaded: list[Tracked] = attrs.field(factory=list)
    fail_load: int | None = None

    def reuse(self, *args: str) -> list[str]:
        cli = ["reuse", str(self.rows), "--stat", str(self.stat), "-o", str(self.out)]
        return [*cli, "--container", "inprocess", "--market", str(self.root), *args]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """A market of three centroid classifiers (of x0 > 0, x1 > 0, x2 > 0), the user's rows
    labelled x1 > 0, and its ToySpecification; only the core and the toy plugin load."""
    site = tmp_path / "site"
    site.mkdir()
    write_distribution(site, "toy-reuse", {"toyreuse": "dock_toy_reuse:plugin"})
    module = types.ModuleType("dock_toy_reuse")
    module.plugin = ToyReusePlugin()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dock_toy_reuse", module)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("DOCK_LOAD_PLUGINS", "toyreuse")
    # `dock` adds plugin commands once per process: not from this restricted set
    monkeypatch.setattr(cli, "_plugin_commands_added", True)
    monkeypatch.setattr(VoteReuser, "contexts", [])
    rng = np.random.default_rng(3)
    root = tmp_path / "market"
    predictions = []
    X = rng.normal(size=(80, 4))
    with Market(root, plugin_manager=get_plugin_manager()) as market:
        for feature in range(3):
            train = rng.normal(size=(200, 4))
            package = build_package(tmp_path / f"lw{feature}", train, train[:, feature] > 0)
            lw = market.add(package, table_semantic_spec(f"sign of x{feature}"))
            with market.load(lw, container="inprocess") as model:
                predictions.append(np.asarray(model.predict(X)))
    y = (X[:, 1] > 0).astype(int)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    ToySpecification.generate(X).save(tmp_path / "user.json")
    made = Env(
        root=root,
        rows=tmp_path / "X.npy",
        labels=tmp_path / "y.npy",
        stat=tmp_path / "user.json",
        out=tmp_path / "out.npy",
        X=X,
        y=y,
        member_predictions=predictions,
    )
    real_load = Market.load

    def load(self: Market, learnware: Any, **kwargs: Any) -> LoadedModel:
        if made.fail_load == len(made.loaded):
            raise DockError("this load fails")
        model = Tracked(real_load(self, learnware, **kwargs))
        made.loaded.append(model)
        return model

    monkeypatch.setattr(Market, "load", load)
    return made


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_options_are_parsed_and_validated_through_dock_reuse(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *env.reuse("--method", "toy-vote", "-O", "member=1", "--json"))
    report = json.loads(out)
    assert code == 0 and report["options"] == {"member": 1, "weighted": True}
    assert report["method"] == "toy-vote" and [m["id"] for m in report["mixture"]] == IDS
    assert sum(m["weight"] for m in report["mixture"]) == pytest.approx(1.0)
    np.testing.assert_array_equal(np.load(env.out), env.member_predictions[1])
    assert (env.member_predictions[1] == env.y).mean() > 0.9  # the models are real

    code, out, _ = run(capsys, *env.reuse("--method", "toy-vote", "-O", "weighted=no", "--json"))
    assert code == 0 and json.loads(out)["options"] == {"member": None, "weighted": False}
    majority = (np.mean(env.member_predictions, axis=0) >= 0.5).astype(int)
    np.testing.assert_array_equal(np.load(env.out), majority)

    code, out, _ = run(capsys, *env.reuse("--method", "toy-vote", "--top", "2"))
    assert code == 0 and "toy-vote (member=None, weighted=True): wrote (80,)" in out
    assert out.count("sign of x") == 2 and len(env.loaded) == 3 + 3 + 2

    code, _, err = run(capsys, *env.reuse("--method", "toy-vote", "-O", "member=-1"))
    assert code == 1 and "reuser 'toy-vote': 'member' must be >= 0" in err
    code, _, err = run(capsys, *env.reuse("--method", "toy-vote", "-O", "member=x"))
    assert code == 1 and "member: 'x' is not int | None" in err


def test_an_unknown_option_is_refused_with_a_suggestion_before_any_model_starts(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *env.reuse("--method", "toy-vote", "-O", "membr=1"))
    assert code == 1 and err.count("\n") == 1
    assert "reuser 'toy-vote': unknown option 'membr' (did you mean 'member'?)" in err
    assert "(its options: member, weighted)" in err
    code, _, err = run(capsys, *env.reuse("--method", "toy-best", "-O", "k=1"))
    assert code == 1 and "unknown option 'k' (its options: none)" in err
    assert env.loaded == [] and not env.out.exists()


def test_a_reuser_that_needs_labels_is_refused_without_them_and_fitted_with_them(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *env.reuse("--method", "toy-best"))
    assert code == 1 and "error: reuser 'toy-best' needs labels: pass --labels y.npy" in err
    assert env.loaded == []
    code, out, _ = run(capsys, *env.reuse("--method", "toy-best", "--labels", str(env.labels)))
    assert code == 0 and "toy-best: wrote (80,)" in out
    np.testing.assert_array_equal(np.load(env.out), env.member_predictions[1])
    table = env.labels.with_suffix(".csv")
    np.savetxt(table, 1 - env.y, fmt="%d", header="label", comments="")  # now x1 <= 0
    env.out.unlink()
    code, out, _ = run(capsys, *env.reuse("--method", "toy-best", "--labels", str(table)))
    assert code == 0
    flipped = [(p == 1 - env.y).mean() for p in env.member_predictions]
    np.testing.assert_array_equal(np.load(env.out), env.member_predictions[np.argmax(flipped)])
    bad = env.labels.with_name("bad.csv")
    bad.write_text("label\nseven\n")
    code, _, err = run(capsys, *env.reuse("--method", "toy-best", "--labels", str(bad)))
    assert code == 1 and "cannot read a numeric table from" in err
    wide = env.labels.with_name("wide.npy")
    np.save(wide, np.ones((80, 2)))
    code, _, err = run(capsys, *env.reuse("--method", "toy-best", "--labels", str(wide)))
    assert code == 1 and "wide.npy: labels are one column, not shape (80, 2)" in err
    np.save(wide, np.ones(5))
    code, _, err = run(capsys, *env.reuse("--method", "toy-best", "--labels", str(wide)))
    assert code == 1 and "wide.npy holds 5 labels for 80 rows" in err
    assert len(env.loaded) == 6 and all(m.closed for m in env.loaded)  # two runs


def test_models_are_closed_after_reuse_and_when_building_fails(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, *env.reuse("--method", "toy-vote"))
    assert code == 0 and len(env.loaded) == 3 and all(m.closed for m in env.loaded)
    code, _, err = run(capsys, *env.reuse("--method", "toy-vote", "-O", "member=3"))
    assert code == 1 and "member 3 of a mixture of 3" in err  # raised by from_search
    assert len(env.loaded) == 6 and all(m.closed for m in env.loaded)


def test_market_reuser_owns_its_models(env: Env) -> None:
    info = UserInfo(stat_specs={"ToySpecification": ToySpecification.generate(env.X)})
    with Market(env.root) as market:
        result = market.search(info)
        with market.reuser(result, "toy-vote", {"member": 2}, container="inprocess") as reuser:
            assert isinstance(reuser, VoteReuser) and reuser.models == env.loaded
            assert not any(m.closed for m in env.loaded)
            np.testing.assert_array_equal(reuser.predict(env.X), env.member_predictions[2])
        assert len(env.loaded) == 3 and all(m.closed for m in env.loaded)
        with (
            pytest.raises(ValueError, match="inside the block"),
            market.reuser(result, "toy-vote", VoteOptions(weighted=False), container="inprocess"),
        ):
            raise ValueError("inside the block")
        assert len(env.loaded) == 6 and all(m.closed for m in env.loaded)
        env.fail_load = 8  # the third model of the next reuser fails to start
        with (
            pytest.raises(DockError, match="this load fails"),
            market.reuser(result, "toy-vote", container="inprocess"),
        ):
            pass
        assert len(env.loaded) == 8 and all(m.closed for m in env.loaded)
        with (
            pytest.raises(DockError, match="a mapping or a VoteOptions, not NoOptions"),
            market.reuser(result, "toy-vote", NoOptions()),
        ):
            pass
        with (
            pytest.raises(DockError, match="found 1 mixture\\(s\\); there is no mixture 1"),
            market.reuser(result, "toy-vote", mixture=1),
        ):
            pass
        with (
            pytest.raises(DockError, match="the search found no learnwares to reuse"),
            market.reuser(SearchResult(result.singles), "toy-vote"),
        ):
            pass
    assert len(env.loaded) == 8


def test_the_context_holds_the_mixture_task_and_stat_specs(env: Env) -> None:
    user = ToySpecification.generate(env.X)
    info = UserInfo(stat_specs={user.name: user})
    with Market(env.root) as market:
        result = market.search(info)
        with market.reuser(result, "toy-vote", container="inprocess", user_info=info):
            pass
        [context] = VoteReuser.contexts
        assert [lw.id for lw in context.learnwares] == IDS and context.user_info is info
        assert context.weights == result.mixtures[0].weights and len(context.models) == 3
        assert (context.task, context.classes) == ("classification", 2)
        specs = context.stat_specs()
        assert all(isinstance(s, ToySpecification) for s in specs)
        assert [s.dist(user) for s in specs] == [
            market.stat_spec(i, user.name).dist(user) for i in IDS
        ]
        assert specs[0].dist(specs[0]) == 0.0 and specs[0].dist(specs[1]) > 0.0
        unsearched = attrs.evolve(context, user_info=UserInfo())
        assert [s.to_json() for s in unsearched.stat_specs()] == [s.to_json() for s in specs]
        with pytest.raises(SearchError, match="learnware 00000001 has no Other; it has"):
            context.stat_specs("Other")
        both = UserInfo(stat_specs={"A": user, "B": user})
        with pytest.raises(DockError, match="several statistical spec types \\(A, B\\)"):
            attrs.evolve(context, user_info=both).stat_specs()


def test_dock_reusers_lists_names_labels_and_options(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "reusers", "--json")
    assert code == 0 and json.loads(out) == [
        {"name": "toy-best", "needs_labels": True, "options": []},
        {
            "name": "toy-vote",
            "needs_labels": False,
            "options": [
                {
                    "name": "member",
                    "type": "int | None",
                    "default": None,
                    "help": "Only this member predicts (0-based); none: a vote.",
                },
                {
                    "name": "weighted",
                    "type": "bool",
                    "default": True,
                    "help": "Weight the vote by the mixture.",
                },
            ],
        },
    ]
    code, out, _ = run(capsys, "reusers")
    assert code == 0 and "toy-best" in out and "needed" in out and "int | None" in out


def test_a_missing_method_names_the_installed_reusers(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *env.reuse("--method", "toy-vot"))
    assert code == 1 and err.startswith("error: no reuser named 'toy-vot'; installed: toy-best")
    assert "did you mean 'toy-vote'?" in err
    code, _, err = run(capsys, *env.reuse())
    assert code == 1 and "the default reuser 'job-selector' is not installed" in err
    assert "installed reusers: toy-best, toy-vote" in err and env.loaded == []


def test_the_interface_docstring_plugin_is_built_from_a_search(env: Env) -> None:
    """The complete minimal plugin in ``Reuser``'s docstring, with its declared option."""
    module = types.ModuleType("doc_reuser")
    code = textwrap.dedent((inspect.getdoc(Reuser) or "").split("::", 1)[1])
    exec(compile(code, module.__name__, "exec"), module.__dict__)
    info = UserInfo(stat_specs={"ToySpecification": ToySpecification.generate(env.X)})
    with Market(env.root) as market, register_plugin(market.pm, module):
        result = market.search(info)
        with market.reuser(result, "first", {"member": "2"}, container="inprocess") as reuser:
            np.testing.assert_array_equal(reuser.predict(env.X), env.member_predictions[2])
        with (
            pytest.raises(DockError, match="reuser 'first': 'member' must be >= 0"),
            market.reuser(result, "first", {"member": "-2"}),
        ):
            pass
