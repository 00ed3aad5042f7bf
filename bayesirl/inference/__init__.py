"""Inference: one entry point (:func:`fit`) for NUTS, random-walk Metropolis–Hastings, MAP, a
Laplace approximation and SVI; PolicyWalk; the particle (SMC) posterior of the active-learning
loop; posterior-predictive groups; simulation-based calibration runs; and posteriors from
trajectory features without an MDP (:mod:`bayesirl.inference.fit_trajectories`).

Specialised fast paths beside :func:`fit` (issue 10): :func:`sample_policy_walk_independence`
(BIRL on linear reward weights: a fitted independence proposal and a cache of optimal policies;
:func:`fit_policy_walk` returns it as InferenceData, ``fit_demonstrations(method="policy_walk")``),
:func:`warm_start_map` and :func:`fit_laplace_imh` (the Boltzmann model at 10^5+ states: MAP with
warm-started solves, then an exact Laplace-proposal independence MH), and
:func:`value_space_whitening` (a Laplace whitening of the ValueWalk model for NUTS)."""

from bayesirl.inference.fit import METHODS, fit, fit_demonstrations, fit_evidence
from bayesirl.inference.fit_policy_walk import fit_policy_walk
from bayesirl.inference.independence_mh import fit_laplace_imh
from bayesirl.inference.map import fit_map
from bayesirl.inference.policy_walk import sample_policy_walk_independence
from bayesirl.inference.random_walk_kernel import RandomWalkMH
from bayesirl.inference.smc import (
    ImportancePosterior,
    importance_ess,
    importance_posterior,
    observe_action,
    observe_preference,
    rejuvenate,
    resample,
)
from bayesirl.inference.value_space import value_space_whitening
from bayesirl.inference.map import warm_start_map

__all__ = [
    "METHODS", "fit", "fit_evidence", "fit_demonstrations", "fit_map", "RandomWalkMH",
    "ImportancePosterior", "importance_posterior", "observe_action", "observe_preference",
    "importance_ess", "resample", "rejuvenate", "sample_policy_walk_independence",
    "fit_policy_walk", "warm_start_map", "fit_laplace_imh", "value_space_whitening",
]
