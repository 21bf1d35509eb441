"""Benchmarks must keep running: a --quick smoke run each (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_market_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_market.py"),
            "--quick",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "learnware-dock market vs folder-per-learnware baseline" in proc.stdout
    results = json.loads(out.read_text())
    assert results


def test_bench_search_quick(tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_search.py"),
            "--quick",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ours vs the anchor's per-pair loop" in proc.stdout
    results = json.loads(out.read_text())["results"]
    assert {r["kind"] for r in results} == {"synthetic", "realistic"}
    assert all(r["top10_identical"] and r["pruned_top10_identical"] for r in results)


def test_bench_rkme_quick(tmp_path: Path) -> None:
    out = tmp_path / "rkme.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_rkme.py"),
            "--quick",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = json.loads(out.read_text())
    assert row["n"] == 300
    assert 0 < row["high_mmd2"] < row["fast_mmd2"]
