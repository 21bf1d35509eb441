"""The `learnware` package's job selector on the users exported by ``image_mnist.py``.

Run it with an interpreter that has ``learnware==0.4.0.post1`` (the tox ``compat`` env)
plus ``lightgbm``, which its job selector imports but does not declare::

    python benchmarks/protocols/image_mnist.py --export /tmp/mnist-export
    .tox/compat/bin/python benchmarks/protocols/anchor_job_selector.py /tmp/mnist-export

For each exported user it builds the same mixture's learnwares as ``learnware.Learnware``
objects (the same scikit-learn models and the same RKME files, which the `learnware`
package reads as its own) and runs its ``JobSelectorReuser`` (herding_num = 1000), then
prints accuracy and seconds side by side with ours, measured in the protocol run.
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
from learnware.reuse import JobSelectorReuser
from learnware.specification import RKMETableSpecification, Specification


class Model(BaseModel):
    def __init__(self, path: Path) -> None:
        super().__init__(input_shape=(64,), output_shape=(10,))
        self.model = joblib.load(path)

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((len(X), 10))
        out[:, self.model.classes_] = self.model.predict_proba(X)
        return out


def main(export: Path, limit: int | None = None) -> int:
    try:
        import lightgbm  # noqa: F401  (the anchor's selector needs it; fail before herding)
    except ImportError:
        sys.exit("the learnware package's job selector needs lightgbm: pip install lightgbm")
    users = json.loads((export / "users.json").read_text())[:limit]
    rows: list[dict[str, Any]] = []
    for number, user in enumerate(users):
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
        start = time.perf_counter()
        predicted = JobSelectorReuser(learnwares, herding_num=1000).predict(X)
        seconds = time.perf_counter() - start
        accuracy = float((np.asarray(predicted).argmax(axis=1) == y).mean())
        rows.append(
            {
                "anchor_accuracy": accuracy,
                "anchor_seconds": seconds,
                **{k: user[k] for k in ("ours_accuracy", "ours_seconds")},
                "members": len(learnwares),
            }
        )
        print(
            f"user {number}: {len(learnwares)} learnwares | anchor {accuracy:.3f} in "
            f"{seconds:.1f} s | ours {user['ours_accuracy']:.3f} in {user['ours_seconds']:.2f} s",
            flush=True,
        )
    anchor_s = statistics.median(r["anchor_seconds"] for r in rows)
    ours_s = statistics.median(r["ours_seconds"] for r in rows)
    print(
        f"job selector, {len(rows)} users: anchor accuracy "
        f"{np.mean([r['anchor_accuracy'] for r in rows]):.3f}, median {anchor_s:.1f} s | ours "
        f"{np.mean([r['ours_accuracy'] for r in rows]):.3f}, median {ours_s:.2f} s | "
        f"speed-up {anchor_s / ours_s:.0f}x"
    )
    (export / "anchor_job_selector.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", type=Path, help="folder written by image_mnist.py --export")
    parser.add_argument("--users", type=int, default=None, help="only the first N users")
    args = parser.parse_args()
    sys.exit(main(args.export, args.users))
