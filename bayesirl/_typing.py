"""The shape vocabulary used in every signature and docstring of bayesirl.

=====  ==========================================================
S      number of states
A      number of actions
K      successors stored per state-action pair (sparse transitions)
F      number of features (reward weights)
T      horizon / trajectory length (time steps)
N      number of demonstrations (trajectories)
M      number of posterior samples (draws)
C      number of MCMC chains
=====  ==========================================================

A *state reward* has shape (S,), a *state-action reward* (S, A). Values are in the
units of the reward (discounted sums of reward); probabilities are plain floats.
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
