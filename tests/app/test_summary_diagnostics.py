"""The diagnostics of ``summary.json`` and the line ``bayesirl fit`` prints: every sampled site
(a learned β included), the worst one named, and the R-hat threshold for P parameters."""

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.analysis.diagnostics import rhat_threshold
from bayesirl.app.summary import diagnostics_summary, format_fit_text, weight_table


def _idata(beta_shift=0.0):
    rng = np.random.default_rng(1)
    beta = rng.lognormal(size=(4, 200)) + np.array([0.0, 0.0, 0.0, beta_shift])[:, None]
    return _arviz.from_draws({"reward_weights": rng.normal(size=(4, 200, 64)), "beta": beta},
                             dims={"reward_weights": ["feature"]}, attrs={"method": "nuts"})


def _text(idata):
    diag, doc = diagnostics_summary(idata)
    summary = {"diagnostics": doc, "timings": {"sampling_s": 1.0, "total_s": 2.0}}
    return diag, doc, format_fit_text(weight_table(idata), summary, "out")


def test_summary_records_the_threshold_for_p_parameters_and_beta():
    diag, doc, text = _text(_idata())
    assert doc["num_parameters"] == 65 and doc["variables"] == ["reward_weights", "beta"]
    assert doc["r_hat_max"] == doc["thresholds"]["r_hat_max"] == pytest.approx(
        rhat_threshold(65, 4, 200))
    assert doc["r_hat_max"] > doc["thresholds"]["r_hat_floor"] == 1.01  # 200 draws: P decides
    assert diag.trustworthy and doc["trustworthy"] is True
    line = next(t for t in text.splitlines() if t.startswith("Diagnostics: "))
    assert f"max R-hat {doc['max_r_hat']:.4f} ({doc['max_r_hat_at']}; threshold" in line
    assert "for 65 parameters" in line and "min bulk ESS" in line and "method=nuts" in line


def test_a_stuck_beta_is_named_in_the_summary_and_the_line():
    diag, doc, text = _text(_idata(beta_shift=3.0))
    assert doc["max_r_hat_at"] == "beta" and not doc["trustworthy"]
    assert doc["problems"][0].startswith(f"R-hat {doc['max_r_hat']:.4f} (beta) > ")
    assert doc["remedies"][0].startswith("run longer")
    assert f"max R-hat {doc['max_r_hat']:.4f} (beta; threshold" in text


def test_a_long_table_shows_the_first_rows_every_flagged_row_and_beta():
    """64 weights: the first SHOWN_ROWS, the one stuck weight (chain 3 shifted) and β are
    printed, labelled; the rest is counted."""
    from bayesirl.app.summary import MAX_ROWS, SHOWN_ROWS

    idata = _idata()
    w = idata.posterior["reward_weights"].values.copy()
    w[3, :, 40] += 3.0
    idata = _arviz.from_draws({"reward_weights": w, "beta": idata.posterior["beta"].values},
                              dims={"reward_weights": ["feature"]}, attrs={"method": "nuts"})
    labels = [f"state {s}" for s in range(64)]
    diag, doc = diagnostics_summary(idata)
    summary = {"diagnostics": doc, "timings": {"sampling_s": 1.0, "total_s": 2.0}}
    text = format_fit_text(weight_table(idata), summary, "out", labels=labels)
    rows = [t.split()[0] for t in text.splitlines() if t.startswith(("reward_weights[", "beta"))]
    assert 64 > MAX_ROWS
    assert rows == [f"reward_weights[{k}]" for k in range(SHOWN_ROWS)] + [
        "reward_weights[40]", "beta"]
    assert "state 40" in text and "rationality β" in text
    assert f"({64 - SHOWN_ROWS - 1} more weight rows, none flagged" in text


def test_weight_labels_name_states_of_one_hot_worlds_and_features_otherwise():
    from types import SimpleNamespace

    from bayesirl.app.summary import weight_labels
    from bayesirl.data.mdp import make_mdp

    P = np.zeros((4, 1, 4))
    P[:, 0, 0] = 1.0
    one_hot = make_mdp(P, features=np.eye(4), discount=0.9)
    grid = SimpleNamespace(mdp=one_hot, env=SimpleNamespace(grid_shape=(2, 2)),
                           feature_names=range(4))
    assert weight_labels(grid)[3] == "state 3 (row 1, col 1)"
    assert weight_labels(SimpleNamespace(mdp=one_hot, env=None, feature_names=range(4)))[2] == \
        "state 2"
    coloured = make_mdp(P, features=np.ones((4, 2)), discount=0.9)
    assert weight_labels(SimpleNamespace(mdp=coloured, env=None, feature_names=range(2))) == [
        "feature 0", "feature 1"]
    assert weight_labels(SimpleNamespace(mdp=None, feature_names=["speed", "lane"])) == [
        "speed", "lane"]
