"""Smoke test: ``benchmarks/bench_speed.py --quick`` runs and prints every table."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_speed_quick_runs():
    env = dict(os.environ, JAX_PLATFORMS="cpu", BAYESIRL_NO_COMPILE_CACHE="1")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_speed.py"), "--quick"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    for title in ("1. soft value iteration", "2. gridworld 5x5", "3. MAP", "4. BIRL"):
        assert title in out.stdout
    assert "True" in out.stdout.split("1. soft value iteration")[1].split("2.")[0]
