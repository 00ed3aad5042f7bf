"""Every call into ArviZ (written against arviz 0.23), in one place.

Keep ArviZ usage here so a later move to arviz 1.x touches one module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # arviz 0.23 announces its refactor
    import arviz as az

__all__ = [
    "InferenceData",
    "from_numpyro",
    "from_draws",
    "summary",
    "to_netcdf",
    "from_netcdf",
    "ess",
    "rhat",
    "rank_normalized_rhat",
    "quantile_ess",
    "hdi",
    "with_posterior_variables",
    "plot_trace",
    "plot_rank",
    "plot_forest",
    "with_groups",
    "loo",
    "psislw",
    "compare",
    "plot_ecdf",
]

InferenceData = az.InferenceData


def from_numpyro(mcmc, coords: dict | None = None, dims: dict | None = None) -> az.InferenceData:
    """InferenceData from a finished ``numpyro.infer.MCMC``, without the pointwise
    log-likelihood (computing it reruns the model, i.e. one MDP solve, per draw)."""
    return az.from_numpyro(mcmc, log_likelihood=False, coords=coords, dims=dims)


def from_draws(posterior: dict, coords: dict | None = None, dims: dict | None = None,
               sample_stats: dict | None = None, attrs: dict | None = None) -> az.InferenceData:
    """InferenceData from arrays shaped (chain, draw, ...)."""
    with _quiet():
        idata = az.from_dict(posterior={k: np.asarray(v) for k, v in posterior.items()},
                             sample_stats=sample_stats, coords=coords, dims=dims)
    if attrs:
        idata.posterior.attrs.update(attrs)
    return idata


@contextlib.contextmanager
def _quiet(active: bool = True):
    """Silence ArviZ's log warnings (e.g. too few draws: MAP results have one) in this block."""
    # arviz 0.23 logs through its own Logger instance, not one registered with `logging`, so
    # setLevel would not clear its isEnabledFor cache: drop the records with a filter instead.
    logger = getattr(az, "_log", None) or logging.getLogger("arviz")
    if not active:
        yield
        return
    logger.addFilter(_below_error)
    try:
        yield
    finally:
        logger.removeFilter(_below_error)


def _below_error(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def summary(idata, var_names=None, hdi_prob: float = 0.94):
    """``az.summary`` table (pandas DataFrame): mean, sd, HDI, MCSE, bulk/tail ESS, R-hat.

    A single draw (MAP) gives NaN for the sampling diagnostics, without ArviZ's log warning."""
    with _quiet(_few_draws(idata)), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # R-hat/ESS of a single draw are NaN
        warnings.simplefilter("ignore", UserWarning)
        return az.summary(idata, var_names=var_names, hdi_prob=hdi_prob, round_to="none")


def ess(idata, var_names=None, method: str = "bulk"):
    """Effective sample size per variable (xarray Dataset)."""
    with _quiet(_few_draws(idata)):
        return az.ess(idata, var_names=var_names, method=method)


def rhat(idata, var_names=None):
    """Rank-normalised split R-hat per variable (xarray Dataset)."""
    with _quiet(_few_draws(idata)):
        return az.rhat(idata, var_names=var_names)


def rank_normalized_rhat(draws) -> np.ndarray:
    """ArviZ's rank-normalised split R-hat (``az.rhat``, Vehtari et al. 2021) of many
    parameters at once.

    ``az.rhat`` loops over parameters in Python; this is the same statistic with array
    operations, written against arviz 0.23's ``_rhat_rank`` (equal to ``az.rhat`` of each
    parameter to rounding; the tests check it): each chain is split into halves of
    ``n = ⌊N/2⌋`` draws (the middle draw of an odd N dropped); all ``S = 2C·n`` split draws of
    a parameter are rank-normalised, ``z = Φ⁻¹((r − 3/8) / (S + 1/4))`` with average ranks
    ``r``; ``R̂ = sqrt((n − 1)/n + B/(n W))`` with ``B`` n times the variance of the 2C chain
    means and ``W`` the mean within-chain variance; the result is the larger of the R-hat of
    the draws (bulk) and of their folded values ``|x − median|`` (tails).

    Args:
        draws: (..., C, N) finite draws of each parameter, C >= 2 chains of N >= 4 draws
            (leading axes index the parameters, e.g. replications × P).

    Returns:
        (...) float64 array: the R-hat of each parameter.

    Raises:
        ValueError: ``draws`` has fewer than 2 dimensions, C < 2, N < 4, or non-finite values.
    """
    from scipy import special, stats

    x = np.asarray(draws, dtype=float)
    if x.ndim < 2 or x.shape[-2] < 2 or x.shape[-1] < 4:
        raise ValueError(f"draws: expected an array (..., C, N) with C >= 2 chains and N >= 4 "
                         f"draws, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("draws: expected finite values, got NaN or infinity")
    half = x.shape[-1] // 2
    split = np.concatenate([x[..., :half], x[..., x.shape[-1] - half:]], axis=-2)
    flat = split.reshape(split.shape[:-2] + (-1,))
    folded = np.abs(flat - np.median(flat, axis=-1, keepdims=True))

    def z_scale(values):
        ranks = stats.rankdata(values, method="average", axis=-1)
        return special.ndtri((ranks - 0.375) / (values.shape[-1] + 0.25)).reshape(split.shape)

    def split_rhat(z):
        between = half * np.var(z.mean(axis=-1), axis=-1, ddof=1)
        within = np.var(z, axis=-1, ddof=1).mean(axis=-1)
        return np.sqrt((between / within + half - 1) / half)

    return np.maximum(split_rhat(z_scale(flat)), split_rhat(z_scale(folded)))


def _few_draws(idata) -> bool:
    """Fewer than 4 draws (a MAP point): ArviZ would log a shape warning for each call."""
    posterior = getattr(idata, "posterior", idata)
    sizes = getattr(posterior, "sizes", None)
    if sizes is not None:  # InferenceData or xarray Dataset
        return sizes.get("draw", 0) < 4
    shape = np.shape(posterior)  # a plain array (chain, draw, ...)
    return len(shape) >= 2 and shape[1] < 4


def to_netcdf(idata, path: str | os.PathLike) -> None:
    """Write ``idata`` to a netCDF file via a temporary name, so a failure leaves no half file."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    idata.to_netcdf(tmp)
    os.replace(tmp, path)


def from_netcdf(path: str | os.PathLike) -> az.InferenceData:
    """Read an InferenceData netCDF file."""
    return az.from_netcdf(os.fspath(path))


# --- posterior use: intervals, derived variables, plots (bayesirl.analysis.posterior, bayesirl.app.report) ---


def quantile_ess(values, prob: float) -> float:
    """Effective sample size of the ``prob``-quantile of (chain, draw) draws (ArviZ's
    ``method="quantile"``, Vehtari et al. 2021); NaN when it cannot be estimated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        return float(az.ess(np.asarray(values, dtype=float), method="quantile", prob=prob))


def hdi(idata, var_names=None, hdi_prob: float = 0.94):
    """Highest-density intervals of posterior variables (xarray Dataset; last dim ``hdi`` with
    coordinates ``lower``/``higher``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        return az.hdi(idata, var_names=var_names, hdi_prob=hdi_prob)


def with_posterior_variables(idata, variables: dict, coords: dict | None = None):
    """A new InferenceData whose posterior has ``variables`` added (name -> (dims, values),
    values shaped (chain, draw, ...)); the other groups are shared, not copied."""
    posterior = idata.posterior.assign(
        {name: (dims, np.asarray(values)) for name, (dims, values) in variables.items()})
    if coords:
        posterior = posterior.assign_coords(coords)
    groups = {name: idata[name] for name in idata.groups() if name != "posterior"}
    return az.InferenceData(posterior=posterior, **groups)


def _quiet_plot(fn, *args, **kwargs):
    # arviz 0.23 calls matplotlib APIs that matplotlib 3.11 deprecates; not ours to fix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return fn(*args, **kwargs)


def plot_trace(idata, var_names=None, coords: dict | None = None, **kwargs):
    """``az.plot_trace`` (matplotlib axes array): per-variable density and trace per chain."""
    return _quiet_plot(az.plot_trace, idata, var_names=var_names, coords=coords, **kwargs)


def plot_rank(idata, var_names=None, coords: dict | None = None, **kwargs):
    """``az.plot_rank``: rank histograms per chain (uniform when the chains agree)."""
    return _quiet_plot(az.plot_rank, idata, var_names=var_names, coords=coords, **kwargs)


def plot_forest(idata, var_names=None, hdi_prob: float = 0.94, **kwargs):
    """``az.plot_forest``: HDI per variable, chains combined, optionally with R-hat and ESS."""
    return _quiet_plot(az.plot_forest, idata, var_names=var_names, hdi_prob=hdi_prob, **kwargs)


# --- model checking: log-likelihood / predictive groups, PSIS-LOO (bayesirl.inference.predictive, bayesirl.app.compare) ---


def with_groups(idata, *, log_likelihood: dict | None = None,
                posterior_predictive: dict | None = None, observed_data: dict | None = None,
                constant_data: dict | None = None, dims: dict | None = None,
                coords: dict | None = None):
    """A new InferenceData: ``idata``'s groups plus the given ones (arrays (chain, draw, ...)
    for ``log_likelihood``/``posterior_predictive``; without chain/draw for the data groups).
    A group already in ``idata`` is replaced."""
    groups = {name: value for name, value in dict(
        log_likelihood=log_likelihood, posterior_predictive=posterior_predictive,
        observed_data=observed_data, constant_data=constant_data).items() if value}
    with _quiet():
        new = az.from_dict(**{k: {n: np.asarray(v) for n, v in g.items()}
                              for k, g in groups.items()}, dims=dims, coords=coords)
    kept = {name: idata[name] for name in idata.groups() if name not in groups}
    kept.update({name: new[name] for name in groups})
    return az.InferenceData(**kept)


def loo(idata, var_name: str | None = None, pointwise: bool = True):
    """``az.loo``: PSIS-LOO expected log pointwise predictive density (``elpd_loo``, its SE,
    ``p_loo``, Pareto k̂ per observation when ``pointwise``), Vehtari, Gelman & Gabry 2017."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # k̂ > 0.7 warnings: reported in the table
        warnings.simplefilter("ignore", RuntimeWarning)
        return az.loo(idata, var_name=var_name, pointwise=pointwise)


def psislw(log_weights, reff: float = 1.0):
    """``az.psislw``: Pareto-smoothed importance log-weights (Vehtari et al. 2024).

    Args:
        log_weights: (..., M) log importance ratios, the draws on the last axis (for LOO:
            minus the pointwise log-likelihood).
        reff: relative efficiency ESS / M of the draws.

    Returns:
        ``(log_weights, k)``: (..., M) smoothed log-weights normalised over the draws, and (...)
        the Pareto shape estimates k̂.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        lw, k = az.psislw(np.asarray(log_weights, dtype=float), reff=reff)
    return np.asarray(lw), np.asarray(k)


def compare(idatas: dict, var_name: str | None = None):
    """``az.compare`` (pandas DataFrame ranked by ``elpd_loo``, with ``elpd_diff``, ``dse``,
    stacking ``weight`` and a ``warning`` column) of fits of the same observations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", FutureWarning)  # pandas 3 deprecations inside arviz 0.23
        warnings.simplefilter("ignore", DeprecationWarning)
        return az.compare(idatas, ic="loo", var_name=var_name)


def plot_ecdf(values, cdf=None, difference: bool = True, eval_points=None, **kwargs):
    """``az.plot_ecdf``: the empirical CDF of ``values`` (or its difference from ``cdf``) with
    simultaneous confidence bands (Säilynoja, Bürkner & Vehtari 2022), evaluated at
    ``eval_points`` (default 100 points spanning the values)."""
    values = np.asarray(values, dtype=float).ravel()
    if eval_points is None:
        eval_points = np.linspace(values.min(), values.max(), 100)
    return _quiet_plot(az.plot_ecdf, values, cdf=cdf, difference=difference,
                       confidence_bands=True, eval_points=eval_points, **kwargs)
