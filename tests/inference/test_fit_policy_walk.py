"""``fit_demonstrations(method="policy_walk")``: the fast exact PolicyWalk sampler agrees with
random-walk MH on the same BIRL posterior (hard Q, L2-sphere prior, fixed β) and with its
numerical integration over the unit 2-sphere, returns the ``InferenceData`` layout of the
other samplers, and names unsupported settings."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from bayesirl import _arviz
from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.inference import fit_demonstrations
from bayesirl.likelihoods import action_log_probabilities, demonstration_pairs

#: Posterior means of the two samplers must agree within this many Monte Carlo standard
#: errors of their difference (sqrt of the summed squared MCSEs; 5 fails ~1e-6 of the time),
#: plus MEAN_FLOOR for the MCSE estimates' own error.
NUM_MCSE = 5.0
MEAN_FLOOR = 0.01
#: Midpoint quadrature over the sphere (polar × azimuth cells, 2° wide) and the error allowed
#: for it (the hard-max likelihood has kinks, so the rule is first order there).
GRID_THETA, GRID_PHI = 90, 180
GRID_FLOOR = 0.005
BETA = 2.0
FEATURES = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def problem():
    """3x3 gridworld with 3 colour features (slip 0.2) and 3 short demonstrations."""
    env = gridworld(3, 3, num_features=3, seed=4, slip_probability=0.2)
    demos = make_demonstrations([([0, 1, 2], [3, 3, 1]), ([6, 7], [3, 0]), ([4, 5], [3, 0])])
    return env.mdp, demos


@pytest.fixture(scope="module")
def pw_idata(problem):
    mdp, demos = problem
    return fit_demonstrations(mdp, demos, method="policy_walk", prior="l2-sphere", beta=BETA,
                              q="hard", num_samples=2000, num_warmup=200, num_chains=8, seed=0,
                              feature_names=FEATURES)


def test_policy_walk_agrees_with_mh(problem, pw_idata):
    """Same posterior, two exact samplers: the posterior means of the weights agree."""
    mdp, demos = problem
    mh = fit_demonstrations(mdp, demos, method="mh", prior="l2-sphere", beta=BETA, q="hard",
                            num_samples=400, num_warmup=800, num_chains=4, thinning=4, seed=1,
                            progress_bar=False, feature_names=FEATURES, predictive_groups=False)
    a = _arviz.summary(pw_idata, ["reward_weights"])
    b = _arviz.summary(mh, ["reward_weights"])
    assert a["r_hat"].max() < 1.05 and b["r_hat"].max() < 1.05
    diff = np.abs(a["mean"].to_numpy() - b["mean"].to_numpy())
    tol = NUM_MCSE * np.hypot(a["mcse_mean"].to_numpy(), b["mcse_mean"].to_numpy()) + MEAN_FLOOR
    assert np.all(diff < tol), (a["mean"], b["mean"], tol)


def test_policy_walk_matches_sphere_quadrature(problem, pw_idata):
    """Posterior means E[w_f] against the integral over the unit sphere (uniform prior)."""
    mdp, demos = problem
    theta = (np.arange(GRID_THETA) + 0.5) * np.pi / GRID_THETA
    phi = (np.arange(GRID_PHI) + 0.5) * 2 * np.pi / GRID_PHI
    t, p = np.meshgrid(theta, phi, indexing="ij")
    w = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    pairs = demonstration_pairs(mdp, demos)
    log_probs = jax.jit(lambda w: action_log_probabilities(mdp, w, BETA, q="hard"))(
        jnp.asarray(w))
    log_lik = np.asarray(log_probs[:, pairs.states, pairs.actions].sum(-1))
    mass = np.exp(log_lik - log_lik.max()) * np.sin(t).reshape(-1)  # area element
    exact = (mass[:, None] * w).sum(0) / mass.sum()
    table = _arviz.summary(pw_idata, ["reward_weights"])
    diff = np.abs(table["mean"].to_numpy() - exact)
    tol = NUM_MCSE * table["mcse_mean"].to_numpy() + GRID_FLOOR
    assert np.all(diff < tol), (table["mean"], exact, tol)


def test_inference_data_layout(problem, pw_idata):
    mdp, demos = problem
    post = pw_idata.posterior
    assert post["reward_weights"].dims == ("chain", "draw", "feature")
    assert post["reward_weights"].shape == (8, 2000, 3)
    assert list(post["feature"].values) == FEATURES
    w = np.asarray(post["reward_weights"].values)
    np.testing.assert_allclose(np.linalg.norm(w, axis=-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(post["reward_weights_raw"].values), w)
    for name in ("lp", "acceptance_rate", "optimal_return"):
        assert pw_idata.sample_stats[name].shape == (8, 2000), name
    accept = np.asarray(pw_idata.sample_stats["acceptance_rate"].values)
    assert np.all((accept > 0) & (accept <= 1))
    assert {"observed_data", "log_likelihood", "posterior_predictive"} <= set(pw_idata.groups())
    # the stored log-likelihood of each draw is the model's, summed over the pairs
    pointwise = np.asarray(pw_idata.log_likelihood["boltzmann_actions"].values).sum(-1)
    np.testing.assert_allclose(pointwise, pw_idata.sample_stats["lp"].values, atol=1e-6)
    attrs = post.attrs
    assert attrs["method"] == "policy-walk" and attrs["seed"] == 0
    assert (attrs["num_chains"], attrs["num_samples"], attrs["num_warmup"]) == (8, 2000, 200)
    assert attrs["beta"] == BETA and attrs["prior"] == "l2-sphere" and attrs["all_converged"] == 1
    assert attrs["sampling_time_s"] > 0


def test_l1_sphere_and_thinning(problem):
    mdp, demos = problem
    idata = fit_demonstrations(mdp, demos, method="policy_walk", prior="l1-sphere", beta=BETA,
                               q="hard", num_samples=20, num_warmup=8, num_chains=2, thinning=3,
                               seed=2, predictive_groups=False)
    w = np.asarray(idata.posterior["reward_weights"].values)
    assert w.shape == (2, 20, 3) and idata.posterior.attrs["proposals"] == 2 * (8 + 60)
    np.testing.assert_allclose(np.abs(w).sum(-1), 1.0, atol=1e-6)
    assert "log_likelihood" not in idata.groups() and "observed_data" in idata.groups()


BAD = [
    (dict(q="soft"), ValueError, "q: "),
    (dict(prior="gaussian"), ValueError, "prior: "),
    (dict(beta=dist.LogNormal(0.0, 1.0)), TypeError, "beta: "),
    (dict(beta=0.0), ValueError, "beta"),
    (dict(num_warmup=2), ValueError, "num_warmup"),
    (dict(num_chains=0), ValueError, "num_chains"),
    (dict(feature_names=["a"]), ValueError, "feature_names"),
    (dict(solver_kwargs={"tol": 1e-6}), ValueError, "solver_kwargs"),
]


def _case_id(kwargs):
    """A test id that is the same in every pytest-xdist worker (no object reprs)."""
    (name, value), = kwargs.items()
    if isinstance(value, (int, float, str)):
        return f"{name}={value}"
    return f"{name}-{type(value).__name__}"


@pytest.mark.parametrize("kwargs, error, message", BAD, ids=[_case_id(k) for k, _, _ in BAD])
def test_unsupported_settings_are_named(problem, kwargs, error, message):
    mdp, demos = problem
    settings = dict(prior="l2-sphere", beta=BETA, q="hard", num_samples=10, num_warmup=10,
                    num_chains=2)
    with pytest.raises(error, match=message):
        fit_demonstrations(mdp, demos, method="policy_walk", **{**settings, **kwargs})
