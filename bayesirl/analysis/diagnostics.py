"""MCMC diagnostics with named thresholds, and a warning when the posterior should not be trusted.

Thresholds follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat": R-hat below 1.01, bulk and tail ESS of at least
100 per chain; Betancourt (2017) for divergences (any divergence biases NUTS); acceptance-rate
ranges around each sampler's target (NUTS 0.8; random-walk MH 0.234, Roberts, Gelman & Gilks
1997). A MAP fit is a single point, not a posterior sample: intervals and bounds from it are
meaningless, which is reported as a problem too.

The R-hat check looks at the largest R-hat of P parameters at once, so its threshold accounts
for the number of parameters (:func:`rhat_threshold`): the 0.99 quantile of the largest of P
R-hats of perfectly mixed chains, never below 1.01. Every sampled site is checked (the reward
weights, every β, any other model site), and the problem names the worst one.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import NamedTuple

import numpy as np

from bayesirl import _arviz
from bayesirl._validate import check_inference_data, check_scalar

__all__ = [
    "RHAT_MAX",
    "RHAT_FAMILY_ALPHA",
    "ESS_PER_CHAIN_MIN",
    "DERIVED_VARIABLES",
    "MAX_DIVERGENCES",
    "NUTS_ACCEPT_MIN",
    "MH_ACCEPT_RANGE",
    "DiagnosticsWarning",
    "PosteriorWarning",
    "REMEDIES",
    "diagnostics_warning",
    "remedy",
    "Diagnostics",
    "checked_variables",
    "rhat_threshold",
    "simulated_max_rhat",
    "diagnose",
    "summary",
    "warn_if_untrustworthy",
]

#: Largest acceptable rank-normalised split R-hat of one parameter (Vehtari et al. 2021); the
#: floor of the threshold for P parameters (:func:`rhat_threshold`).
RHAT_MAX = 1.01
#: Probability that perfectly mixed chains fail the R-hat check of all P parameters together
#: (the family-wise false-alarm rate of :func:`rhat_threshold`).
RHAT_FAMILY_ALPHA = 0.01
#: Smallest acceptable bulk and tail ESS per chain (Vehtari et al. 2021: 400 for 4 chains).
ESS_PER_CHAIN_MIN = 100
#: Largest acceptable number of NUTS divergences after warm-up (Betancourt 2017).
MAX_DIVERGENCES = 0
#: Smallest acceptable mean NUTS acceptance probability (target 0.8; lower means a step size
#: too large for the geometry).
NUTS_ACCEPT_MIN = 0.6
#: Acceptable mean acceptance range of random-walk MH (target ~0.234; outside: stuck chains or
#: steps too small to move).
MH_ACCEPT_RANGE = (0.1, 0.9)
#: Per-draw quantities that bayesirl attaches to a posterior after sampling (functions of the
#: reward weights, or of the fit, e.g. importance-sampling ESS): not checked for mixing by
#: default. A posterior can name more in ``posterior.attrs["derived_variables"]``.
DERIVED_VARIABLES = ("importance_ess", "state_reward", "optimal_value", "optimal_action_prob",
                     "optimal_return", "evd", "nevd", "percent_improvement")


class DiagnosticsWarning(UserWarning):
    """The posterior draws fail a diagnostic: intervals and bounds may be wrong."""


#: The former name of :class:`DiagnosticsWarning`.
PosteriorWarning = DiagnosticsWarning

#: What to try for each kind of failed check (by the problem sentence's first words); the
#: Python keyword and the command-line flag are both named.
REMEDIES = {
    "R-hat": "run longer (num_warmup / --num-warmup, num_samples / --num-samples); for very "
             "sharp likelihoods use method='mh' (--sampler mh)",
    "bulk": "draw more samples (num_samples / --num-samples; for mh also thinning / "
            "--thinning)",
    "tail": "draw more samples (num_samples / --num-samples)",
    "divergent": "use soft Q (q='soft' / --q soft), a smaller β, or method='mh' (--sampler mh)",
    "mean": "a longer warm-up (num_warmup / --num-warmup)",
    "one": "run at least 2 chains (num_chains=4 / --num-chains 4)",
    "a single": "use method='nuts' or 'mh' (--sampler nuts or mh) for intervals and bounds",
}


def remedy(problem: str) -> str:
    """What to try for one problem sentence of :class:`Diagnostics` (:data:`REMEDIES`)."""
    for start, text in REMEDIES.items():
        if problem.startswith(start):
            return text
    return "see 'bayesirl report' for the details"


def diagnostics_warning(diagnostics: "Diagnostics") -> str:
    """The text of the warning after a fit whose diagnostics fail: every problem with what to
    try (the same text the command line prints)."""
    lines = ["the posterior should not be trusted:"]
    for p in diagnostics.problems:
        lines.append(f"  - {p}\n    try: {remedy(p)}")
    return "\n".join(lines)


class Diagnostics(NamedTuple):
    """Diagnostics of posterior draws and the verdict.

    Attributes:
        method: sampler recorded in ``posterior.attrs["method"]`` (``"nuts"``, ``"mh"``,
            ``"map"``) or None.
        num_chains, num_draws: C and D.
        max_r_hat: largest R-hat over the checked variables (None with one chain).
        min_ess_bulk, min_ess_tail: smallest bulk / tail ESS.
        divergences: number of divergent transitions (None when not recorded).
        mean_accept_prob: mean acceptance probability (None when not recorded).
        thresholds: the thresholds applied, by name: ``r_hat_max`` (the effective R-hat
            threshold for P parameters, :func:`rhat_threshold`), ``r_hat_floor``
            (:data:`RHAT_MAX`), ``r_hat_family_alpha`` (:data:`RHAT_FAMILY_ALPHA`),
            ``ess_bulk_min``, ``ess_tail_min``, ``max_divergences`` and the acceptance range.
        problems: one sentence per failed check.
        num_parameters: P, the number of scalar parameters whose R-hat was checked (0 for a
            MAP fit or one chain).
        max_r_hat_at, min_ess_bulk_at, min_ess_tail_at: where the worst value is, as the
            ArviZ summary labels it (``"beta_boltzmann"``, ``"reward_weights[s12]"``).
        variables: the posterior variables checked (see :func:`checked_variables`).
    """

    method: str | None
    num_chains: int
    num_draws: int
    max_r_hat: float | None
    min_ess_bulk: float | None
    min_ess_tail: float | None
    divergences: int | None
    mean_accept_prob: float | None
    thresholds: dict
    problems: tuple
    num_parameters: int = 0
    max_r_hat_at: str | None = None
    min_ess_bulk_at: str | None = None
    min_ess_tail_at: str | None = None
    variables: tuple = ()

    @property
    def trustworthy(self) -> bool:
        """True when no check failed."""
        return not self.problems

    def as_dict(self) -> dict:
        """JSON-friendly dictionary (NaN → None, tuples → lists)."""
        out = self._asdict()
        out["problems"] = list(self.problems)
        out["variables"] = list(self.variables)
        out["trustworthy"] = self.trustworthy
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}


def _finite_or_none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def rhat_threshold(num_parameters: int, num_chains: int, num_draws: int, *,
                   family_alpha: float = RHAT_FAMILY_ALPHA, floor: float = RHAT_MAX) -> float:
    """The R-hat threshold for P parameters checked together: the ``1 − family_alpha``
    quantile of the largest of P rank-normalised split R-hats of perfectly mixed chains,
    never below ``floor``.

    With independent draws (perfect mixing) one parameter's split chains are m = 2C groups of
    n = ⌊N/2⌋ rank-normalised, hence (nearly) standard-normal values, so ``F = B/W`` follows
    Fisher's F(m − 1, m(n − 1)) distribution (one-way analysis of variance) and
    ``R̂ = sqrt((n − 1 + F)/n)``. ArviZ's R-hat is the larger of that statistic for the draws
    and for their folded values; the two are uncorrelated (folding is even, the normal scores
    symmetric) and, like distinct parameters, asymptotically independent. The largest of the
    2P statistics stays below ``r`` with probability ``G(r)^(2P)``, so the quantile is::

        f = F⁻¹_{m−1, m(n−1)}((1 − α)^(1/(2P))),   threshold = max(floor, sqrt((n − 1 + f)/n))

    This closed form costs one F quantile for any P; a simulation would need about 10^6
    R-hats to resolve the single-parameter tail (about 1e-4 for P = 64). The test suite checks
    it against :func:`simulated_max_rhat`. Correlated parameters make the largest R-hat
    smaller than for independent ones, so the check then raises even fewer false alarms.
    Autocorrelated draws make R-hat vary as if each chain had as many draws as its effective
    sample size: pass that number as ``num_draws`` to calibrate for it.

    Args:
        num_parameters: P >= 1, the number of scalar parameters checked.
        num_chains: C >= 2.
        num_draws: N >= 4 draws per chain.
        family_alpha: probability in (0, 1) that perfectly mixed chains exceed the threshold
            (default :data:`RHAT_FAMILY_ALPHA`).
        floor: the smallest threshold returned (default :data:`RHAT_MAX`, Vehtari et al.
            2021's 1.01).

    Returns:
        The threshold (a float >= ``floor``), cached per arguments.

    Raises:
        TypeError: a count is not an integer, or a number is not a number.
        ValueError: P < 1, C < 2, N < 4, ``family_alpha`` outside (0, 1) or ``floor`` < 1.

    Source: Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021) (split,
    rank-normalised and folded R-hat, the 1.01 threshold); the Šidák quantile of the maximum
    of independent statistics.
    """
    P = check_scalar(num_parameters, "num_parameters", low=1, integer=True)
    C = check_scalar(num_chains, "num_chains", low=2, integer=True)
    N = check_scalar(num_draws, "num_draws", low=4, integer=True)
    alpha = check_scalar(family_alpha, "family_alpha", low=0, high=1, low_open=True,
                         high_open=True)
    floor = check_scalar(floor, "floor", low=1)
    return _rhat_threshold(P, C, N, alpha, floor)


@functools.lru_cache(maxsize=1024)
def _rhat_threshold(P: int, C: int, N: int, alpha: float, floor: float) -> float:
    from scipy import stats

    m, n = 2 * C, N // 2
    # the upper-tail probability of one statistic, computed without rounding 1 − tiny to 1
    tail = -math.expm1(math.log1p(-alpha) / (2 * P))
    f = float(stats.f.isf(tail, m - 1, m * (n - 1)))
    return max(floor, math.sqrt((n - 1 + f) / n))


def simulated_max_rhat(num_parameters: int, num_chains: int, num_draws: int,
                       num_replications: int = 200, seed: int = 0) -> np.ndarray:
    """The largest R-hat of P parameters of perfectly mixed chains, simulated.

    Each replication draws (P, C, N) independent standard-normal values and takes the largest
    of ArviZ's rank-normalised split R-hats of the P parameters
    (:func:`bayesirl._arviz.rank_normalized_rhat`). The share of replications above a
    threshold is the false-alarm rate of an R-hat check at that threshold.

    Args:
        num_parameters: P >= 1.
        num_chains: C >= 2.
        num_draws: N >= 4 draws per chain.
        num_replications: R >= 1 simulated runs.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        (R,) float64 array: the largest R-hat of each simulated run.

    Raises:
        TypeError: an argument is not an integer.
        ValueError: P < 1, C < 2, N < 4 or R < 1.
    """
    P = check_scalar(num_parameters, "num_parameters", low=1, integer=True)
    C = check_scalar(num_chains, "num_chains", low=2, integer=True)
    N = check_scalar(num_draws, "num_draws", low=4, integer=True)
    R = check_scalar(num_replications, "num_replications", low=1, integer=True)
    rng = np.random.default_rng(check_scalar(seed, "seed", low=0, integer=True))
    batch = max(1, 2_000_000 // (P * C * N))  # replications per array of ~16 MB
    out = []
    for start in range(0, R, batch):
        draws = rng.standard_normal((min(batch, R - start), P, C, N))
        out.append(_arviz.rank_normalized_rhat(draws).max(axis=-1))
    return np.concatenate(out)


def checked_variables(idata) -> list[str]:
    """The posterior variables whose mixing :func:`diagnose` checks by default: every variable
    with ``chain`` and ``draw`` dimensions (the reward weights, every β such as ``beta`` or
    ``beta_boltzmann``, any other model site) except the per-draw quantities computed after
    sampling (:data:`DERIVED_VARIABLES` and the names in
    ``posterior.attrs["derived_variables"]``).

    Args:
        idata: InferenceData with a posterior group.

    Returns:
        The variable names, in the posterior's order.

    Raises:
        TypeError: ``idata`` is not an InferenceData.
        ValueError: it has no posterior group.
    """
    check_inference_data(idata)
    post = idata.posterior
    derived = set(DERIVED_VARIABLES) | set(np.atleast_1d(post.attrs.get("derived_variables",
                                                                         ())).tolist())
    return [name for name, var in post.data_vars.items()
            if var.dims[:2] == ("chain", "draw") and name not in derived]


def summary(idata, var_names=None, hdi_prob: float = 0.94):
    """ArviZ summary table: mean, sd, HDI, MCSE, bulk/tail ESS and R-hat of each variable.

    Args:
        idata: ``InferenceData`` with a posterior group (C chains, M draws each).
        var_names: variables to summarise (default all).
        hdi_prob: probability mass of the highest-density interval.

    Returns:
        A pandas DataFrame, one row per scalar of each variable (e.g. F rows for
        ``reward_weights``). Source: ``arviz.summary`` (Vehtari et al. 2021 for R-hat/ESS).

    Raises:
        TypeError: ``idata`` is not an InferenceData.
        ValueError: it has no posterior group.
    """
    check_inference_data(idata)
    return _arviz.summary(idata, var_names=var_names, hdi_prob=hdi_prob)


def _check_mixing(idata, var_names, num_chains: int, num_draws: int, ess_min: float,
                  thresholds: dict, problems: list) -> dict:
    """R-hat and bulk/tail ESS of ``var_names``; sets ``thresholds["r_hat_max"]`` to the
    threshold for their number of parameters and appends failed checks to ``problems``.

    Returns the :class:`Diagnostics` fields it measured (each None when not finite).
    """
    out = dict(max_r_hat=None, min_ess_bulk=None, min_ess_tail=None, num_parameters=0,
               max_r_hat_at=None, min_ess_bulk_at=None, min_ess_tail_at=None)
    if not var_names:
        return out
    table = _arviz.summary(idata, var_names=var_names)
    labels = [str(label) for label in table.index]
    rhat, bulk, tail = (np.asarray(table[c], float) for c in ("r_hat", "ess_bulk", "ess_tail"))
    if num_chains < 2:
        problems.append("one chain: R-hat cannot detect chains that disagree; run >= 2")
    elif np.isfinite(rhat).any():
        P = int(np.isfinite(rhat).sum())
        limit = rhat_threshold(P, num_chains, num_draws)
        thresholds["r_hat_max"] = limit
        worst = int(np.nanargmax(rhat))
        out.update(max_r_hat=float(rhat[worst]), max_r_hat_at=labels[worst], num_parameters=P)
        if rhat[worst] > limit:
            problems.append(f"R-hat {rhat[worst]:.4f} ({labels[worst]}) > {limit:.4g}, the "
                            f"threshold for {P} parameters: the chains disagree (not "
                            "converged); run longer or reparametrise")
    if np.isfinite(bulk).any():
        worst = int(np.nanargmin(bulk))
        out.update(min_ess_bulk=float(bulk[worst]), min_ess_bulk_at=labels[worst])
        if bulk[worst] < ess_min:
            problems.append(f"bulk ESS {bulk[worst]:.0f} ({labels[worst]}) < {ess_min} "
                            f"({ESS_PER_CHAIN_MIN} per chain): means and intervals are noisy; "
                            "draw more samples")
    if np.isfinite(tail).any():
        worst = int(np.nanargmin(tail))
        out.update(min_ess_tail=float(tail[worst]), min_ess_tail_at=labels[worst])
        if tail[worst] < ess_min:
            problems.append(f"tail ESS {tail[worst]:.0f} ({labels[worst]}) < {ess_min}: "
                            "interval ends and quantile bounds are noisy; draw more samples")
    return out


def _check_sampler_stats(idata, method, thresholds: dict, problems: list):
    """Divergences and the mean acceptance probability against the sampler's range; appends
    failed checks to ``problems`` and the thresholds used to ``thresholds``.

    Returns ``(divergences, mean_accept_prob)``, each None when not recorded.
    """
    stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    divergences = accept = None
    if stats is not None and "diverging" in stats and method != "mh":
        divergences = int(np.asarray(stats["diverging"].values).sum())
        if divergences > MAX_DIVERGENCES:
            problems.append(f"{divergences} divergent transitions: NUTS could not follow the "
                            "posterior's geometry (e.g. hard-max Q); prefer soft Q or MH")
    for key in ("acceptance_rate", "accept_prob"):
        if stats is not None and key in stats:
            accept = _finite_or_none(np.nanmean(np.asarray(stats[key].values, float)))
            break
    if accept is not None:
        if method == "nuts" and accept < NUTS_ACCEPT_MIN:
            problems.append(f"mean acceptance {accept:.2f} < {NUTS_ACCEPT_MIN} (NUTS target 0.8)")
            thresholds["accept_min"] = NUTS_ACCEPT_MIN
        elif method == "mh":
            lo, hi = MH_ACCEPT_RANGE
            thresholds["accept_range"] = MH_ACCEPT_RANGE
            if not lo <= accept <= hi:
                problems.append(f"mean acceptance {accept:.2f} outside [{lo}, {hi}] for "
                                "random-walk MH (target ~0.234)")
    return divergences, accept


def diagnose(idata, var_names=None, *, warn: bool = False) -> Diagnostics:
    """Check R-hat, bulk/tail ESS, divergences and the acceptance rate of posterior draws.

    Args:
        idata: InferenceData with a posterior (and usually sample_stats).
        var_names: variables whose R-hat and ESS are checked; default every sampled site
            (:func:`checked_variables`: the reward weights, every β, other model sites).
        warn: also emit a :class:`PosteriorWarning` listing the problems.

    Returns:
        :class:`Diagnostics`; ``trustworthy`` is False when any threshold is violated: the
        largest R-hat of the P checked parameters > :func:`rhat_threshold` (P, C, D) (at least
        :data:`RHAT_MAX`), the smallest bulk or tail ESS < :data:`ESS_PER_CHAIN_MIN` × C,
        divergences > :data:`MAX_DIVERGENCES`, acceptance outside the sampler's range, a
        single chain (R-hat undefined), or a MAP fit. Each problem names the worst parameter.

    Raises:
        TypeError: ``idata`` is not an ArviZ InferenceData (e.g. a dict or a NumPyro MCMC), or
            ``var_names`` is a single string.
        ValueError: no posterior group or a missing variable.
    """
    check_inference_data(idata)
    if isinstance(var_names, str):
        raise TypeError(f"var_names: expected a list of variable names, got the string "
                        f"{var_names!r} (write [{var_names!r}])")
    var_names = list(var_names) if var_names is not None else checked_variables(idata)
    missing = [v for v in var_names if v not in idata.posterior]
    if missing:
        raise ValueError(f"var_names: not in the posterior: {missing}")
    method = idata.posterior.attrs.get("method")
    C, D = int(idata.posterior.sizes["chain"]), int(idata.posterior.sizes["draw"])
    ess_min = ESS_PER_CHAIN_MIN * C
    thresholds = {"r_hat_max": RHAT_MAX, "r_hat_floor": RHAT_MAX,
                  "r_hat_family_alpha": RHAT_FAMILY_ALPHA, "ess_bulk_min": ess_min,
                  "ess_tail_min": ess_min, "max_divergences": MAX_DIVERGENCES}
    problems: list[str] = []
    if method == "map" or C * D == 1:
        problems.append("a single point (MAP fit), not posterior draws: credible intervals and "
                        "high-confidence bounds are not meaningful")
        mixing = {}
    else:
        mixing = _check_mixing(idata, var_names, C, D, ess_min, thresholds, problems)
    divergences, accept = _check_sampler_stats(idata, method, thresholds, problems)
    diag = Diagnostics(method, C, D, mixing.get("max_r_hat"), mixing.get("min_ess_bulk"),
                       mixing.get("min_ess_tail"), divergences, accept, thresholds,
                       tuple(problems), num_parameters=mixing.get("num_parameters", 0),
                       max_r_hat_at=mixing.get("max_r_hat_at"),
                       min_ess_bulk_at=mixing.get("min_ess_bulk_at"),
                       min_ess_tail_at=mixing.get("min_ess_tail_at"),
                       variables=tuple(var_names))
    if warn:
        warn_if_untrustworthy(diag, stacklevel=3)
    return diag


def warn_if_untrustworthy(diagnostics: Diagnostics, stacklevel: int = 2) -> None:
    """Emit a :class:`PosteriorWarning` listing the failed checks (nothing when all pass)."""
    if diagnostics.problems:
        warnings.warn("posterior should not be trusted: " + "; ".join(diagnostics.problems),
                      PosteriorWarning, stacklevel=stacklevel)
