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
