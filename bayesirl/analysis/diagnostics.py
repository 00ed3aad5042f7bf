"""MCMC diagnostics with named thresholds, and a warning when the posterior should not be trusted.

Thresholds follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat": R-hat below 1.01, bulk and tail ESS of at least
100 per chain; Betancourt (2017) for divergences (any divergence biases NUTS); acceptance-rate
ranges around each sampler's target (NUTS 0.8; random-walk MH 0.234, Roberts, Gelman & Gilks
1997). A MAP fit is a single point, not a posterior sample: intervals and bounds from it are
meaningless, which is reported as a problem too.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

from bayesirl import _arviz
from bayesirl._validate import check_inference_data

__all__ = [
    "RHAT_MAX",
    "ESS_PER_CHAIN_MIN",
    "MAX_DIVERGENCES",
    "NUTS_ACCEPT_MIN",
    "MH_ACCEPT_RANGE",
    "DiagnosticsWarning",
    "PosteriorWarning",
    "REMEDIES",
    "diagnostics_warning",
    "remedy",
    "Diagnostics",
    "diagnose",
    "summary",
    "warn_if_untrustworthy",
]

#: Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021).
RHAT_MAX = 1.01
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
        thresholds: the thresholds applied, by name.
        problems: one sentence per failed check.
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

    @property
    def trustworthy(self) -> bool:
        """True when no check failed."""
        return not self.problems

    def as_dict(self) -> dict:
        """JSON-friendly dictionary (NaN → None)."""
        out = self._asdict()
        out["problems"] = list(self.problems)
        out["trustworthy"] = self.trustworthy
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}


def _finite_or_none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


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


def _check_mixing(idata, var_names, num_chains: int, ess_min: float, problems: list):
    """R-hat and bulk/tail ESS of ``var_names``; appends failed checks to ``problems``.

    Returns ``(max_r_hat, min_ess_bulk, min_ess_tail)``, each None when not finite.
    """
    table = _arviz.summary(idata, var_names=var_names)
    rhat, bulk, tail = (np.asarray(table[c], float) for c in ("r_hat", "ess_bulk", "ess_tail"))
    max_rhat = min_bulk = min_tail = None
    if num_chains < 2:
        problems.append("one chain: R-hat cannot detect chains that disagree; run >= 2")
    elif np.isfinite(rhat).any():
        max_rhat = float(np.nanmax(rhat))
        if max_rhat > RHAT_MAX:
            problems.append(f"R-hat {max_rhat:.3f} > {RHAT_MAX}: the chains disagree "
                            "(not converged); run longer or reparametrise")
    if np.isfinite(bulk).any():
        min_bulk = float(np.nanmin(bulk))
        if min_bulk < ess_min:
            problems.append(f"bulk ESS {min_bulk:.0f} < {ess_min} ({ESS_PER_CHAIN_MIN} per "
                            "chain): means and intervals are noisy; draw more samples")
    if np.isfinite(tail).any():
        min_tail = float(np.nanmin(tail))
        if min_tail < ess_min:
            problems.append(f"tail ESS {min_tail:.0f} < {ess_min}: interval ends and "
                            "quantile bounds are noisy; draw more samples")
    return max_rhat, min_bulk, min_tail


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


def diagnose(idata, var_names=("reward_weights",), *, warn: bool = False) -> Diagnostics:
    """Check R-hat, bulk/tail ESS, divergences and the acceptance rate of posterior draws.

    Args:
        idata: InferenceData with a posterior (and usually sample_stats).
        var_names: variables whose R-hat and ESS are checked (default the reward weights).
        warn: also emit a :class:`PosteriorWarning` listing the problems.

    Returns:
        :class:`Diagnostics`; ``trustworthy`` is False when any threshold is violated:
        R-hat > :data:`RHAT_MAX`, ESS < :data:`ESS_PER_CHAIN_MIN` × C, divergences >
        :data:`MAX_DIVERGENCES`, acceptance outside the sampler's range, a single chain (R-hat
        undefined), or a MAP fit.

    Raises:
        TypeError: ``idata`` is not an ArviZ InferenceData (e.g. a dict or a NumPyro MCMC), or
            ``var_names`` is a single string.
        ValueError: no posterior group or a missing variable.
    """
    check_inference_data(idata)
    if isinstance(var_names, str):
        raise TypeError(f"var_names: expected a list of variable names, got the string "
                        f"{var_names!r} (write [{var_names!r}])")
    var_names = list(var_names) if var_names is not None else list(idata.posterior.data_vars)
    missing = [v for v in var_names if v not in idata.posterior]
    if missing:
        raise ValueError(f"var_names: not in the posterior: {missing}")
    method = idata.posterior.attrs.get("method")
    C, D = int(idata.posterior.sizes["chain"]), int(idata.posterior.sizes["draw"])
    ess_min = ESS_PER_CHAIN_MIN * C
    thresholds = {"r_hat_max": RHAT_MAX, "ess_bulk_min": ess_min, "ess_tail_min": ess_min,
                  "max_divergences": MAX_DIVERGENCES}
    problems: list[str] = []
    if method == "map" or C * D == 1:
        problems.append("a single point (MAP fit), not posterior draws: credible intervals and "
                        "high-confidence bounds are not meaningful")
        max_rhat = min_bulk = min_tail = None
    else:
        max_rhat, min_bulk, min_tail = _check_mixing(idata, var_names, C, ess_min, problems)
    divergences, accept = _check_sampler_stats(idata, method, thresholds, problems)
    diag = Diagnostics(method, C, D, max_rhat, min_bulk, min_tail, divergences, accept,
                       thresholds, tuple(problems))
    if warn:
        warn_if_untrustworthy(diag, stacklevel=3)
    return diag


def warn_if_untrustworthy(diagnostics: Diagnostics, stacklevel: int = 2) -> None:
    """Emit a :class:`PosteriorWarning` listing the failed checks (nothing when all pass)."""
    if diagnostics.problems:
        warnings.warn("posterior should not be trusted: " + "; ".join(diagnostics.problems),
                      PosteriorWarning, stacklevel=stacklevel)
