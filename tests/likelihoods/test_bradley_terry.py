"""The Bradley–Terry log-probability's fast path (one log-sigmoid per comparison) against the
categorical logits and a float64 reference; the reward-difference site of trajectory_model."""

import jax.numpy as jnp
import numpy as np
import numpyro
from scipy.special import log_expit

from bayesirl.data.preferences import make_preferences
from bayesirl.likelihoods.bradley_terry import (
    PreferenceChoice,
    log_sigmoid,
    observe_preferences,
    observe_reward_differences,
)

#: float32 log σ: absolute error of one rounding of the result (|log σ| <= 100 here).
ATOL_F32 = 1e-5


def test_log_sigmoid_matches_float64_reference():
    x = np.concatenate([np.linspace(-100, 100, 20001), [-1e-8, 0.0, 1e-8, 30.0, -30.0]])
    ref = log_expit(x)
    np.testing.assert_allclose(np.asarray(log_sigmoid(jnp.asarray(x))), ref, rtol=1e-13,
                               atol=1e-300)
    got32 = np.asarray(log_sigmoid(jnp.asarray(x, jnp.float32)), np.float64)
    np.testing.assert_allclose(got32, ref, rtol=2e-7, atol=ATOL_F32 * 1e-2)
    assert np.all(np.isfinite(got32))


def test_strict_log_prob_equals_the_logits_column():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(0, 5, (4, 7)))
    labels = jnp.asarray(rng.integers(0, 3, (4, 7)))
    d = PreferenceChoice(x, 0.0)
    expected = jnp.take_along_axis(d.logits, labels[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(np.asarray(d.log_prob(labels)), np.asarray(expected),
                               rtol=1e-12)
    # float64 reference: log σ(x) for "A", log σ(−x) for "B"
    x_np, lab = np.asarray(x), np.asarray(labels)
    ref = np.where(lab == 0, log_expit(x_np), log_expit(-x_np))
    np.testing.assert_allclose(np.asarray(d.log_prob(labels))[lab < 2], ref[lab < 2],
                               rtol=1e-12)


def test_reward_differences_site_equals_returns_site():
    prefs = make_preferences(4, [(0, 1, 0), (2, 3, 1), (1, 3, 0)])
    returns = jnp.array([0.5, -1.0, 2.0, 0.25])
    first, second = np.asarray(prefs.first), np.asarray(prefs.second)

    def site(fn, *args):
        with numpyro.handlers.trace() as tr:
            fn(*args, prefs, 2.0)
        s = tr["preference_labels"]
        return float(jnp.sum(s["fn"].log_prob(s["value"])))

    a = site(observe_preferences, returns)
    b = site(observe_reward_differences, returns[first] - returns[second])
    x = 2.0 * (np.asarray(returns)[first] - np.asarray(returns)[second])
    ref = np.sum(log_expit(np.where(np.asarray(prefs.label) == 0, x, -x)))
    np.testing.assert_allclose([a, b], ref, rtol=1e-12)


def test_default_margin_is_one_with_equal_answers_and_zero_without():
    """The API and the command line share one default δ (1 with "equal" answers)."""
    from bayesirl.data.preferences import make_preferences
    from bayesirl.likelihoods.bradley_terry import EQUAL_ANSWER_MARGIN, default_margin

    strict = make_preferences(3, [(0, 1, "first"), (1, 2, "second")])
    weak = make_preferences(3, [(0, 1, "first"), (1, 2, "equal")])
    assert default_margin(strict) == 0.0 and default_margin(None) == 0.0
    assert default_margin(weak) == EQUAL_ANSWER_MARGIN == 1.0


def test_fit_trajectories_accepts_equal_answers_without_a_margin():
    """The how-to's call on a file with "equal" answers works as given (δ = 1 chosen)."""
    from bayesirl.data.preferences import make_preferences
    from bayesirl.data.trajectories import make_trajectories
    from bayesirl.inference.fit import fit_trajectories

    trajectories = make_trajectories(feature_counts=np.eye(3))
    prefs = make_preferences(3, [(0, 1, "first"), (1, 2, "equal")])
    idata = fit_trajectories(trajectories, preferences=prefs, method="map", num_chains=1,
                             progress_bar=False, warn=False)
    assert np.isfinite(idata.posterior["reward_weights"].values).all()
