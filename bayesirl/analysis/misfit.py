"""The misfit alarm: posterior-predictive checks of what the fitted model predicts about its own
evidence.

Bounds and intervals from a posterior are only as good as its likelihood. After a fit,
:func:`check_fit` asks, for each evidence source with observations (demonstrated actions,
preference labels), whether data replicated from the posterior look like the data observed
(Gelman, Meng & Stern 1996; Gelman et al. 2013, ch. 6). Each source's observations are
categorical (an action among A, a label among 3), so one MDP solve per posterior draw gives
the whole table ``log p(y_i = k | θ_m)`` (M draws, P observations, K categories:
:func:`predictive_log_probs`); every check below is computed from that table, without
solving again.

Checks (:data:`CHECKS`), per source:

* ``log-likelihood`` — T(y, θ) = Σ_i log p(y_i | θ), observed vs replicated under the same
  draw; two-sided. Observed higher: the demonstrator (labeller) is *more deterministic* than
  the model's β allows (an optimal expert, a β set too small); lower: *noisier* (an ε-noisy
  expert, a β set too large).
* ``action-frequencies`` (demonstrations) — Pearson's χ² of the action counts per state
  against their expectation under each draw, observed vs replicated (Gelman, Meng & Stern
  1996, the χ² discrepancy); one-sided.
* ``predictive-set`` (demonstrations) — the share of observations outside the posterior
  predictive's 95 % set (the most probable categories holding ≥ 95 % of its mass); one-sided.
* ``agreement`` (preferences) — the share of labels equal to the posterior predictive's modal
  label; two-sided (a labeller more, or less, consistent than β allows).
* ``loo`` — the held-out (PSIS-LOO, Vehtari, Gelman & Gabry 2017) log predictive density
  Σ_i log p(y_i | y_−i), against its distribution when each y_i is drawn from its own
  leave-one-out predictive; two-sided. Observations with Pareto k̂ > 0.7 are counted (their
  LOO estimate is unreliable) but do not raise the alarm.

Each p-value is a Monte Carlo tail probability (ties counted against the alarm). The alarm
fires when any p-value is below ``level / n`` for n checks in all (Bonferroni), so that a
well-specified model raises it with probability at most ``level`` (the checks are
conservative: posterior-predictive p-values concentrate near 1/2, Meng 1994). The default
:data:`DEFAULT_LEVEL` was chosen on simulated gridworlds (docs: *Diagnostics*, the misfit
alarm).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.special
from numpyro import handlers

from bayesirl import _arviz
from bayesirl._typing import Array
from bayesirl._validate import check_scalar
from bayesirl.data.mdp import reward_from_weights
from bayesirl.likelihoods.registry import SOURCES, Evidence
from bayesirl.likelihoods.source import ModelContext

__all__ = [
    "CHECKS",
    "DEFAULT_LEVEL",
    "DEFAULT_NUM_DRAWS",
    "DEFAULT_NUM_REPLICATES",
    "MAX_REPLICATED_VALUES",
    "PARETO_K_MAX",
    "MIN_LOO_DRAWS",
    "PREDICTIVE_SET_MASS",
    "MISFIT_REMEDIES",
    "MisfitCheck",
    "MisfitReport",
    "Remedy",
    "predictive_log_probs",
    "categorical_checks",
    "combine_checks",
    "check_fit",
    "checkable_sources",
    "LABEL_SOURCES",
]

#: Family-wise level of the alarm (Bonferroni over every check of every source).
DEFAULT_LEVEL = 0.05
#: Posterior draws used (a random subsample when the fit has more): one MDP solve each.
DEFAULT_NUM_DRAWS = 200
#: Replicated data sets per draw for the Monte Carlo p-values.
DEFAULT_NUM_REPLICATES = 20
#: At most this many replicated observations (R × M × P) per source: fewer replicates per
#: draw for large data sets (memory ~ 50 bytes each).
MAX_REPLICATED_VALUES = 4_000_000
#: Pareto k̂ above which an observation's PSIS-LOO estimate is unreliable (Vehtari et al. 2024).
PARETO_K_MAX = 0.7
#: The ``loo`` check needs at least this many draws (PSIS fits a Pareto tail to the largest
#: importance ratios); a MAP fit (one draw) gets the other checks, as plug-in checks.
MIN_LOO_DRAWS = 20
#: Mass of the posterior predictive set of the ``predictive-set`` check.
PREDICTIVE_SET_MASS = 0.95
#: The checks, by kind of source: ``"policy"`` (actions in MDP states), ``"labels"``
#: (preference labels) and ``"choices"`` (the option chosen first in each choice set;
#: :mod:`bayesirl.analysis.choice_checks`).
CHECKS = {
    "policy": ("log-likelihood", "action-frequencies", "predictive-set", "loo"),
    "labels": ("log-likelihood", "agreement", "loo"),
    "choices": ("log-likelihood", "agreement", "loo"),
}
_TWO_SIDED = {"log-likelihood", "agreement", "loo"}


class MisfitCheck(NamedTuple):
    """One posterior-predictive check of one evidence source.

    Attributes:
        source: the evidence source's name in the registry.
        name: the check (:data:`CHECKS`).
        statistic: its observed value (nats for ``log-likelihood`` and ``loo`` — averaged over
            the draws for the former —, χ² for ``action-frequencies``, a share for
            ``predictive-set`` and ``agreement``).
        replicated: the mean of its replicated values.
        p_value: the tail probability of the observed value among the replicated ones
            (two-sided for ``log-likelihood``, ``agreement`` and ``loo``), in [0, 1].
        direction: ``"higher"`` or ``"lower"`` (the observed value against the replicated).
        misfit: True when ``p_value`` is below the alarm's per-check threshold.
        detail: one clause in words (what the departure means).
    """

    source: str
    name: str
    statistic: float
    replicated: float
    p_value: float
    direction: str
    misfit: bool
    detail: str


class MisfitReport(NamedTuple):
    """The misfit alarm of one fit (:func:`check_fit`).

    Attributes:
        alarm: True when any check fails its threshold.
        checks: every :class:`MisfitCheck`, in source order.
        level: family-wise level of the alarm.
        threshold: per-check threshold ``level / len(checks)`` (Bonferroni).
        num_draws: posterior draws used.
        pareto_k_bad: ``{source: observations with Pareto k̂ > PARETO_K_MAX}``.
        finding: what is wrong, one sentence without the remedies (None without alarm).
        message: the user-facing sentence: ``finding`` and what to try (None without alarm).
        remedies: what to try, for the user (empty without alarm).
    """

    alarm: bool
    checks: tuple
    level: float
    threshold: float
    num_draws: int
    pareto_k_bad: dict
    finding: str | None
    message: str | None
    remedies: tuple

    def as_dict(self) -> dict:
        """A JSON-ready dict (``summary.json``'s ``"misfit"``)."""
        return {"alarm": bool(self.alarm), "level": float(self.level),
                "threshold": float(self.threshold), "num_draws": int(self.num_draws),
                "finding": self.finding, "message": self.message,
                "remedies": list(self.remedies),
                "pareto_k_bad": {k: int(v) for k, v in self.pareto_k_bad.items()},
                "checks": [{**c._asdict(), "misfit": bool(c.misfit)} for c in self.checks]}


@dataclass(frozen=True)
class Remedy:
    """One thing to try when the alarm fires.

    Attributes:
        text: the words (command-line flags as users type them).
        directions: the departures it answers: ``"deterministic"`` (the evidence is more
            deterministic than β allows), ``"noisy"`` (noisier), ``"other"``.
        available: whether the library offers it now (e.g. a likelihood in the registry).
        unless_learned: not offered when the fit already learned β.
        unless: ``settings -> bool``, not offered when it holds for the fit's settings
            (``{"q": ..., "sources": (...)}``), e.g. what the fit already used.
        kinds: the kinds of source (:data:`CHECKS`) whose misfit it answers.
    """

    text: str
    directions: tuple
    available: Callable[[], bool] = lambda: True
    unless_learned: bool = False
    unless: Callable[[dict], bool] = lambda settings: False
    kinds: tuple = ("policy", "labels")


def _has_likelihood(name: str) -> Callable[[], bool]:
    return lambda: name in SOURCES


#: What the alarm's sentence suggests, in order (only rows whose ``available()`` holds).
MISFIT_REMEDIES = (
    Remedy("a learned β (--beta lognormal:0,1 with --prior l2-sphere)",
           ("deterministic", "noisy", "other"), unless_learned=True),
    Remedy("the noisy-rational likelihood (--likelihood noisy-boltzmann)", ("noisy", "other"),
           available=_has_likelihood("noisy-boltzmann"),
           unless=lambda settings: "noisy-boltzmann" in settings.get("sources", ())),
    Remedy("the hard-max demonstrator (--q hard) for an expert who always picks a best action",
           ("deterministic",), unless=lambda settings: settings.get("q") == "hard"),
    Remedy("per-person weights (--group-by FIELD), when the choices come from people who may "
           "differ", ("deterministic", "noisy", "other"), kinds=("choices",),
           unless=lambda settings: bool(settings.get("hierarchy"))),
    Remedy("a wider prior on the weights (--prior-scale)", ("deterministic",),
           kinds=("choices",)),
)

#: Words per kind of source: (model, evidence, agent).
_WORDS = {"policy": ("demonstrator model", "demonstrations", "the expert"),
          "labels": ("preference model", "preferences", "the labeller"),
          "choices": ("choice model", "choices", "the people choosing")}


#: Sources whose observations are categorical labels (besides the policy sources, whose
#: observations are actions); other sources (rankings, factors) are not checked yet.
LABEL_SOURCES = tuple(name for name, source in SOURCES.items()
                      if source.requires == "preferences" and source.observations is not None)


def _kind(source_name: str) -> str | None:
    if SOURCES[source_name].policy:
        return "policy"
    if SOURCES[source_name].requires == "choices":
        return "choices"
    return "labels" if source_name in LABEL_SOURCES else None


def checkable_sources(names) -> tuple[str, ...]:
    """The names among ``names`` (registered sources) that :func:`check_fit` checks: the
    policy sources (actions in MDP states) and :data:`LABEL_SOURCES` (choices among options
    are checked by :func:`bayesirl.analysis.choice_checks.check_choice_fit`)."""
    return tuple(n for n in names if SOURCES[n].observations is not None
                 and _kind(n) in ("policy", "labels"))


# ---------------------------------------------------------------------------------------------
# The table log p(y_i = k | θ_m)
# ---------------------------------------------------------------------------------------------


def _table_model(weights, betas, mdp, evidence, options):
    """``{site: (P, K)}`` log-probabilities of every category of each observation, for ONE
    draw (the sources' own likelihoods, traced)."""
    reward = None if mdp is None else reward_from_weights(mdp, weights)
    context = ModelContext(weights, mdp, reward)

    def model():
        for name in evidence:
            SOURCES[name].observe(context, evidence[name], betas[name], options)

    trace = handlers.trace(handlers.seed(model, 0)).get_trace()
    out = {}
    for name in evidence:
        fn = trace[SOURCES[name].site]["fn"]
        support = fn.enumerate_support(expand=True)  # (K, P): category k everywhere
        out[name] = jnp.moveaxis(jax.vmap(fn.log_prob)(support), 0, -1)
    return out


def _freeze(value):
    """A hashable form of a model option (dicts as sorted item tuples)."""
    if isinstance(value, dict):
        return ("__dict__",) + tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _thaw(value):
    if isinstance(value, tuple) and value[:1] == ("__dict__",):
        return {k: _thaw(v) for k, v in value[1:]}
    return value


@partial(jax.jit, static_argnames=("options",))
def _table_program(weights, betas, mdp, evidence, *, options):
    kwargs = {k: _thaw(v) for k, v in options}
    return jax.vmap(lambda w, b: _table_model(w, b, mdp, evidence, kwargs))(weights, betas)


def predictive_log_probs(weights: Array, betas: dict, mdp, evidence: Evidence,
                         **options) -> dict:
    """``log p(y_i = k | θ_m)`` for every draw, observation and category, per source.

    One likelihood evaluation (one MDP solve for the sources that need it) per draw, vmapped
    and compiled once per (shapes, options).

    Args:
        weights: (M, F) reward-weight draws.
        betas: ``{source: β}``, a number or an (M,) array of draws per source (missing: 1).
        mdp: the MDP of the fit (None without one).
        evidence: the evidence of the fit; only its sources with observations are used.
        **options: the model options of the fit (``q``, ``maxent_horizon``, ``margin``,
            ``solver_kwargs``; see :func:`~bayesirl.models.reward_model`).

    Returns:
        ``{source: (M, P, K) log-probabilities}`` (K: the categories of its observations —
        A actions, or 3 preference labels); each (m, i) row sums to 1 after ``exp``.

    Raises:
        ValueError: ``weights`` not (M, F), or an unknown option.
    """
    from bayesirl.models import check_options

    weights = jnp.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"weights: expected shape (M, F), got {weights.shape}")
    observed = Evidence({n: d for n, d in evidence.items() if SOURCES[n].observations is not None})
    options = check_options(observed, options)
    M = weights.shape[0]
    beta_draws = {n: jnp.broadcast_to(jnp.asarray(betas.get(n, 1.0), weights.dtype), (M,))
                  for n in observed}
    frozen = tuple(sorted((k, _freeze(v)) for k, v in options.items()))
    try:
        hash(frozen)
    except TypeError as err:
        raise TypeError(f"options: every model option must be hashable or a dict of hashable "
                        f"values ({err})") from None
    return _table_program(weights, beta_draws, mdp, observed, options=frozen)


# ---------------------------------------------------------------------------------------------
# The checks, from the table
# ---------------------------------------------------------------------------------------------


def _tail(replicated: np.ndarray, observed: np.ndarray, two_sided: bool) -> tuple[float, str]:
    """Monte Carlo p-value of ``observed`` (broadcast against ``replicated``) and the side it
    lies on: ``(1 + #{T_rep >= T}) / (1 + n)`` (Davison & Hinkley 1997, eq. 4.11), never 0;
    ties count against the alarm."""
    replicated = np.asarray(replicated)
    n = replicated.size
    upper = (1.0 + np.sum(replicated >= observed)) / (1.0 + n)
    lower = (1.0 + np.sum(replicated <= observed)) / (1.0 + n)
    direction = "higher" if upper <= lower else "lower"
    if two_sided:
        return float(min(1.0, 2.0 * min(upper, lower))), direction
    return float(upper), "higher"


def _sample(rng: np.random.Generator, probs: np.ndarray, shape: tuple) -> np.ndarray:
    """Categorical draws: ``shape + probs.shape[:-1]`` indices from (…, K) ``probs``."""
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(shape + probs.shape[:-1])[..., None]
    return np.minimum(np.sum(u * cdf[..., -1:] > cdf, axis=-1), probs.shape[-1] - 1)


def _take(table: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``table[..., i, y[..., i]]`` for (…, P, K) ``table`` and (…, P) ``y``."""
    return np.take_along_axis(table, y[..., None], axis=-1)[..., 0]


def _chi2(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Pearson's Σ (O − E)² / E over the last two axes (cells with E = 0 left out)."""
    safe = np.where(expected > 0, expected, 1.0)
    return np.sum(np.where(expected > 0, (counts - expected) ** 2 / safe, 0.0), axis=(-2, -1))


def _loo_probs(log_probs: np.ndarray, observed: np.ndarray, reff: float):
    """(P, K) PSIS-LOO predictive probabilities of every category and (P,) Pareto k̂."""
    ll = _take(log_probs, np.broadcast_to(observed, log_probs.shape[:-1]))  # (M, P)
    log_w, k = _arviz.psislw(-ll.T, reff=reff)  # (P, M) normalised
    log_p = scipy.special.logsumexp(log_w[:, :, None] + np.moveaxis(log_probs, 0, 1), axis=1)
    return np.exp(np.asarray(log_p, float)), k


def categorical_checks(log_probs, observed, *, kind: str = "policy", groups=None,
                       num_replicates: int = DEFAULT_NUM_REPLICATES, seed: int = 0,
                       reff: float = 1.0, source: str = "") -> tuple[tuple, int]:
    """The posterior-predictive checks of one source from its table.

    Replicated data: ``num_replicates`` data sets per draw, ``y_rep ~ p(· | θ_m)``; the
    ``loo`` check (only with M >= :data:`MIN_LOO_DRAWS`) replicates ``M × num_replicates``
    data sets from the LOO predictives.

    Args:
        log_probs: (M, P, K) ``log p(y_i = k | θ_m)`` (:func:`predictive_log_probs`).
        observed: (P,) observed categories in [0, K).
        kind: ``"policy"`` or ``"labels"`` (which checks: :data:`CHECKS`).
        groups: (P,) cell of each observation for ``action-frequencies`` (the state); needed
            for ``kind="policy"``.
        num_replicates: R >= 1 replicated data sets per draw (fewer when R × M × P would
            exceed :data:`MAX_REPLICATED_VALUES`).
        seed: NumPy seed of the replicated data.
        reff: relative efficiency ESS / M of the draws (PSIS).
        source: the source's name, for the results.

    Returns:
        ``(checks, pareto_k_bad)``: a tuple of :class:`MisfitCheck` (``misfit`` False: set by
        :func:`combine_checks`) and the number of observations with Pareto k̂ >
        :data:`PARETO_K_MAX`.

    Raises:
        ValueError: shapes that do not match, observations out of range, an unknown ``kind``,
            missing ``groups``, ``num_replicates`` < 1.
    """
    if kind not in CHECKS:
        raise ValueError(f"kind: expected one of {list(CHECKS)}, got {kind!r}")
    table = np.asarray(log_probs, dtype=float)
    if table.ndim != 3 or table.shape[0] < 1 or table.shape[1] < 1:
        raise ValueError(f"log_probs: expected shape (M, P, K), got {table.shape}")
    M, P, K = table.shape
    y = np.asarray(observed)
    if y.shape != (P,) or not np.issubdtype(y.dtype, np.integer) or (
            P and (y.min() < 0 or y.max() >= K)):
        raise ValueError(f"observed: expected ({P},) integers in [0, {K}), got shape {y.shape}, "
                         f"dtype {y.dtype}")
    R = check_scalar(num_replicates, "num_replicates", low=1, integer=True)
    if kind == "policy":
        if groups is None:
            raise ValueError("groups: expected the (P,) state of each observation, got None")
        g = np.asarray(groups)
        if g.shape != (P,) or not np.issubdtype(g.dtype, np.integer) or g.min() < 0:
            raise ValueError(f"groups: expected ({P},) non-negative integers, got shape "
                             f"{g.shape}, dtype {g.dtype}")
    R = max(1, min(R, MAX_REPLICATED_VALUES // (M * max(P, 1))))
    rng = np.random.default_rng(seed)
    probs = np.exp(table)
    y_rep = _sample(rng, probs, (R,))  # (R, M, P)
    ll_obs = _take(table, np.broadcast_to(y, (M, P))).sum(-1)  # (M,)
    ll_rep = _take(np.broadcast_to(table, (R, M, P, K)), y_rep).sum(-1)  # (R, M)
    results = {}
    results["log-likelihood"] = (float(ll_obs.mean()), float(ll_rep.mean()),
                                 *_tail(ll_rep, ll_obs, True))
    mean_probs = probs.mean(0)  # (P, K)
    if kind == "policy":
        cells, cell = np.unique(g, return_inverse=True)
        G = len(cells)
        one_hot = scipy.sparse.csr_matrix((np.ones(P), (cell, np.arange(P))), shape=(G, P))
        expected = (one_hot @ np.moveaxis(probs, 1, 0).reshape(P, M * K)).reshape(G, M, K)
        expected = np.moveaxis(expected, 1, 0)  # (M, G, K)
        counts_obs = np.bincount(cell * K + y, minlength=G * K).reshape(G, K)
        flat = (np.arange(R * M).reshape(R, M, 1) * G + cell) * K + y_rep
        counts_rep = np.bincount(flat.ravel(), minlength=R * M * G * K).reshape(R, M, G, K)
        chi_obs, chi_rep = _chi2(counts_obs, expected), _chi2(counts_rep, expected)
        results["action-frequencies"] = (float(chi_obs.mean()), float(chi_rep.mean()),
                                         *_tail(chi_rep, chi_obs, False))
        order = np.argsort(-mean_probs, axis=-1)
        sorted_mass = np.take_along_axis(mean_probs, order, -1)
        before = np.cumsum(sorted_mass, -1) - sorted_mass
        in_set = np.zeros_like(mean_probs, dtype=bool)
        np.put_along_axis(in_set, order, before < PREDICTIVE_SET_MASS, -1)
        out_obs = float(np.mean(~in_set[np.arange(P), y]))
        out_rep = np.mean(~_take(np.broadcast_to(in_set, (R, M, P, K)), y_rep), -1)
        results["predictive-set"] = (out_obs, float(out_rep.mean()),
                                     *_tail(out_rep, out_obs, False))
    else:
        mode = np.argmax(mean_probs, -1)
        agree_obs = float(np.mean(y == mode))
        agree_rep = np.mean(y_rep == mode, -1)
        results["agreement"] = (agree_obs, float(agree_rep.mean()),
                                *_tail(agree_rep, agree_obs, True))
    bad = 0
    if M >= MIN_LOO_DRAWS:
        loo_p, k_hat = _loo_probs(table, y, reff)
        log_loo = np.log(np.maximum(loo_p, np.finfo(float).tiny))
        elpd_obs = float(log_loo[np.arange(P), y].sum())
        y_loo = _sample(rng, loo_p / loo_p.sum(-1, keepdims=True), (M * R,))
        elpd_rep = _take(np.broadcast_to(log_loo, (M * R, P, K)), y_loo).sum(-1)
        results["loo"] = (elpd_obs, float(elpd_rep.mean()), *_tail(elpd_rep, elpd_obs, True))
        bad = int(np.sum(k_hat > PARETO_K_MAX))
    checks = tuple(MisfitCheck(source, name, stat, rep, p, side, False,
                               _detail(kind, name, side, stat, rep))
                   for name, (stat, rep, p, side) in results.items() if name in CHECKS[kind])
    return checks, bad


def _detail(kind: str, name: str, direction: str, statistic: float, replicated: float) -> str:
    agent = _WORDS[kind][2]
    if name in ("log-likelihood", "loo"):
        held = "held-out " if name == "loo" else ""
        if direction == "higher":
            return (f"{agent} is more deterministic than the model's β allows (its {held}"
                    "log-likelihood is higher than replicated)")
        return (f"{agent} is noisier than the model's β allows (its {held}log-likelihood is "
                "lower than replicated)")
    if name == "action-frequencies":
        return "the action frequencies per state differ from the model's predictions"
    if name == "predictive-set":
        return (f"{statistic:.0%} of the demonstrated actions fall outside the posterior "
                f"predictive's {PREDICTIVE_SET_MASS:.0%} set (replicated: {replicated:.0%})")
    more = "more" if direction == "higher" else "less"
    return (f"{agent} agrees with the most probable answer {more} often than the model's β "
            f"allows ({statistic:.0%} vs {replicated:.0%} replicated)")


def _departure(check: MisfitCheck) -> str:
    if check.name in ("log-likelihood", "loo", "agreement"):
        return "deterministic" if check.direction == "higher" else "noisy"
    return "noisy" if check.name == "predictive-set" else "other"


def combine_checks(checks, *, level: float = DEFAULT_LEVEL, learned_beta: bool = False,
                   pareto_k_bad: dict | None = None, num_draws: int = 0,
                   settings: dict | None = None) -> MisfitReport:
    """The alarm over ``checks``: Bonferroni at family-wise ``level``, the sentence and what to
    try (:data:`MISFIT_REMEDIES`).

    Args:
        checks: :class:`MisfitCheck` of every source (their ``misfit`` is recomputed).
        level: family-wise level in (0, 1).
        learned_beta: the fit learned β (a learned β is then not suggested).
        pareto_k_bad: ``{source: count}`` of observations with Pareto k̂ > 0.7.
        num_draws: posterior draws used, for the record.
        settings: the fit's ``{"q": ..., "sources": (...)}`` (what it already used is not
            suggested).

    Returns:
        :class:`MisfitReport`.

    Raises:
        ValueError: ``level`` outside (0, 1).
    """
    level = check_scalar(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    checks = tuple(checks)
    threshold = level / max(len(checks), 1)
    checks = tuple(c._replace(misfit=bool(c.p_value < threshold)) for c in checks)
    failed = [c for c in checks if c.misfit]
    finding, message, remedies = None, None, ()
    if failed:
        # the sentence names a check that says which way the evidence departs, when one failed
        directional = [c for c in failed if c.name in _TWO_SIDED]
        worst = min(directional or failed, key=lambda c: c.p_value)
        model, evidence, _ = _WORDS[_kind(worst.source)]
        departures = {_departure(c) for c in failed}
        kinds = {_kind(c.source) for c in failed}
        remedies = tuple(r.text for r in MISFIT_REMEDIES
                         if departures & set(r.directions) and kinds & set(r.kinds)
                         and r.available()
                         and not (r.unless_learned and learned_beta)
                         and not r.unless(dict(settings or {})))
        finding = (f"the {model} does not fit the {evidence} (p = {worst.p_value:.2g}: "
                   f"{worst.detail}): bounds and intervals may not hold")
        message = finding + ("; try " + ", or ".join(remedies) if remedies else "")
    return MisfitReport(bool(failed), checks, level, threshold, int(num_draws),
                        dict(pareto_k_bad or {}), finding, message, remedies)


# ---------------------------------------------------------------------------------------------
# After a fit
# ---------------------------------------------------------------------------------------------


def _draws(idata, num_draws: int, seed: int):
    post = idata.posterior
    w = np.asarray(post["reward_weights"].values)
    C, D = w.shape[:2]
    flat = w.reshape(C * D, -1)
    idx = np.arange(C * D)
    if C * D > num_draws:
        idx = np.sort(np.random.default_rng(seed).choice(C * D, num_draws, replace=False))
    return post, idx, flat[idx]


def _groups(source, data) -> np.ndarray:
    """(P,) state of each observation of a policy source (its first constant)."""
    constants = source.constants(data)
    return np.asarray(next(iter(constants.values())), dtype=np.int64)


def check_fit(idata, mdp=None, evidence: Evidence | None = None, *, demos=None,
              preferences=None, betas: dict | None = None, q: str | None = None,
              maxent_horizon: int | None = None, margin: float | None = None,
              solver_kwargs: dict | None = None, num_draws: int = DEFAULT_NUM_DRAWS,
              num_replicates: int = DEFAULT_NUM_REPLICATES, level: float = DEFAULT_LEVEL,
              seed: int = 0) -> MisfitReport:
    """The misfit alarm of a fit: posterior-predictive checks of each evidence source.

    Usable after :func:`~bayesirl.inference.fit.fit_evidence` or
    :func:`~bayesirl.inference.fit.fit_reward` with the same data and model settings::

        idata = birl.fit_evidence(mdp, demos=demos)
        report = birl.analysis.check_fit(idata, mdp, demos=demos)
        if report.alarm:
            print(report.message)

    Args:
        idata: the fit (``posterior.reward_weights`` (C, D, F); learned β's as posterior
            variables; ``posterior.attrs["sources"]`` and ``["q"]`` as the fits store them).
        mdp: the MDP of the fit (None without one).
        evidence: the evidence of the fit; or give ``demos`` / ``preferences`` as to
            ``fit_evidence`` and it is built for the sources in ``posterior.attrs``.
        demos, preferences: as for :func:`~bayesirl.inference.fit.fit_evidence`.
        betas: the fixed β's of the fit (``{source: number}``; missing: 1); learned β's are
            read from the posterior.
        q, maxent_horizon, margin, solver_kwargs: the model options of the fit (``q``:
            default the fit's ``posterior.attrs["q"]``; ``margin``: default as for the fit).
        num_draws: M >= 1, posterior draws used (a seeded subsample; one solve each).
        num_replicates: R >= 1, replicated data sets per draw.
        level: family-wise level of the alarm in (0, 1).
        seed: seed of the subsample and of the replicated data.

    Returns:
        :class:`MisfitReport` (its ``as_dict()`` is what ``summary.json`` holds under
        ``"misfit"``).

    Raises:
        ValueError: no posterior weights in ``idata``, neither ``evidence`` nor the data to
            build it, a source without observations only, bad counts or level.
        TypeError: ``evidence`` not an Evidence.
    """
    from bayesirl.models import beta_site, build_evidence
    from bayesirl.likelihoods.bradley_terry import default_margin
    from bayesirl.likelihoods.source import EvidenceInputs

    if not hasattr(idata, "posterior") or "reward_weights" not in idata.posterior:
        raise ValueError("idata: expected an InferenceData whose posterior holds "
                         "'reward_weights' (chain, draw, feature)")
    M = check_scalar(num_draws, "num_draws", low=1, integer=True)
    check_scalar(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    attrs = idata.posterior.attrs
    if margin is None:
        margin = default_margin(preferences[1]) if preferences is not None else 0.0
    if evidence is None:
        if demos is None and preferences is None:
            raise ValueError("evidence: expected an Evidence, or demos= / preferences= to build "
                             "it from, got none")
        names = tuple(attrs.get("sources", ()))
        if not names:
            names = (("boltzmann",) if demos is not None else ()) + (
                LABEL_SOURCES[:1] if preferences is not None else ())
        trajs, prefs = preferences if preferences is not None else (None, None)
        inputs = EvidenceInputs(mdp=mdp, demonstrations=demos, preference_trajectories=trajs,
                                preferences=prefs)
        evidence = build_evidence(names, inputs, maxent_horizon=maxent_horizon, margin=margin)
    if not isinstance(evidence, Evidence):
        raise TypeError(f"evidence: expected an Evidence, got {type(evidence).__name__}")
    observed = list(checkable_sources(evidence))
    if not observed:
        raise ValueError(f"evidence: no source whose observations can be checked (sources: "
                         f"{list(evidence)}; checked: the demonstrations and "
                         f"{', '.join(LABEL_SOURCES)})")
    post, idx, weights = _draws(idata, M, seed)
    sources = evidence.sources()
    draws_betas, learned = {}, False
    for name in observed:
        site = beta_site(name, sources)
        if site in post:
            draws_betas[name] = np.asarray(post[site].values).reshape(-1)[idx]
            learned = True
        else:
            draws_betas[name] = float((betas or {}).get(name, 1.0))
    options = dict(q=q or str(attrs.get("q", "soft")), maxent_horizon=maxent_horizon,
                   margin=float(margin), solver_kwargs=solver_kwargs)
    dtype = jnp.asarray(mdp.features).dtype if mdp is not None else None
    tables = predictive_log_probs(jnp.asarray(weights, dtype), draws_betas, mdp,
                                  Evidence({n: evidence[n] for n in observed}), **options)
    checks, bad = [], {}
    for j, name in enumerate(observed):
        source, data = SOURCES[name], evidence[name]
        kind = _kind(name)
        found, bad[name] = categorical_checks(
            tables[name], np.asarray(source.observations(data)).astype(np.int64), kind=kind,
            groups=_groups(source, data) if kind == "policy" else None,
            num_replicates=num_replicates, seed=seed + 1 + j, source=name)
        checks.extend(found)
    return combine_checks(checks, level=level, learned_beta=learned, pareto_k_bad=bad,
                          num_draws=len(idx), settings={"q": options["q"], "sources": sources})
