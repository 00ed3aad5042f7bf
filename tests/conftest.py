"""Shared test set-up: float64 everywhere (exact references), CPU, fixed seeds."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Tests never write JAX's persistent compilation cache into the user's home folder.
os.environ["BAYESIRL_NO_COMPILE_CACHE"] = "1"

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)

#: Comparisons with exact references in float64 (solver tolerance 1e-10 relative).
RTOL_EXACT = 1e-7


def random_mdp_arrays(seed, S, A, K=None, terminal=()):
    """Random dense transitions (S, A, S) with K successors per pair (all if None)."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    K = S if K is None else K
    for s in range(S):
        for a in range(A):
            succ = rng.choice(S, size=K, replace=False)
            P[s, a, succ] = rng.dirichlet(np.ones(K))
    return P


@pytest.fixture
def rng():
    return np.random.default_rng(0)


#: The two tiny MH runs of `bayesirl compare` tests: the same 5 demonstrations of an optimal
#: expert on a 3x3 gridworld (a fixed expert: the default one follows the model's β), fitted
#: with beta = 5 and beta = 1 (about 10 s of CPU together).
COMPARE_FIT = ["fit", "--env", "gridworld", "--grid-size", "3x3", "--num-features", "2",
               "--num-demos", "5", "--expert", "optimal", "--sampler", "mh", "--num-samples",
               "100", "--num-warmup", "200", "--num-chains", "2", "--quiet"]


@pytest.fixture(scope="session")
def compare_runs_pair(tmp_path_factory):
    """Paths of the two run folders (``beta5``, ``beta1``) shared by tests/app/test_compare.py
    and tests/cli/test_compare.py."""
    from bayesirl.cli import main

    root = tmp_path_factory.mktemp("compare")
    paths = []
    for beta in ("5", "1"):
        out = root / f"beta{beta}"
        assert main([*COMPARE_FIT, "--beta", beta, "--out", str(out)]) == 0
        paths.append(out)
    return tuple(paths)
