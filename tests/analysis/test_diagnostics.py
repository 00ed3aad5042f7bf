"""Diagnostics with named thresholds: each failing check is reported, good draws pass."""

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.analysis.diagnostics import (
    ESS_PER_CHAIN_MIN,
    MH_ACCEPT_RANGE,
    RHAT_MAX,
    PosteriorWarning,
    diagnose,
    summary,
)


def make(draws, method="nuts", **stats):
    return _arviz.from_draws({"reward_weights": draws}, dims={"reward_weights": ["feature"]},
                             sample_stats=stats or None, attrs={"method": method})


@pytest.fixture(scope="module")
def good():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4, 1000, 3))
    return make(draws, diverging=np.zeros((4, 1000), bool),
                acceptance_rate=np.full((4, 1000), 0.85))


def test_independent_chains_are_trustworthy(good):
    diag = diagnose(good)
    assert diag.trustworthy and diag.problems == ()
    assert diag.max_r_hat <= RHAT_MAX
    assert diag.min_ess_bulk >= ESS_PER_CHAIN_MIN * 4
    assert (diag.divergences, diag.num_chains, diag.num_draws) == (0, 4, 1000)
    assert diag.mean_accept_prob == pytest.approx(0.85)
    assert diag.as_dict()["trustworthy"] is True


def test_disagreeing_chains_fail_rhat_and_warn():
    rng = np.random.default_rng(1)
    draws = rng.normal(size=(4, 500, 2)) + np.array([0.0, 0.0, 0.0, 1.5])[:, None, None]
    with pytest.warns(PosteriorWarning, match="R-hat"):
        diag = diagnose(make(draws), warn=True)
    assert not diag.trustworthy and diag.max_r_hat > RHAT_MAX


def test_sticky_chains_fail_ess():
    rng = np.random.default_rng(2)
    draws = np.cumsum(rng.normal(size=(4, 400, 1)), axis=1) * 0.01  # random walks
    diag = diagnose(make(draws))
    assert any("bulk ESS" in p for p in diag.problems)
    assert any("tail ESS" in p for p in diag.problems)


def test_divergences_low_acceptance_and_single_chain(good):
    draws = good.posterior["reward_weights"].values
    div = np.zeros((4, 1000), bool)
    div[2, 10] = True
    assert any("1 divergent" in p for p in diagnose(make(draws, diverging=div)).problems)
    low = diagnose(make(draws, acceptance_rate=np.full((4, 1000), 0.3))).problems
    assert any("acceptance" in p for p in low)
    one = diagnose(make(draws[:1])).problems
    assert any("one chain" in p for p in one)


def test_mh_acceptance_range(good):
    draws = good.posterior["reward_weights"].values
    lo, hi = MH_ACCEPT_RANGE
    ok = diagnose(make(draws, "mh", acceptance_rate=np.full((4, 1000), 0.25)))
    assert ok.trustworthy
    stuck = diagnose(make(draws, "mh", acceptance_rate=np.full((4, 1000), lo / 2)))
    assert any("random-walk MH" in p for p in stuck.problems)


def test_map_fit_is_not_a_posterior():
    diag = diagnose(make(np.zeros((1, 1, 3)), "map"))
    assert not diag.trustworthy and "MAP" in diag.problems[0]


def test_no_warning_when_trustworthy(good, recwarn):
    diagnose(good, warn=True)
    assert not [w for w in recwarn if issubclass(w.category, PosteriorWarning)]


def test_invalid_arguments(good):
    with pytest.raises(ValueError, match="var_names"):
        diagnose(good, var_names=["beta"])


#: Things passed where an InferenceData is expected: (id, value, exception, start of message).
NOT_INFERENCE_DATA = [
    ("empty-dict", {}, TypeError, "idata: expected an ArviZ InferenceData with a posterior group"),
    ("dict-of-draws", {"reward_weights": np.zeros((2, 10, 3))}, TypeError, "idata: expected"),
    ("none", None, TypeError, "idata: expected an ArviZ InferenceData"),
    ("no-posterior", _arviz.InferenceData(), ValueError,
     "idata: expected an InferenceData with a posterior group"),
]


@pytest.mark.parametrize("value, error, match", [c[1:] for c in NOT_INFERENCE_DATA],
                         ids=[c[0] for c in NOT_INFERENCE_DATA])
def test_diagnose_and_summary_say_what_they_expect(value, error, match):
    with pytest.raises(error, match="^" + match):
        diagnose(value)
    with pytest.raises(error, match="^" + match):
        summary(value)


def test_var_names_as_a_string_is_a_type_error(good):
    with pytest.raises(TypeError, match="^var_names: expected a list"):
        diagnose(good, var_names="reward_weights")
