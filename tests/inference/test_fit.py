"""Sampler correctness against numerical integration of a 2-parameter IRL posterior, MAP
against the grid mode, and reward recovery on a gridworld."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import initialize_model

from bayesirl import _arviz
from bayesirl.data.demos import make_demonstrations, sample_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.solvers.evaluation import expected_value_difference
from bayesirl.inference import fit, fit_demonstrations
from bayesirl.likelihoods import demonstration_pairs
from bayesirl.models import boltzmann_irl_model
from bayesirl.solvers import soft_value_iteration, value_iteration

GRID = np.linspace(-5.0, 5.0, 301)  # prior N(0, 1): mass beyond ±5 is < 1e-6
QUANTILES = (0.05, 0.5, 0.95)
#: Grid points per batch of the reference's potential evaluations.
GRID_BATCH = 1024
#: Posterior summaries must agree with the grid within this many Monte Carlo standard errors
#: (plus GRID_FLOOR for the grid's own discretisation error); 5 MCSE fails ~1e-6 of the time.
NUM_MCSE = 5.0
GRID_FLOOR = 0.01
RHAT_OK = 1.05


@pytest.fixture(scope="module")
def problem():
    """3x3 gridworld, 2 colour features, Gaussian prior, β = 1, soft Q, 3 short demos."""
    env = gridworld(3, 3, num_features=2, seed=4, slip_probability=0.2)
    demos = make_demonstrations([([0, 1, 2], [3, 3, 1]), ([6, 7], [3, 0]), ([4, 5], [3, 0])])
    pairs = demonstration_pairs(env.mdp, demos)
    kwargs = dict(prior="gaussian", beta=1.0, q="soft")
    info = initialize_model(jax.random.PRNGKey(0), boltzmann_irl_model,
                            model_args=(env.mdp, pairs), model_kwargs=kwargs)
    W = np.stack(np.meshgrid(GRID, GRID, indexing="ij"), -1).reshape(-1, 2)
    # lax.map in batches of GRID_BATCH: a vmap over all 90601 points runs each solver's loop
    # until the slowest point converges (2-3x slower); the values are the same to 1e-14.
    potential = jax.jit(lambda W: jax.lax.map(
        lambda w: info.potential_fn({"reward_weights": w}), W, batch_size=GRID_BATCH))
    logp = -np.asarray(potential(jnp.asarray(W))).reshape(len(GRID), len(GRID))
    p = np.exp(logp - logp.max())
    p /= p.sum()
    return env, demos, p


def grid_marginal_summaries(p, axis):
    marg = p.sum(axis=1 - axis)
    cdf = np.cumsum(marg)
    mean = (marg * GRID).sum()
    return mean, [np.interp(q, cdf - marg / 2, GRID) for q in QUANTILES]


def check_against_grid(idata, p):
    post = idata.posterior["reward_weights"]
    assert float(_arviz.rhat(idata, ["reward_weights"])["reward_weights"].max()) < RHAT_OK
    mcse_mean = _arviz.summary(idata, ["reward_weights"])["mcse_mean"].to_numpy()
    az = _arviz.az
    for f in range(2):
        mean, qs = grid_marginal_summaries(p, f)
        x = post.sel(feature=f)
        assert abs(float(x.mean()) - mean) < NUM_MCSE * mcse_mean[f] + GRID_FLOOR, (f, float(x.mean()), mean)
        for q, ref in zip(QUANTILES, qs):
            se = float(az.mcse(x.values, method="quantile", prob=q))
            est = float(np.quantile(x.values, q))
            assert abs(est - ref) < NUM_MCSE * se + GRID_FLOOR, (f, q, est, ref, se)


def test_grid_posterior_is_not_degenerate(problem):
    _, _, p = problem
    for f in range(2):
        _, (lo, _, hi) = grid_marginal_summaries(p, f)
        assert 0.3 < hi - lo < 6.0  # informative but not a point mass: a meaningful check


def test_nuts_matches_numerical_integration(problem):
    env, demos, p = problem
    idata = fit_demonstrations(env.mdp, demos, method="nuts", num_samples=1500, num_warmup=500,
                               num_chains=4, seed=1, progress_bar=False)
    assert int(idata.sample_stats["diverging"].sum()) == 0
    check_against_grid(idata, p)


def test_mh_matches_numerical_integration(problem):
    env, demos, p = problem
    idata = fit_demonstrations(env.mdp, demos, method="mh", num_samples=6000, num_warmup=2000,
                               num_chains=4, thinning=1, seed=2, progress_bar=False)
    check_against_grid(idata, p)


def test_map_matches_grid_mode(problem):
    env, demos, p = problem
    idata = fit_demonstrations(env.mdp, demos, method="map", num_chains=3, seed=0, progress_bar=False)
    w = idata.posterior["reward_weights"].values.reshape(2)
    i, j = np.unravel_index(np.argmax(p), p.shape)
    step = GRID[1] - GRID[0]
    np.testing.assert_allclose(w, [GRID[i], GRID[j]], atol=step)
    assert idata.posterior.attrs["map_converged"] == 1
    assert idata.posterior["reward_weights"].dims == ("chain", "draw", "feature")


def test_learned_beta_with_sphere_prior():
    """β ~ LogNormal with w on the unit circle, data from a Boltzmann expert with β = 3:
    NUTS on θ = β·w has no divergences, |w| = 1, and β's 94 % interval covers 3."""
    env = gridworld(3, 3, num_features=2, seed=4, slip_probability=0.2, weights=[0.8, -0.6])
    expert = soft_value_iteration(env.mdp, 3.0 * env.true_reward).policy
    demos = sample_demonstrations(jax.random.PRNGKey(3), env.mdp, expert, 40, 6)
    idata = fit_demonstrations(env.mdp, demos, method="nuts", prior="l2-sphere",
                               beta=dist.LogNormal(0.0, 1.0), num_samples=500, num_warmup=500,
                               num_chains=2, seed=0, progress_bar=False)
    w = idata.posterior["reward_weights"].values
    np.testing.assert_allclose(np.linalg.norm(w, axis=-1), 1.0, rtol=1e-9)
    assert int(idata.sample_stats["diverging"].sum()) == 0
    lo, hi = np.quantile(idata.posterior["beta"].values, [0.03, 0.97])
    assert lo < 3.0 < hi
    mean_w = w.reshape(-1, 2).mean(0)
    assert mean_w @ np.array([0.8, -0.6]) / np.linalg.norm(mean_w) > 0.95


def test_recovers_gridworld_reward():
    """5x5 gridworld, 4 features, 40 expert demos: the MAP reward's optimal policy loses < 5 %
    of the optimal return range and its weights point the same way as the truth."""
    env = gridworld(5, 5, num_features=4, seed=11)
    expert = value_iteration(env.mdp, env.true_reward).policy
    demos = sample_demonstrations(jax.random.PRNGKey(0), env.mdp, expert, 40, env.max_episode_steps)
    idata = fit_demonstrations(env.mdp, demos, method="map", beta=20.0, prior_scale=1.0,
                               num_chains=2, progress_bar=False)
    w = jnp.asarray(idata.posterior["reward_weights"].values.reshape(4))
    learned = value_iteration(env.mdp, env.mdp.features @ w).policy
    evd = float(expected_value_difference(env.mdp, env.true_reward, learned))
    worst = float(expected_value_difference(env.mdp, env.true_reward, jnp.ones((25, 4)) / 4))
    assert evd < 0.05 * worst
    cos = float(w @ env.true_weights / (jnp.linalg.norm(w) * jnp.linalg.norm(env.true_weights)))
    assert cos > 0.8


def test_fit_rejects_bad_arguments(problem):
    env, demos, _ = problem
    with pytest.raises(ValueError, match="method: expected one of"):
        fit_demonstrations(env.mdp, demos, method="gibbs")
    with pytest.raises(ValueError, match="num_samples"):
        fit_demonstrations(env.mdp, demos, num_samples=0)
    with pytest.raises(ValueError, match="q: expected one of"):
        fit_demonstrations(env.mdp, demos, q="medium")
    with pytest.raises(ValueError, match="feature_names"):
        fit_demonstrations(env.mdp, demos, feature_names=["a"])
    with pytest.raises(ValueError, match="method"):
        fit(boltzmann_irl_model, method="vi")
