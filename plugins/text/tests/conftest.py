"""Real posts of the 20 Newsgroups "bydate" split, read in place, and the text specs the
tests share (computed once per session: embedding is the slow part).

Superclasses are the group prefixes ``comp``, ``rec``, ``sci`` and ``talk``; the other
groups (``alt.atheism``, ``misc.forsale``, ``soc.religion.christian``) are not used.
Posts keep their Subject line and lose the other headers (the training split's posts
have tabs where the others have newlines). Each is cut to 300 characters, for speed.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path

import pytest

from learnware_dock.testing import shared_data
from learnware_dock_text import RKMETextSpecification

DATA = shared_data("20news-bydate.jsonl.gz", Path(__file__).parent)
SUPERCLASSES = ("comp", "rec", "sci", "talk")
#: posts per learnware (training split) and per user (test split)
TRAIN, TEST = 24, 16
USERS = ("comp", "sci")
K = 10

FRENCH = [
    "Le gouvernement a annoncé hier une nouvelle réforme des retraites pour l'année prochaine.",
    "Les élèves de cette école apprennent à jouer du piano dès l'âge de six ans.",
    "Nous avons passé nos vacances d'été dans un petit village au bord de la mer.",
    "La boulangerie du quartier vend le meilleur pain au levain de toute la ville.",
    "Le musée présente une exposition consacrée aux peintres impressionnistes du siècle.",
    "Il pleut depuis trois jours et les rivières commencent à déborder dans la vallée.",
    "Mon voisin répare de vieilles bicyclettes dans son garage tous les samedis matin.",
    "Les chercheurs ont découvert une nouvelle espèce de papillon dans la forêt tropicale.",
]
GERMAN = [
    "Die Bundesregierung hat gestern neue Regeln für den Straßenverkehr beschlossen.",
    "Meine Großmutter backt jeden Sonntag einen Apfelkuchen für die ganze Familie.",
    "Im Winter fahren viele Menschen in die Berge, um dort Ski zu fahren.",
    "Der Zug nach München hatte heute Morgen wieder eine halbe Stunde Verspätung.",
]


def clean(text: str) -> str:
    """The Subject line and the body of a post, whitespace collapsed, 300 characters."""
    head, _, body = text.replace("\t", "\n").partition("\n\n")
    subject = next(
        (line[8:].strip() for line in head.splitlines() if line.startswith("Subject:")), ""
    )
    return " ".join(f"{subject}. {body}".split())[:300]


def read_posts() -> dict[tuple[str, str], list[str]]:
    """(split, superclass) -> posts, the groups of a superclass taking turns."""
    by_group: dict[tuple[str, str], list[str]] = defaultdict(list)
    with gzip.open(DATA, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if (
                row["group"].split(".")[0] in SUPERCLASSES
                and len(by_group[row["split"], row["group"]]) < TRAIN
            ):
                by_group[row["split"], row["group"]].append(clean(row["text"]))
    posts: dict[tuple[str, str], list[str]] = {}
    for split, size in (("train", TRAIN), ("test", TEST)):
        for sup in SUPERCLASSES:
            groups = [
                v
                for (s, g), v in sorted(by_group.items())
                if s == split and g.startswith(sup + ".")
            ]
            mixed = [post for turn in zip(*groups, strict=False) for post in turn]
            posts[split, sup] = mixed[:size]
    return posts


@pytest.fixture(scope="session")
def french() -> list[str]:
    return list(FRENCH)


@pytest.fixture(scope="session")
def german() -> list[str]:
    return list(GERMAN)


@pytest.fixture(scope="session")
def posts() -> dict[tuple[str, str], list[str]]:
    if not DATA.is_file():
        pytest.fail(f"the 20 Newsgroups posts are not at {DATA} (see shared/data/README.md)")
    return read_posts()


@pytest.fixture(scope="session")
def learnware_specs(posts: dict[tuple[str, str], list[str]]) -> dict[str, RKMETextSpecification]:
    """One spec per superclass (training posts), plus a French one."""
    specs = {sup: RKMETextSpecification.generate(posts["train", sup], K=K) for sup in SUPERCLASSES}
    specs["french"] = RKMETextSpecification.generate(FRENCH, K=K)
    return specs


@pytest.fixture(scope="session")
def user_specs(posts: dict[tuple[str, str], list[str]]) -> dict[str, RKMETextSpecification]:
    """Users' specs over test posts of one superclass, plus a French and a German user."""
    specs = {sup: RKMETextSpecification.generate(posts["test", sup], K=K) for sup in USERS}
    specs["french"] = RKMETextSpecification.generate(FRENCH[:5], K=K)
    specs["german"] = RKMETextSpecification.generate(GERMAN, K=K)
    return specs
