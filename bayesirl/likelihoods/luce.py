"""Choices and rankings among options as an evidence source, one reward or one per person.

The ``choice`` source scores N choice sets: in set n a person saw K options with features
``x_{nk}`` (F,) (some unavailable) and either chose one or ranked some of them, best first.
With the linear utility ``u_{nk} = w·x_{nk}`` (w: the reward weights, in utility units) and
rationality β, a ranking of its first L options has the Plackett–Luce probability

    p(o_n) = Π_{j=1}^{L} exp(β u_{n,o_j}) / Σ_{i available, not among o_1 … o_{j−1}} exp(β u_{n,i})

(Plackett 1975, Eq. 1; Luce 1959); a choice is the ranking of length L = 1, the multinomial
logit of McFadden (1974), and a choice between K = 2 options is Bradley–Terry. Each choice set
is ONE observation (one pointwise log-likelihood for PSIS-LOO), whatever its L. When every set
is a choice (known from the data's shape: :attr:`ChoiceEvidence.positions`), the likelihood is
computed as the multinomial logit, ``β u_{n,o_1} − logsumexp_{i available} β u_{n,i}``: the
same values, a cheaper gradient.

**Many people.** With a :class:`Hierarchy` (model option ``hierarchy``), person i has weights
of their own around the population mean w̄ (the model's ``reward_weights``)::

    w_i = w̄ + S diag(τ) L z_i,    z_i ~ N(0, I_R),    τ_r ~ HalfNormal(scale),
    L ~ LKJCholesky(R, η)  (R >= 2),

on the R features of ``hierarchy.features`` (S places them; the other weights are w̄ for
everyone). The non-centred form (z_i; Papaspiliopoulos, Roberts & Sköld 2007) is what NUTS
needs when people make few choices. All choice sets of one person share w_i (panel data: the
mixed logit of Revelt & Train 1998; the hierarchical Bayes logit of Allenby & Rossi 1998). The
sites are ``"person_scales"`` τ (R,), ``"person_correlation_cholesky"`` L (R, R) (R >= 2) and
``"person_z"`` (I, R) in the plate ``"persons"``; :func:`person_weights` rebuilds the (I, F)
weights from a draw and :func:`new_person_weights` draws those of a new person (the posterior
predictive of the population).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayesirl._typing import Array
from bayesirl.likelihoods.choice import PlackettLuce, plackett_luce_log_probability
from bayesirl.likelihoods.source import EvidenceInputs, EvidenceSource, ModelContext

__all__ = ["SOURCE", "ChoiceEvidence", "Hierarchy", "choice_evidence", "person_weights",
           "new_person_weights", "pointwise_choice_log_likelihood", "HIERARCHY_SITES"]

#: The posterior sites of the hierarchy (besides the population mean ``reward_weights``).
HIERARCHY_SITES = ("person_scales", "person_correlation_cholesky", "person_z")


class Hierarchy(NamedTuple):
    """Per-person reward weights around the population's (the model option ``hierarchy``).

    Attributes:
        features: indices (sorted, distinct, in [0, F)) of the R features whose weights vary
            across people.
        scale: scale of the HalfNormal prior on each population standard deviation τ_r
            (utility per feature unit).
        concentration: η > 0 of the LKJ prior on the correlation of the varying weights
            (η = 1: uniform over correlation matrices; larger: closer to independent).
    """

    features: tuple[int, ...]
    scale: float = 1.0
    concentration: float = 2.0

    @classmethod
    def checked(cls, features, num_features: int, scale: float = 1.0,
                concentration: float = 2.0) -> "Hierarchy":
        """A validated Hierarchy.

        Args:
            features: R distinct feature indices in [0, F).
            num_features: F.
            scale, concentration: as the attributes (finite, > 0).

        Raises:
            ValueError: an index out of range or repeated, none, or a scale or concentration
                that is not a finite number > 0.
        """
        items = list(features)
        bad = [i for i in items if isinstance(i, (bool, np.bool_))
               or not isinstance(i, (int, np.integer)) or not 0 <= int(i) < num_features]
        if bad or not items or len(set(int(i) for i in items)) != len(items):
            raise ValueError(f"hierarchy.features: expected distinct feature indices in "
                             f"[0, {num_features}), at least one, got {items}")
        for name, value in (("scale", scale), ("concentration", concentration)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
                    not np.isfinite(value) or value <= 0:
                raise ValueError(f"hierarchy.{name}: expected a finite number > 0, got {value!r}")
        return cls(tuple(sorted(int(i) for i in items)), float(scale), float(concentration))


class ChoiceEvidence(NamedTuple):
    """The data of the ``choice`` source (a JAX pytree).

    Attributes:
        features: (N, K, F) option features x (0 for unavailable options).
        available: (N, K) bool, True for the options offered.
        order: (N, K) int32, per set a permutation of the option indices, best first (the
            chosen or ranked options, then the other available ones, then the unavailable).
        length: (N,) int32 number L >= 1 of ranked positions (1 for a choice).
        person: (N,) int32 index in [0, I) of who chose.
        person_counts: (I,) int32 number of choice sets per person (its shape carries I into
            compiled code).
        positions: (L,) int32 ``0 … L−1`` with L the longest ranking (``max(length)``, as
            :func:`choice_evidence` sets it): its shape carries L into compiled code, so that
            data of choices only (L = 1) are scored by the categorical (multinomial logit)
            path, the chosen option's logit minus a logsumexp, instead of Plackett–Luce's
            reverse cumulative logsumexp (equal values, cheaper gradients). None (data built
            field by field without it): L unknown, every set on the Plackett–Luce path.
    """

    features: Array
    available: Array
    order: Array
    length: Array
    person: Array
    person_counts: Array
    positions: Array | None = None

    @property
    def num_persons(self) -> int:
        """I."""
        return int(self.person_counts.shape[0])

    @property
    def single_choices(self) -> bool:
        """True when every set is known (statically) to be one choice (L = 1)."""
        return self.positions is not None and self.positions.shape[0] == 1


def choice_evidence(choices) -> ChoiceEvidence:
    """The source's data from choice sets or rankings.

    Args:
        choices: :class:`~bayesirl.data.choices.ChoiceSets` (a choice is a ranking of length 1)
            or :class:`~bayesirl.data.choices.Rankings`.

    Returns:
        :class:`ChoiceEvidence` in JAX's default float type.

    Raises:
        TypeError: ``choices`` of another type.
    """
    from bayesirl.data.choices import ChoiceSets, Rankings

    if isinstance(choices, ChoiceSets):
        chosen = np.asarray(choices.chosen)
        available = np.asarray(choices.available)
        N, K = available.shape
        rest = np.argsort(np.where(np.arange(K)[None] == chosen[:, None], -1,
                                   np.where(available, 0, 1)), axis=1, kind="stable")
        order, length = rest.astype(np.int32), np.ones(N, np.int32)
    elif isinstance(choices, Rankings):
        order, length = np.asarray(choices.order, np.int32), np.asarray(choices.length, np.int32)
        available = np.asarray(choices.available)
    else:
        raise TypeError(f"choices: expected ChoiceSets or Rankings (bayesirl.data.choices), got "
                        f"{type(choices).__name__}")
    person = np.asarray(choices.person, np.int32)
    counts = np.bincount(person, minlength=int(person.max()) + 1).astype(np.int32)
    positions = np.arange(int(length.max()), dtype=np.int32)
    return ChoiceEvidence(jnp.asarray(choices.features, jnp.result_type(float)),
                          jnp.asarray(available, bool), jnp.asarray(order),
                          jnp.asarray(length), jnp.asarray(person), jnp.asarray(counts),
                          jnp.asarray(positions))


def person_weights(weights: Array, scales: Array, correlation_cholesky: Array | None, z: Array,
                   hierarchy: Hierarchy) -> Array:
    """Each person's reward weights ``w_i = w̄ + S diag(τ) L z_i`` for ONE posterior draw.

    Args:
        weights: (F,) population mean w̄.
        scales: (R,) population standard deviations τ.
        correlation_cholesky: (R, R) Cholesky factor L of the correlation, or None (R = 1).
        z: (I, R) standardised deviations.
        hierarchy: which R features vary.

    Returns:
        (I, F) weights, one row per person. Batch over draws with ``jax.vmap``.
    """
    factor = scales[:, None] * (jnp.eye(scales.shape[0], dtype=scales.dtype)
                                if correlation_cholesky is None else correlation_cholesky)
    deviations = z @ factor.T                                          # (I, R)
    I = z.shape[0]
    return jnp.broadcast_to(weights, (I, weights.shape[0])).at[
        :, jnp.asarray(hierarchy.features)].add(deviations)


def new_person_weights(key, weights: Array, scales: Array, correlation_cholesky: Array | None,
                       hierarchy: Hierarchy) -> Array:
    """The weights of a person not in the data, for ONE posterior draw of the population.

    Args:
        key: JAX PRNG key.
        weights, scales, correlation_cholesky, hierarchy: as :func:`person_weights`.

    Returns:
        (F,) ``w̄ + S diag(τ) L z`` with a fresh z ~ N(0, I_R); over the posterior draws, the
        posterior predictive of a new person's weights.
    """
    z = jax.random.normal(key, (1, scales.shape[0]), scales.dtype)
    return person_weights(weights, scales, correlation_cholesky, z, hierarchy)[0]


def _utilities(weights: Array, data: ChoiceEvidence) -> Array:
    """(N, K) utilities from (F,) shared or (I, F) per-person weights."""
    if weights.ndim == 1:
        return data.features @ weights
    return jnp.einsum("nkf,nf->nk", data.features, weights[data.person])


def pointwise_choice_log_likelihood(weights: Array, data: ChoiceEvidence, beta=1.0) -> Array:
    """Log-probability of each choice set's choice or ranking for ONE weight vector.

    Args:
        weights: (F,) weights shared by everyone, or (I, F) one row per person.
        data: the N choice sets (:func:`choice_evidence`).
        beta: rationality β (scalar).

    Returns:
        (N,) ``log p(o_n)`` (nats); computed as a multinomial logit when ``data`` holds choices
        only (:attr:`ChoiceEvidence.single_choices`). Source: Plackett 1975, Eq. 1; Luce 1959;
        McFadden 1974.
    """
    u = _utilities(weights, data)
    logits = jnp.where(data.available, jnp.asarray(beta, u.dtype) * u, -jnp.inf)
    return _log_probability(logits, data.order, data.length, data.single_choices)


def _first_choice_log_probability(logits: Array, order: Array) -> Array:
    """(N,) ``l_{o_1} − logsumexp_i l_i`` from (N, K) logits (−inf: unavailable) and orders:
    the Plackett–Luce probability of rankings of length 1, computed as a categorical (−inf
    when the first option is unavailable). The first option's logit is picked by a one-hot
    mask, not a gather: its gradient is then a select, not a scatter (the gradient at
    N = 2929, K = 2 took about half the time of ``log_softmax`` + gather, and a seventh of the
    Plackett–Luce path's)."""
    first = jnp.arange(logits.shape[-1]) == jnp.asarray(order, jnp.int32)[..., :1]
    chosen = jnp.sum(jnp.where(first, logits, 0.0), axis=-1)
    return chosen - jax.nn.logsumexp(logits, axis=-1)


def _log_probability(logits: Array, order: Array, length: Array, single_choices: bool) -> Array:
    """(N,) log-probability of each set: the categorical path when every set is one choice
    (static), Plackett–Luce otherwise."""
    if single_choices:
        return _first_choice_log_probability(logits, order)
    return plackett_luce_log_probability(logits, order, length)


class _ChoiceOrders(PlackettLuce):
    """:class:`PlackettLuce` whose ``log_prob`` takes the categorical path when every set is
    one choice (``single_choices``, static); sampling is unchanged (full rankings)."""

    pytree_aux_fields = ("single_choices",)

    def __init__(self, utilities, available, beta, length, single_choices: bool):
        self.single_choices = bool(single_choices)
        super().__init__(utilities, available, beta, length)

    def log_prob(self, value):
        """Log-probability (nats) of the first ``length`` positions of each ranking."""
        return _log_probability(self.logits, value, self.length, self.single_choices)


def _sample_person_weights(w_bar: Array, data: ChoiceEvidence, hierarchy: Hierarchy) -> Array:
    """The hierarchy's sites, inside a model; returns the (I, F) per-person weights."""
    R, I = len(hierarchy.features), data.num_persons
    tau = numpyro.sample("person_scales",
                         dist.HalfNormal(hierarchy.scale).expand([R]).to_event(1))
    chol = None
    if R > 1:
        chol = numpyro.sample("person_correlation_cholesky",
                              dist.LKJCholesky(R, hierarchy.concentration))
    with numpyro.plate("persons", I):
        z = numpyro.sample("person_z", dist.Normal(0.0, 1.0).expand([R]).to_event(1))
    return person_weights(w_bar, tau, chol, z, hierarchy)


def _build(inputs: EvidenceInputs, options: dict) -> ChoiceEvidence:
    if inputs.choices is None:
        raise ValueError("choices: the choice likelihood needs choice sets or rankings")
    data = choice_evidence(inputs.choices)
    hierarchy = options.get("hierarchy")
    if hierarchy is not None:
        Hierarchy.checked(hierarchy.features, data.features.shape[-1], hierarchy.scale,
                          hierarchy.concentration)
    return data


def _observe(context: ModelContext, data: ChoiceEvidence, beta, options) -> None:
    """``o_n ~ PlackettLuce(β u_n, available_n, length_n)`` at the site ``"choice_orders"``,
    with ``u_n = x_n·w`` (or ``x_n·w_i`` of the person with a hierarchy)."""
    hierarchy = options.get("hierarchy")
    weights = (context.weights if hierarchy is None
               else _sample_person_weights(context.weights, data, hierarchy))
    with numpyro.plate("choice_sets", data.person.shape[0]):
        numpyro.sample("choice_orders",
                       _ChoiceOrders(_utilities(weights, data), data.available, beta,
                                     data.length, data.single_choices),
                       obs=data.order)


#: Choices and rankings among options (one reward, or one per person) as an evidence source.
SOURCE = EvidenceSource(
    name="choice", site="choice_orders", dim="choice_set", needs_mdp=False,
    requires="choices", worlds=("choices",),
    build=_build, observe=_observe,
    observations=lambda data: data.order,
    replace_observations=lambda data, order: data._replace(order=order),
    constants=lambda data: {"choice_person": data.person, "choice_length": data.length},
    options=("hierarchy",),
    description="choices or rankings among options with features, one reward or one per "
                "person: multinomial logit / Plackett–Luce (Luce 1959; McFadden 1974; "
                "Plackett 1975; hierarchical: Allenby & Rossi 1998)",
    num_features=lambda data: data.features.shape[-1])
