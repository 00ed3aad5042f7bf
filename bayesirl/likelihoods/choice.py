"""Choices among K options and rankings of them, as pure functions and NumPyro building blocks.

A Boltzmann-rational chooser with utilities ``u_k`` (e.g. ``u_k = w·x_k`` for option features
x and reward weights w) and rationality β picks option k of the available set A with

    p(k | A) = exp(β u_k) / Σ_{j ∈ A} exp(β u_j),

Luce's choice rule (Luce 1959), the multinomial logit of McFadden (1974). With K = 2 it is the
Bradley–Terry model of :mod:`bayesirl.likelihoods.bradley_terry` (strict preferences):
``p(A ≻ B) = σ(β (u_A − u_B))``.

A ranking ``o_1 ≻ o_2 ≻ … ≻ o_m`` of the available options is ONE observation with the
Plackett–Luce probability (Plackett 1975; Luce 1959)

    p(o) = Π_{j=1}^{L} exp(β u_{o_j}) / Σ_{i ∈ A \\ {o_1 … o_{j−1}}} exp(β u_i),

a sequence of choices from the options not yet ranked; L = m for a full ranking, L < m for a
top-L ranking (the product stops after L factors: the remaining order is unknown). It is the
order of the perturbed utilities ``β u_k + G_k`` with G_k i.i.d. standard Gumbel (Yellott 1977),
which is how :class:`PlackettLuce` samples.

Only utility differences within a choice set matter: adding a constant to every option of a set
changes nothing, so features constant across the options of every set (an intercept) are not
identified; alternative-specific constants need one option as the reference.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax import lax
from numpyro.distributions import constraints

from bayesirl._typing import Array
from bayesirl.data.choices import ChoiceSets, Rankings

__all__ = [
    "ChoiceDistribution",
    "PlackettLuce",
    "linear_utilities",
    "choice_log_probabilities",
    "choice_log_likelihood",
    "plackett_luce_log_probability",
    "plackett_luce_log_likelihood",
    "observe_choices",
    "observe_rankings",
]


def linear_utilities(weights: Array, features: Array, person: Array | None = None) -> Array:
    """Utilities ``u_{nk} = w·x_{nk}`` of the options.

    Args:
        weights: (F,) reward weights shared by everyone, or (I, F) one row per person.
        features: (N, K, F) option features.
        person: (N,) person index of each choice set; needed when ``weights`` is (I, F).

    Returns:
        (N, K) utilities (utility units).

    Raises:
        ValueError: (I, F) weights without ``person``, or weights of another rank.
    """
    weights = jnp.asarray(weights)
    if weights.ndim == 1:
        return features @ weights
    if weights.ndim == 2:
        if person is None:
            raise ValueError("person: needed with per-person (I, F) weights, got None")
        return jnp.einsum("nkf,nf->nk", features, weights[person])
    raise ValueError(f"weights: expected an (F,) or (I, F) array, got shape {weights.shape}")


def _logits(utilities, available, beta):
    utilities = jnp.asarray(utilities)
    beta = jnp.asarray(beta, utilities.dtype)
    scaled = jnp.expand_dims(beta, -1) * utilities
    if available is None:
        return scaled
    return jnp.where(jnp.asarray(available, bool), scaled, -jnp.inf)


def choice_log_probabilities(utilities: Array, available: Array | None = None,
                             beta=1.0) -> Array:
    """``log p(k | A) = β u_k − logsumexp_{j ∈ A} β u_j``, −inf for unavailable options.

    Args:
        utilities: (N, K) utilities u (any leading shape (..., K)).
        available: (N, K) bool, True for the offered options (default all); every set needs at
            least one available option.
        beta: rationality β (scalar, or broadcastable to ``utilities[..., 0]``).

    Returns:
        (N, K) log-probabilities (nats). Source: Luce 1959; McFadden 1974.
    """
    return jax.nn.log_softmax(_logits(utilities, available, beta), axis=-1)


def choice_log_likelihood(utilities: Array, available: Array | None, chosen: Array,
                          beta=1.0) -> Array:
    """Log-likelihood of N choices: ``Σ_n log p(chosen_n | A_n)`` (multinomial logit).

    Args:
        utilities: (N, K) utilities u of the options.
        available: (N, K) bool offered options (None: all).
        chosen: (N,) index of the chosen option (an available one; an unavailable choice has
            probability 0, log-likelihood −inf).
        beta: rationality β (scalar or (N,)).

    Returns:
        () log-likelihood (nats). Source: Luce 1959; McFadden 1974, Eq. 4.
    """
    log_p = choice_log_probabilities(utilities, available, beta)
    chosen = jnp.asarray(chosen, jnp.int32)
    return jnp.sum(jnp.take_along_axis(log_p, chosen[..., None], axis=-1)[..., 0])


def plackett_luce_log_probability(logits: Array, order: Array, length: Array | None = None
                                  ) -> Array:
    """Log-probability of ranked orders under Plackett–Luce, one value per ranking.

    Args:
        logits: (N, K) β·utilities, −inf for unavailable options (any leading shape).
        order: (N, K) permutations of 0 … K−1, best first (:class:`~bayesirl.data.choices.
            Rankings` ``order``: ranked, then unranked available, then unavailable options).
        length: (N,) number L of ranked positions (default: every finite-logit option).

    Returns:
        (N,) ``Σ_{j<L} [l_{o_j} − logsumexp_{i ≥ j} l_{o_i}]`` (nats); −inf when an
        unavailable option is among the ranked ones. Source: Plackett 1975, Eq. 1.

    The reverse cumulative logsumexp over the ordered logits gives every denominator in one
    pass (O(K), not O(K²)); unavailable options enter it with a large finite negative logit so
    that gradients stay finite.
    """
    logits = jnp.asarray(logits)
    order = jnp.asarray(order, jnp.int32)
    finite = jnp.isfinite(logits)
    if length is None:
        length = jnp.sum(finite, axis=-1)
    safe = jnp.where(finite, logits, jnp.finfo(logits.dtype).min / 4)
    ordered = jnp.take_along_axis(safe, order, axis=-1)
    remaining = lax.cumlogsumexp(ordered, axis=ordered.ndim - 1, reverse=True)
    ranked = jnp.arange(logits.shape[-1]) < jnp.expand_dims(jnp.asarray(length), -1)
    total = jnp.sum(jnp.where(ranked, ordered - remaining, 0.0), axis=-1)
    impossible = jnp.any(ranked & ~jnp.take_along_axis(finite, order, axis=-1), axis=-1)
    return jnp.where(impossible, -jnp.inf, total)


def plackett_luce_log_likelihood(utilities: Array, order: Array, length: Array | None = None,
                                 available: Array | None = None, beta=1.0) -> Array:
    """Log-likelihood of N rankings (each ONE observation) under Plackett–Luce.

    Args:
        utilities: (N, K) utilities u of the options.
        order: (N, K) rankings as permutations, best first (see
            :func:`plackett_luce_log_probability`).
        length: (N,) number of ranked positions (default: all available options).
        available: (N, K) bool offered options (None: all).
        beta: rationality β (scalar or (N,)).

    Returns:
        () ``Σ_n log p(order_n)`` (nats). Source: Plackett 1975; Luce 1959.
    """
    return jnp.sum(plackett_luce_log_probability(_logits(utilities, available, beta), order,
                                                 length))


class ChoiceDistribution(dist.CategoricalLogits):
    """Boltzmann-rational choice of one option among the available ones: ``p(k) ∝ exp(β u_k)``.

    A NumPyro distribution over the chosen index (a categorical with logits β u, −inf for the
    unavailable options), for observed sites and simulation, e.g.
    ``numpyro.sample("chosen", ChoiceDistribution(u, available), obs=chosen)``.

    Args:
        utilities: (..., K) utilities u of the options (batch shape ``utilities.shape[:-1]``).
        available: (..., K) bool, True for the offered options (default all); at least one per
            set. An unavailable option is never sampled and has log-probability −inf.
        beta: rationality β >= 0, broadcastable to ``utilities[..., 0]``.

    Source: Luce 1959 (choice axiom); McFadden 1974 (conditional logit). With K = 2 it is
    Bradley–Terry (:class:`~bayesirl.likelihoods.bradley_terry.PreferenceChoice`, margin 0).
    """

    arg_constraints = {"utilities": constraints.real_vector}
    pytree_data_fields = ("utilities", "available", "beta")

    def __init__(self, utilities, available=None, beta=1.0, *, validate_args=None):
        utilities = jnp.asarray(utilities)
        self.utilities = utilities
        self.available = (jnp.ones(utilities.shape, bool) if available is None
                          else jnp.broadcast_to(jnp.asarray(available, bool), utilities.shape))
        self.beta = jnp.asarray(beta, utilities.dtype)
        super().__init__(logits=_logits(utilities, self.available, self.beta),
                         validate_args=validate_args)

    def entropy(self):
        """Entropy (nats) of the choice, batch shape; unavailable options contribute 0."""
        log_p = jax.nn.log_softmax(self.logits, axis=-1)
        return -jnp.sum(jnp.where(self.available, jnp.exp(log_p) * log_p, 0.0), axis=-1)


class PlackettLuce(dist.Distribution):
    """Rankings of the available options by a Boltzmann-rational person (Plackett–Luce).

    A value is a permutation ``(..., K)`` of the option indices, best first. ``log_prob``
    scores its first ``length`` positions (a top-``length`` ranking; default: all available
    options) with :func:`plackett_luce_log_probability`. ``sample`` draws full rankings as the
    order of ``β u_k + G_k`` with i.i.d. standard Gumbel G_k (Yellott 1977), unavailable options
    last.

    Args:
        utilities: (..., K) utilities u of the options.
        available: (..., K) bool offered options (default all).
        beta: rationality β >= 0, broadcastable to ``utilities[..., 0]``.
        length: (...) number of ranked positions scored by ``log_prob`` (default: the number
            of available options).

    Source: Plackett 1975; Luce 1959. Use it for observed sites and simulation (posterior
    predictive checks, SBC); it has no enumerable support for latent sites.
    """

    arg_constraints = {"utilities": constraints.real_vector}
    pytree_data_fields = ("utilities", "available", "beta", "length", "logits")

    def __init__(self, utilities, available=None, beta=1.0, length=None, *,
                 validate_args=None):
        utilities = jnp.asarray(utilities)
        self.utilities = utilities
        self.available = (jnp.ones(utilities.shape, bool) if available is None
                          else jnp.broadcast_to(jnp.asarray(available, bool), utilities.shape))
        self.beta = jnp.asarray(beta, utilities.dtype)
        self.logits = _logits(utilities, self.available, self.beta)
        batch_shape = utilities.shape[:-1]
        self.length = jnp.broadcast_to(
            jnp.sum(self.available, axis=-1) if length is None else jnp.asarray(length),
            batch_shape)
        super().__init__(batch_shape=batch_shape, event_shape=utilities.shape[-1:],
                         validate_args=validate_args)

    @property
    def support(self):
        """Vectors of option indices in [0, K) (permutations, best first)."""
        return constraints.independent(
            constraints.integer_interval(0, self.event_shape[0] - 1), 1)

    def sample(self, key, sample_shape=()):
        """Full rankings ``sample_shape + batch_shape + (K,)`` (int32), best first."""
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        perturbed = self.logits + jax.random.gumbel(key, shape, self.logits.dtype)
        return jnp.argsort(-perturbed, axis=-1, stable=True).astype(jnp.int32)

    def log_prob(self, value):
        """Log-probability (nats) of the first ``length`` positions of each ranking."""
        return plackett_luce_log_probability(self.logits, value, self.length)


def observe_choices(utilities: Array, choices: ChoiceSets, beta=1.0) -> None:
    """The chosen options as an observed NumPyro site, inside a model.

    ``chosen_n ~ ChoiceDistribution(u_n, available_n, β)`` in the plate ``"choices"``, site
    ``"chosen"``.

    Args:
        utilities: (N, K) utilities of the options (e.g. :func:`linear_utilities`).
        choices: the N choice sets (their ``chosen`` indices are observed).
        beta: rationality β (scalar, may be a sampled site).
    """
    with numpyro.plate("choices", choices.chosen.shape[0]):
        numpyro.sample("chosen", ChoiceDistribution(utilities, choices.available, beta),
                       obs=choices.chosen)


def observe_rankings(utilities: Array, rankings: Rankings, beta=1.0) -> None:
    """The rankings as an observed NumPyro site, inside a model.

    ``order_n ~ PlackettLuce(u_n, available_n, β, length_n)`` in the plate ``"rankings"``, site
    ``"ranking"``.

    Args:
        utilities: (N, K) utilities of the options.
        rankings: the N rankings (their ``order`` is observed).
        beta: rationality β (scalar, may be a sampled site).
    """
    with numpyro.plate("rankings", rankings.order.shape[0]):
        numpyro.sample("ranking", PlackettLuce(utilities, rankings.available, beta,
                                               rankings.length), obs=rankings.order)
