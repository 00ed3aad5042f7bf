"""NumPyro models of choices: one weight vector for everyone, or one per person (hierarchical).

These are standalone models with their own site names (``weights``, ``scales``, ``z``), for
NumPyro users and the published-estimate checks of ``examples/human_choices.py``. The library's
runs (``bayesirl fit --choices``, :func:`~bayesirl.inference.fit.fit_reward`) use the
``choice`` evidence source of :mod:`bayesirl.likelihoods.luce` with a
:class:`~bayesirl.likelihoods.luce.Hierarchy`: the same per-person construction
(:func:`~bayesirl.likelihoods.luce.person_weights`) inside the one reward model.

:func:`choice_model` is the multinomial logit with a Normal prior on the reward weights.
:func:`hierarchical_choice_model` gives person i their own weights around a population mean,

    w_i = w̄ + S (L z_i),     z_i ~ N(0, I_R),     L = diag(τ) Ω^{1/2},

on the R "random" features only (S places them; the other features share w̄), with
τ ~ HalfNormal (the population standard deviations), Ω^{1/2} ~ LKJCholesky(R, η) (Lewandowski,
Kurowicka & Joe 2009), and the non-centred parameterisation z (Papaspiliopoulos, Roberts &
Sköld 2007) that NUTS needs when a person makes few choices. All choices of one person share
w_i (panel data), as in the mixed logit of Revelt & Train (1998) and the hierarchical Bayes
logit of Allenby & Rossi (1998); β = 1 because the scale of w and β are not separately
identified.

Sites: ``"weights"`` (F,) w̄ (the weights in :func:`choice_model`), ``"scales"`` (R,) τ,
``"correlation_cholesky"`` (R, R) and ``"correlation"`` (R, R) Ω (R >= 2 only), ``"z"`` (I, R)
in the plate ``"persons"``, optional ``"person_weights"`` (I, F), and the observed ``"chosen"``
(:func:`~bayesirl.likelihoods.choice.observe_choices`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayesirl._validate import check_scalar
from bayesirl.data.choices import ChoiceSets
from bayesirl.likelihoods.choice import linear_utilities, observe_choices
from bayesirl.likelihoods.luce import Hierarchy
from bayesirl.likelihoods.luce import person_weights as _person_weights

__all__ = ["choice_model", "hierarchical_choice_model", "random_feature_indices"]


def _check_choices(choices) -> None:
    if not isinstance(choices, ChoiceSets):
        raise TypeError(f"choices: expected ChoiceSets (see make_choice_sets), got "
                        f"{type(choices).__name__}")


def random_feature_indices(random, num_features: int, feature_names=()) -> tuple[int, ...]:
    """The R distinct indices of the features whose weights vary across persons.

    Args:
        random: None (every feature), or a sequence of feature indices or names.
        num_features: F.
        feature_names: F names, to accept names in ``random``.

    Returns:
        Sorted indices in [0, F).

    Raises:
        ValueError: an unknown name, an index out of range, a repeat, or an empty list.
    """
    if random is None:
        return tuple(range(num_features))
    out = []
    for item in random:
        if isinstance(item, str):
            if item not in feature_names:
                raise ValueError(f"random: unknown feature {item!r}; features are "
                                 f"{list(feature_names)}")
            item = list(feature_names).index(item)
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) \
                or not 0 <= item < num_features:
            raise ValueError(f"random: expected feature indices in [0, {num_features}) or "
                             f"names, got {item!r}")
        out.append(int(item))
    if not out or len(set(out)) != len(out):
        raise ValueError(f"random: expected distinct features, at least one, got {list(random)}")
    return tuple(sorted(out))


def choice_model(choices: ChoiceSets, *, prior_scale: float = 10.0, beta: float = 1.0) -> None:
    """Multinomial logit with one weight vector: ``w ~ N(0, prior_scale² I)``, choices by
    :class:`~bayesirl.likelihoods.choice.ChoiceDistribution` of ``u = x·w``.

    Args:
        choices: N choice sets with (N, K, F) features.
        prior_scale: standard deviation of the Normal prior on each weight (utility per
            feature unit); large values are nearly flat.
        beta: rationality β (fixed; it only rescales w).

    Raises:
        TypeError: ``choices`` is not ChoiceSets. ValueError: ``prior_scale`` <= 0.
    """
    _check_choices(choices)
    prior_scale = check_scalar(prior_scale, "prior_scale", low=0, low_open=True)
    F = choices.features.shape[-1]
    w = numpyro.sample("weights", dist.Normal(0.0, prior_scale).expand([F]).to_event(1))
    observe_choices(linear_utilities(w, choices.features), choices, beta)


def hierarchical_choice_model(choices: ChoiceSets, *, random=None, feature_names=(),
                              num_persons: int | None = None, prior_scale: float = 10.0,
                              scale_prior: float = 1.0, concentration: float = 2.0,
                              beta: float = 1.0, person_weights: bool = False) -> None:
    """Per-person weights ``w_i = w̄ + S diag(τ) Ω^{1/2} z_i`` around a population mean (panel).

    Args:
        choices: N choice sets with (N, K, F) features; ``choices.person`` (N,) says whose.
        random: the R features whose weights vary across persons, as indices or names (None:
            all F); the others are fixed at w̄ for everyone.
        feature_names: F names, to give ``random`` by name (e.g. ``ChoiceData.feature_names``).
        num_persons: I (default ``choices.num_persons``; read eagerly, so pass it when the
            model is traced with abstract data).
        prior_scale: standard deviation of the Normal prior on each population mean w̄_f.
        scale_prior: scale of the HalfNormal prior on each population standard deviation τ_r.
        concentration: η of the LKJ prior on the correlation of the random weights (η = 1:
            uniform over correlation matrices; larger: closer to independent).
        beta: rationality β (fixed).
        person_weights: record the (I, F) per-person weights as the deterministic site
            ``"person_weights"`` (memory grows with I × F per draw).

    Raises:
        TypeError: ``choices`` is not ChoiceSets. ValueError: bad ``random`` or a non-positive
            scale, concentration or ``num_persons``.

    Source: Allenby & Rossi 1998 (hierarchical Bayes logit); Train 2009, ch. 12; LKJ prior:
    Lewandowski, Kurowicka & Joe 2009.
    """
    _check_choices(choices)
    F = choices.features.shape[-1]
    idx = random_feature_indices(random, F, feature_names)
    I = choices.num_persons if num_persons is None else check_scalar(
        num_persons, "num_persons", low=1, integer=True)
    prior_scale = check_scalar(prior_scale, "prior_scale", low=0, low_open=True)
    scale_prior = check_scalar(scale_prior, "scale_prior", low=0, low_open=True)
    concentration = check_scalar(concentration, "concentration", low=0, low_open=True)
    R = len(idx)

    w_bar = numpyro.sample("weights", dist.Normal(0.0, prior_scale).expand([F]).to_event(1))
    tau = numpyro.sample("scales", dist.HalfNormal(scale_prior).expand([R]).to_event(1))
    chol = None
    if R > 1:
        chol = numpyro.sample("correlation_cholesky", dist.LKJCholesky(R, concentration))
        numpyro.deterministic("correlation", chol @ chol.T)
    with numpyro.plate("persons", I):
        z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([R]).to_event(1))
    weights = _person_weights(w_bar, tau, chol, z, Hierarchy(idx, scale_prior, concentration))
    if person_weights:
        numpyro.deterministic("person_weights", weights)
    observe_choices(linear_utilities(weights, choices.features, choices.person), choices, beta)
