"""Smoke test: ``benchmarks/bench_speed.py --quick`` runs every quick row and its solvers
converge (read from the ``--json`` results, not from the printed tables)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Rows of the quick mode: the results' keys, each one table of the printed output.
QUICK_ROWS = ("soft_vi", "gamma", "map", "birl")


@pytest.mark.slow
def test_bench_speed_quick_runs(tmp_path):
    # The benchmark imports the bayesirl of this checkout, not another installed copy.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, JAX_PLATFORMS="cpu", BAYESIRL_NO_COMPILE_CACHE="1", PYTHONPATH=path)
    out_json = tmp_path / "bench.json"
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_speed.py"), "--quick",
                          "--json", str(out_json)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    results = json.loads(out_json.read_text())
    missing = [row for row in QUICK_ROWS if not results.get(row)]
    assert not missing, f"quick run lacks rows {missing}; it has {sorted(results)}"
    soft_vi = results["soft_vi"]
    assert soft_vi, "row 1 (soft value iteration) has no sizes"
    for size in soft_vi:
        for method in ("auto", "vi"):
            assert size[method]["converged"] is True, (size["S"], method, size[method])
