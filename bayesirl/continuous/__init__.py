"""Reward posteriors for continuous states without hand-made features: learned Q-functions.

The data are expert transitions (:mod:`bayesirl.data.continuous`) of a task with continuous
observations and discrete actions; the unknowns are small Q-networks (:mod:`.networks`) whose
implied rewards ``r = Q(s, a) − γ V(s')`` (:mod:`.bellman`) carry the reward prior:

* :func:`fit_value_space` — value-space Bayesian IRL (ValueWalk-style, Bajgar et al. 2024):
  a posterior over Q-network weights, by NUTS or SVI;
* :func:`fit_variational` — variational Bayesian IRL (AVRIL-style, Chan & van der Schaar
  2021): an amortised Gaussian reward posterior and a TD-consistent Q-network, by SVI;
* :func:`fit_cloning` — behavioural cloning, the control.

Each returns a :class:`QPosterior`, which gives policies, action log-probabilities and reward
summaries (:mod:`.posterior`). :data:`FIT_METHODS` names them for callers that choose by
string; :func:`fit` dispatches. :func:`trajectory_features` turns a fitted network's last
hidden layer into features for the trajectory path (Bayesian REX over learned features,
:mod:`.features`). :mod:`bayesirl.inference.continuous_sbc` checks the value-space model and its
samplers by simulation-based calibration on a synthetic 1-D task. Needs the ``continuous``
extra (equinox, optax).
"""

from __future__ import annotations

from functools import partial

from bayesirl.continuous.bellman import implied_reward, implied_rewards, state_value
from bayesirl.continuous.cloning import fit_cloning
from bayesirl.continuous.features import feature_names, learned_features, trajectory_features
from bayesirl.continuous.networks import Standardizer, fit_standardizer, make_network
from bayesirl.continuous.posterior import (
    POLICY_MODES,
    QPosterior,
    action_log_prob,
    action_probabilities,
    policy_function,
    q_values,
    reward_draws,
    reward_summary,
)
from bayesirl.continuous.value_space import fit_value_space, value_space_model
from bayesirl.continuous.variational import fit_variational, variational_guide, variational_model
from bayesirl.data.continuous import Transitions

__all__ = [
    "FIT_METHODS", "fit",
    "fit_value_space", "fit_variational", "fit_cloning",
    "value_space_model", "variational_model", "variational_guide",
    "QPosterior", "POLICY_MODES", "q_values", "action_probabilities", "policy_function",
    "action_log_prob", "reward_draws", "reward_summary",
    "state_value", "implied_reward", "implied_rewards",
    "Standardizer", "fit_standardizer", "make_network",
    "learned_features", "trajectory_features", "feature_names",
]

#: Fit methods by name: ``(transitions, **options) -> QPosterior``.
FIT_METHODS = {
    "value-nuts": partial(fit_value_space, method="nuts"),
    "value-svi": partial(fit_value_space, method="svi"),
    "value-svi-lowrank": partial(fit_value_space, method="svi-lowrank"),
    "variational": fit_variational,
    "cloning": fit_cloning,
}


def fit(transitions: Transitions, method: str, **options) -> QPosterior:
    """Fit ``method`` of :data:`FIT_METHODS` to N transitions, with its keyword ``options``.

    Raises:
        ValueError: an unknown method, and as the method itself.
    """
    if method not in FIT_METHODS:
        raise ValueError(f"method: expected one of {sorted(FIT_METHODS)}, got {method!r}")
    return FIT_METHODS[method](transitions, **options)
