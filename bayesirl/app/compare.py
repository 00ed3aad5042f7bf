"""Compare fits of the same observations: a PSIS-LOO table and a posterior-predictive check.

The fits must hold the ``log_likelihood``, ``posterior_predictive``, ``observed_data`` and
``constant_data`` groups of :func:`bayesirl.inference.predictive.add_predictive_groups`.
"""

from __future__ import annotations

import numpy as np

from bayesirl import _arviz

__all__ = ["compare_runs", "action_frequency_check"]


def _common_variable(idatas: dict, var_name: str | None) -> str:
    names = [set(idata.log_likelihood.data_vars) if "log_likelihood" in idata.groups() else set()
             for idata in idatas.values()]
    common = set.intersection(*names) if names else set()
    if var_name is not None:
        if var_name not in common:
            raise ValueError(f"var_name: {var_name!r} is not a log-likelihood variable of every "
                             f"fit; common variables are {sorted(common)}")
        return var_name
    if len(common) != 1:
        raise ValueError(f"var_name: expected exactly one log-likelihood variable common to the "
                         f"fits, got {sorted(common)}; name one (e.g. 'boltzmann_actions')")
    return common.pop()


def action_frequency_check(idata, source: str = "boltzmann") -> dict:
    """Posterior-predictive check of the action frequencies per demonstrated state.

    For each state s with demonstrations, the observed frequency of each action is compared
    with its replicated frequencies (one per draw, from ``posterior_predictive``); the
    posterior-predictive p-value is ``P(freq_rep >= freq_obs)`` (Gelman et al. 2013, ch. 6).

    Args:
        idata: a fit with the predictive groups.
        source: ``"boltzmann"`` or ``"maxent"``.

    Returns:
        ``{"states": (K,), "observed": (K, A), "replicated_mean": (K, A),
        "p_value": (K, A)}`` over the K demonstrated states; A is the largest action + 1.

    Raises:
        ValueError: the fit has no predictive groups for ``source``.
    """
    site = f"{source}_actions"
    if "posterior_predictive" not in idata.groups() or site not in idata.posterior_predictive:
        raise ValueError(f"idata: no posterior_predictive {site!r}; fit with the predictive "
                         "groups (add_predictive_groups)")
    states = np.asarray(idata.constant_data[f"{source}_states"])
    observed = np.asarray(idata.observed_data[site])
    rep = np.asarray(idata.posterior_predictive[site]).reshape(-1, states.size)
    A = int(max(observed.max(), rep.max())) + 1
    visited = np.unique(states)
    obs_freq = np.zeros((visited.size, A))
    rep_freq = np.zeros((rep.shape[0], visited.size, A))
    for k, s in enumerate(visited):
        at = states == s
        obs_freq[k] = np.bincount(observed[at], minlength=A) / at.sum()
        for a in range(A):
            rep_freq[:, k, a] = np.mean(rep[:, at] == a, axis=1)
    return {"states": visited, "observed": obs_freq, "replicated_mean": rep_freq.mean(0),
            "p_value": np.mean(rep_freq >= obs_freq[None] - 1e-12, axis=0)}


def compare_runs(idatas: dict, var_name: str | None = None, source: str | None = "boltzmann"):
    """PSIS-LOO comparison (``az.compare``) of fits of the same observations, and the
    action-frequency check of each fit.

    Args:
        idatas: ``{name: InferenceData}`` (two or more).
        var_name: the log-likelihood variable to compare; default the only one they share.
        source: demonstrations source for :func:`action_frequency_check` (None: skip).

    Returns:
        ``(table, checks)``: the pandas DataFrame of ``az.compare`` and ``{name: check}``
        (fits without that source are left out).

    Raises:
        ValueError: fewer than two fits, or no unambiguous common log-likelihood variable.
    """
    if len(idatas) < 2:
        raise ValueError(f"idatas: expected at least two fits, got {len(idatas)}")
    name = _common_variable(idatas, var_name)
    table = _arviz.compare(dict(idatas), var_name=name)
    checks = {}
    if source is not None:
        for key, idata in idatas.items():
            if f"{source}_actions" in getattr(idata, "posterior_predictive", {}):
                checks[key] = action_frequency_check(idata, source)
    return table, checks
