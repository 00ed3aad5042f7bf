"""Simulation-based calibration (SBC) runs of the Bayesian IRL models.

SBC (Cook, Gelman & Rubin 2006; Talts et al. 2018, Alg. 1) checks a sampler and a model
together: draw θ̃ from the prior, simulate data ỹ ~ p(y | θ̃), draw L posterior samples
θ_1 … θ_L ~ p(θ | ỹ) and record the rank of θ̃ among them. When the sampler targets the
model's posterior the ranks are uniform on {0, …, L}; a bias shifts them, an over-
(under-)confident posterior piles them at the edges (in the middle). The statistics live in
:mod:`bayesirl.analysis.calibration`; this module makes the draws.

* :func:`simulate_replications` draws R rewards from the prior of
  :func:`~bayesirl.models.reward_model` and, for each, the evidence (actions at the given
  states, preference labels of the given comparisons) with NumPyro's ``Predictive``;
* :func:`fit_replications` samples the R posteriors at once: one chain per replication (NUTS
  or random-walk MH, each with its own adaptation), ``vmap``-ed, so one compilation serves
  them all;
* :func:`policy_walk_replications` does the same with PolicyWalk (``vmap`` over problems).

The states (and times, compared trajectories) of the evidence are covariates: they are held
fixed and only the actions and labels are simulated, exactly the conditional model that
:func:`~bayesirl.models.reward_model` defines.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import Predictive
from numpyro.infer.hmc import hmc
from numpyro.infer.util import constrain_fn, initialize_model, potential_energy

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.data.mdp import MDP
from bayesirl.inference.chain import run_chain
from bayesirl.inference.policy_walk import sample_policy_walk
from bayesirl.inference.predictive import observed_sites, without_observations
from bayesirl.inference.random_walk import build_kernel as build_mh_kernel
from bayesirl.inference.random_walk import default_target_accept_prob, mh_init
from bayesirl.inference.samplers import SAMPLERS
from bayesirl.likelihoods.registry import SOURCES
from bayesirl.likelihoods.registry import Evidence
from bayesirl.models import reward_model

__all__ = ["SBC_SAMPLERS", "simulate_replications", "fit_replications",
           "policy_walk_replications"]

#: Samplers accepted by :func:`fit_replications`: those of the registry that run an engine
#: kernel (:data:`~bayesirl.inference.samplers.SAMPLERS`); PolicyWalk has
#: :func:`policy_walk_replications`.
SBC_SAMPLERS = tuple(name for name, s in SAMPLERS.items() if s.engine_kernel)


def simulate_replications(rng_key: PRNGKey, mdp: MDP | None, evidence: Evidence,
                          num_replications: int, **model_kwargs) -> tuple[dict, Evidence]:
    """Draw R rewards from the prior and the evidence of each (prior predictive).

    Args:
        rng_key: PRNG key.
        mdp: the MDP (None for evidence without one).
        evidence: the covariates: states (and times) of the demonstration pairs, trajectory
            feature counts and compared pairs; its observations are ignored.
        num_replications: R >= 1.
        **model_kwargs: for :func:`~bayesirl.models.reward_model` (prior, betas, q, …).

    Returns:
        ``(truth, evidences)``: every latent and deterministic site of the model with a leading
        axis R (``truth["reward_weights"]`` is (R, F)), and the evidence with its observations
        replaced by the simulated ones, every leaf with a leading axis R.

    Raises:
        ValueError: ``num_replications`` < 1.
    """
    R = check_scalar(num_replications, "num_replications", low=1, integer=True)
    blank = without_observations(evidence)
    draws = Predictive(reward_model, num_samples=R)(rng_key, blank, mdp, **model_kwargs)
    observed = set(observed_sites(evidence))
    truth = {k: v for k, v in draws.items() if k not in observed and not k.endswith("_radial")}

    def stack(x):
        return None if x is None else jnp.broadcast_to(x, (R,) + jnp.shape(x))

    parts = {}
    for name, data in evidence.items():
        source = SOURCES[name]
        data = jax.tree.map(stack, data)
        if source.observations is not None:
            data = source.replace_observations(data, draws[source.site].astype(jnp.int32))
        parts[name] = data
    return truth, Evidence(parts)


def _potential(mdp, model_kwargs):
    def potential(params, ev):
        return potential_energy(reward_model, (ev, mdp), model_kwargs, params)

    return potential


def _scan_chain(transition, state, num_warmup, num_kept, thinning):
    """``num_warmup`` transitions, then ``num_kept`` draws of ``state.z``, one every
    ``thinning`` transitions (:func:`~bayesirl.inference.chain.run_chain`)."""
    return run_chain(lambda s, _: transition(s), state, None, num_warmup=num_warmup,
                     num_kept=num_kept, thinning=thinning, record=lambda s: s.z)[1]


def _nuts_chain(potential, z0, key, num_warmup, num_kept, thinning, kernel_kwargs):
    init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")
    state = init_kernel(z0, num_warmup, rng_key=key, **kernel_kwargs)
    return _scan_chain(sample_kernel, state, num_warmup, num_kept, thinning)


def _mh_chain(potential, z0, key, num_warmup, num_kept, thinning, kernel_kwargs):
    dim = sum(int(np.prod(jnp.shape(v))) for v in jax.tree.leaves(z0))
    target = kernel_kwargs.get("target_accept_prob") or default_target_accept_prob(dim)
    kernel = build_mh_kernel(num_warmup, target)
    state = mh_init(z0, potential, key, step_size=kernel_kwargs.get("step_size", 0.1))
    return _scan_chain(lambda s: kernel(s, potential), state, num_warmup, num_kept, thinning)


def fit_replications(rng_key: PRNGKey, mdp: MDP, evidences: Evidence, *, sampler: str = "nuts",
                     num_warmup: int = 200, num_samples: int = 100, thinning: int = 1,
                     kernel_kwargs: dict | None = None, **model_kwargs) -> dict:
    """Sample the posteriors of R replications at once: one chain each, ``vmap``-ed.

    Each replication runs its own chain with its own adaptation (NumPyro's functional NUTS,
    ``numpyro.infer.hmc.hmc``, Hoffman & Gelman 2014; or the adaptive random-walk MH of
    :mod:`bayesirl.inference.random_walk`) on the model's potential for its evidence; the R
    chains are one ``jax.vmap`` (one compilation; NUTS steps wait for the longest tree of the
    batch).

    Args:
        rng_key: PRNG key.
        mdp: the MDP.
        evidences: evidence with a leading axis R on every leaf (from
            :func:`simulate_replications`).
        sampler: ``"nuts"`` or ``"mh"``.
        num_warmup: warm-up (adaptation) iterations per chain.
        num_samples: L kept draws per chain.
        thinning: keep every ``thinning``-th iteration after warm-up.
        kernel_kwargs: NUTS: ``target_accept_prob``, ``max_tree_depth``…; MH:
            ``target_accept_prob``, ``step_size``.
        **model_kwargs: for :func:`~bayesirl.models.reward_model`; may differ from those of the
            simulation (a deliberately mis-specified fit).

    Returns:
        every latent and deterministic site of the model, shaped (R, L, …) (e.g.
        ``reward_weights`` (R, L, F)).

    Raises:
        ValueError: unknown ``sampler`` or non-positive counts.
    """
    if sampler not in SBC_SAMPLERS:
        raise ValueError(f"sampler: expected one of {SBC_SAMPLERS}, got {sampler!r}")
    num_samples = check_scalar(num_samples, "num_samples", low=1, integer=True)
    num_warmup = check_scalar(num_warmup, "num_warmup", low=1, integer=True)
    thinning = check_scalar(thinning, "thinning", low=1, integer=True)
    R = jax.tree.leaves(evidences)[0].shape[0]
    first = jax.tree.map(lambda x: x[0], evidences)
    k_init, k_run = jax.random.split(rng_key)
    info = initialize_model(k_init, reward_model, model_args=(first, mdp),
                            model_kwargs=model_kwargs)
    init = {k: jax.random.uniform(jax.random.fold_in(k_init, i), (R,) + jnp.shape(v),
                                  jnp.result_type(v), -1.0, 1.0)
            for i, (k, v) in enumerate(sorted(info.param_info.z.items()))}
    potential = _potential(mdp, model_kwargs)
    chain = _nuts_chain if SAMPLERS[sampler].engine_kernel == "nuts" else _mh_chain
    kernel_kwargs = dict(kernel_kwargs or {})

    def one(ev, z0, key):
        return chain(lambda z: potential(z, ev), z0, key, num_warmup, num_samples, thinning,
                     kernel_kwargs)

    z = jax.jit(jax.vmap(one))(evidences, init, jax.random.split(k_run, R))  # (R, L, ...)

    def constrain(params, ev):
        return constrain_fn(reward_model, (ev, mdp), model_kwargs, params,
                            return_deterministic=True)

    sites = jax.jit(jax.vmap(lambda zr, ev: jax.vmap(lambda zl: constrain(zl, ev))(zr)))(
        z, evidences)
    skip = set(observed_sites(first))
    return {k: v for k, v in sites.items() if not k.endswith("_radial") and k not in skip}


def policy_walk_replications(rng_key: PRNGKey, mdp: MDP, evidences: Evidence, *, beta: float,
                             step_size: float, num_steps: int, burn_in: int, thinning: int,
                             norm: int = 2) -> Array:
    """PolicyWalk posteriors of R replications of Boltzmann evidence over hard Q* (vmapped).

    The prior is uniform on the unit L1 or L2 sphere (``reward_model`` with ``prior="l1-sphere"``
    or ``"l2-sphere"``, ``q="hard"``); see
    :func:`~bayesirl.inference.policy_walk.sample_policy_walk` (Ramachandran & Amir 2007;
    Brown & Niekum 2018).

    Args:
        rng_key: PRNG key.
        mdp: the MDP.
        evidences: Boltzmann evidence with a leading axis R.
        beta: rationality β of the likelihood.
        step_size, num_steps, burn_in, thinning, norm: see ``sample_policy_walk``.

    Returns:
        (R, L, F) reward-weight draws, ``L = (num_steps − burn_in) // thinning``.

    Raises:
        ValueError: no Boltzmann evidence.
    """
    if "boltzmann" not in evidences:
        raise ValueError("evidences: PolicyWalk needs Boltzmann demonstration pairs")
    pairs = evidences["boltzmann"]
    R = pairs.states.shape[0]
    keys = jax.random.split(rng_key, 2 * R)
    dtype = mdp.next_probs.dtype
    w0 = jax.vmap(lambda k: jax.random.normal(k, (mdp.num_features,), dtype))(keys[R:])

    def one(key, p, w):
        return sample_policy_walk(key, mdp, p, w, beta=beta, step_size=step_size,
                                  num_steps=num_steps, burn_in=burn_in, thinning=thinning,
                                  norm=norm).weights

    return np.asarray(jax.jit(jax.vmap(one))(keys[:R], pairs, w0))
