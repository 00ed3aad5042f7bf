"""Every script in examples/ runs with small arguments (in a subprocess, as a user would)."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
#: Small arguments: the test proves each script runs end to end, not what its table says.
#: Scripts that report an α-VaR bound (α = 0.95, δ = 0.05) need at least 59 kept draws.
SMALL_ARGS = {
    "sbc.py": ["--rows", "bradley-terry-strict:mh", "--replications", "5", "--num-samples", "4",
               "--num-warmup", "10", "--num-bins", "5"],
    "bounds_gridworld.py": ["--num-worlds", "2", "--num-steps", "700", "--thinning", "2",
                            "--num-demos", "1,9", "--chunk", "4", "--workers", "1"],
    "active_learning.py": ["--num-worlds", "1", "--budget", "1", "--num-prior-samples", "200",
                           "--size", "4", "--num-features", "3",
                           "--acquisitions", "bald,mutual-information"],
    "frozenlake.py": ["--env", "FrozenLake-v1", "--num-demos", "10", "--num-samples", "50",
                      "--num-warmup", "50", "--num-chains", "1"],
    "evidence_scaling.py": ["--envs", "gridworld", "--sizes", "2", "--seeds", "1",
                            "--method", "map", "--kinds", "joint"],
    "continuous_control.py": ["--noise-levels", "0,0.5,1", "--episodes-per-level", "3",
                              "--num-demos", "2", "--num-background", "30", "--eval-episodes",
                              "3", "--num-samples", "200", "--num-warmup", "200",
                              "--num-chains", "1"],
    "classic_control.py": ["--tasks", "CartPole-v1", "--num-trajectories", "1", "--num-seeds",
                           "1", "--methods", "cloning,variational", "--episodes", "1",
                           "--test-trajectories", "1", "--svi-steps", "20"],
    "learned_features.py": ["--num-demos", "1", "--noise-levels", "0,1",
                            "--episodes-per-level", "2", "--eval-episodes", "1",
                            "--num-samples", "60", "--num-warmup", "50", "--num-chains", "1"],
    "gridworld_samplers.py": ["--size", "3", "--num-features", "2", "--num-demos", "5",
                              "--num-samples", "20", "--num-warmup", "20",
                              "--samplers", "map"],
    "human_choices.py": ["--parts", "a,d", "--num-chains", "1", "--num-samples", "20",
                         "--num-warmup", "20"],
    "misfit_alarm.py": ["--num-worlds", "1", "--num-steps", "300", "--burn-in", "50",
                        "--thinning", "2", "--kinds", "control,optimal"],
    "misspecification.py": ["--worlds", "gridworld", "--misspecifications", "control,optimal",
                             "--num-worlds", "2", "--num-demos", "1", "--num-steps", "120",
                             "--burn-in", "20"],
    "compare_methods.py": ["--num-worlds", "1", "--num-demos", "1,2", "--worlds", "gridworld",
                           "--num-steps", "300", "--burn-in", "50", "--thinning", "2",
                           "--max-iterations", "20", "--methods", "bc,projection,boltzmann-posterior"],
}


def test_every_example_has_small_arguments():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SMALL_ARGS)


@pytest.mark.parametrize("name", sorted(SMALL_ARGS))
def test_example_runs(name):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *SMALL_ARGS[name]],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip()
