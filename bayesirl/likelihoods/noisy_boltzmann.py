"""The ε-contaminated ("noisy-rational") Boltzmann demonstrator, with ε learned.

A demonstrator that mostly acts Boltzmann-rationally but, in a share ε of its steps, takes an
action uniformly at random (a slip, a distraction, a recording error):

    π(a | s) = (1 − ε) · softmax_a(β Q(s, ·; R))[a] + ε / A,

computed in log space as ``logaddexp(log(1 − ε) + log_softmax(β Q)[a], log ε − log A)``.
With ε = 0 it is the Boltzmann demonstrator of :mod:`bayesirl.likelihoods.boltzmann` exactly,
with ε = 1 uniformly random. Every action keeps probability at least ε / A, so a few actions
that contradict the reward no longer pull the posterior far: the Boltzmann likelihood explains
a random action only by a lower β or a different reward; this one can explain it by noise.

In a model the contamination ε is a latent site named ``"epsilon"`` (:data:`EPSILON_SITE`,
one per model) with the prior :func:`default_epsilon_prior` (Beta(1, 9), mean 0.1) unless the
model option ``epsilon`` gives a fixed number in [0, 1] or another NumPyro distribution on
[0, 1]. The Q-values and the demonstration pairs are those of the Boltzmann source (soft or
hard Q, option ``q``; pairs in terminal states skipped).

Sources: Zheng, Liu & Ni, "Robust Bayesian inverse reinforcement learning with sparse
behavior noise", AAAI 2014 (a demonstrator whose actions are occasionally corrupted; they model
the noise with sparse latent indicators, we marginalise it into the mixture above); the
"noisy-rational" / ε-greedy choice models in Jeon, Milli & Dragan, "Reward-rational (implicit)
choice", NeurIPS 2020.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayesirl._typing import Array
from bayesirl._validate import check_concrete, check_scalar, is_concrete
from bayesirl.likelihoods.boltzmann import (
    DemonstrationPairs,
    build_demonstration_pairs,
    solver_options,
    action_log_probabilities,
    boltzmann_q_values,
)
from bayesirl.likelihoods.source import EvidenceSource, ModelContext

__all__ = [
    "EPSILON_SITE",
    "NoisyBoltzmannPolicy",
    "check_epsilon",
    "default_epsilon_prior",
    "noisy_boltzmann_log_probabilities",
    "noisy_boltzmann_policy",
    "noisy_boltzmann_log_likelihood",
    "noisy_action_log_probabilities",
    "sample_epsilon",
    "SOURCE",
]

#: Name of the contamination ε's site in a model (one per model, whatever the other sources).
EPSILON_SITE = "epsilon"


def default_epsilon_prior() -> dist.Distribution:
    """The default prior of the contamination: ε ~ Beta(1, 9) (mean 0.1, 95 % below 0.28).

    Returns:
        a NumPyro ``Beta(1, 9)`` distribution on [0, 1].
    """
    return dist.Beta(1.0, 9.0)


def check_epsilon(epsilon, name: str = "epsilon"):
    """Validate a contamination option eagerly (outside jit).

    Args:
        epsilon: None (the default prior), a number in [0, 1] (fixed ε), or a NumPyro
            distribution whose support lies in [0, 1] (learned ε).
        name: the argument's name in messages.

    Returns:
        ``epsilon`` as given (a number as a Python float).

    Raises:
        TypeError: neither None, a real number nor a NumPyro distribution (e.g. a string,
            a bool, an array with more than one value).
        ValueError: a number outside [0, 1] or NaN; a distribution whose support is not
            inside [0, 1].
    """
    if epsilon is None:
        return None
    if isinstance(epsilon, dist.Distribution):
        support = epsilon.support
        lower = getattr(support, "lower_bound", None)
        upper = getattr(support, "upper_bound", None)
        inside = (lower is not None and upper is not None
                  and bool(np.all(np.asarray(lower) >= 0.0))
                  and bool(np.all(np.asarray(upper) <= 1.0)))
        if not inside or epsilon.batch_shape or epsilon.event_shape:
            raise ValueError(f"{name}: expected a scalar distribution on [0, 1] (e.g. "
                             f"Beta(1, 9)), got {type(epsilon).__name__} with support "
                             f"{support} and shape {epsilon.batch_shape + epsilon.event_shape}")
        return epsilon
    if isinstance(epsilon, np.ndarray | jax.Array) and np.ndim(epsilon) == 0:
        epsilon = np.asarray(epsilon)[()]
    if isinstance(epsilon, np.ndarray | jax.Array):
        raise TypeError(f"{name}: expected a number in [0, 1] or a numpyro distribution, got "
                        f"an array of shape {np.shape(epsilon)}")
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float | np.integer
                                                   | np.floating):
        raise TypeError(f"{name}: expected a number in [0, 1] or a numpyro distribution, got "
                        f"{epsilon!r}")
    return float(check_scalar(epsilon, name, low=0.0, high=1.0))


def sample_epsilon(epsilon=None):
    """ε inside a NumPyro model: sampled at :data:`EPSILON_SITE` unless fixed.

    Args:
        epsilon: None (prior :func:`default_epsilon_prior`), a NumPyro distribution (the
            prior), or a fixed number / scalar array in [0, 1].

    Returns:
        () ε, a sample or the fixed value.
    """
    if epsilon is None:
        epsilon = default_epsilon_prior()
    if isinstance(epsilon, dist.Distribution):
        return numpyro.sample(EPSILON_SITE, epsilon)
    return epsilon


def noisy_boltzmann_log_probabilities(logits: Array, epsilon) -> Array:
    """``log π(a | s) = logaddexp(log(1 − ε) + log_softmax(logits)[a], log ε − log A)``.

    Args:
        logits: (..., A) Boltzmann logits ``β Q(s, ·)`` (e.g. from
            :func:`~bayesirl.likelihoods.boltzmann_q_values`).
        epsilon: ε in [0, 1], broadcastable to ``logits[..., 0]`` (may be traced).

    Returns:
        (..., A) log action probabilities (nats); equal to ``log_softmax(logits)`` bit for bit
        at ε = 0 and to ``−log A`` at ε = 1. Differentiable in ``logits`` and, for
        0 < ε < 1, in ``epsilon``.

    Raises:
        ValueError: a concrete (not traced) ``epsilon`` outside [0, 1] or NaN.

    Source: the ε-contaminated demonstrator (Zheng et al. 2014; Jeon et al. 2020).
    """
    logits = jnp.asarray(logits)
    _check_epsilon_array(epsilon)
    eps = jnp.expand_dims(jnp.asarray(epsilon, logits.dtype), -1)
    log_rational = jnp.log1p(-eps) + jax.nn.log_softmax(logits, axis=-1)
    return jnp.logaddexp(log_rational, jnp.log(eps) - math.log(logits.shape[-1]))


def noisy_boltzmann_policy(logits: Array, epsilon) -> Array:
    """The demonstrator's action probabilities ``(1 − ε) softmax(logits) + ε / A``.

    Use it to simulate an ε-noisy expert, e.g.
    ``sample_demonstrations(key, mdp, noisy_boltzmann_policy(boltzmann_q_values(mdp, r, β),
    0.3), N, T)``.

    Args:
        logits: (..., S, A) or (..., A) Boltzmann logits ``β Q``.
        epsilon: ε in [0, 1], broadcastable to ``logits[..., 0]``.

    Returns:
        (..., A) probabilities (each row sums to 1).

    Raises:
        ValueError: a concrete ``epsilon`` outside [0, 1] or NaN.
    """
    return jnp.exp(noisy_boltzmann_log_probabilities(logits, epsilon))


def noisy_boltzmann_log_likelihood(logits: Array, pairs: DemonstrationPairs, epsilon,
                                   pair_weights: Array | None = None) -> Array:
    """``Σ_(s,a) w_(s,a) log π_ε(a | s)`` over the demonstration pairs.

    Args:
        logits: (S, A) Boltzmann logits ``β Q`` (:func:`~bayesirl.likelihoods.boltzmann_q_values`).
        pairs: the P demonstration pairs (:func:`~bayesirl.likelihoods.demonstration_pairs`).
        epsilon: () ε in [0, 1] (may be traced).
        pair_weights: (P,) multiplicity of each pair; default all ones.

    Returns:
        () log-likelihood (nats).

    Raises:
        ValueError: a concrete ``epsilon`` outside [0, 1] or NaN.

    Source: Zheng et al. 2014; Jeon et al. 2020 (noisy-rational choice).
    """
    log_policy = noisy_boltzmann_log_probabilities(logits, epsilon)
    pair_log_probs = log_policy[pairs.states, pairs.actions]
    if pair_weights is None:
        return jnp.sum(pair_log_probs)
    return jnp.sum(pair_weights * pair_log_probs)


def noisy_action_log_probabilities(mdp, weights: Array, beta=1.0, epsilon=0.0,
                                   q: str = "soft") -> Array:
    """Per-draw log action probabilities of the ε-contaminated demonstrator.

    Args:
        mdp: the MDP.
        weights: (M, F) reward-weight draws.
        beta: rationality β (scalar or (M,)).
        epsilon: ε (scalar or (M,) draws of a learned ε), in [0, 1].
        q: ``"soft"`` or ``"hard"`` Q-values.

    Returns:
        (M, S, A) log-probabilities (one solve per draw, vmapped).

    Raises:
        ValueError: unknown ``q``; a concrete ``epsilon`` outside [0, 1].
    """
    log_rational = action_log_probabilities(mdp, weights, beta, q)
    eps = jnp.broadcast_to(jnp.asarray(epsilon, log_rational.dtype), log_rational.shape[:1])
    return noisy_boltzmann_log_probabilities(log_rational, eps[:, None])


def _check_epsilon_array(epsilon) -> None:
    """ε in [0, 1] when concrete (nothing inside jit)."""
    check_concrete(epsilon, "epsilon", low=0.0)
    if is_concrete(epsilon) and np.any(np.asarray(epsilon) > 1.0):
        raise ValueError(f"epsilon: expected values <= 1, got {np.max(np.asarray(epsilon))}")


class NoisyBoltzmannPolicy(dist.CategoricalLogits):
    """ε-contaminated Boltzmann choice: ``p(a) = (1 − ε) softmax(β Q)[a] + ε / A``.

    A NumPyro distribution (a categorical whose logits are the normalised log-probabilities of
    :func:`noisy_boltzmann_log_probabilities`), so ``Predictive`` simulates it and users can
    write their own models: ``numpyro.sample("a", NoisyBoltzmannPolicy(q[s], beta, eps),
    obs=a)``.

    Args:
        q_values: (..., A) action values (reward units), finite.
        beta: rationality β >= 0, broadcastable to ``q_values[..., 0]``.
        epsilon: contamination ε in [0, 1], broadcastable to ``q_values[..., 0]``.
        validate_args: NumPyro's argument validation.

    Raises:
        ValueError: a concrete ``beta`` < 0, ``epsilon`` outside [0, 1], or NaN / inf values.
        TypeError: complex or non-numeric arguments.

    Source: Zheng et al. 2014; Jeon et al. 2020.
    """

    arg_constraints = {"logits": dist.constraints.real_vector}

    def __init__(self, q_values, beta=1.0, epsilon=0.0, *, validate_args=None):
        check_concrete(beta, "beta", low=0.0)
        check_concrete(q_values, "q_values")
        q_values = jnp.asarray(q_values)
        beta = jnp.asarray(beta, dtype=q_values.dtype)
        self.q_values, self.beta = q_values, beta
        self.epsilon = jnp.asarray(epsilon, dtype=q_values.dtype)
        logits = noisy_boltzmann_log_probabilities(jnp.expand_dims(beta, -1) * q_values, epsilon)
        super().__init__(logits=logits, validate_args=validate_args)


# ---------------------------------------------------------------------------------------------
# The evidence source
# ---------------------------------------------------------------------------------------------


def _build(inputs, options: dict) -> DemonstrationPairs:
    check_epsilon(options.get("epsilon"))
    return build_demonstration_pairs(inputs, options)


def _observe(context: ModelContext, pairs: DemonstrationPairs, beta, options) -> None:
    """``ε ~ prior``; ``a_i | s_i ~ NoisyBoltzmannPolicy(Q(s_i, ·; β R), 1, ε)`` at the
    observed site ``"noisy_boltzmann_actions"``, plate ``"noisy_boltzmann_pairs"``."""
    epsilon = sample_epsilon(options.get("epsilon"))
    logits = boltzmann_q_values(context.mdp, context.reward, beta, options.get("q", "soft"),
                                **solver_options(options))
    with numpyro.plate("noisy_boltzmann_pairs", pairs.states.shape[0]):
        numpyro.sample("noisy_boltzmann_actions",
                       NoisyBoltzmannPolicy(logits[pairs.states], 1.0, epsilon),
                       obs=pairs.actions)


#: The ε-contaminated Boltzmann demonstrator as an evidence source (Zheng et al. 2014).
SOURCE = EvidenceSource(
    name="noisy-boltzmann", site="noisy_boltzmann_actions", dim="noisy_boltzmann_pair",
    needs_mdp=True, policy=True, requires="demonstrations",
    worlds=("mdp",),
    build=_build, observe=_observe,
    observations=lambda pairs: pairs.actions,
    replace_observations=lambda pairs, actions: pairs._replace(actions=actions),
    constants=lambda pairs: {"noisy_boltzmann_states": pairs.states},
    options=("q", "solver_kwargs", "epsilon"),
    description="Boltzmann demonstrator with a share ε of uniformly random actions, ε learned "
                "(noisy-rational; Zheng et al. 2014)")
