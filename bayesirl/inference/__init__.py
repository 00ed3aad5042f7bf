"""Inference: one entry point (:func:`fit`) for NUTS, random-walk Metropolis–Hastings, MAP, a
Laplace approximation and SVI; PolicyWalk; the particle (SMC) posterior of the active-learning
loop; posterior-predictive groups; simulation-based calibration runs; and posteriors from
trajectory features without an MDP (:mod:`bayesirl.inference.fit_trajectories`)."""

from bayesirl.inference.fit import METHODS, fit, fit_demonstrations, fit_evidence
from bayesirl.inference.map import fit_map
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

__all__ = [
    "METHODS", "fit", "fit_evidence", "fit_demonstrations", "fit_map", "RandomWalkMH",
    "ImportancePosterior", "importance_posterior", "observe_action", "observe_preference",
    "importance_ess", "resample", "rejuvenate",
]
