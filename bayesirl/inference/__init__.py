"""Inference: the samplers and their registry, ``method="auto"``, and one fit per question.

* :func:`fit_reward` (and :func:`fit_demonstrations`, :func:`fit_evidence`,
  :func:`fit_trajectories`) — a reward posterior by any sampler of :data:`SAMPLERS` or
  ``method="auto"`` (:func:`choose_sampler`); :func:`fit` — any NumPyro model.
* The samplers' pieces: one accept step (:mod:`~bayesirl.inference.accept`), proposals
  (:mod:`~bayesirl.inference.proposals`), warm-up adaptation
  (:mod:`~bayesirl.inference.adaptation`), one chain driver (:mod:`~bayesirl.inference.chain`),
  the compiled MCMC engine (:mod:`~bayesirl.inference.engine`), the random walk
  (:mod:`~bayesirl.inference.random_walk`, :class:`RandomWalkMH` for NumPyro's ``MCMC``),
  PolicyWalk (:mod:`~bayesirl.inference.policy_walk`), one L-BFGS restart loop
  (:mod:`~bayesirl.inference.optimize`) under MAP and Laplace, independence MH at 10^5+ states
  (:func:`fit_laplace_imh`), SVI.
* Posteriors robust to misspecification (:mod:`~bayesirl.inference.robust`): BayesBag
  (:func:`fit_bagged`) and the tempered posterior with a calibrated learning rate
  (:func:`fit_tempered`), through weighted likelihood sites (:func:`fit_weighted`).
* The particle (SMC) posterior of the active-learning loop, posterior-predictive groups,
  simulation-based calibration runs, and the ValueWalk whitening.
"""

from bayesirl.inference.auto import choose_sampler
from bayesirl.inference.fit import (
    METHODS,
    fit,
    fit_demonstrations,
    fit_evidence,
    fit_reward,
    fit_trajectories,
)
from bayesirl.inference.fit_policy_walk import fit_policy_walk
from bayesirl.inference.independence_mh import fit_laplace_imh
from bayesirl.inference.map import fit_map, warm_start_map
from bayesirl.inference.policy_walk import sample_policy_walk, sample_policy_walk_independence
from bayesirl.inference.random_walk_kernel import RandomWalkMH
from bayesirl.inference.robust import (
    ROBUST_METHODS,
    fit_bagged,
    fit_tempered,
    fit_weighted,
    select_learning_rate,
)
from bayesirl.inference.samplers import SAMPLERS, Problem, Sampler, Settings
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

__all__ = [
    "METHODS", "SAMPLERS", "Problem", "Sampler", "Settings", "choose_sampler", "fit",
    "fit_reward", "fit_evidence", "fit_demonstrations", "fit_trajectories", "fit_map",
    "RandomWalkMH", "ImportancePosterior", "importance_posterior", "observe_action",
    "observe_preference", "importance_ess", "resample", "rejuvenate", "sample_policy_walk",
    "sample_policy_walk_independence", "fit_policy_walk", "warm_start_map", "fit_laplace_imh",
    "value_space_whitening", "ROBUST_METHODS", "fit_bagged", "fit_tempered", "fit_weighted",
    "select_learning_rate",
]
