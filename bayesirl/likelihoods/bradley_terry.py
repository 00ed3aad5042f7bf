"""Bradley–Terry likelihood of preferences between trajectories, strict or weak.

A comparison of trajectories A (``first``) and B (``second``) is labelled 0 (A preferred),
1 (B preferred) or 2 (about equal). With the linear return ``R(τ) = w·Φ_τ`` of the discounted
feature counts ``Φ_τ = Σ_t γ^t φ(s_t, a_t)``, precomputed once per trajectory, and
``x = β w·(Φ_A − Φ_B)``:

* strict preferences (Bradley & Terry 1952; T-REX / Bayesian REX, Brown et al. 2019, 2020):
  ``p(A ≻ B) = σ(x)``;
* weak preferences with an "about equal" answer (Bıyık et al., CoRL 2019), margin δ >= 0:
  ``p(A ≻ B) = 1 / (1 + exp(δ − x))``, ``p(B ≻ A) = 1 / (1 + exp(δ + x))``,
  ``p(≈) = (e^{2δ} − 1) p(A ≻ B) p(B ≻ A)``; the three sum to 1 and δ = 0 is the strict model.

One likelihood evaluation is a matrix–vector product; no MDP solve.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bayesirl._deprecation import renamed_arguments
from bayesirl._typing import Array
from bayesirl.data.preferences import Preferences
from bayesirl.likelihoods.source import EvidenceInputs, EvidenceSource, ModelContext

__all__ = ["SOURCE", "PreferenceChoice", "PreferenceData", "bradley_terry_log_likelihood",
           "log_sigmoid", "observe_preferences", "observe_reward_differences",
           "EQUAL_ANSWER_MARGIN", "default_margin"]

#: The indifference margin δ (reward units of the trajectory return) used when comparisons
#: include "about equal" answers and no margin is given: the command line and the Python API
#: share it. δ must be > 0 for "equal" answers to have a probability.
EQUAL_ANSWER_MARGIN = 1.0


def default_margin(preferences) -> float:
    """The margin δ when none is given: :data:`EQUAL_ANSWER_MARGIN` when ``preferences`` (a
    :class:`~bayesirl.data.preferences.Preferences` with P comparisons, or None) include an
    "about equal" answer (label 2), else 0 (strict Bradley–Terry)."""
    if preferences is None:
        return 0.0
    import numpy as np

    return EQUAL_ANSWER_MARGIN if bool(np.any(np.asarray(preferences.label) == 2)) else 0.0


def log_sigmoid(x: Array) -> Array:
    """``log σ(x) = min(x, 0) − log1p(exp(−|x|))`` elementwise (x of any shape ``(...)``),
    stable for any finite x; returns the same shape.

    One exp and one log1p per element: half the time of ``-jax.nn.softplus(-x)`` on a CPU
    (measured; its ``logaddexp`` form adds selects for infinities); the same value to float
    rounding.
    """
    x = jnp.asarray(x)
    return jnp.minimum(x, 0) - jnp.log1p(jnp.exp(-jnp.abs(x)))


class PreferenceChoice(dist.CategoricalLogits):
    """The answer to "A or B?" given the reward difference ``x = β (R(A) − R(B))``.

    A categorical over (A preferred, B preferred, about equal) with the weak-preference model of
    Bıyık et al. (CoRL 2019); with ``margin = 0`` it is the Bradley–Terry model (Bradley & Terry
    1952; Brown et al. 2019) and "about equal" has probability 0.

    Args:
        reward_difference: (...) x, already multiplied by the rationality β.
        margin: δ >= 0, the indifference margin (reward units times β; ``delta``: deprecated
            alias).
    """

    @renamed_arguments(delta="margin")
    def __init__(self, reward_difference, margin=0.0, *, validate_args=None):
        x = jnp.asarray(reward_difference)
        # δ = 0: "about equal" is impossible; a very negative finite logit keeps the
        # parameters inside NumPyro's real_vector constraint.
        impossible = jnp.full_like(x, jnp.finfo(x.dtype).min / 4)
        if isinstance(margin, (int, float)) and margin == 0:  # strict Bradley–Terry fast path
            log_first, log_second, log_equal = -jax.nn.softplus(-x), -jax.nn.softplus(x), impossible
        else:
            margin = jnp.asarray(margin, x.dtype)
            log_first = -jax.nn.softplus(margin - x)
            log_second = -jax.nn.softplus(margin + x)
            log_equal = jnp.where(margin > 0, jnp.log(jnp.expm1(2 * jnp.maximum(margin, 1e-30)))
                                  + log_first + log_second, impossible)
        self.reward_difference, self.margin = x, margin
        self._strict = isinstance(margin, (int, float)) and margin == 0
        logits = jnp.stack(jnp.broadcast_arrays(log_first, log_second, log_equal), axis=-1)
        super().__init__(logits=logits, validate_args=validate_args)

    def log_prob(self, value):
        """Log-probability of the labels (the logits are already normalised: no logsumexp)."""
        value = jnp.asarray(value, jnp.int32)
        value = jnp.broadcast_to(value, self.batch_shape) if self.batch_shape else value
        if self._strict:
            # Bradley–Terry: ONE log-sigmoid per comparison, log σ(±x) for "A" / "B" (the
            # logits' values; a quarter of the time of both softplus columns).
            x = self.reward_difference
            log_p = log_sigmoid(jnp.where(value == 1, -x, x))
            return jnp.where(value == 2, self.logits[..., 2], log_p)
        return jnp.take_along_axis(self.logits, value[..., None], axis=-1)[..., 0]


@renamed_arguments(delta="margin")
def bradley_terry_log_likelihood(weights: Array, feature_counts: Array, preferences: Preferences,
                                 beta=1.0, margin=0.0) -> Array:
    """Log-likelihood of the preference labels for ONE weight vector.

    Args:
        weights: (F,) reward weights w.
        feature_counts: (N, F) discounted feature counts Φ of the trajectories.
        preferences: P comparisons.
        beta: rationality β.
        margin: indifference margin δ >= 0 (0: strict Bradley–Terry; ``delta``: deprecated).

    Returns:
        () sum of log-probabilities (nats).
    """
    returns = feature_counts @ weights
    x = beta * (returns[preferences.first] - returns[preferences.second])
    return jnp.sum(PreferenceChoice(x, margin).log_prob(preferences.label))


def observe_preferences(returns: Array, preferences: Preferences, beta=1.0, margin=0.0) -> None:
    """The preference labels as observed NumPyro sites, inside a model.

    ``label_p ~ PreferenceChoice(β (R_first − R_second), margin)`` in the plate
    ``"comparisons"``, site ``"preference_labels"`` (the names the predictive groups use).

    Args:
        returns: (N,) returns ``R(τ) = w·Φ_τ`` of the trajectories.
        preferences: P comparisons of them.
        beta: rationality β (scalar, may be a sampled site).
        margin: indifference margin δ >= 0 (0: strict Bradley–Terry).

    Source: Bradley & Terry 1952; Brown et al. 2020 (Bayesian REX); Bıyık et al. 2019 (weak
    preferences).
    """
    observe_reward_differences(returns[preferences.first] - returns[preferences.second],
                               preferences, beta, margin)


def observe_reward_differences(reward_differences: Array, preferences: Preferences, beta=1.0,
                               margin=0.0) -> None:
    """As :func:`observe_preferences`, from the (P,) differences ``R_first − R_second``.

    With feature counts Φ the differences are one matrix–vector product
    ``(Φ_first − Φ_second) @ w`` (P × F): under ``vmap`` over C chains one (C, F) × (F, P)
    matmul, no gather per chain (the Bradley–Terry source of :func:`bayesirl.models.reward_model`).

    Args:
        reward_differences: (P,) ``R(first_p) − R(second_p)``.
        preferences: the P comparisons (their labels are observed).
        beta: rationality β (scalar, may be a sampled site).
        margin: indifference margin δ >= 0 (0: strict Bradley–Terry).
    """
    x = beta * reward_differences
    with numpyro.plate("comparisons", preferences.first.shape[0]):
        numpyro.sample("preference_labels", PreferenceChoice(x, margin), obs=preferences.label)


# ---------------------------------------------------------------------------------------------
# The evidence source
# ---------------------------------------------------------------------------------------------


class PreferenceData(NamedTuple):
    """The data of the Bradley–Terry source.

    Attributes:
        features: (N, F) discounted feature counts Φ of the compared trajectories.
        comparisons: P :class:`~bayesirl.data.preferences.Preferences` indexing them.
    """

    features: Array
    comparisons: Preferences


def _build_preferences(inputs: EvidenceInputs, options: dict) -> PreferenceData:
    """Feature counts of the compared trajectories (from the MDP world's trajectories or the
    trajectory world's rows) and the comparisons, checked."""
    import numpy as np

    prefs = inputs.preferences
    if prefs is None:
        raise ValueError("preferences: the bradley-terry likelihood needs preferences")
    dtype = jnp.result_type(float)
    if inputs.preference_features is not None:
        features = jnp.asarray(inputs.preference_features, dtype)
    elif inputs.trajectories is not None:
        features = jnp.asarray(inputs.trajectories.feature_counts, dtype)
    elif inputs.mdp is not None and inputs.preference_trajectories is not None:
        from bayesirl.data.demos import check_demonstrations
        from bayesirl.solvers.occupancy import empirical_feature_counts

        check_demonstrations(inputs.mdp, inputs.preference_trajectories)
        features = empirical_feature_counts(inputs.mdp, inputs.preference_trajectories)
    else:
        raise ValueError("preferences: the compared trajectories are missing")
    N = int(features.shape[0])
    for name in ("first", "second"):
        ids = np.asarray(getattr(prefs, name))
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= N):
            raise ValueError(f"preferences.{name}: a comparison refers to an unknown trajectory "
                             f"(ids must be in 0..{N - 1})")
    margin = float(options.get("margin") or 0.0)
    if margin == 0 and bool(np.any(np.asarray(prefs.label) == 2)):
        raise ValueError("margin: 'equal' answers need the weak-preference model, margin > 0 "
                         "(the command line's --margin)")
    return PreferenceData(features, prefs)


def _observe_preferences(context: ModelContext, data: PreferenceData, beta, options) -> None:
    """``label_p ~ PreferenceChoice(β w·(Φ_first − Φ_second), margin)`` at the observed site
    ``"preference_labels"``, plate ``"comparisons"``."""
    prefs, phi = data.comparisons, data.features
    # (Φ_first − Φ_second) @ w: one (P, F) matvec, a (C, F) x (F, P) matmul over chains
    observe_reward_differences((phi[prefs.first] - phi[prefs.second]) @ context.weights, prefs,
                               beta, float(options.get("margin") or 0.0))


#: Bradley–Terry / weak preferences between trajectories as an evidence source.
SOURCE = EvidenceSource(
    name="bradley-terry", site="preference_labels", dim="comparison", needs_mdp=False,
    requires="preferences",
    worlds=("mdp", "trajectories"),
    build=_build_preferences, observe=_observe_preferences,
    observations=lambda data: data.comparisons.label,
    replace_observations=lambda data, labels: data._replace(
        comparisons=data.comparisons._replace(label=labels)),
    constants=lambda data: {"preference_first": data.comparisons.first,
                            "preference_second": data.comparisons.second},
    options=("margin",),
    description="preferences between trajectories: Bradley–Terry, weak with a margin "
                "(Bradley & Terry 1952; Brown et al. 2019, 2020; Bıyık et al. 2019)",
    num_features=lambda data: data.features.shape[-1])
