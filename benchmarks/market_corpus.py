"""A realistic corpus of semantic specs and queries for the market benchmark."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from learnware_dock import SemanticSpec
from learnware_dock.semantic import DEFAULT_VALUES, IOSpec

DIM = 8  # features per learnware

# -- a realistic corpus of semantic specs ---------------------------------------------------
DOMAIN: dict[str, list[str]] = {
    "Business": ["sales", "customer", "churn", "retail", "demand", "marketing", "inventory"],
    "Financial": ["credit", "loan", "fraud", "stock", "risk", "transaction", "default"],
    "Health": ["patient", "diagnosis", "diabetes", "heart", "clinical", "readmission", "tumor"],
    "Politics": ["election", "poll", "policy", "vote", "legislation", "campaign", "survey"],
    "Computer": ["network", "intrusion", "server", "latency", "malware", "log", "workload"],
    "Internet": ["click", "advertising", "session", "recommendation", "spam", "web", "query"],
    "Traffic": ["vehicle", "congestion", "road", "accident", "taxi", "trip", "parking"],
    "Nature": ["weather", "rainfall", "species", "wildfire", "pollution", "climate", "ocean"],
    "Fashion": ["clothing", "size", "style", "apparel", "trend", "fabric", "footwear"],
    "Industry": ["machine", "failure", "sensor", "maintenance", "production", "defect", "energy"],
    "Agriculture": ["crop", "yield", "soil", "irrigation", "harvest", "livestock", "pest"],
    "Education": ["student", "grade", "dropout", "exam", "course", "enrollment", "school"],
    "Entertainment": ["movie", "music", "rating", "game", "audience", "ticket", "song"],
    "Architecture": ["building", "housing", "price", "construction", "floor", "rent", "material"],
    "Others": ["generic", "tabular", "benchmark", "synthetic", "miscellaneous", "toy", "baseline"],
}
TASK_WORD = {
    "Classification": ["classifier", "detector", "predictor"],
    "Regression": ["regressor", "forecaster", "estimator"],
    "Feature Extraction": ["encoder", "embedding"],
    "Segmentation": ["segmenter"],
    "Object Detection": ["detector"],
    "Others": ["model"],
}
REGIONS = ["European", "Asian", "US", "regional", "national", "urban", "rural", "global"]
METHODS = [
    "gradient boosted trees",
    "a random forest",
    "a small MLP",
    "logistic regression",
    "a linear model",
    "LightGBM",
    "a CNN",
    "an ensemble of trees",
]
SCENARIOS = DEFAULT_VALUES["Scenario"]
SCENARIO_W = [1.0 / (i + 1) ** 0.7 for i in range(len(SCENARIOS))]  # some tags are common


def pick(rng: random.Random, values: Sequence[str], weights: Sequence[float]) -> str:
    return rng.choices(values, weights)[0]


def make_semantic(rng: random.Random, classes: int = 2) -> SemanticSpec:
    """A valid, varied semantic spec: Class/Tag values with skewed frequencies, real text."""
    data = pick(rng, ["Table", "Image", "Text"], [0.7, 0.2, 0.1])
    task = pick(rng, list(TASK_WORD), [0.5, 0.35, 0.05, 0.03, 0.03, 0.04])
    library = pick(rng, DEFAULT_VALUES["Library"], [0.5, 0.3, 0.15, 0.05])
    licence = pick(
        rng,
        ["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-3.0", "CC-BY-4.0"],
        [0.4, 0.3, 0.1, 0.1, 0.1],
    )
    scenario = tuple(dict.fromkeys(rng.choices(SCENARIOS, SCENARIO_W, k=rng.randint(1, 3))))
    words = DOMAIN[scenario[0]]
    w1, w2, w3 = rng.sample(words, 3)
    region = rng.choice(REGIONS)
    name = f"{region} {w1} {w2} {rng.choice(TASK_WORD[task])}"
    extra = " and ".join(rng.choice(DOMAIN[s]) for s in scenario[1:]) or rng.choice(words)
    description = (
        f"Predicts {w1} {w2} from {rng.randint(2, 90)}k {region.lower()} {w3} records "
        f"({rng.randint(2005, 2024)}), trained with {rng.choice(METHODS)} using {library}. "
        f"Useful for {extra} analysis; inputs are {DIM} numeric {w3} features."
    )
    inputs = {str(i): f"{rng.choice(words)} indicator {i}" for i in range(DIM)}
    output = IOSpec(classes, {str(i): f"class {i}" for i in range(classes)})
    return SemanticSpec(
        name=name,
        description=description,
        data=(data,),
        task=(task,),
        library=(library,),
        scenario=scenario,
        license=(licence,),
        input=IOSpec(DIM, inputs),
        output=output if task in ("Classification", "Regression") else None,
    )


def typo(rng: random.Random, text: str) -> str:
    """Drop or swap one inner letter of every word of 4+ letters ("credit" -> "crdeit")."""
    out = []
    for word in text.split():
        if len(word) >= 4:
            i = rng.randint(1, len(word) - 3)
            word = (
                word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                if rng.random() < 0.5
                else word[:i] + word[i + 1 :]
            )
        out.append(word)
    return " ".join(out)


def make_queries(rng: random.Random, n: int) -> list[tuple[str, SemanticSpec]]:
    """~n queries in four kinds: tags only, text only, tags + text, misspelled text."""

    def tags() -> dict[str, Any]:
        options: list[dict[str, Any]] = [
            {"scenario": (rng.choice(SCENARIOS),)},
            {"scenario": tuple(rng.sample(SCENARIOS, 2))},
            {"data": ("Image",)},
            {"data": ("Table",), "task": ("Regression",)},
            {"task": ("Classification",), "library": ("PyTorch",)},
            {"data": ("Table",), "task": ("Classification",), "scenario": (rng.choice(SCENARIOS),)},
            {"license": ("MIT",), "library": ("Scikit-learn",), "scenario": ("Financial",)},
            {"data": ("Text",), "task": ("Classification",)},
        ]
        return rng.choice(options)

    def text() -> str:
        scenario = rng.choice(SCENARIOS)
        words = rng.sample(DOMAIN[scenario], 2)
        return rng.choice([words[0], " ".join(words), f"{rng.choice(REGIONS)} {words[0]}"])

    queries: list[tuple[str, SemanticSpec]] = []
    for i in range(n):
        kind = ("tags", "text", "tags+text", "fuzzy")[i % 4]
        if kind == "tags":
            queries.append((kind, SemanticSpec(**tags())))
        elif kind == "text":
            queries.append((kind, SemanticSpec(name=text())))
        elif kind == "tags+text":
            queries.append((kind, SemanticSpec(name=text(), **tags())))
        else:
            scenario = rng.choice(SCENARIOS)
            phrase = " ".join(rng.sample(DOMAIN[scenario], 2))
            queries.append((kind, SemanticSpec(name=typo(rng, phrase))))
    return queries
