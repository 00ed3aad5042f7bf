"""Many fits in one process: fits of one shape compile once, and what a fit allocates is freed.

A simulation study runs thousands of fits per process; a fit that recompiles or keeps its
compiled programs leaks memory maps until the process dies. The evidence is a traced argument
of the compiled programs, so fits 2..N of the same shapes reuse them.
"""

import jax
import numpy as np
import pytest

from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import make_environment
from bayesirl.data.preferences import make_preferences
from bayesirl.data.trajectories import make_trajectories
from bayesirl.inference.fit import fit_demonstrations, fit_trajectories

#: Fits in the test: trajectory (Bayesian REX, MH) and demonstration (Boltzmann, NUTS) fits;
#: each kind's memory growth is read over its fits WARM_FITS..149 (129 fits; the bounds below
#: were measured over 125).
NUM_TRAJECTORY_FITS = 150
NUM_DEMONSTRATION_FITS = 150
#: Fits before the memory baseline is read (allocator pools and caches fill up first).
WARM_FITS = 20
#: Allowed growth over the fits of one kind after its warm fits (measured: < 1 MB and 1 map
#: over 125 fits of either kind; a fit that kept its programs added ~15 MB and ~370 maps).
MAX_RSS_GROWTH_MB = 30
MAX_MAPS_GROWTH = 20
TINY = dict(num_samples=20, num_warmup=20, num_chains=2, chain_method="vectorized",
            progress_bar=False, predictive_groups=False, warn=False, retry=False)


class _Compiles:
    """Counts XLA compilations (JAX's monitoring event for a backend compile)."""

    def __init__(self):
        self.count = 0
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


_COMPILES = _Compiles()


def _memory() -> tuple[float, int]:
    rss = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                rss = int(line.split()[1]) / 1024
    with open("/proc/self/maps") as f:
        maps = sum(1 for _ in f)
    return rss, maps


def _trajectory_fit(rng):
    trajectories = make_trajectories(feature_counts=rng.standard_normal((10, 4)))
    labels = rng.integers(0, 2, 9)
    preferences = make_preferences(10, [(i, i + 1, int(b)) for i, b in enumerate(labels)])
    return fit_trajectories(trajectories, preferences=preferences, method="mh",
                            prior="l1-sphere", seed=int(rng.integers(1 << 30)), **TINY)


def _demonstration_fit(rng, mdp):
    # 6 one-step demonstrations from random non-terminal states (one shape for every fit).
    open_states = np.flatnonzero(~np.asarray(mdp.terminal))
    demos = make_demonstrations(
        [([int(rng.choice(open_states))], [int(rng.integers(mdp.num_actions))])
         for _ in range(6)], num_states=mdp.num_states, num_actions=mdp.num_actions)
    return fit_demonstrations(mdp, demos, method="nuts", seed=int(rng.integers(1 << 30)), **TINY)


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/maps"),
                    reason="reads /proc (Linux)")
def test_fits_of_one_shape_compile_once_and_free_what_they_use():
    rng = np.random.default_rng(0)
    mdp = make_environment("gridworld", height=3, width=3, num_features=2, discount=0.9,
                           slip_probability=0.0).mdp
    fits = ([lambda: _trajectory_fit(rng)] * NUM_TRAJECTORY_FITS
            + [lambda: _demonstration_fit(rng, mdp)] * NUM_DEMONSTRATION_FITS)
    compiled_after_first = {}
    memory = {}  # fit index -> (RSS MB, maps), at the start and end of each phase
    for k, fit in enumerate(fits):
        first = k in (0, NUM_TRAJECTORY_FITS)
        before = _COMPILES.count
        idata = fit()
        assert np.isfinite(np.asarray(idata.posterior["reward_weights"])).all()
        if not first:
            compiled_after_first[k] = _COMPILES.count - before
        if k in (WARM_FITS, NUM_TRAJECTORY_FITS - 1, NUM_TRAJECTORY_FITS + WARM_FITS,
                 len(fits) - 1):
            memory[k] = _memory()
    recompiled = {k: n for k, n in compiled_after_first.items() if n}
    assert recompiled == {}, f"fits that compiled again (fit index: programs): {recompiled}"
    for start, end in ((WARM_FITS, NUM_TRAJECTORY_FITS - 1),
                       (NUM_TRAJECTORY_FITS + WARM_FITS, len(fits) - 1)):
        (rss0, maps0), (rss1, maps1) = memory[start], memory[end]
        assert rss1 - rss0 <= MAX_RSS_GROWTH_MB, (
            f"fits {start}..{end}: resident memory {rss0:.0f} -> {rss1:.0f} MB")
        assert maps1 - maps0 <= MAX_MAPS_GROWTH, f"fits {start}..{end}: maps {maps0} -> {maps1}"
