"""The `learnware` package's job selector and averaging on users exported by a protocol.

Run it with an interpreter that has ``learnware==0.4.0.post1`` (the tox ``compat`` env)
plus ``lightgbm``, which its job selector imports but does not declare::

    python benchmarks/protocols/table_digits.py --export /tmp/digits-export
    .tox/compat/bin/python benchmarks/protocols/anchor_job_selector.py /tmp/digits-export

(or ``image_mnist.py --export /tmp/mnist-export``: both protocols' learnwares take 64
features and return probabilities over 10 classes). For each exported user it builds the
same mixture's learnwares as ``learnware.Learnware`` objects (the same scikit-learn
models and the same RKME files, which the `learnware` package reads as its own) and runs
its ``AveragingReuser(mode="vote_by_prob")`` (the mean of softmaxed outputs) and its
``JobSelectorReuser`` (herding_num = 1000), then prints accuracy and seconds side by side
with ours, measured in the protocol run (our averaging only where the export has it:
``table_digits.py``'s default averaging, the same rule). ``--methods averaging`` skips
the job selector (minutes per user).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from learnware.learnware import Learnware
from learnware.model import BaseModel
from learnware.reuse import AveragingReuser, JobSelectorReuser
from learnware.specification import RKMETableSpecification, Specification

#: method -> the export's keys for our accuracy and seconds
OURS = {
    "averaging": ("ours_averaging_accuracy", "ours_averaging_seconds"),
    "job_selector": ("ours_accuracy", "ours_seconds"),
}


class Model(BaseModel):
    """An exported learnware's scikit-learn classifier: probabilities over 10 classes."""

    def __init__(self, path: Path) -> None:
        super().__init__(input_shape=(64,), output_shape=(10,))
        self.model = joblib.load(path)

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((len(X), 10))
        out[:, self.model.classes_] = self.model.predict_proba(X)
        return out


def anchor_reuser(method: str, learnwares: list[Learnware]) -> Any:
    if method == "averaging":
        return AveragingReuser(learnwares, mode="vote_by_prob")
    return JobSelectorReuser(learnwares, herding_num=1000)


def ours_text(user: dict[str, Any], method: str) -> str:
    acc_key, s_key = OURS[method]
    if acc_key not in user:
        return "ours -"
    return f"ours {user[acc_key]:.3f} in {user[s_key]:.4f} s"


def main(
    export: Path, limit: int | None = None, methods: list[str] | None = None, first: int = 0
) -> int:
    methods = methods or ["averaging", "job_selector"]
    if "job_selector" in methods:
        try:
            import lightgbm  # noqa: F401  (the anchor's selector needs it; fail before herding)
        except ImportError:
            sys.exit("the learnware package's job selector needs lightgbm: pip install lightgbm")
    users = json.loads((export / "users.json").read_text())[:limit]
    rows: list[dict[str, Any]] = []
    for number, user in enumerate(users):
        if number < first:
            continue
        learnwares = []
        for member in user["members"]:
            folder = export / "learnwares" / str(member)
            rkme = RKMETableSpecification()
            rkme.load(str(folder / "rkme.json"))
            spec = Specification()
            spec.update_stat_spec(RKMETableSpecification=rkme)
            learnwares.append(
                Learnware(str(member), Model(folder / "model.joblib"), spec, str(folder))
            )
        X, y = np.asarray(user["X"]), np.asarray(user["y"])
        row: dict[str, Any] = {"user": number, "members": len(learnwares)}
        parts = []
        for method in methods:
            start = time.perf_counter()
            predicted = anchor_reuser(method, learnwares).predict(X)
            seconds = time.perf_counter() - start
            accuracy = float((np.asarray(predicted).argmax(axis=1) == y).mean())
            row[f"anchor_{method}_accuracy"] = accuracy
            row[f"anchor_{method}_seconds"] = seconds
            for key in OURS[method]:
                if key in user:
                    row[key] = user[key]
            parts.append(
                f"{method}: anchor {accuracy:.3f} in {seconds:.4f} s | {ours_text(user, method)}"
            )
        rows.append(row)
        print(f"user {number}: {len(learnwares)} learnwares | " + " || ".join(parts), flush=True)
    print(f"\n{len(rows)} users: mean accuracy, median seconds per user")
    print(
        f"{'method':<14} {'anchor acc':>10} {'ours acc':>9} {'anchor s':>9} {'ours s':>8} "
        f"{'anchor s / ours s':>17}"
    )
    for method in methods:
        acc_key, s_key = OURS[method]
        anchor_acc = np.mean([r[f"anchor_{method}_accuracy"] for r in rows])
        anchor_s = statistics.median(r[f"anchor_{method}_seconds"] for r in rows)
        if all(acc_key in r for r in rows):
            ours_acc = f"{np.mean([r[acc_key] for r in rows]):.3f}"
            ours_s_value = statistics.median(r[s_key] for r in rows)
            ours_s = f"{ours_s_value:.4f}"
            ratio = f"{anchor_s / ours_s_value:.3g}x" if ours_s_value > 0 else "-"
        else:
            ours_acc = ours_s = ratio = "-"
        print(
            f"{method:<14} {anchor_acc:>10.3f} {ours_acc:>9} {anchor_s:>9.4f} {ours_s:>8} "
            f"{ratio:>17}"
        )
    name = "anchor_job_selector.json" if not first else f"anchor_job_selector_from{first}.json"
    (export / name).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "export", type=Path, help="folder written by table_digits.py or image_mnist.py --export"
    )
    parser.add_argument("--users", type=int, default=None, help="only the first N users")
    parser.add_argument(
        "--from-user", type=int, default=0, help="skip the users before this one (resume a run)"
    )
    parser.add_argument(
        "--methods",
        default="averaging,job_selector",
        help="comma-separated, of: averaging, job_selector (default: both)",
    )
    args = parser.parse_args()
    chosen = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(OURS))
    if unknown or not chosen:
        parser.error(f"unknown methods {unknown}; use averaging and/or job_selector")
    sys.exit(main(args.export, args.users, chosen, args.from_user))
