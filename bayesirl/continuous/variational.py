"""Variational Bayesian IRL (AVRIL-style): an amortised Gaussian posterior over rewards and a
Q-network kept consistent with it by a TD term.

AVRIL (Chan & van der Schaar, "Scalable Bayesian Inverse Reinforcement Learning", ICLR 2021,
Sec. 3, Eq. 9) maximises, over a reward encoder q_φ(r | s, a) and a Q-network Q_θ::

    E_q[log p(a | s; Q_θ)] − KL(q_φ(R) ‖ p(R)) + λ · log q_φ(Q_θ(s, a) − γ Q_θ(s', a')).

We write the same three terms as a NumPyro model and guide, fit by SVI (Trace_ELBO, Adam)::

    model:  θ = point estimate (``numpyro.param`` via ``eqx_module``)
            r_n ~ Normal(0, σ_r²)                             reward prior at each step
            δ_n = Q_θ(s_n, a_n) − γ (1 − done_n) V_θ(s'_n)     TD residual = implied reward
            δ_n ~ Normal(r_n, σ_δ²), weighted by λ             TD consistency
            a_n ~ Categorical(softmax(β Q_θ(s_n, ·)))          Boltzmann likelihood
    guide:  r_n ~ Normal(μ_φ(s_n)[a_n], σ_φ(s_n)[a_n]²)        amortised encoder, 2A outputs

Where we differ from AVRIL: the TD residual uses the state value V(s') (soft maximum, 0 after
a terminal step) instead of Q at the next *observed* action, and the expected TD log-density
under q (a Normal with its own scale σ_δ) instead of q's density at the residual, so the
objective is a proper ELBO of the model above; β is explicit (AVRIL's is 1).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
import optax
from numpyro.contrib.module import eqx_module
from numpyro.infer import SVI, Trace_ELBO

from bayesirl._validate import check_scalar
from bayesirl.continuous.bellman import implied_rewards
from bayesirl.continuous.networks import fit_standardizer, make_network
from bayesirl.continuous.posterior import QPosterior
from bayesirl.continuous.value_space import transition_arrays
from bayesirl.data.continuous import Transitions

__all__ = ["variational_model", "variational_guide", "fit_variational"]


def variational_model(observations, actions, next_observations, dones, *, network, encoder,
                      discount: float = 0.95, beta: float = 3.0, reward_scale: float = 1.0,
                      td_scale: float = 0.5, td_weight: float = 1.0, soft: bool = True) -> None:
    """NumPyro model of the variational fit (module docstring).

    Args:
        observations: (N, D) standardised observations.
        actions: (N,) int expert actions.
        next_observations: (N, D) standardised successors.
        dones: (N,) bool, successor terminal.
        network: template Q-network ``(D,) -> (A,)`` (parameters ``"q$params"``).
        encoder: template reward encoder ``(D,) -> (2A,)`` (used by the guide only).
        discount: γ in [0, 1).
        beta: rationality β > 0.
        reward_scale: σ_r of the reward prior.
        td_scale: σ_δ of the TD-consistency term.
        td_weight: λ >= 0, the weight of the TD-consistency term.
        soft: soft (logsumexp) or hard (max) state value.
    """
    del encoder
    q_net = eqx_module("q", network)
    N = observations.shape[0]
    both = jax.vmap(q_net)(jnp.concatenate([observations, next_observations]))
    q, next_q = both[:N], both[N:]
    td = implied_rewards(q, actions, next_q, dones, discount, beta, soft)
    with numpyro.plate("transitions", N):
        rewards = numpyro.sample("reward", dist.Normal(0.0, reward_scale))
        with numpyro.handlers.scale(scale=td_weight):
            numpyro.sample("td", dist.Normal(rewards, td_scale), obs=td)
        numpyro.sample("actions", dist.Categorical(logits=beta * q), obs=actions)


def variational_guide(observations, actions, next_observations, dones, *, network, encoder,
                      **unused) -> None:
    """Amortised guide: ``r_n ~ Normal(μ_φ(s_n)[a_n], exp(log σ_φ(s_n)[a_n])²)`` with the
    encoder's parameters ``"encoder$params"``; arguments as :func:`variational_model`, shapes
    (N, D) observations and (N,) actions."""
    del next_observations, dones, network, unused
    enc = eqx_module("encoder", encoder)
    out = jax.vmap(enc)(observations)
    A = out.shape[-1] // 2
    a = actions[:, None]
    mean = jnp.take_along_axis(out[:, :A], a, axis=1)[:, 0]
    sd = jnp.exp(jnp.take_along_axis(out[:, A:], a, axis=1)[:, 0])
    with numpyro.plate("transitions", observations.shape[0]):
        numpyro.sample("reward", dist.Normal(mean, sd))


def fit_variational(
    transitions: Transitions,
    *,
    width: int = 8,
    depth: int = 1,
    discount: float = 0.95,
    beta: float = 3.0,
    reward_scale: float = 1.0,
    td_scale: float = 0.5,
    td_weight: float = 1.0,
    soft: bool = True,
    num_steps: int = 3000,
    learning_rate: float = 0.01,
    seed: int = 0,
) -> QPosterior:
    """Variational (AVRIL-style) reward posterior and Q-network (module docstring).

    Args:
        transitions: N expert transitions.
        width, depth: hidden layers of the Q-network and of the encoder.
        discount: γ in [0, 1).
        beta: rationality β > 0.
        reward_scale, td_scale, td_weight: σ_r, σ_δ and λ of :func:`variational_model`.
        soft: soft or hard state value.
        num_steps: full-batch Adam steps of SVI.
        learning_rate: Adam step size.
        seed: initial weights and SVI's random stream.

    Returns:
        :class:`~bayesirl.continuous.posterior.QPosterior` with the fitted Q-network (M = 1)
        and the reward encoder (its q(r | s, a) is what
        :func:`~bayesirl.continuous.posterior.reward_summary` reports); diagnostics
        ``final_loss`` (mean negative ELBO over the last 10 % of steps, nats) and ``wall_s``.

    Raises:
        ValueError: γ outside [0, 1); non-positive β or scales; negative λ.
    """
    discount = float(check_scalar(discount, "discount", low=0.0, high=1.0, high_open=True))
    for name, value in (("beta", beta), ("reward_scale", reward_scale), ("td_scale", td_scale)):
        check_scalar(value, name, low=0.0, low_open=True)
    check_scalar(td_weight, "td_weight", low=0.0)
    start = time.perf_counter()
    D, A = transitions.observation_size, transitions.num_actions
    network = make_network(D, A, width=width, depth=depth, seed=seed)
    encoder = make_network(D, 2 * A, width=width, depth=depth, seed=seed + 1)
    standardizer = fit_standardizer(transitions.observations)
    data = transition_arrays(transitions, standardizer)
    kwargs = dict(network=network, encoder=encoder, discount=discount, beta=beta,
                  reward_scale=reward_scale, td_scale=td_scale, td_weight=td_weight, soft=soft)
    svi = SVI(variational_model, variational_guide, optax.adam(learning_rate), Trace_ELBO())
    result = svi.run(jax.random.key(seed), num_steps, *data, **kwargs, progress_bar=False)
    # eqx_module keeps each network's float arrays as one param: add the draw axis (M = 1)
    q_draws = jax.tree_util.tree_map(lambda x: x[None], result.params["q$params"])
    e_draws = jax.tree_util.tree_map(lambda x: x[None], result.params["encoder$params"])
    tail = result.losses[-max(1, num_steps // 10):]
    diagnostics = {"final_loss": float(jnp.mean(tail)), "wall_s": time.perf_counter() - start}
    return QPosterior(network, q_draws, jnp.full((1,), float(beta)), standardizer, discount,
                      soft, "variational", diagnostics, encoder, e_draws)

