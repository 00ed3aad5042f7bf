"""The misfit alarm of a choice fit: posterior-predictive checks of the options people chose.

The checks of :mod:`bayesirl.analysis.misfit` (kind ``"choices"``: ``log-likelihood``,
``agreement``, ``loo``) on the option chosen — or ranked first — in each choice set: the table
``log p(first_n = k | θ_m)`` is the multinomial logit of each posterior draw's weights (each
person's own weights with a hierarchy), unavailable options at −inf. A ranking's later
positions are not checked (their categories change with the options already ranked).

Observed choices more predictable than replicated ones (``log-likelihood`` higher) say that
the people choose more deterministically than the fitted weights allow — e.g. people who
differ, fitted with one reward: each person's choices are predictable, the population's
average is not; less predictable says noisier choices than the model allows. With several
people, :func:`person_dispersion_check` asks directly whether their log-likelihoods spread
more than one reward for everyone allows.

A fit with per-person weights is checked on its *mixed* predictive (Gelman, Meng & Stern 1996;
Marshall & Spiegelhalter 2003): each choice set's probabilities are averaged over fresh
persons drawn from the fitted population, so the checks ask whether the population describes
the choices, not whether each person's weights — fitted to those very choices — reproduce
them (with ~12 choices per person that would always look too good: on the Dutch train panel
the plug-in agreement was 94 % observed against 83 % replicated). The person-dispersion check
is then left out (the mixed predictive's sets are independent given the population).
"""

from __future__ import annotations

import numpy as np

from bayesirl._validate import check_scalar
from bayesirl.likelihoods.registry import SOURCES, required_sources
from bayesirl.analysis.misfit import (DEFAULT_LEVEL, DEFAULT_NUM_DRAWS, DEFAULT_NUM_REPLICATES,
                                      MisfitCheck, MisfitReport, categorical_checks,
                                      combine_checks)

__all__ = ["choice_log_probs", "check_choice_fit", "person_dispersion_check", "SOURCE_NAME",
           "MIXED_PERSONS", "MAX_MIXED_VALUES"]

#: The registry name of the source checked here (the one whose evidence is choices).
SOURCE_NAME = required_sources(SOURCES, "choices")[0]


def choice_log_probs(weights: np.ndarray, data, beta: float = 1.0) -> np.ndarray:
    """``log p(first_n = k | w_m)`` of every draw, choice set and option.

    Args:
        weights: (M, F) shared weights, or (M, I, F) one row per person.
        data: :class:`~bayesirl.likelihoods.luce.ChoiceEvidence` (N sets, K options).
        beta: rationality β.

    Returns:
        (M, N, K) log-probabilities (−inf for unavailable options); each row sums to 1 after
        ``exp``.
    """
    features = np.asarray(data.features)
    w = np.asarray(weights)
    if w.ndim == 3:
        u = np.einsum("nkf,mnf->mnk", features, w[:, np.asarray(data.person), :])
    else:
        u = np.einsum("nkf,mf->mnk", features, w)
    u = np.where(np.asarray(data.available)[None], beta * u, -np.inf)
    return u - np.logaddexp.reduce(u, axis=-1, keepdims=True)


def person_dispersion_check(table: np.ndarray, observed: np.ndarray, person: np.ndarray,
                            num_replicates: int = DEFAULT_NUM_REPLICATES,
                            seed: int = 0) -> MisfitCheck:
    """Do people differ more than the model allows? The spread of per-person log-likelihoods.

    For each draw, the statistic is ``Σ_i (ℓ_i − E ℓ_i)² / Var ℓ_i`` over persons i, with
    ``ℓ_i`` the log-likelihood of person i's choices and its mean and variance under the
    draw's predictive (exact: a sum over their choice sets); observed against replicated
    choices, one-sided (higher: some people are far more predictable, others far less, than
    one reward for everyone explains — as when people differ).

    Args:
        table: (M, N, K) ``log p(first_n = k | θ_m)`` (:func:`choice_log_probs`).
        observed: (N,) chosen (first) options.
        person: (N,) person of each choice set.
        num_replicates: replicated data sets per draw.
        seed: NumPy seed of the replicated choices.

    Returns:
        A :class:`~bayesirl.analysis.misfit.MisfitCheck` named ``"person-dispersion"``
        (``misfit`` False: set by :func:`~bayesirl.analysis.misfit.combine_checks`).
    """
    M, N, K = table.shape
    p = np.exp(table)
    safe = np.where(np.isfinite(table), table, 0.0)
    mean_n = np.sum(p * safe, -1)                                        # (M, N)
    var_n = np.sum(p * safe ** 2, -1) - mean_n ** 2
    _, cell = np.unique(person, return_inverse=True)
    I = int(cell.max()) + 1

    def per_person(x):                                                   # (..., N) -> (..., I)
        flat = x.reshape(-1, N)
        out = np.zeros((flat.shape[0], I))
        np.add.at(out.T, cell, flat.T)
        return out.reshape(*x.shape[:-1], I)

    mean_i, var_i = per_person(mean_n), np.maximum(per_person(var_n), 1e-12)
    ll_obs = per_person(np.take_along_axis(table, np.broadcast_to(observed, (M, N))[..., None],
                                           -1)[..., 0])
    rng = np.random.default_rng(seed)
    R = max(1, min(int(num_replicates), 4_000_000 // (M * max(N, 1))))
    cum = np.cumsum(p, -1)
    u = rng.random((R, M, N, 1))
    y_rep = np.minimum((u > cum[None]).sum(-1), K - 1)                   # (R, M, N)
    ll_rep = per_person(np.take_along_axis(np.broadcast_to(table, (R, M, N, K)),
                                           y_rep[..., None], -1)[..., 0])
    t_obs = np.sum((ll_obs - mean_i) ** 2 / var_i, -1)                   # (M,)
    t_rep = np.sum((ll_rep - mean_i) ** 2 / var_i, -1)                   # (R, M)
    p_value = float((np.sum(t_rep >= t_obs) + 1) / (t_rep.size + 1))
    direction = "higher" if t_obs.mean() >= t_rep.mean() else "lower"
    detail = (f"people differ more than one reward explains (their log-likelihoods spread "
              f"{t_obs.mean():.3g} against {t_rep.mean():.3g} replicated, over {I} people)")
    return MisfitCheck(SOURCE_NAME, "person-dispersion", float(t_obs.mean()),
                       float(t_rep.mean()), min(p_value, 1.0), direction, False, detail)


#: Fresh persons per draw that average the mixed predictive of a per-person fit (fewer when
#: draws × persons × sets × options would exceed :data:`MAX_MIXED_VALUES`).
MIXED_PERSONS = 200
MAX_MIXED_VALUES = 400_000_000


def _mixed_table(idata, hierarchy, idx, data, beta, seed):
    """``log p(first_n = k | w̄_m, τ_m, L_m)``: each choice set's probabilities averaged over
    fresh persons drawn from the population of draw m (the mixed predictive)."""
    from bayesirl.analysis.population import new_person_weight_draws

    C, D = idata.posterior["reward_weights"].shape[:2]
    M, (N, K) = len(idx), np.asarray(data.available).shape
    S = int(max(2, min(MIXED_PERSONS, MAX_MIXED_VALUES // max(M * N * K, 1))))
    probs = 0.0
    for s in range(S):
        fresh = new_person_weight_draws(idata, hierarchy, seed=seed + 100 + s)
        probs = probs + np.exp(choice_log_probs(fresh.reshape(C * D, -1)[idx], data, beta))
    with np.errstate(divide="ignore"):
        return np.log(probs / S)


def check_choice_fit(idata, data, *, beta: float = 1.0, num_draws: int = DEFAULT_NUM_DRAWS,
                     num_replicates: int = DEFAULT_NUM_REPLICATES, level: float = DEFAULT_LEVEL,
                     seed: int = 0) -> MisfitReport:
    """The misfit alarm of a fit of the ``choice`` source.

    Args:
        idata: the fit (``reward_weights`` (C, D, F); with per-person weights, their sites and
            ``hierarchy_features`` in ``posterior.attrs``).
        data: the fit's :class:`~bayesirl.likelihoods.luce.ChoiceEvidence`.
        beta: its fixed rationality β.
        num_draws: M >= 1 posterior draws used (a seeded subsample).
        num_replicates: replicated data sets per draw.
        level: family-wise level of the alarm in (0, 1).
        seed: seed of the subsample and of the replicated data.

    Returns:
        :class:`~bayesirl.analysis.misfit.MisfitReport` (``as_dict()`` for ``summary.json``).

    Raises:
        ValueError: no ``reward_weights`` in ``idata``, bad counts or level.
    """
    from bayesirl.analysis.population import hierarchy_of

    if not hasattr(idata, "posterior") or "reward_weights" not in idata.posterior:
        raise ValueError("idata: expected an InferenceData whose posterior holds "
                         "'reward_weights' (chain, draw, feature)")
    M = check_scalar(num_draws, "num_draws", low=1, integer=True)
    post = idata.posterior
    C, D, F = post["reward_weights"].shape
    idx = np.arange(C * D)
    if C * D > M:
        idx = np.sort(np.random.default_rng(seed).choice(C * D, M, replace=False))
    hierarchy = hierarchy_of(idata)
    if hierarchy is None:
        table = choice_log_probs(np.asarray(post["reward_weights"]).reshape(C * D, F)[idx],
                                 data, beta)
    else:
        table = _mixed_table(idata, hierarchy, idx, data, beta, seed)
    first = np.asarray(data.order)[:, 0].astype(np.int64)
    checks, bad = categorical_checks(table, first, kind="choices",
                                     num_replicates=num_replicates, seed=seed + 1,
                                     source=SOURCE_NAME)
    person = np.asarray(data.person)
    if hierarchy is None and np.unique(person).size > 1:
        checks = checks + (person_dispersion_check(table, first, person, num_replicates,
                                                   seed + 2),)
    return combine_checks(checks, level=level, pareto_k_bad={SOURCE_NAME: bad},
                          num_draws=len(idx),
                          settings={"sources": (SOURCE_NAME,), "hierarchy": hierarchy is not None})
