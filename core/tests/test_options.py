"""Declared component options: built from keywords or command-line strings, every problem
reported at once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs
import pytest

from learnware_dock.errors import DockError
from learnware_dock.options import build_options, describe_options, option, parse_pairs


@attrs.frozen
class VoteOptions:
    weighted: bool = option(True, help="Weight by the mixture.")
    rounds: int = option(10, help="Rounds.", validator=attrs.validators.ge(1))
    memory: int | None = option(None, help="Bytes, or none.")
    mode: Literal["hard", "soft"] = option("hard", help="Vote kind.")
    out: Path | None = option(None, help="Where.")
    rate: float = option(0.5, help="A rate.")


def test_strings_are_parsed_to_the_declared_types() -> None:
    built = build_options(
        VoteOptions,
        parse_pairs(["weighted=no", "rounds=20", "memory=none", "mode=soft", "out=y.npy"]),
        what="reuser 'vote'",
    )
    assert built == VoteOptions(False, 20, None, "soft", Path("y.npy"), 0.5)
    assert build_options(VoteOptions, {"rate": "0.25", "memory": "64"}, what="x").memory == 64


def test_keyword_values_pass_through_and_defaults_fill_the_rest() -> None:
    assert build_options(VoteOptions, {"rounds": 3}, what="x") == VoteOptions(rounds=3)
    assert build_options(VoteOptions, {}, what="x") == VoteOptions()


def test_every_problem_is_named_in_one_error() -> None:
    with pytest.raises(DockError) as caught:
        build_options(
            VoteOptions, {"round": "2", "mode": "loud", "rate": "nan"}, what="reuser 'vote'"
        )
    message = str(caught.value)
    assert message.startswith("reuser 'vote': ")
    assert "unknown option 'round' (did you mean 'rounds'?)" in message
    assert "mode: 'loud' is not" in message and "rate: 'nan' is not float" in message
    assert "its options: weighted, rounds, memory, mode, out, rate" in message


def test_validators_run_and_their_message_is_kept() -> None:
    with pytest.raises(DockError, match="'rounds' must be >= 1"):
        build_options(VoteOptions, {"rounds": "0"}, what="x")


def test_a_refused_value_is_named_beside_an_unknown_name() -> None:
    with pytest.raises(DockError) as caught:
        build_options(VoteOptions, {"weigted": "no", "rounds": "0"}, what="x")
    assert "unknown option 'weigted'" in str(caught.value)
    assert "'rounds' must be >= 1" in str(caught.value)


def test_malformed_pairs_are_refused() -> None:
    with pytest.raises(DockError, match="NAME=VALUE, not 'rounds'"):
        parse_pairs(["rounds"])
    assert parse_pairs(["selector-iterations=5"]) == {"selector_iterations": "5"}


def test_describe_lists_names_types_defaults_and_help() -> None:
    described = {o.name: o for o in describe_options(VoteOptions)}
    assert list(described) == ["weighted", "rounds", "memory", "mode", "out", "rate"]
    assert described["memory"].type == "int | None" and described["memory"].default is None
    assert described["rounds"].help == "Rounds." and described["out"].type == "Path | None"
