"""The shape vocabulary used in every signature and docstring of bayesirl.

Each letter is a dimension size and means one thing only:

=====  ==================================================================================
S      number of states
A      number of actions
K      successors stored per state-action pair (sparse transitions)
F      number of features (reward weights)
D      size of an observation vector (continuous states, :mod:`bayesirl.data.continuous`)
T      horizon / trajectory length (time steps)
N      number of demonstrations or trajectories
M      number of posterior draws, or of SMC particles (weighted draws)
C      number of MCMC chains
P      number of comparisons (preference pairs, asked or candidate)
B      number of bins (rank histograms, binned entropies)
R      number of restarts (MAP) or replications (simulation-based calibration)
W      number of warm-up iterations
d      number of unconstrained scalar parameters of a sampler
=====  ==================================================================================

Arrays are named by what they hold, with their shapes in these letters:

* transition probabilities ``(S, A, S)`` dense, or ``next_states``/``next_probs`` ``(S, A, K)``;
* reward ``(S,)`` (state) or ``(S, A)`` (state-action), reward weights ``(F,)``, features
  ``(S, F)`` or ``(S, A, F)``;
* Q-values and policies (action probabilities) ``(S, A)``; values ``(S,)``;
* state visitation ``(S,)``, occupancy measure ``(S, A)``, feature expectations ``(F,)``;
* weight draws ``(M, F)``, per-draw quantities ``(M,)``, posterior variables ``(C, M/C, ...)``.

Values are in the units of the reward (discounted sums of reward); probabilities are plain
floats; rationality β multiplies rewards (so β·reward is in nats).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

Array = jax.Array
ArrayLike = Any  # numpy arrays, jax arrays, nested sequences of numbers
PRNGKey = jax.Array
NDArray = np.ndarray

__all__ = ["Array", "ArrayLike", "PRNGKey", "NDArray"]
