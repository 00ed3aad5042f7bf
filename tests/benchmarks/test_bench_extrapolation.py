"""Smoke test: ``benchmarks/bench_extrapolation.py`` at a small S runs both solvers, and both
converge to the same values within their error bound (read from ``--json``)."""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_bench_extrapolation_small_runs(tmp_path):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, JAX_PLATFORMS="cpu", BAYESIRL_NO_COMPILE_CACHE="1", PYTHONPATH=path)
    out_json = tmp_path / "bench.json"
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_extrapolation.py"),
                          "--sizes", "5000", "--json", str(out_json)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    (row,) = json.loads(out_json.read_text())["rows"]
    assert row["newton"]["converged"] and row["extrapolated"]["converged"]
    # error bound of either solution: residual / (1 − γ), γ = 0.99
    bound = (row["newton"]["residual"] + row["extrapolated"]["residual"]) / 0.01
    assert row["max_abs_diff"] <= bound
