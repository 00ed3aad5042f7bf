"""Posterior over reward weights from trajectory features: preferences and/or demonstrations.

:func:`fit_trajectories` builds :func:`~bayesirl.trajectory_model.trajectory_model` from a
:class:`~bayesirl.data.trajectories.Trajectories` set and runs
:func:`~bayesirl.inference.fit.fit` (NUTS, random-walk MH or MAP; every prior). With
demonstrations (sample-based MaxEnt) it adds the effective sample size of the importance
weights of each draw to the posterior (``importance_ess``) and warns when it collapses.
"""

from __future__ import annotations

import numpy as np

from bayesirl import _arviz
from bayesirl._validate import check_scalar
from bayesirl.data.preferences import Preferences
from bayesirl.data.trajectories import Trajectories
from bayesirl.inference.fit import fit
from bayesirl.inference.random_walk_kernel import DENSE_AUTO_MAX_DIM
from bayesirl.likelihoods.sample_maxent import (
    MIN_ESS_FRACTION,
    check_importance_ess,
    importance_ess,
)
from bayesirl.models import beta_site, check_betas
from bayesirl.trajectory_model import trajectory_evidence, trajectory_model

__all__ = ["SPHERE_MH_DEFAULTS", "fit_trajectories"]

_DIMS = {"reward_weights": ["feature"], "reward_weights_raw": ["feature"],
         "scaled_reward_weights": ["feature"]}

#: ``RandomWalkMH`` settings of ``fit_trajectories(method="mh")`` for the L2-sphere prior with
#: more than ``DENSE_AUTO_MAX_DIM`` features (``kernel_kwargs`` overrides them): the polar
#: (sphere-native) walk of the direction, all chains' random numbers drawn together.
#: Measured at Bayesian REX's size (66 pairs × 64 features, β = 1, C = 256 vectorised
#: chains): bulk ESS of w[0] per MH step 0.0092–0.0104 against 0.0022 for the Gaussian walk
#: of the latent z with a diagonal covariance (``fit``'s default there), and ~1.2× the
#: steps per second (benchmarks/bench_trajectories.py).
SPHERE_MH_DEFAULTS = {"sphere_sites": ("reward_weights_raw",), "shared_random_numbers": True}


def fit_trajectories(
    trajectories: Trajectories,
    *,
    preferences: Preferences | None = None,
    demonstrations=None,
    background=None,
    method: str = "nuts",
    prior: str = "gaussian",
    prior_scale: float = 1.0,
    betas: dict | None = None,
    margin: float = 0.0,
    min_ess_fraction: float = MIN_ESS_FRACTION,
    **fit_kwargs,
) -> _arviz.InferenceData:
    """Posterior over linear reward weights from trajectory features, without an MDP.

    Bayesian REX (Brown et al., ICML 2020) for preferences, sample-based MaxEnt (Boularias et
    al. 2011) for demonstrations, or both in one posterior (shared w, one β per source).

    Args:
        trajectories: N trajectories (feature counts Φ (N, F)).
        preferences: comparisons over ``trajectories`` (Bradley–Terry / weak / rankings).
        demonstrations: (D,) ids of demonstrations for the sample-based MaxEnt likelihood.
        background: (K,) ids of background trajectories with sampling log-probabilities;
            default every non-demonstration trajectory.
        method: ``"nuts"``, ``"mh"`` or ``"map"``.
        prior, prior_scale: prior over w (see :func:`~bayesirl.models.sample_reward_weights`).
        betas: ``{"bradley-terry" | "sample-maxent": β}``, numbers or NumPyro distributions.
        margin: weak-preference margin δ >= 0; needed > 0 when labels include "equal".
        min_ess_fraction: warn when the median importance ESS is below this fraction of K.
        **fit_kwargs: ``num_samples``, ``num_warmup``, ``num_chains``, ``thinning``, ``seed``,
            ``progress_bar``, ``chain_method``, ``kernel_kwargs`` (see
            :func:`~bayesirl.inference.fit.fit`). With ``method="mh"``, the L2-sphere prior
            and more than 32 features the kernel defaults to :data:`SPHERE_MH_DEFAULTS`.

    Returns:
        ``InferenceData``: ``reward_weights`` (chain, draw, feature), learned β's, and with
        demonstrations ``importance_ess`` (chain, draw); ``posterior.attrs["sources"]``.

    Warns:
        ImportanceWeightWarning: the importance weights collapsed (median ESS below
            ``min_ess_fraction · K``).

    Raises:
        TypeError: ``trajectories`` is not a :class:`Trajectories`.
        ValueError: no evidence, bad ids, "equal" labels with ``margin = 0``, a background
            without log-probabilities, bad prior/β, and as :func:`~bayesirl.inference.fit.fit`.
    """
    if not isinstance(trajectories, Trajectories):
        raise TypeError(f"trajectories: expected a Trajectories, got {type(trajectories).__name__}")
    margin = float(check_scalar(margin, "margin", low=0.0))
    check_scalar(prior_scale, "prior_scale", low=0.0, low_open=True)
    min_ess_fraction = check_scalar(min_ess_fraction, "min_ess_fraction", low=0.0, high=1.0)
    if preferences is not None and margin == 0 and bool(np.any(np.asarray(preferences.label) == 2)):
        raise ValueError("margin: 'equal' answers need the weak-preference model, margin > 0")
    evidence = trajectory_evidence(trajectories, preferences=preferences,
                                   demonstrations=demonstrations, background=background)
    betas = dict(betas or {})
    check_betas(prior, betas, evidence.sources())
    names = trajectories.feature_names or list(range(trajectories.num_features))
    if method == "mh" and prior == "l2-sphere" and evidence.num_features > DENSE_AUTO_MAX_DIM:
        fit_kwargs["kernel_kwargs"] = {**SPHERE_MH_DEFAULTS,
                                       **(fit_kwargs.get("kernel_kwargs") or {})}
    idata = fit(trajectory_model, evidence, method=method, coords={"feature": list(names)},
                dims=_DIMS, prior=prior, prior_scale=prior_scale, betas=betas, margin=margin,
                **fit_kwargs)
    idata.posterior.attrs["sources"] = list(evidence.sources())
    if evidence.demo_counts is not None:
        _attach_ess(idata, evidence, betas.get("sample-maxent", 1.0), min_ess_fraction)
    return idata


def _attach_ess(idata, evidence, beta, min_fraction) -> None:
    post = idata.posterior
    w = np.asarray(post["reward_weights"])
    C, D, F = w.shape
    site = beta_site("sample-maxent", evidence.sources())
    beta = np.asarray(post[site]).reshape(-1) if site in post else float(beta)
    ess = np.asarray(importance_ess(w.reshape(-1, F), evidence.background_counts,
                                    evidence.background_log_probs, beta)).reshape(C, D)
    post["importance_ess"] = (("chain", "draw"), ess)
    K = int(evidence.background_counts.shape[0])
    post.attrs["num_background"] = K
    check_importance_ess(ess, K, min_fraction, stacklevel=4)
