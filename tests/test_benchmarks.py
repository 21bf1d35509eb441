"""Benchmarks must keep running: a --quick smoke run each (no timing is asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_quick(
    script: str, tmp_path: Path, *args: str, name: str = "results", timeout: int = 300
) -> tuple[str, Any]:
    """Run ``benchmarks/<script> [args] --quick --output <tmp>/<name>.json``; return its
    stdout and its JSON results."""
    out = tmp_path / f"{name}.json"
    command = [sys.executable, str(ROOT / "benchmarks" / script), *args, "--quick"]
    proc = subprocess.run(
        [*command, "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, json.loads(out.read_text())


def test_bench_market_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("bench_market.py", tmp_path)
    assert "learnware-dock market vs folder-per-learnware baseline" in stdout
    assert results


def test_bench_search_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("bench_search.py", tmp_path)
    assert "ours vs the anchor's per-pair loop" in stdout
    rows = results["results"]
    assert {r["kind"] for r in rows} == {"synthetic", "real-30"}
    assert all(r["top10_identical"] and r["pruned_top10_identical"] for r in rows)


def test_bench_rkme_quick(tmp_path: Path) -> None:
    _, results = run_quick("bench_rkme.py", tmp_path)
    (row,) = results
    assert row["n"] == 300
    assert 0 < row["high_mmd2"] < row["fast_mmd2"]


def test_bench_index_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("bench_index.py", tmp_path)
    assert "first search (index loaded from vector cache)" in stdout
    assert results["n"] == 200
    assert set(results) == {"n", "open_s", "first_s", "warm_s", "json_s"}  # the report's rows


def test_bench_containers_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("bench_containers.py", tmp_path)
    assert "per-call process" in stdout and "goal warm round trip" in stdout
    steps = {"env_cold_s", "env_warm_s", "worker_start_s", "predict_1", "predict_10000"}
    assert steps <= set(results)  # every step measured (its timing is not asserted)
    assert set(results["predict_1"]) == set(results["predict_10000"]) == {"ours_s", "baseline_s"}
    assert "sandbox cost" in stdout
    cost = results["sandbox"]
    pairs = {"sandboxed", "unsandboxed"}
    assert set(cost) == {"unavailable"} or all(
        set(cost[step]) == pairs for step in ("worker_start", "predict_1", "predict_10000")
    )


def test_image_mnist_protocol_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("protocols/image_mnist.py", tmp_path, name="mnist", timeout=600)
    out = tmp_path / "mnist.json"
    assert "Job Selector Reuse" in stdout and "goal job selector" in stdout
    assert len(results["accuracy"]["top1"]) == 5
    assert out.with_suffix(".png").stat().st_size > 1000


def test_table_digits_protocol_quick(tmp_path: Path) -> None:
    export = tmp_path / "export"
    stdout, results = run_quick(
        "protocols/table_digits.py", tmp_path, "--export", str(export), timeout=600
    )
    assert "Job selector (kernel logistic, reduced sets)" in stdout and "per user" in stdout
    methods = {"mean", "best", "top1", "job_selector", "job_selector_boosting", "averaging"}
    methods |= {"averaging_weighted_raw", "averaging_raw"}
    assert set(results["accuracy"]) == methods
    assert all(len(values) == 4 for values in results["accuracy"].values())
    assert len(results["per_user"]) == 4
    accuracy, routing = results["accuracy"], results["routing"]
    # routing to the learnwares trained on each row's class beats any single learnware
    assert sum(accuracy["job_selector"]) > sum(accuracy["mean"])
    assert all(0 <= share <= 1 for share in routing["job_selector"])

    # the mixture sweep runs on that export: every setting, user and reuser measured
    stdout, sweep = run_quick(
        "protocols/mixture_sweep.py", tmp_path, str(export), name="sweep", timeout=600
    )
    assert "search setting" in stdout and "greedy, <= 3 of 10" in stdout
    rows = sweep["rows"]
    assert len(rows) == 2 * 3  # two settings x three users
    assert all(1 <= len(r["members"]) <= 10 for r in rows)
    assert all(len(r["members"]) <= 3 for r in rows if r["setting"] == "greedy, <= 3 of 10")
    keys = ("job_selector", "job_selector_uniform", "averaging", "averaging_weighted")
    assert all(0 <= r[f"{k}_accuracy"] <= 1 for r in rows for k in keys)


def test_bench_server_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("bench_server.py", tmp_path)
    assert "ours (server, 2+1 clients)" in stdout and "in-process baseline" in stdout
    assert "goal: 0 errors, 0 lost uploads, search p95 < 100 ms at N=40:" in stdout
    assert results["n"] == 40 and results["searches"] > 0 and results["uploads_accepted"] > 0
    assert results["errors"] == 0 and results["lost_uploads"] == 0


def test_bench_hetero_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("bench_hetero.py", tmp_path)
    assert "package way s" in stdout and "hetero spec per learnware" in stdout
    assert results["learnwares"] == 40 and results["train_seconds"] > 0
    (row,) = results["search"]
    assert row["n"] == 200 and row["ours_s"] > 0 and row["baseline_s"] > 0
    assert row["top10_agreement"] == 1.0  # the batched scan ranks as the per-pair loop


def test_table_sales_protocol_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("protocols/table_sales.py", tmp_path, name="sales", timeout=600)
    out = tmp_path / "sales.json"
    assert "Average Ensemble Reuse" in stdout and "different task" in stdout
    homogeneous, heterogeneous = results["homogeneous"], results["heterogeneous"]
    assert set(homogeneous["rmse"]) == {"mean", "best", "top1", "job_selector", "averaging"}
    assert set(heterogeneous["rmse"]) == {"mean", "best", "top1", "averaging"}
    for case in (homogeneous, heterogeneous):
        rmse = case["rmse"]
        assert all(len(values) == 2 for values in rmse.values())  # two users each
        assert all(0 < v < 10 and math.isfinite(v) for values in rmse.values() for v in values)
        assert all(b <= m for b, m in zip(rmse["best"], rmse["mean"], strict=True))
    assert {r["searcher"] for r in heterogeneous["per_user"]} == {"hetero"}
    curves = results["different_task"]
    assert curves["budgets"] == [10, 100]
    methods = {"user_model", "heteromap_align", "feature_align", "ensemble_pruning"}
    for budget in ("10", "100"):
        assert set(curves["rmse"][budget]) == methods
        values = [v for per_user in curves["rmse"][budget].values() for v in per_user]
        assert len(values) == 4 and all(0 < v < 10 and math.isfinite(v) for v in values)
    # heteromap-align on maps trained once per user is the reuser itself
    assert all(r["heteromap_align_check"] < 1e-6 for r in curves["per_user"])
    assert out.with_suffix(".png").stat().st_size > 1000


def test_text_20ng_protocol_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("protocols/text_20ng.py", tmp_path, name="text", timeout=600)
    assert "Average Ensemble Reuse" in stdout and "label saving" in stdout
    accuracy = results["accuracy"]
    assert set(accuracy) == {"mean", "best", "top1", "job_selector", "averaging"}
    assert all(len(v) == 2 and all(0 <= a <= 1 for a in v) for v in accuracy.values())
    assert all(b >= m for b, m in zip(accuracy["best"], accuracy["mean"], strict=True))
    curves = results["curves"]
    assert curves["budgets"] == [10]  # the quick pools hold fewer than 100 posts
    for values in curves["accuracy"]["10"].values():
        assert len(values) == 2 and all(0 <= a <= 1 for a in values)
    assert all(r["members"] for r in results["per_user"])  # every search found a mixture
    assert (tmp_path / "text.png").stat().st_size > 1000


def test_image_mnist_protocol_quick_with_image_specs(tmp_path: Path) -> None:
    stdout, results = run_quick(
        "protocols/image_mnist.py", tmp_path, "--spec", "image", name="mnist", timeout=900
    )
    assert "ranked by the table RKME (64 PCA features) vs the image spec" in stdout
    accuracy = results["accuracy"]
    for key in ("top1", "job_selector", "averaging"):
        assert len(accuracy[f"{key}_image"]) == 2
        assert all(0 <= a <= 1 for a in accuracy[f"{key}_image"])
    assert len(results["spec_seconds"]["image"]) == 4
    assert all(s > 0 for s in results["spec_seconds"]["image"])


def test_bench_specs_quick(tmp_path: Path) -> None:
    stdout, results = run_quick("bench_specs.py", tmp_path)
    assert "1 torch thread" in stdout and "package recipe" in stdout
    assert results["machine"]["torch_threads"] == 1
    image, text, search = results["image"], results["text"], results["search"]
    for part in (image, text):
        mmds = [part["ours"]["mmd2"], part["package"]["mmd2"], part["reference_mmd2"]]
        assert all(math.isfinite(v) and v > 0 for v in mmds)
    assert image["n"] == 200 and image["mmd_sample"] == 100
    assert image["ours"]["seconds"] > 0 and image["package"]["seconds"] > 0
    assert image["package"]["settings"]["n_models"] == 2  # the stated reduced settings
    assert image["package"]["full_size_estimate_seconds"] > image["package"]["seconds"]
    assert text["n"] == 200 and text["K"] == 100 and text["embed_seconds"] > 0
    for side in ("ours", "package"):
        assert text[side]["spec_seconds"] > 0
        assert text[side]["total_seconds"] == text["embed_seconds"] + text[side]["spec_seconds"]
    assert search["n"] == 12 and search["ours"]["results"] == 10
    times = [search["ours"][k] for k in ("cold_seconds", "warm_seconds", "subset_seconds")]
    assert all(t > 0 for t in [*times, search["package"]["seconds"], search["build_seconds"]])
    # 12 learnwares: all re-ranked exactly, so the search ranks as the per-pair loop
    assert search["top10_agreement"] == 1.0
