"""Compare fits of the same observations: a PSIS-LOO table and a posterior-predictive check.

The fits must hold the ``log_likelihood``, ``posterior_predictive``, ``observed_data`` and
``constant_data`` groups of :func:`bayesirl.inference.predictive.add_predictive_groups`
(``bayesirl fit`` stores them for NUTS and MH runs). :func:`compare_run_folders` is
``bayesirl compare RUN_A RUN_B``: it reads two run folders, checks that they fit the same
observations, and returns the table and the checks as one JSON-ready dict that
:func:`render_comparison` prints.
"""

from __future__ import annotations

import os

import numpy as np

from bayesirl import _arviz
from bayesirl.app.errors import UsageError
from bayesirl.inference.predictive import DEFAULT_MAX_VALUES
from bayesirl.likelihoods.registry import SOURCES

__all__ = ["compare_runs", "action_frequency_check", "compare_run_folders", "render_comparison",
           "PPC_LEVEL", "CLEAR_ELPD_DIFF", "MAX_PRINTED_CELLS"]

#: Two-sided level of the action-frequency check: a (state, action) cell is flagged when its
#: observed frequency lies outside the central ``1 − PPC_LEVEL`` of the replicated ones.
PPC_LEVEL = 0.05
#: An ``elpd_diff`` below this (log-score units) is no clear difference, whatever its SE
#: (Sivula, Magnusson & Vehtari 2022; the LOO FAQ's rule of thumb is 4).
CLEAR_ELPD_DIFF = 4.0
#: At most this many flagged cells are printed per run (``--json`` has all of them).
MAX_PRINTED_CELLS = 10


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


def _actions_site(source: str) -> str:
    """The observed site of a source's actions (``noisy-boltzmann`` → ``noisy_boltzmann_actions``)."""
    return SOURCES[source].site if source in SOURCES else f"{source}_actions"


def _site_source(site: str) -> str | None:
    """The source whose observed site is ``site``, or None."""
    return next((name for name, s in SOURCES.items() if s.site == site), None)


def action_frequency_check(idata, source: str = "boltzmann") -> dict:
    """Posterior-predictive check of the action frequencies per demonstrated state.

    For each state s with demonstrations, the observed frequency of each action is compared
    with its replicated frequencies (one per draw, from ``posterior_predictive``); the
    posterior-predictive p-value is ``P(freq_rep >= freq_obs)`` (Gelman et al. 2013, ch. 6),
    and ``p_value_low`` is ``P(freq_rep <= freq_obs)`` (both include ties, so an action never
    demonstrated has ``p_value`` 1 and is flagged only through ``p_value_low``).

    Args:
        idata: a fit with the predictive groups.
        source: the name of a source whose observations are actions (``EvidenceSource.policy``).

    Returns:
        ``{"states": (K,), "observed": (K, A), "replicated_mean": (K, A),
        "p_value": (K, A), "p_value_low": (K, A)}`` over the K demonstrated states; A is the
        largest action + 1.

    Raises:
        ValueError: the fit has no predictive groups for ``source``.
    """
    site = _actions_site(source)
    if "posterior_predictive" not in idata.groups() or site not in idata.posterior_predictive:
        raise ValueError(f"idata: no posterior_predictive {site!r}; fit with the predictive "
                         "groups (add_predictive_groups)")
    states = np.asarray(idata.constant_data[site.removesuffix("_actions") + "_states"])
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
            "p_value": np.mean(rep_freq >= obs_freq[None] - 1e-12, axis=0),
            "p_value_low": np.mean(rep_freq <= obs_freq[None] + 1e-12, axis=0)}


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
            if _actions_site(source) in getattr(idata, "posterior_predictive", {}):
                checks[key] = action_frequency_check(idata, source)
    return table, checks


def _why_no_log_likelihood(path: str, idata) -> str:
    from bayesirl.app.world import is_trajectory_run

    if is_trajectory_run(path) and "observed_data" not in idata.groups():
        return ("its evidence has no observations to leave out (sample-based MaxEnt is a "
                "factor of the partition function); compare runs with preferences or on an MDP")
    if idata.posterior.attrs.get("method") == "map":
        return ("a MAP fit has one draw and PSIS-LOO needs posterior draws; fit it again with "
                "--sampler nuts or --sampler mh ('bayesirl fit ... --out DIR')")
    return ("it was written before bayesirl stored log-likelihoods, or they would have "
            f"exceeded {DEFAULT_MAX_VALUES:,} values; fit it again ('bayesirl fit ... --out "
            "DIR', fewer --num-samples if it is large)")


def _load_fit(path, argument: str):
    """The InferenceData of a run folder, which must hold a ``log_likelihood`` group."""
    path = os.fspath(path)
    nc = os.path.join(path, "posterior.nc")
    if not os.path.isfile(nc):
        raise UsageError(f"{argument}: {path} has no posterior.nc; give a folder written by "
                         "'bayesirl fit --out DIR'")
    try:
        idata = _arviz.from_netcdf(nc)
    except Exception as err:  # netCDF / HDF5 raise many kinds
        raise UsageError(f"{argument}: cannot read {nc} ({type(err).__name__}: {err})") from None
    if "log_likelihood" not in idata.groups():
        raise UsageError(f"{argument}: {path} has no log_likelihood group: "
                         f"{_why_no_log_likelihood(path, idata)}")
    return idata


def _labels(paths) -> list[str]:
    names = [os.path.basename(os.path.normpath(os.fspath(p))) for p in paths]
    if len(set(names)) < len(names):
        names = [f"{name} ({chr(ord('A') + i)})" for i, name in enumerate(names)]
    return names


def _pick_variables(idatas: dict, var_name: str | None) -> dict:
    """``{label: log-likelihood variable}``: ``var_name``, else the one variable the runs share,
    else each run's one demonstrations variable (``boltzmann_actions`` vs ``maxent_actions``)."""
    names = {key: sorted(idata.log_likelihood.data_vars) for key, idata in idatas.items()}
    common = sorted(set.intersection(*(set(v) for v in names.values())))
    if var_name is not None:
        missing = [key for key, v in names.items() if var_name not in v]
        if missing:
            raise UsageError(f"--var-name: {missing[0]} has no log-likelihood variable "
                             f"{var_name!r}; it has {names[missing[0]]}")
        return dict.fromkeys(idatas, var_name)
    if len(common) == 1:
        return dict.fromkeys(idatas, common[0])
    actions = {key: [n for n in v if n.endswith("_actions")] for key, v in names.items()}
    if not common and all(len(v) == 1 for v in actions.values()):
        return {key: v[0] for key, v in actions.items()}
    raise UsageError(f"--var-name: the runs share the log-likelihood variables {common}; name "
                     "the one to compare (e.g. --var-name boltzmann_actions)")


def _observations(idata, var: str) -> list:
    prefix = var.split("_")[0]
    arrays = [idata.observed_data[var]] if var in getattr(idata, "observed_data", {}) else []
    if "constant_data" in idata.groups():
        arrays += [idata.constant_data[n] for n in sorted(idata.constant_data.data_vars)
                   if n.startswith(prefix) and not n.endswith("_times")]
    return [np.asarray(a) for a in arrays]


def _check_same_observations(idatas: dict, variables: dict, arguments: dict) -> None:
    (first, a), *rest = idatas.items()
    for key, b in rest:
        obs_a, obs_b = _observations(a, variables[first]), _observations(b, variables[key])
        same = len(obs_a) == len(obs_b) and all(
            x.shape == y.shape and np.array_equal(x, y) for x, y in zip(obs_a, obs_b))
        if not same:
            raise UsageError(f"{arguments[key]}: its observations ({variables[key]}) differ "
                             f"from {arguments[first]}'s ({variables[first]}); PSIS-LOO "
                             "compares fits of the same data (same --env, --data-seed and "
                             "--expert, or the same --demos/--preferences files; the default "
                             "--expert of the gridworld follows the model's β)")


def _ppc_summary(check: dict, level: float) -> dict:
    cut = level / 2
    flagged = np.argwhere((check["p_value"] < cut) | (check["p_value_low"] < cut))
    order = np.argsort([min(check["p_value"][k, a], check["p_value_low"][k, a])
                        for k, a in flagged], kind="stable")
    cells = [{"state": int(check["states"][k]), "action": int(a),
              "observed": float(check["observed"][k, a]),
              "replicated_mean": float(check["replicated_mean"][k, a]),
              "p_value": float(check["p_value"][k, a]),
              "p_value_low": float(check["p_value_low"][k, a])} for k, a in flagged[order]]
    return dict(check, num_cells=int(check["observed"].size), flagged=cells)


def compare_run_folders(run_a, run_b, *, var_name: str | None = None,
                        level: float = PPC_LEVEL) -> dict:
    """``bayesirl compare RUN_A RUN_B``: the PSIS-LOO comparison of two run folders and the
    posterior-predictive check of the action frequencies of each.

    Args:
        run_a, run_b: folders written by ``bayesirl fit`` (NUTS or MH) from the same
            observations.
        var_name: the log-likelihood variable (``boltzmann_actions``, ``maxent_actions``,
            ``preference_labels``); default the only one the runs share, or each run's
            demonstrations variable (Boltzmann vs MaxEnt on the same demonstrations).
        level: two-sided level at which a (state, action) cell is flagged.

    Returns:
        A JSON-ready dict: ``runs`` ({label: folder}), ``variables`` ({label: variable}),
        ``num_observations``, ``loo`` (one row per run, best first: ``run``, ``rank``,
        ``elpd_loo``, ``p_loo``, ``elpd_diff``, ``se``, ``dse``, ``weight``, ``warning``),
        ``level`` and ``action_frequencies`` ({label: :func:`action_frequency_check` plus
        ``num_cells`` and the ``flagged`` cells, most extreme first}; runs without
        demonstrations are left out).

    Raises:
        UsageError: a folder without ``posterior.nc`` or without a ``log_likelihood`` group
            (MAP fits, trajectory runs, older runs: the message says how to redo it), no
            unambiguous variable, or different observations (messages start with ``RUN_A:``,
            ``RUN_B:`` or ``--var-name:``).
    """
    paths = [os.fspath(run_a), os.fspath(run_b)]
    labels = _labels(paths)
    arguments = dict(zip(labels, ("RUN_A", "RUN_B")))
    idatas = {label: _load_fit(path, arguments[label]) for label, path in zip(labels, paths)}
    variables = _pick_variables(idatas, var_name)
    _check_same_observations(idatas, variables, arguments)
    if len(set(variables.values())) == 1:
        fits, name = idatas, variables[labels[0]]
    else:  # Boltzmann vs MaxEnt: the same pairs under each run's own variable name
        fits, name = {key: _arviz.with_groups(idata, log_likelihood={
            "actions": idata.log_likelihood[variables[key]].values})
            for key, idata in idatas.items()}, "actions"
    table, _ = compare_runs(fits, var_name=name, source=None)
    loo = [{"run": str(run), **{col: table.loc[run, col] for col in (
        "rank", "elpd_loo", "p_loo", "elpd_diff", "se", "dse", "weight", "warning")}}
        for run in table.index]
    checks = {}
    for key, idata in idatas.items():
        source = _site_source(variables[key])
        if source is not None and SOURCES[source].policy and SOURCES[source].site in getattr(
                idata, "posterior_predictive", {}):
            checks[key] = _ppc_summary(action_frequency_check(idata, source), level)
    first = idatas[labels[0]].log_likelihood[variables[labels[0]]]
    return {"runs": dict(zip(labels, paths)), "variables": variables,
            "num_observations": int(np.prod(first.shape[2:])), "loo": loo, "level": level,
            "action_frequencies": checks}


def _verdict(loo: list[dict]) -> str:
    best, other = loo[0], loo[-1]
    diff, dse = float(other["elpd_diff"]), float(other["dse"])
    if diff > max(CLEAR_ELPD_DIFF, 2 * dse):
        return (f"{best['run']} predicts held-out observations better: elpd_diff {diff:.1f} "
                f"± {dse:.1f} (> {CLEAR_ELPD_DIFF:g} and > 2 SE)")
    return (f"no clear difference: elpd_diff {diff:.1f} ± {dse:.1f} (a clear one is "
            f"> {CLEAR_ELPD_DIFF:g} and > 2 SE)")


def _render_check(label: str, check: dict, level: float) -> list[str]:
    cells = check["flagged"]
    lines = [f"  {label}: {len(cells)} of {check['num_cells']} (state, action) cells outside "
             f"the central {100 * (1 - level):g} % of the replicated frequencies"]
    if cells:
        lines.append("      state  action  observed  replicated  P(rep>=obs)  P(rep<=obs)")
        lines += [f"    {c['state']:7d} {c['action']:7d} {c['observed']:9.2f} "
                  f"{c['replicated_mean']:11.2f} {c['p_value']:12.3f} {c['p_value_low']:12.3f}"
                  for c in cells[:MAX_PRINTED_CELLS]]
        if len(cells) > MAX_PRINTED_CELLS:
            lines.append(f"    ... {len(cells) - MAX_PRINTED_CELLS} more (--json)")
    return lines


def render_comparison(result: dict) -> str:
    """The text ``bayesirl compare`` prints for a :func:`compare_run_folders` result."""
    variables = sorted(set(result["variables"].values()))
    lines = [f"PSIS-LOO (az.compare) of {', '.join(variables)}: {result['num_observations']} "
             "observations; higher elpd_loo = better predictions of held-out observations",
             f"  {'rank':>4}  {'run':<24} {'elpd_loo':>9} {'se':>6} {'elpd_diff':>9} {'dse':>6} "
             f"{'p_loo':>6} {'weight':>6}  Pareto k"]
    for row in result["loo"]:
        lines.append(f"  {row['rank']:>4}  {row['run']:<24} {row['elpd_loo']:9.2f} "
                     f"{row['se']:6.2f} {row['elpd_diff']:9.2f} {row['dse']:6.2f} "
                     f"{row['p_loo']:6.2f} {row['weight']:6.2f}  "
                     f"{'> 0.7: unreliable' if row['warning'] else 'ok'}")
    lines.append(_verdict(result["loo"]))
    checks = result["action_frequencies"]
    lines.append("")
    if not checks:
        lines.append("Posterior-predictive check: no demonstrations, so no action frequencies")
    else:
        lines.append("Posterior-predictive check of the action frequencies per demonstrated "
                     "state (few flagged cells: the model reproduces the demonstrator's choices)")
        for label, check in checks.items():
            lines += _render_check(label, check, result["level"])
    return "\n".join(lines)
