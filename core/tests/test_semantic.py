"""SemanticSpec: lossless round trip of the learnware dict format, and validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from learnware_dock.errors import SemanticError
from learnware_dock.semantic import IOSpec, SemanticSpec, Vocabulary
from learnware_dock.testing import table_semantic_spec

ANCHOR_SPEC: dict[str, Any] = {
    "Data": {"Type": "Class", "Values": ["Table"]},
    "Task": {"Type": "Class", "Values": ["Classification"]},
    "Model": {"Type": "Optional", "Values": ["Others"]},
    "Library": {"Type": "Class", "Values": ["Scikit-learn"]},
    "License": {"Type": "Class", "Values": ["MIT"]},
    "Scenario": {"Type": "Tag", "Values": ["Education", "Business"]},
    "Name": {"Type": "String", "Values": "digits-logreg"},
    "Description": {"Type": "String", "Values": "Logistic regression on digits."},
    "Input": {"Dimension": 64, "Description": {str(i): f"pixel {i}" for i in range(64)}},
    "Output": {"Dimension": 10, "Description": {"0": "digit 0", "9": "digit 9"}},
}


def test_anchor_dict_round_trips_losslessly() -> None:
    spec = SemanticSpec.from_dict(ANCHOR_SPEC)
    assert spec.to_dict() == ANCHOR_SPEC
    assert spec.model == ("Others",) and spec.input == IOSpec(
        64, ANCHOR_SPEC["Input"]["Description"]
    )
    assert spec.validate() is spec


def test_partial_and_unknown_keys_round_trip() -> None:
    query = {
        "Data": {"Type": "Class", "Values": []},
        "Name": {"Type": "String", "Values": ""},
        "Custom": {"anything": [1, 2]},
    }
    spec = SemanticSpec.from_dict(query)
    assert spec.data == () and spec.task is None and spec.extra == {"Custom": {"anything": [1, 2]}}
    assert spec.to_dict() == query


def broken(path: list[str], value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(ANCHOR_SPEC)
    target = spec
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return spec


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["Data", "Values"], ["Video"], "'Video' is not in the vocabulary"),
        (["Data", "Values"], ["Table", "Image"], "exactly one value"),
        (["Task", "Values"], [], "exactly one value"),
        (["Scenario", "Values"], [], "at least one value"),
        (["Model", "Values"], ["Others", "PEFT Model"], "Model is a Class"),
        (["Input"], KeyError, "needs 'Input'"),
        (["Output"], KeyError, "needs 'Output'"),
        (["Output", "Dimension"], 1, "must be > 1 for Classification"),
        (["Input", "Description"], {"64": "too far"}, "not an index in \\[0, 64\\)"),
        (["Name"], KeyError, "missing required key 'Name'"),
        (["Name", "Values"], "  ", "Name must not be empty"),
        (["Task", "Values"], ["Object Detection"], "does not suit Table data"),
        (["License", "Values"], ["WTFPL"], "'WTFPL' is not in the vocabulary"),
    ],
)
def test_validation_rules(path: list[str], value: Any, message: str) -> None:
    spec = SemanticSpec.from_dict(broken(path, value))
    with pytest.raises(SemanticError, match=message):
        spec.validate()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["Data", "Type"], "Tag", "expected 'Class'"),
        (["Data", "Values"], "Table", "list of strings"),
        (["Name", "Values"], ["x"], "must be a string"),
        (["Input", "Dimension"], "64", "positive integer"),
        (["Input", "Dimension"], 0, "positive integer"),
        (["Input"], {"Description": {}}, "needs a 'Dimension'"),
        (["Data"], "Table", "must be {'Type'"),
    ],
)
def test_malformed_dicts_are_refused(path: list[str], value: Any, message: str) -> None:
    with pytest.raises(SemanticError, match=message):
        SemanticSpec.from_dict(broken(path, value))


def test_not_a_mapping() -> None:
    with pytest.raises(SemanticError, match="must be a mapping"):
        SemanticSpec.from_dict(["Data"])  # type: ignore[arg-type]


def test_model_is_optional_and_regression_needs_output() -> None:
    spec = table_semantic_spec(model=None)
    assert spec.validate() is spec
    regression = table_semantic_spec(task=("Regression",), output=None)
    with pytest.raises(SemanticError, match="Output"):
        regression.validate()


def test_vocabulary_extension_refuses_unknown_keys() -> None:
    extended = Vocabulary.default().extended([{"Library": ["JAX"]}])
    assert "JAX" in extended.values["Library"]
    with pytest.raises(SemanticError, match="unknown semantic key 'Color'"):
        Vocabulary.default().extended([{"Color": ["red"]}])


def test_text_collects_free_text() -> None:
    text = SemanticSpec.from_dict(ANCHOR_SPEC).text()
    assert "digits-logreg" in text and "pixel 63" in text and "digit 9" in text
