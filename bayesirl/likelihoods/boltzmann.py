"""The Boltzmann-rational demonstrator likelihood, as NumPyro building blocks.

The Boltzmann-rational demonstrator (Ramachandran & Amir, IJCAI 2007, Eq. 2–3) picks action a
in state s with probability ``exp(β Q(s, a)) / Σ_b exp(β Q(s, b))``, so

    log p(D | R) = Σ_{(s, a) ∈ D} [ β Q(s, a; R) − logsumexp_b β Q(s, b; R) ],

with Q the optimal (hard max) action values of R, or the soft (maximum-causal-entropy) ones —
with soft Q at temperature 1/β this is the maximum-causal-entropy likelihood (Ziebart 2010).
Pairs in terminal states carry no information and are skipped.

Both forms depend on the reward only through ``θ = β·R``: ``β Q*(R) = Q*(βR)`` and
``β Q_soft(R; τ = 1/β) = Q_soft(βR; τ = 1)``. :func:`boltzmann_q_values` therefore solves the
MDP once for the scaled reward and the policy logits are the Q-values themselves.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayesirl._typing import Array
from bayesirl._validate import check_concrete
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP, reward_from_weights
from bayesirl.likelihoods.source import EvidenceInputs, EvidenceSource, ModelContext
from bayesirl.solvers.value_iteration import soft_value_iteration, value_iteration

__all__ = [
    "BoltzmannPolicy",
    "DemonstrationPairs",
    "demonstration_pairs",
    "boltzmann_q_values",
    "boltzmann_log_likelihood",
    "action_log_probabilities",
    "Q_KINDS",
    "SOURCE",
]

#: The kinds of Q-values accepted by the Boltzmann likelihood.
Q_KINDS = ("soft", "hard")


class BoltzmannPolicy(dist.CategoricalLogits):
    """Boltzmann-rational choice of an action given Q-values: ``p(a) ∝ exp(β Q(a))``.

    A NumPyro distribution (a categorical with logits ``β Q``) so users can write their own
    models, e.g. ``numpyro.sample("a", BoltzmannPolicy(q[s], beta), obs=a)``.

    Args:
        q_values: (..., A) action values (reward units), finite.
        beta: rationality (inverse temperature) β >= 0, finite, broadcastable to
            ``q_values[..., 0]``; β = 0 is uniformly random, β → ∞ greedy.
        validate_args: NumPyro's argument validation (of the logits ``β Q``).

    Raises:
        ValueError: a concrete (not traced) ``beta`` that is negative, NaN or inf, or concrete
            ``q_values`` with NaN or inf — whatever ``validate_args`` says. Traced values (in a
            jitted model or under MCMC) cannot be checked here: there a negative β reverses
            the preferences and NaN gives NaN log-probabilities.
        TypeError: complex or non-numeric ``q_values`` / ``beta``.

    Source: Ramachandran & Amir 2007 (Bayesian IRL), Eq. 2; Luce 1959 choice rule.
    """

    arg_constraints = {"logits": dist.constraints.real_vector}

    def __init__(self, q_values, beta=1.0, *, validate_args=None):
        check_concrete(beta, "beta", low=0.0)
        check_concrete(q_values, "q_values")
        q_values = jnp.asarray(q_values)
        beta = jnp.asarray(beta, dtype=q_values.dtype)
        self.q_values = q_values
        self.beta = beta
        super().__init__(logits=jnp.expand_dims(beta, -1) * q_values, validate_args=validate_args)


class DemonstrationPairs(NamedTuple):
    """The (state, action) pairs of demonstrations outside terminal states, flattened.

    Attributes:
        states: (P,) int32 state of each pair.
        actions: (P,) int32 action of each pair.
        times: (P,) int32 time step of each pair within its trajectory (used by the
            finite-horizon MaxEnt likelihood).
    """

    states: Array
    actions: Array
    times: Array


def demonstration_pairs(mdp: MDP, demos: Demonstrations) -> DemonstrationPairs:
    """Flatten ``demos`` to the P state-action pairs the Boltzmann likelihood uses.

    Padding and pairs in terminal states are dropped (done once, outside jit).

    Raises:
        ValueError: if no pair remains (e.g. every trajectory starts in a terminal state).
    """
    states, actions, mask = (np.asarray(x) for x in demos)
    keep = mask & ~np.asarray(mdp.terminal)[np.minimum(states, mdp.num_states - 1)]
    if not keep.any():
        raise ValueError("demos: no state-action pair outside terminal states to learn from")
    times = np.broadcast_to(np.arange(states.shape[1]), states.shape)
    return DemonstrationPairs(jnp.asarray(states[keep], jnp.int32),
                              jnp.asarray(actions[keep], jnp.int32),
                              jnp.asarray(times[keep], jnp.int32))


def boltzmann_q_values(mdp: MDP, reward: Array, beta=1.0, q: str = "soft", **solver_kwargs) -> Array:
    """Policy logits ``β Q(s, a; R)`` of the Boltzmann demonstrator for ONE reward.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward R.
        beta: rationality β >= 0 (scalar, may be traced).
        q: ``"soft"`` (soft Q of βR at temperature 1, smooth in R: use with NUTS) or
            ``"hard"`` (β Q* of R; piecewise linear in R).
        **solver_kwargs: tolerances / ``max_iterations`` / ``init_values`` for the solver.

    Returns:
        (S, A) logits. Differentiable in ``reward`` and ``beta``.

    Raises:
        ValueError: unknown ``q``; when concrete (not traced): a negative, NaN or inf
            ``beta``, and a ``reward`` with NaN or inf (from the solver).
    """
    if q not in Q_KINDS:
        raise ValueError(f"q: expected one of {Q_KINDS}, got {q!r}")
    check_concrete(beta, "beta", low=0.0)
    solver = soft_value_iteration if q == "soft" else value_iteration
    return solver(mdp, beta * reward, **solver_kwargs).q_values


def boltzmann_log_likelihood(logits: Array, pairs: DemonstrationPairs,
                             pair_weights: Array | None = None) -> Array:
    """``Σ_(s,a) w_(s,a) log softmax(logits[s])[a]`` over the demonstration pairs.

    Args:
        logits: (S, A) Boltzmann logits, e.g. from :func:`boltzmann_q_values`.
        pairs: the P demonstration pairs (:func:`demonstration_pairs`).
        pair_weights: (P,) multiplicity of each pair (0 for padding, to batch problems with
            different numbers of pairs); default all ones.

    Returns:
        () log-likelihood (nats).

    Source: Ramachandran & Amir 2007, Eq. 3.
    """
    log_policy = jax.nn.log_softmax(logits, axis=-1)
    pair_log_probs = log_policy[pairs.states, pairs.actions]
    if pair_weights is None:
        return jnp.sum(pair_log_probs)
    return jnp.sum(pair_weights * pair_log_probs)


def action_log_probabilities(mdp: MDP, weights: Array, beta=1.0, q: str = "soft") -> Array:
    """Per-sample Boltzmann log action probabilities ``log p_m(a|s) = log softmax_a β Q_m(s, a)``.

    Args:
        mdp: the MDP.
        weights: (M, F) posterior samples of the reward weights.
        beta: rationality β (scalar, or (M,) per-sample values of a learned β).
        q: ``"soft"`` or ``"hard"`` Q-values (as in the likelihood).

    Returns:
        (M, S, A) log-probabilities (one solve per sample, vmapped). Source: the Boltzmann
        demonstrator of Ramachandran & Amir (2007).
    """
    beta = jnp.broadcast_to(jnp.asarray(beta, weights.dtype), weights.shape[:1])
    logits = jax.vmap(lambda w, b: boltzmann_q_values(mdp, reward_from_weights(mdp, w), b, q))(
        weights, beta)
    return jax.nn.log_softmax(logits, axis=-1)


# ---------------------------------------------------------------------------------------------
# The evidence source
# ---------------------------------------------------------------------------------------------


def solver_options(options: dict) -> dict:
    """The solver keyword arguments among the model ``options`` (a copy; empty when none)."""
    kwargs = options.get("solver_kwargs") or {}
    return dict(kwargs)


def build_demonstration_pairs(inputs: EvidenceInputs, options: dict) -> DemonstrationPairs:
    """Demonstration pairs of the world's demonstrations, checked against its MDP."""
    from bayesirl.data.demos import check_demonstrations

    if inputs.mdp is None:
        raise ValueError("mdp: the Boltzmann and MaxEnt likelihoods solve an MDP; give one "
                         "(with trajectory features only, use bradley-terry or sample-maxent)")
    if inputs.demonstrations is None:
        raise ValueError("demos: the boltzmann and maxent likelihoods need demonstrations")
    check_demonstrations(inputs.mdp, inputs.demonstrations)
    return demonstration_pairs(inputs.mdp, inputs.demonstrations)


def _observe_boltzmann(context: ModelContext, pairs: DemonstrationPairs, beta, options) -> None:
    """``a_i | s_i ~ BoltzmannPolicy(Q(s_i, ·; β R))`` at the observed site
    ``"boltzmann_actions"``, plate ``"boltzmann_pairs"``."""
    import numpyro

    logits = boltzmann_q_values(context.mdp, context.reward, beta, options.get("q", "soft"),
                                **solver_options(options))
    with numpyro.plate("boltzmann_pairs", pairs.states.shape[0]):
        numpyro.sample("boltzmann_actions", BoltzmannPolicy(logits[pairs.states], 1.0),
                       obs=pairs.actions)


#: The Boltzmann-rational demonstrator as an evidence source (Ramachandran & Amir 2007).
SOURCE = EvidenceSource(
    name="boltzmann", site="boltzmann_actions", dim="boltzmann_pair", needs_mdp=True,
    policy=True, requires="demonstrations",
    worlds=("mdp",),
    build=build_demonstration_pairs, observe=_observe_boltzmann,
    observations=lambda pairs: pairs.actions,
    replace_observations=lambda pairs, actions: pairs._replace(actions=actions),
    constants=lambda pairs: {"boltzmann_states": pairs.states},
    options=("q", "solver_kwargs"),
    description="Boltzmann-rational demonstrator over soft or hard Q (Ramachandran & Amir 2007)")
