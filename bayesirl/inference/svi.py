"""Stochastic variational inference, ``fit(method="svi")``: NumPyro SVI with a full-rank
Gaussian autoguide, for posteriors where MCMC is out of reach.

Like :func:`~bayesirl.inference.laplace.fit_laplace` it returns C "chains" of M independent
draws from the approximation: R-hat and ESS then say nothing about the approximation's error;
check it against ``method="nuts"`` on a smaller problem.
"""

from __future__ import annotations

import time

import jax
import numpy as np
from numpyro import handlers
from numpyro.infer import SVI, Predictive, Trace_ELBO, init_to_uniform
from numpyro.infer.autoguide import AutoMultivariateNormal
from numpyro.optim import Adam

from bayesirl import _arviz
from bayesirl._typing import PRNGKey

__all__ = ["fit_svi", "SVI_STEPS", "SVI_LEARNING_RATE"]

#: Default number of SVI optimisation steps.
SVI_STEPS = 3000
#: Default Adam learning rate of SVI.
SVI_LEARNING_RATE = 0.01


def _latent_and_deterministic(model, model_args, model_kwargs) -> list[str]:
    trace = handlers.trace(handlers.seed(model, 0)).get_trace(*model_args, **model_kwargs)
    return [name for name, site in trace.items()
            if (site["type"] == "sample" and not site["is_observed"])
            or site["type"] == "deterministic"]


def fit_svi(model, model_args: tuple = (), model_kwargs: dict | None = None, *,
            rng_key: PRNGKey, num_samples: int = 1000, num_chains: int = 4,
            num_steps: int = SVI_STEPS, learning_rate: float = SVI_LEARNING_RATE,
            coords: dict | None = None, dims: dict | None = None,
            attrs: dict | None = None) -> _arviz.InferenceData:
    """Stochastic variational inference: a full-rank Gaussian in the unconstrained space
    (NumPyro's ``AutoMultivariateNormal``) fitted by maximising the ELBO with Adam
    (Kingma & Welling 2014; Kucukelbir et al. 2017, ADVI). For posteriors where MCMC is out
    of reach (every ELBO step costs one solve and one gradient).

    Args:
        model: a NumPyro model with continuous latent sites.
        model_args, model_kwargs: passed to the model.
        rng_key: PRNG key (ELBO steps and draws).
        num_samples: M draws per chain.
        num_chains: C chains of independent draws from the fitted guide.
        coords, dims, attrs: ArviZ coordinates / dims and extra ``posterior.attrs``
            (as in :func:`~bayesirl.inference.laplace.fit_laplace`).
        num_steps: Adam steps (one ELBO sample each).
        learning_rate: Adam step size.

    Returns:
        ``InferenceData`` (C, M) of latent and deterministic sites drawn from the fitted guide;
        ``posterior.attrs`` adds ``svi_final_loss`` (negative ELBO, mean of the last 10 %
        steps) and ``sampling_time_s``.
    """
    start = time.perf_counter()
    model_kwargs = model_kwargs or {}
    k_fit, k_draw = jax.random.split(rng_key)
    guide = AutoMultivariateNormal(model, init_loc_fn=init_to_uniform(radius=1.0))
    svi = SVI(model, guide, Adam(learning_rate), Trace_ELBO())
    result = svi.run(k_fit, int(num_steps), *model_args, progress_bar=False, **model_kwargs)
    names = _latent_and_deterministic(model, model_args, model_kwargs)
    predictive = Predictive(model, guide=guide, params=result.params,
                            num_samples=num_chains * num_samples, return_sites=names)
    sites = predictive(k_draw, *model_args, **model_kwargs)
    posterior = {k: np.asarray(v).reshape((num_chains, num_samples) + v.shape[1:])
                 for k, v in sites.items()}
    losses = np.asarray(result.losses)
    tail = losses[-max(1, len(losses) // 10):]
    attrs = dict(attrs or {}, sampling_time_s=time.perf_counter() - start,
                 svi_final_loss=float(np.mean(tail)), svi_steps=int(num_steps))
    return _arviz.from_draws(posterior, coords=coords, dims=dims, attrs=attrs)
