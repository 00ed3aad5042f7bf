"""Simulation-based calibration (SBC) of value-space Bayesian IRL on a synthetic continuous task.

SBC (Cook, Gelman & Rubin 2006; Talts et al. 2018, Alg. 1) needs draws ``(θ̃, ã)`` from the
model's joint distribution. :func:`~bayesirl.continuous.value_space_model` is not a plain
"prior, then likelihood" model: its reward prior is a factor at the implied rewards, which
depend on the actions. Its joint density over the Q-network weights θ and the actions
``a_1 … a_N`` at fixed states ``s_n``, with deterministic successors ``s'_n = f(s_n, a_n)``, is

    π(θ, a) ∝ N(θ; 0, σ_w² I) · Π_n g_n(θ, a_n),
    g_n(θ, a) = softmax(β Q_θ(s_n, ·))_a · exp(−r_θ(s_n, a, f(s_n, a))² / (2 σ_r²)),

with ``r_θ(s, a, s') = Q_θ(s, a) − γ (1 − done) V_θ(s')`` (:mod:`.bellman`). Its posterior
``π(θ | a)`` is what :func:`~bayesirl.continuous.fit_value_space` samples; the marginal of θ
is ``∝ N(θ; 0, σ_w²) Π_n Σ_a g_n(θ, a)`` and, given θ, the actions are independent with
``P(a_n = a | θ) = g_n(θ, a) / Σ_a' g_n(θ, a')``. Every ``g_n`` sums to at most 1 over
actions, so :func:`simulate_value_space` draws θ exactly by rejection: propose θ from the
weight prior and accept it with probability ``Π_n Σ_a g_n(θ, a)``.

* :class:`SyntheticTask` / :func:`synthetic_task` — a 1-D continuous task: N fixed states, A
  actions that move the state left or right, some transitions terminal;
* :func:`simulate_value_space` — R exact draws of (weights, actions, successors);
* :func:`fit_value_space_replications` — R posteriors at once, one NUTS (or random-walk MH)
  chain each, ``vmap``-ed;
* :func:`value_space_quantities` — the ranked test quantities: functions of θ that do not
  change under the network's symmetries (hidden units permuted or sign-flipped), since the
  weights themselves are not identifiable.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model, potential_energy

from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.continuous.bellman import implied_rewards
from bayesirl.continuous.networks import network_outputs, site_names, stack_draws
from bayesirl.continuous.value_space import value_space_model
from bayesirl.inference.chain import run_chain
from bayesirl.inference.random_walk import build_kernel as build_mh_kernel
from bayesirl.inference.random_walk import default_target_accept_prob, mh_init

__all__ = ["SyntheticTask", "synthetic_task", "simulate_value_space",
           "fit_value_space_replications", "value_space_quantities", "QUANTITY_NAMES"]

_NAME = "q"  # the module name of value_space_model's network sites
#: Samplers of :func:`fit_value_space_replications`.
SBC_VALUE_SAMPLERS = ("nuts", "mh")


class SyntheticTask(NamedTuple):
    """A continuous task with fixed states and deterministic successors (the covariates).

    Attributes:
        observations: (N, D) states s_n (already on the network's scale).
        successors: (N, A, D) the state after taking each action at s_n, f(s_n, a).
        dones: (N,) bool, the successor of s_n is terminal (whatever the action).
        probes: (P, D) states at which the test quantities evaluate Q-differences.
    """

    observations: Array
    successors: Array
    dones: Array
    probes: Array

    @property
    def num_actions(self) -> int:
        """A."""
        return int(self.successors.shape[1])


def synthetic_task(num_transitions: int = 12, num_actions: int = 2, *, step: float = 0.5,
                   terminal_every: int = 6, seed: int = 0) -> SyntheticTask:
    """A 1-D task: N states uniform on [−2, 2]; action a moves the state by
    ``step · (a − (A − 1)/2)`` (clipped to [−2, 2]); every ``terminal_every``-th transition
    ends the episode. Probes: the states −1, 0, 1.

    Raises:
        ValueError / TypeError: N < 1, A < 2, ``terminal_every`` < 1 or a non-positive step.
    """
    N = check_scalar(num_transitions, "num_transitions", low=1, integer=True)
    A = check_scalar(num_actions, "num_actions", low=2, integer=True)
    every = check_scalar(terminal_every, "terminal_every", low=1, integer=True)
    step = float(check_scalar(step, "step", low=0.0, low_open=True))
    rng = np.random.default_rng(seed)
    states = rng.uniform(-2.0, 2.0, size=(N, 1))
    moves = step * (np.arange(A) - (A - 1) / 2.0)
    successors = np.clip(states[:, None, :] + moves[None, :, None], -2.0, 2.0)
    dones = (np.arange(N) + 1) % every == 0
    return SyntheticTask(jnp.asarray(states), jnp.asarray(successors), jnp.asarray(dones),
                         jnp.asarray([[-1.0], [0.0], [1.0]]))


def _successors(task: SyntheticTask, actions: Array) -> Array:
    """(..., N, D) successors of (..., N) actions."""
    return task.successors[jnp.arange(task.successors.shape[0]), actions]


def _action_weights(network, draws, task: SyntheticTask, discount, beta, reward_scale, soft):
    """log g_n(θ, a) for a batch of weight draws: (M, N, A) (module docstring)."""
    N, A, D = task.successors.shape
    inputs = jnp.concatenate([task.observations, task.successors.reshape(N * A, D)])
    outputs = network_outputs(network, draws, inputs)
    q, next_q = outputs[:, :N], outputs[:, N:].reshape(-1, N, A, A)
    if soft:
        value = jax.nn.logsumexp(beta * next_q, axis=-1) / beta
    else:
        value = next_q.max(axis=-1)
    rewards = q - discount * jnp.where(task.dones[None, :, None], 0.0, value)
    return jax.nn.log_softmax(beta * q, axis=-1) - 0.5 * (rewards / reward_scale) ** 2


@eqx.filter_jit
def _propose(key, network, task, batch_size, discount, beta, reward_scale, weight_scale, soft):
    """One round of :func:`simulate_value_space`: B weight draws from the prior, whether each
    is accepted, and actions drawn given each: ``(draws (B, ...), actions (B, N),
    accepted (B,))``. Compiled once per network structure and settings."""
    params, _ = eqx.partition(network, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(params)
    k_theta, k_accept, k_action = jax.random.split(key, 3)
    keys = jax.random.split(k_theta, len(leaves))
    draws = jax.tree_util.tree_unflatten(treedef, [
        weight_scale * jax.random.normal(k, (batch_size,) + leaf.shape, task.observations.dtype)
        for k, leaf in zip(keys, leaves)])
    log_g = _action_weights(network, draws, task, discount, beta, reward_scale, soft)
    log_accept = jax.nn.logsumexp(log_g, axis=-1).sum(-1)  # (B,)
    accepted = jnp.log(jax.random.uniform(k_accept, (batch_size,))) < log_accept
    actions = jax.random.categorical(k_action, log_g, axis=-1)  # (B, N)
    return draws, actions, accepted


def simulate_value_space(rng_key: PRNGKey, task: SyntheticTask, network, num_replications: int,
                         *, discount: float = 0.9, beta: float = 3.0, reward_scale: float = 1.0,
                         weight_scale: float = 1.0, soft: bool = True, batch_size: int = 4096,
                         max_proposals: int = 10_000_000):
    """R exact draws from the joint distribution of :func:`value_space_model` (module
    docstring): weights by rejection from the weight prior, then the actions given them.

    Args:
        rng_key: PRNG key.
        task: the covariates (:func:`synthetic_task`).
        network: template equinox network ``(D,) -> (A,)``.
        num_replications: R >= 1.
        discount, beta, reward_scale, weight_scale, soft: the model's γ, fixed β, σ_r, σ_w
            and state value (as in :func:`value_space_model`).
        batch_size: proposals per round.
        max_proposals: give up after this many proposals.

    Returns:
        ``(truth, actions, next_observations)``: the network sites ``{"q/<leaf>": (R, ...)}``,
        (R, N) int actions and their (R, N, D) successors.

    Raises:
        ValueError: bad counts or scales; RuntimeError: fewer than R draws accepted within
            ``max_proposals`` (the acceptance rate is ``E[Π_n Σ_a g_n]``: use fewer
            transitions or a wider reward prior).
    """
    R = check_scalar(num_replications, "num_replications", low=1, integer=True)
    for name, value in (("reward_scale", reward_scale), ("weight_scale", weight_scale),
                        ("beta", beta)):
        check_scalar(value, name, low=0.0, low_open=True)
    kept, proposed, count = [], 0, 0
    while count < R:
        if proposed >= max_proposals:
            raise RuntimeError(f"simulate_value_space: {count} of {R} draws accepted in "
                               f"{proposed} proposals")
        draws, actions, accepted = _propose(jax.random.fold_in(rng_key, proposed // batch_size),
                                            network, task, batch_size, discount, beta,
                                            reward_scale, weight_scale, soft)
        proposed += batch_size
        index = np.flatnonzero(np.asarray(accepted))
        kept.append(jax.tree_util.tree_map(lambda x: x[index], (draws, actions)))
        count += index.size
    draws, actions = jax.tree_util.tree_map(lambda *x: jnp.concatenate(x)[:R], *kept)
    truth = dict(zip(site_names(_NAME, network), jax.tree_util.tree_leaves(draws)))
    return truth, actions, _successors(task, actions)


def _model_kwargs(network, discount, beta, reward_scale, weight_scale, soft):
    return dict(network=network, discount=discount, beta=beta, reward_scale=reward_scale,
                weight_scale=weight_scale, soft=soft)


def fit_value_space_replications(rng_key: PRNGKey, task: SyntheticTask, actions: Array, network,
                                 *, sampler: str = "nuts", num_warmup: int = 300,
                                 num_samples: int = 99, thinning: int = 2,
                                 kernel_kwargs: dict | None = None, discount: float = 0.9,
                                 beta: float = 3.0, reward_scale: float = 1.0,
                                 weight_scale: float = 1.0, soft: bool = True) -> dict:
    """Sample the R posteriors of :func:`value_space_model` given simulated actions: one chain
    per replication with its own adaptation (NumPyro's functional NUTS or the random-walk MH
    of :mod:`bayesirl.inference.random_walk`), ``vmap``-ed (one compilation).

    Args:
        rng_key: PRNG key.
        task: the covariates.
        actions: (R, N) int actions (their successors follow from ``task``).
        network: template equinox network.
        sampler: ``"nuts"`` or ``"mh"``.
        num_warmup: warm-up iterations per chain.
        num_samples: L kept draws per chain.
        thinning: keep every ``thinning``-th iteration after warm-up.
        kernel_kwargs: NUTS: ``target_accept_prob``, ``max_tree_depth``, ``dense_mass``…; MH:
            ``target_accept_prob``, ``step_size``.
        discount, beta, reward_scale, weight_scale, soft: the fitted model's settings (may
            differ from the simulation's: a planted bug).

    Returns:
        the network sites ``{"q/<leaf>": (R, L, ...)}``.

    Raises:
        ValueError: an unknown sampler or non-positive counts.
    """
    if sampler not in SBC_VALUE_SAMPLERS:
        raise ValueError(f"sampler: expected one of {SBC_VALUE_SAMPLERS}, got {sampler!r}")
    num_samples = check_scalar(num_samples, "num_samples", low=1, integer=True)
    num_warmup = check_scalar(num_warmup, "num_warmup", low=1, integer=True)
    thinning = check_scalar(thinning, "thinning", low=1, integer=True)
    actions = jnp.asarray(actions)
    if actions.ndim != 2 or actions.shape[1] != task.observations.shape[0]:
        raise ValueError(f"actions: expected shape (R, N = {task.observations.shape[0]}), got "
                         f"{actions.shape}")
    kwargs = _model_kwargs(network, discount, beta, reward_scale, weight_scale, soft)
    R = actions.shape[0]
    k_init, k_run = jax.random.split(rng_key)

    def args_of(a):
        return task.observations, a, _successors(task, a), task.dones

    info = initialize_model(k_init, value_space_model, model_args=args_of(actions[0]),
                            model_kwargs=kwargs)
    init = {k: jax.random.uniform(jax.random.fold_in(k_init, i), (R,) + jnp.shape(v),
                                  jnp.result_type(v), -2.0, 2.0)
            for i, (k, v) in enumerate(sorted(info.param_info.z.items()))}
    kernel_kwargs = dict(kernel_kwargs or {})

    def one(a, z0, key):
        def potential(z):
            return potential_energy(value_space_model, args_of(a), kwargs, z)

        if sampler == "nuts":
            init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")
            state = init_kernel(z0, num_warmup, rng_key=key, **kernel_kwargs)
            transition = sample_kernel
        else:
            dim = sum(int(np.prod(jnp.shape(v))) for v in jax.tree.leaves(z0))
            target = kernel_kwargs.get("target_accept_prob") or default_target_accept_prob(dim)
            kernel = build_mh_kernel(num_warmup, target)
            state = mh_init(z0, potential, key, step_size=kernel_kwargs.get("step_size", 0.1))
            transition = lambda s: kernel(s, potential)  # noqa: E731
        return run_chain(lambda s, _: transition(s), state, None, num_warmup=num_warmup,
                         num_kept=num_samples, thinning=thinning, record=lambda s: s.z)[1]

    return jax.jit(jax.vmap(one))(actions, init, jax.random.split(k_run, R))


#: Names of the columns of :func:`value_space_quantities` (P = 3 probes, 2 transitions).
QUANTITY_NAMES = ("dQ(-1)", "dQ(0)", "dQ(1)", "r[0]", "r[1]", "loglik")


def value_space_quantities(network, sites: dict, task: SyntheticTask, actions: Array, *,
                           discount: float = 0.9, beta: float = 3.0,
                           soft: bool = True) -> Array:
    """Test quantities of weight draws that the network's symmetries leave unchanged.

    Columns: the Q-difference ``Q(x, A−1) − Q(x, 0)`` at each of the P probe states; the
    implied reward ``r(s_n, a_n, s'_n)`` of the first two transitions; the mean action
    log-likelihood ``(1/N) Σ_n log softmax(β Q(s_n))_{a_n}`` of the replication's own actions
    (a data-dependent quantity, valid for SBC: Modrák et al. 2023).

    Args:
        network: template equinox network.
        sites: ``{"q/<leaf>": (..., *leaf shape)}`` draws with leading axes (e.g. (R,) truth or
            (R, L) posterior draws, R first).
        task: the covariates.
        actions: (R, N) the actions of each replication.
        discount, beta, soft: as in the model.

    Returns:
        (..., P + 3) quantities, with the leading axes of ``sites``.
    """
    leaf = sites[site_names(_NAME, network)[0]]
    params, _ = eqx.partition(network, eqx.is_array)
    lead = leaf.shape[:leaf.ndim - jax.tree_util.tree_leaves(params)[0].ndim]
    R = actions.shape[0]
    flat = {k: jnp.reshape(v, (R, -1) + v.shape[len(lead):]) for k, v in sites.items()}
    next_obs = _successors(task, jnp.asarray(actions))

    def per_replication(s, a, nxt):
        draws = stack_draws(_NAME, network, s)
        probe_q = network_outputs(network, draws, task.probes)  # (M, P, A)
        dq = probe_q[..., -1] - probe_q[..., 0]
        q = network_outputs(network, draws, task.observations)  # (M, N, A)
        next_q = network_outputs(network, draws, nxt)
        rewards = jax.vmap(lambda qm, nm: implied_rewards(qm, a, nm, task.dones, discount, beta,
                                                          soft))(q, next_q)
        logp = jax.nn.log_softmax(beta * q, axis=-1)
        loglik = jnp.take_along_axis(logp, a[None, :, None], axis=2)[..., 0].mean(-1)
        return jnp.concatenate([dq, rewards[:, :2], loglik[:, None]], axis=-1)

    out = jax.vmap(per_replication)(flat, jnp.asarray(actions), next_obs)
    return out.reshape(lead + out.shape[-1:])
