"""Value-space Bayesian IRL (ValueWalk-style): the posterior is sampled over Q-network weights.

Model (Bajgar, Abate, Gkoulalas-Divanis & Sturm, "Walking the Values in Bayesian Inverse
Reinforcement Learning", UAI 2024, Sec. 4–5), for N expert transitions ``(s_n, a_n, s'_n)``:

    θ ~ Normal(0, σ_w²)                             Q-network weights (Q_θ: (D,) -> (A,))
    r_n = Q_θ(s_n, a_n) − γ (1 − done_n) V_θ(s'_n)  implied reward (bellman.py)
    r_n ~ Normal(0, σ_r²)                           reward prior, as a factor on θ
    a_n ~ Categorical(softmax(β Q_θ(s_n, ·)))        Boltzmann likelihood of the expert

The density over θ is the weight prior times the reward prior at the implied rewards times
the likelihood. Where we differ from the paper: a Normal weight prior as well (the paper has
only the reward prior, a Gaussian process over (s, a), so its θ density is improper in the
directions that leave the implied rewards unchanged); a soft state value by default (smooth
for NUTS; ``soft=False`` gives the paper's max); a Q-network with A outputs instead of a
scalar network over (s, one-hot a); and the reward prior on every demonstration step, the
terminal one included (V = 0 there). β is fixed (default 3, as in the paper's experiments) or
learned with a LogNormal prior.

Inference: NUTS (``method="nuts"``; the paper uses HMC/NUTS) or SVI with a mean-field
(``"svi"``) or low-rank (``"svi-lowrank"``) Gaussian guide, the fast option.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import optax
from numpyro.contrib.module import random_eqx_module
from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoLowRankMultivariateNormal, AutoNormal
from numpyro.infer.util import initialize_model

from bayesirl._typing import Array
from bayesirl._validate import check_scalar
from bayesirl.continuous.bellman import implied_rewards
from bayesirl.continuous.networks import (
    fit_standardizer,
    make_network,
    network_outputs,
    stack_draws,
)
from bayesirl.continuous.optimize import train_full_batch
from bayesirl.continuous.posterior import QPosterior
from bayesirl.data.continuous import Transitions

__all__ = ["value_space_model", "fit_value_space", "VALUE_SPACE_METHODS"]

#: Inference methods of :func:`fit_value_space`.
VALUE_SPACE_METHODS = ("nuts", "svi", "svi-lowrank")
#: Prior on a learned β: LogNormal(log 3, 0.5²) (median 3).
BETA_PRIOR_LOC, BETA_PRIOR_SCALE = math.log(3.0), 0.5
_NAME = "q"


def value_space_model(observations: Array, actions: Array, next_observations: Array,
                      dones: Array, *, network, discount: float = 0.95,
                      beta: float | None = 3.0, reward_scale: float = 1.0,
                      weight_scale: float = 1.0, soft: bool = True) -> None:
    """NumPyro model of value-space Bayesian IRL (module docstring).

    Args:
        observations: (N, D) standardised observations s_n.
        actions: (N,) int expert actions a_n.
        next_observations: (N, D) standardised successors s'_n.
        dones: (N,) bool, s'_n terminal.
        network: template equinox network ``(D,) -> (A,)``; its weights are the site
            ``"q/<leaf path>"`` with prior Normal(0, σ_w²), σ_w = ``weight_scale``.
        discount: γ in [0, 1).
        beta: fixed rationality β > 0, or None to sample ``"beta"`` ~ LogNormal(log 3, 0.5²).
        reward_scale: σ_r of the Normal(0, σ_r²) reward prior.
        weight_scale: σ_w of the weight prior.
        soft: soft (logsumexp) or hard (max) state value.
    """
    net = random_eqx_module(_NAME, network, prior=dist.Normal(0.0, weight_scale))
    if beta is None:
        beta = numpyro.sample("beta", dist.LogNormal(BETA_PRIOR_LOC, BETA_PRIOR_SCALE))
    N = observations.shape[0]
    both = jax.vmap(net)(jnp.concatenate([observations, next_observations]))
    q, next_q = both[:N], both[N:]
    rewards = implied_rewards(q, actions, next_q, dones, discount, beta, soft)
    numpyro.factor("reward_prior", dist.Normal(0.0, reward_scale).log_prob(rewards).sum())
    with numpyro.plate("transitions", N):
        numpyro.sample("actions", dist.Categorical(logits=beta * q), obs=actions)


def transition_arrays(transitions: Transitions, standardizer):
    """``(observations (N, D), actions (N,), next_observations (N, D), dones (N,))`` as float32
    JAX arrays, the observations standardised by ``standardizer``."""
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    return (standardizer(f32(transitions.observations)), jnp.asarray(transitions.actions),
            standardizer(f32(transitions.next_observations)), jnp.asarray(transitions.dones))


def _convergence(draws, network, beta, data, num_chains: int) -> dict:
    """Split R-hat of identifiable per-draw quantities (the weights are not identifiable):
    ``r_hat``, of each draw's mean action log-likelihood on the demonstrations, and
    ``r_hat_policy``, the largest over up to 64 demonstration states of the expert action's
    log-probability."""
    from numpyro.diagnostics import split_gelman_rubin

    obs, actions = data[0], data[1]
    q = network_outputs(network, draws, obs)
    logp = jax.nn.log_softmax(beta[:, None, None] * q, axis=-1)
    picked = np.asarray(jnp.take_along_axis(logp, actions[None, :, None], axis=2)[..., 0])
    M, N = picked.shape
    by_chain = picked.reshape(num_chains, M // num_chains, N)
    states = np.unique(np.linspace(0, N - 1, min(N, 64)).astype(int))
    per_state = np.asarray(split_gelman_rubin(by_chain[:, :, states]))
    return {"r_hat": float(split_gelman_rubin(by_chain.mean(axis=2))),
            "r_hat_policy": float(np.nanmax(per_state)) if np.isfinite(per_state).any() else 1.0}


def _map_starts(model, data, kwargs, rng_key, num_chains, map_steps, learning_rate):
    """One start per chain: ``map_steps`` Adam steps on the potential (negative log density in
    unconstrained space) from the chain's own random initial point (init_to_uniform)."""
    starts = []
    for key in jax.random.split(rng_key, num_chains):
        info = initialize_model(key, model, model_args=data, model_kwargs=kwargs)
        z, _ = train_full_batch(info.potential_fn, info.param_info.z, map_steps, learning_rate)
        starts.append(z)
    return jax.tree_util.tree_map(lambda *x: jnp.stack(x), *starts)


def _run_nuts(model, data, kwargs, rng_key, num_warmup, num_samples, num_chains, dense_mass,
              max_tree_depth, map_steps, learning_rate):
    kernel = NUTS(model, target_accept_prob=0.8, max_tree_depth=max_tree_depth,
                  dense_mass=dense_mass)
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                chain_method="sequential", progress_bar=False)
    init_key, run_key = jax.random.split(rng_key)
    init_params = None
    if map_steps > 0:
        init_params = _map_starts(model, data, kwargs, init_key, num_chains, map_steps,
                                  learning_rate)
        if num_chains == 1:
            init_params = jax.tree_util.tree_map(lambda x: x[0], init_params)
    mcmc.run(run_key, *data, **kwargs, init_params=init_params,
             extra_fields=("diverging", "num_steps"))
    samples = jax.block_until_ready(mcmc.get_samples(group_by_chain=False))
    extra = mcmc.get_extra_fields()
    return samples, {"divergences": int(np.sum(np.asarray(extra["diverging"]))),
                     "mean_leapfrog_steps": float(np.mean(np.asarray(extra["num_steps"])))}


def _run_svi(model, data, kwargs, rng_key, guide_kind, num_steps, num_samples, learning_rate):
    guide_cls = AutoNormal if guide_kind == "svi" else AutoLowRankMultivariateNormal
    guide = guide_cls(model)
    svi = SVI(model, guide, optax.adam(learning_rate), Trace_ELBO())
    init_key, sample_key = jax.random.split(rng_key)
    result = svi.run(init_key, num_steps, *data, **kwargs, progress_bar=False)
    samples = guide.sample_posterior(sample_key, result.params, *data, **kwargs,
                                     sample_shape=(num_samples,))
    losses = np.asarray(result.losses)
    tail = losses[-max(1, num_steps // 10):]
    return samples, {"final_loss": float(tail.mean())}


def fit_value_space(
    transitions: Transitions,
    *,
    method: str = "nuts",
    width: int = 8,
    depth: int = 1,
    discount: float = 0.95,
    beta: float | None = 3.0,
    reward_scale: float = 1.0,
    weight_scale: float = 1.0,
    soft: bool = True,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 2,
    dense_mass: bool = False,
    max_tree_depth: int = 8,
    map_steps: int = 1000,
    svi_steps: int = 3000,
    learning_rate: float = 0.01,
    seed: int = 0,
) -> QPosterior:
    """Posterior over Q-networks from expert transitions (value-space Bayesian IRL).

    Args:
        transitions: N expert transitions (:class:`~bayesirl.data.continuous.Transitions`).
        method: ``"nuts"``, ``"svi"`` (AutoNormal) or ``"svi-lowrank"``
            (AutoLowRankMultivariateNormal).
        width, depth: the Q-network's hidden layers (:func:`make_network`).
        discount: γ in [0, 1) (the paper's CartPole runs use 0.95).
        beta: fixed rationality β > 0, or None to learn it.
        reward_scale: σ_r of the reward prior.
        weight_scale: σ_w of the weight prior.
        soft: soft or hard state value.
        num_warmup: NUTS warm-up iterations per chain.
        num_samples: NUTS draws per chain, or draws from the fitted SVI guide.
        num_chains: NUTS chains, run one after another.
        dense_mass: adapt a dense (True) or diagonal mass matrix during NUTS warm-up.
        max_tree_depth: NUTS tree depth cap (at most 2^depth − 1 leapfrog steps a draw).
        map_steps: Adam steps (step size ``learning_rate``) towards the posterior mode from
            each chain's own random start before NUTS warm-up; 0 starts NUTS at the random
            point (NumPyro's init_to_uniform). Chains start in (possibly different) modes, so
            warm-up adapts instead of travelling.
        svi_steps: Adam steps for SVI.
        learning_rate: Adam step size for SVI and the MAP starts.
        seed: integer seed.

    Returns:
        :class:`~bayesirl.continuous.posterior.QPosterior` with M draws (NUTS:
        ``num_chains · num_samples``) and diagnostics: ``wall_s``, and for NUTS
        ``divergences``, ``mean_leapfrog_steps``, ``r_hat`` (split R-hat of each draw's mean
        action log-likelihood on the demonstrations) and ``r_hat_policy`` (the largest split
        R-hat of the expert action's log-probability over up to 64 demonstration states). The
        weights themselves are not identifiable (hidden units can be permuted and
        sign-flipped), so their R-hat says nothing about the fit.

    Raises:
        ValueError: an unknown ``method``; γ outside [0, 1); non-positive scales or β.
    """
    if method not in VALUE_SPACE_METHODS:
        raise ValueError(f"method: expected one of {VALUE_SPACE_METHODS}, got {method!r}")
    discount = float(check_scalar(discount, "discount", low=0.0, high=1.0, high_open=True))
    if beta is not None:
        beta = float(check_scalar(beta, "beta", low=0.0, low_open=True))
    for name, value in (("reward_scale", reward_scale), ("weight_scale", weight_scale)):
        check_scalar(value, name, low=0.0, low_open=True)
    start = time.perf_counter()
    network = make_network(transitions.observation_size, transitions.num_actions, width=width,
                           depth=depth, seed=seed)
    standardizer = fit_standardizer(transitions.observations)
    data = transition_arrays(transitions, standardizer)
    kwargs = dict(network=network, discount=discount, beta=beta, reward_scale=reward_scale,
                  weight_scale=weight_scale, soft=soft)
    rng_key = jax.random.key(seed)
    if method == "nuts":
        samples, diagnostics = _run_nuts(value_space_model, data, kwargs, rng_key, num_warmup,
                                         num_samples, num_chains, dense_mass, max_tree_depth,
                                         map_steps, learning_rate)
    else:
        samples, diagnostics = _run_svi(value_space_model, data, kwargs, rng_key, method,
                                        svi_steps, num_samples, learning_rate)
    draws = stack_draws(_NAME, network, samples)
    M = jax.tree_util.tree_leaves(draws)[0].shape[0]
    betas = jnp.asarray(samples["beta"]) if beta is None else jnp.full((M,), beta)
    if method == "nuts":
        diagnostics.update(_convergence(draws, network, betas, data, num_chains))
    diagnostics["wall_s"] = time.perf_counter() - start
    return QPosterior(network, draws, betas, standardizer, discount, soft, f"value-{method}",
                      diagnostics)
