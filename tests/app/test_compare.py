"""app/compare: the PSIS-LOO table of two run folders agrees with az.loo on each fit, the
action-frequency check agrees with counts of the stored observations, and unusable folders
(no posterior.nc, MAP or old runs without log-likelihoods, different data) are refused with a
one-line message saying what to do. The two tiny runs are ``compare_runs_pair``
(tests/conftest.py)."""

import shutil

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.app.compare import (
    action_frequency_check, compare_run_folders, compare_runs, render_comparison)
from bayesirl.app.errors import UsageError

EXACT = 1e-12  # the same numbers read back, or a count of the same arrays


@pytest.fixture(scope="module")
def fits(compare_runs_pair):
    return [_arviz.from_netcdf(path / "posterior.nc") for path in compare_runs_pair]


@pytest.fixture(scope="module")
def result(compare_runs_pair):
    return compare_run_folders(*compare_runs_pair)


def rewrite(src, dst, change):
    """Copy run folder ``src`` to ``dst`` with ``change(idata) -> idata`` applied to its
    posterior."""
    shutil.copytree(src, dst)
    idata = change(_arviz.from_netcdf(src / "posterior.nc"))
    (dst / "posterior.nc").unlink()
    idata.to_netcdf(str(dst / "posterior.nc"))
    return dst


def refused(pattern, *args, **kwargs):
    """compare_run_folders(*args, **kwargs) raises a one-line UsageError matching pattern."""
    with pytest.raises(UsageError, match=pattern) as info:
        compare_run_folders(*args, **kwargs)
    assert "\n" not in str(info.value)


def without(idata, group):
    return type(idata)(**{g: idata[g] for g in idata.groups() if g != group})


def test_loo_table_matches_az_loo_of_each_fit(result, fits):
    assert [row["run"] for row in result["loo"]] == ["beta5", "beta1"]  # best first
    assert result["variables"] == {"beta5": "boltzmann_actions", "beta1": "boltzmann_actions"}
    P = fits[0].observed_data["boltzmann_actions"].size
    assert result["num_observations"] == P
    for row, idata in zip(result["loo"], fits):
        loo = _arviz.loo(idata, var_name="boltzmann_actions")
        assert row["elpd_loo"] == pytest.approx(float(loo.elpd_loo), rel=EXACT)
        assert row["p_loo"] == pytest.approx(float(loo.p_loo), rel=EXACT)
    best, other = result["loo"]
    assert best["elpd_diff"] == 0.0 and best["rank"] == 0 and other["rank"] == 1
    assert other["elpd_diff"] == pytest.approx(best["elpd_loo"] - other["elpd_loo"], rel=EXACT)
    assert best["weight"] + other["weight"] == pytest.approx(1.0)
    # the demonstrator behind the data is near-optimal: beta = 1 predicts it clearly worse
    assert other["elpd_diff"] > 4 and other["elpd_diff"] > 2 * other["dse"]


def test_action_frequencies_are_counts_of_the_stored_observations(result, fits):
    for label, idata in zip(("beta5", "beta1"), fits):
        check = result["action_frequencies"][label]
        states = idata.constant_data["boltzmann_states"].values
        actions = idata.observed_data["boltzmann_actions"].values
        np.testing.assert_array_equal(check["states"], np.unique(states))
        for k, s in enumerate(check["states"]):
            counts = np.bincount(actions[states == s], minlength=check["observed"].shape[1])
            np.testing.assert_allclose(check["observed"][k], counts / counts.sum(), atol=EXACT)
        assert np.all(check["p_value"] + check["p_value_low"] >= 1 - EXACT)  # ties in both
        cut = result["level"] / 2
        flagged = {(c["state"], c["action"]) for c in check["flagged"]}
        extreme = (check["p_value"] < cut) | (check["p_value_low"] < cut)
        assert flagged == {(int(check["states"][k]), int(a)) for k, a in np.argwhere(extreme)}
        assert check["num_cells"] == check["observed"].size


def test_render_names_both_runs_and_the_verdict(result):
    text = render_comparison(result)
    assert "PSIS-LOO" in text and "beta5 predicts held-out observations better" in text
    assert "beta1:" in text and "Posterior-predictive check" in text


def test_compare_runs_table_and_errors(fits):
    a, b = fits
    table, checks = compare_runs({"a": a, "b": b})
    assert set(table.index) == {"a", "b"} and table["elpd_diff"].min() == pytest.approx(0.0)
    np.testing.assert_allclose(checks["a"]["observed"],
                               action_frequency_check(a)["observed"], atol=EXACT)
    two = _arviz.with_groups(a, log_likelihood={
        "boltzmann_actions": a.log_likelihood["boltzmann_actions"].values,
        "preference_labels": a.log_likelihood["boltzmann_actions"].values[..., :3]})
    with pytest.raises(ValueError, match="var_name"):
        compare_runs({"a": two, "b": two})  # two shared variables: name one
    with pytest.raises(ValueError, match="idatas"):
        compare_runs({"a": a})
    with pytest.raises(ValueError, match="posterior_predictive"):
        action_frequency_check(without(a, "posterior_predictive"))


def test_different_variable_names_on_the_same_pairs(compare_runs_pair, result, tmp_path):
    """Boltzmann vs MaxEnt: each run's own demonstrations variable, the same observations."""
    def as_maxent(idata):
        groups = {g: idata[g] for g in idata.groups()}
        for g in ("log_likelihood", "posterior_predictive", "observed_data"):
            groups[g] = groups[g].rename({"boltzmann_actions": "maxent_actions"})
        groups["constant_data"] = groups["constant_data"].rename(
            {"boltzmann_states": "maxent_states"})
        return type(idata)(**groups)

    b = rewrite(compare_runs_pair[1], tmp_path / "maxent", as_maxent)
    renamed = compare_run_folders(compare_runs_pair[0], b)
    assert renamed["variables"] == {"beta5": "boltzmann_actions", "maxent": "maxent_actions"}
    assert [r["elpd_loo"] for r in renamed["loo"]] == pytest.approx(
        [r["elpd_loo"] for r in result["loo"]], rel=EXACT)
    np.testing.assert_array_equal(renamed["action_frequencies"]["maxent"]["observed"],
                                  result["action_frequencies"]["beta1"]["observed"])


def test_same_folder_twice_gets_two_labels(compare_runs_pair):
    twice = compare_run_folders(compare_runs_pair[0], compare_runs_pair[0])
    assert sorted(twice["runs"]) == ["beta5 (A)", "beta5 (B)"]
    assert twice["loo"][1]["elpd_diff"] == pytest.approx(0.0, abs=EXACT)


def test_unusable_folders_are_refused_with_what_to_do(compare_runs_pair, tmp_path):
    a, b = compare_runs_pair
    refused(r"^RUN_B: .* has no posterior.nc", a, tmp_path)
    old = rewrite(b, tmp_path / "old", lambda idata: without(idata, "log_likelihood"))
    refused(r"^RUN_B: .*no log_likelihood group: it was written before .*fit it again", a, old)

    def as_map(idata):
        idata = without(idata, "log_likelihood")
        idata.posterior.attrs["method"] = "map"
        return idata

    map_run = rewrite(b, tmp_path / "map", as_map)
    refused(r"^RUN_A: .*a MAP fit .*--sampler nuts or --sampler mh", map_run, a)

    def other_data(idata):
        idata.observed_data["boltzmann_actions"].values[0] += 1
        return idata

    other = rewrite(b, tmp_path / "other", other_data)
    refused(r"^RUN_B: its observations .* differ from RUN_A's", a, other)
    refused(r"^--var-name: beta5 has no .*'preference_labels'", a, b, var_name="preference_labels")
