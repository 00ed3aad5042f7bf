"""Tests for bayesirl.inference.random_walk (adaptive random-walk Metropolis–Hastings).

Correctness is checked against posteriors computed by numerical integration on fine grids;
tolerances are a multiple of the Monte Carlo standard error (ArviZ) plus a small floor.
Every MCMC configuration costs a compilation, so runs are shared through module fixtures.
"""

import jax

jax.config.update("jax_enable_x64", True)

import arviz as az  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
import pytest  # noqa: E402
from jax import lax, random  # noqa: E402
from numpyro.infer import MCMC  # noqa: E402
from scipy.special import log_expit  # noqa: E402
from scipy.stats import halfnorm, norm  # noqa: E402

from bayesirl.inference.random_walk import (  # noqa: E402
    MIN_WARMUP_FOR_COVARIANCE,
    MHState,
    build_kernel,
    covariance_window_bounds,
    default_target_accept_prob,
    mh_init,
)
from bayesirl.inference.random_walk_kernel import RandomWalkMH  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

# Tolerances --------------------------------------------------------------------------
MCSE_MULT = 4.0  # |MC estimate - exact| <= 4 MCSE: ~6e-5 two-sided false-alarm rate per check
GRID_FLOOR = 0.01  # absorbs trapezoid-grid discretisation error of the "exact" values
RHAT_MAX = 1.05  # common convergence threshold; catches chains stuck in different places
MIN_ESS = 400  # below this the MCSE itself is too unreliable to base a test on
ACCEPT_TOL = 0.1  # dual averaging targets the mean acceptance only approximately
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

NUM_CHAINS = 4
NUM_WARMUP = 1500
NUM_SAMPLES = 2500
EXTRA = ("adapt_state.step_size", "adapt_state.scale", "mean_accept_prob")

# Data: the 1-D data are separable, so the posterior is the prior times a monotone
# likelihood (right-skewed, clearly non-Gaussian).
X1 = np.array([-2.0, -1.0, 0.5, 1.0, 2.0])
Y1 = np.array([0, 0, 1, 1, 1])
X2 = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
Y2 = np.array([0, 0, 1, 0, 1, 1])


def model_1d(x, y):
    theta = numpyro.sample("theta", dist.Normal(0.0, 1.5))
    numpyro.sample("y", dist.Bernoulli(logits=theta * x), obs=y)


def model_2d(x, y):
    alpha = numpyro.sample("alpha", dist.Normal(0.0, 2.0))
    beta = numpyro.sample("beta", dist.HalfNormal(2.0))  # positive: exercises the transform
    numpyro.sample("y", dist.Bernoulli(logits=alpha + beta * x), obs=y)


def _bernoulli_loglik(logits, y):
    return np.sum(y * log_expit(logits) + (1 - y) * log_expit(-logits), axis=-1)


def _grid_summary(grid, density):
    """Mean, sd and quantiles of a 1-D density given (unnormalised) on a grid."""
    density = density / np.trapezoid(density, grid)
    mean = np.trapezoid(grid * density, grid)
    sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    quantiles = {q: float(np.interp(q, cdf, grid)) for q in QUANTILES}
    return {"mean": float(mean), "sd": float(sd), "quantiles": quantiles}


def exact_1d():
    theta = np.linspace(-10.0, 15.0, 50_001)
    logp = norm.logpdf(theta, 0.0, 1.5) + _bernoulli_loglik(theta[:, None] * X1, Y1)
    return {"theta": _grid_summary(theta, np.exp(logp - logp.max()))}


def exact_2d():
    alpha = np.linspace(-12.0, 12.0, 1201)
    beta = np.linspace(0.0, 14.0, 1401)
    a, b = np.meshgrid(alpha, beta, indexing="ij")
    logits = a[..., None] + b[..., None] * X2
    logp = norm.logpdf(a, 0.0, 2.0) + halfnorm.logpdf(b, scale=2.0)
    logp = logp + _bernoulli_loglik(logits, Y2)
    p = np.exp(logp - logp.max())
    return {
        "alpha": _grid_summary(alpha, np.trapezoid(p, beta, axis=1)),
        "beta": _grid_summary(beta, np.trapezoid(p, alpha, axis=0)),
    }


def run_mcmc(kernel, key, *args, num_chains=NUM_CHAINS, chain_method="vectorized",
             num_warmup=NUM_WARMUP, num_samples=NUM_SAMPLES, init_params=None):
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples,
                num_chains=num_chains, chain_method=chain_method, progress_bar=False)
    mcmc.run(key, *args, extra_fields=EXTRA, init_params=init_params)
    jax.block_until_ready(mcmc.get_samples())
    return mcmc


@pytest.fixture(scope="module")
def run_1d():
    kernel = RandomWalkMH(model_1d)  # diagonal covariance, raw uint32 keys
    mcmc = run_mcmc(kernel, random.PRNGKey(0), X1, Y1)
    return kernel, mcmc, exact_1d()


@pytest.fixture(scope="module")
def run_2d():
    kernel = RandomWalkMH(model_2d, dense_covariance=True)  # dense covariance, typed keys
    mcmc = run_mcmc(kernel, random.key(1), X2, Y2)
    return kernel, mcmc, exact_2d()


@pytest.fixture(params=["run_1d", "run_2d"])
def run(request):
    return request.getfixturevalue(request.param)


# 1. Sampler correctness -------------------------------------------------------------
def test_grid_reference_is_sane():
    # Guards the reference itself: the skew of the 1-D posterior must be visible.
    ref = exact_1d()["theta"]
    assert ref["quantiles"][0.5] < ref["mean"]
    q = ref["quantiles"]
    assert q[0.95] - q[0.5] > q[0.5] - q[0.05]


def test_posterior_matches_grid(run):
    _, mcmc, exact = run
    samples = mcmc.get_samples(group_by_chain=True)
    for site, ref in exact.items():
        draws = np.asarray(samples[site])
        assert draws.shape == (NUM_CHAINS, NUM_SAMPLES)
        assert az.ess(draws) > MIN_ESS, site
        assert az.rhat(draws) < RHAT_MAX, site
        tol = MCSE_MULT * az.mcse(draws) + GRID_FLOOR
        assert abs(draws.mean() - ref["mean"]) < tol, (site, draws.mean(), ref["mean"], tol)
        tol = MCSE_MULT * az.mcse(draws, method="sd") + GRID_FLOOR
        assert abs(draws.std() - ref["sd"]) < tol, (site, draws.std(), ref["sd"], tol)
        for q, value in ref["quantiles"].items():
            est = np.quantile(draws, q)
            tol = MCSE_MULT * az.mcse(draws, method="quantile", prob=q) + GRID_FLOOR
            assert abs(est - value) < tol, (site, q, est, value, tol)


def test_positive_site_stays_positive(run_2d):
    _, mcmc, _ = run_2d
    assert np.all(np.asarray(mcmc.get_samples()["beta"]) > 0)


# 2. Adaptation -----------------------------------------------------------------------
def test_acceptance_near_target(run):
    kernel, mcmc, _ = run
    accept = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["accept_prob"])
    assert kernel.target_accept_prob == pytest.approx(default_target_accept_prob(kernel.num_dims))
    assert abs(accept.mean() - kernel.target_accept_prob) < ACCEPT_TOL
    per_chain = accept.mean(axis=1)
    assert np.all(np.abs(per_chain - kernel.target_accept_prob) < 1.5 * ACCEPT_TOL), per_chain


def test_adaptation_frozen_after_warmup(run):
    _, mcmc, _ = run
    fields = mcmc.get_extra_fields(group_by_chain=True)
    step = np.asarray(fields["adapt_state.step_size"])
    scale = np.asarray(fields["adapt_state.scale"])
    assert step.shape == (NUM_CHAINS, NUM_SAMPLES)
    np.testing.assert_array_equal(step, np.broadcast_to(step[:, :1], step.shape))
    np.testing.assert_array_equal(scale, np.broadcast_to(scale[:, :1], scale.shape))
    # The covariance was adapted (the initial proposal scale is the identity).
    assert not np.allclose(scale[:, 0], np.ones_like(scale[:, 0]) if scale.ndim == 3
                           else np.eye(scale.shape[-1]))
    assert np.all(step > 0) and np.all(np.isfinite(step))
    # mean_accept_prob restarts at the end of warm-up: it is the mean over kept draws.
    mean_accept = np.asarray(fields["mean_accept_prob"])[:, -1]
    np.testing.assert_allclose(mean_accept, np.asarray(fields["accept_prob"]).mean(axis=1),
                               rtol=1e-9)
    np.testing.assert_array_equal(np.asarray(fields["diverging"]), False)


def test_dense_covariance_matches_target():
    # Correlated Gaussian: after warm-up L L^T * d / 2.38^2 must estimate the covariance.
    cov = np.array([[1.0, 1.8], [1.8, 4.0]])  # correlation 0.9
    prec = jnp.asarray(np.linalg.inv(cov))
    kernel = RandomWalkMH(potential_fn=lambda z: 0.5 * z @ prec @ z, dense_covariance=True)
    init = jnp.zeros((2, 2))
    mcmc = run_mcmc(kernel, random.PRNGKey(3), num_chains=2, num_samples=500, init_params=init)
    L = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["adapt_state.scale"])[:, -1]
    est = L @ np.swapaxes(L, -1, -2) * 2 / 2.38**2
    # 675 correlated warm-up draws per chain give a rough estimate: 35% relative tolerance
    np.testing.assert_allclose(est, np.broadcast_to(cov, est.shape), rtol=0.35)
    corr = est[:, 0, 1] / np.sqrt(est[:, 0, 0] * est[:, 1, 1])
    assert np.all(corr > 0.8), corr


def test_fixed_step_size_is_exact_and_samples_gaussian():
    # potential_fn + init_params path, adapt_step_size=False: the step size never changes.
    kernel = RandomWalkMH(potential_fn=lambda z: 0.5 * jnp.sum(z**2), step_size=0.7,
                          adapt_step_size=False)
    init = jnp.array([[1.0, -1.0, 0.5], [-2.0, 0.0, 2.0]])
    mcmc = run_mcmc(kernel, random.PRNGKey(4), num_chains=2, num_warmup=500,
                    num_samples=3000, init_params=init)
    fields = mcmc.get_extra_fields(group_by_chain=True)
    np.testing.assert_array_equal(np.asarray(fields["adapt_state.step_size"]), 0.7)
    samples = np.asarray(mcmc.get_samples(group_by_chain=True))
    assert samples.shape == (2, 3000, 3)
    for j in range(3):
        draws = samples[..., j]
        assert abs(draws.mean()) < MCSE_MULT * az.mcse(draws) + GRID_FLOOR
        assert abs(draws.std() - 1.0) < MCSE_MULT * az.mcse(draws, method="sd") + GRID_FLOOR
    assert kernel.target_accept_prob == pytest.approx(default_target_accept_prob(3))


def test_no_warmup_means_no_adaptation():
    kernel = RandomWalkMH(potential_fn=lambda z: 0.5 * jnp.sum(z**2), step_size=0.3)
    mcmc = run_mcmc(kernel, random.PRNGKey(5), num_chains=1, num_warmup=0, num_samples=50,
                    init_params=jnp.zeros(2))
    fields = mcmc.get_extra_fields()
    np.testing.assert_array_equal(np.asarray(fields["adapt_state.step_size"]), 0.3)
    np.testing.assert_array_equal(np.asarray(fields["adapt_state.scale"]), 1.0)


@pytest.mark.parametrize("bad_value", [jnp.inf, jnp.nan, -jnp.inf])
def test_functional_layer_rejects_nonfinite_proposals(bad_value):
    # Half-normal target written with a non-finite potential for z < 0: such proposals
    # must be rejected (accept_prob 0), so the chain never leaves z > 0 and has the
    # half-normal moments.
    def potential_fn(z):
        return jnp.where(z["x"] > 0, 0.5 * z["x"] ** 2, bad_value)

    num_warmup, num_samples = 1000, 20_000
    kernel = build_kernel(num_warmup, 0.44)
    state = mh_init({"x": jnp.asarray(1.0)}, potential_fn, random.PRNGKey(6), step_size=2.0)
    assert isinstance(state, MHState) and int(state.i) == 0

    def body(state, _):
        state = kernel(state, potential_fn)
        return state, (state.z["x"], state.accept_prob)

    state, (xs, acc) = jax.jit(lambda s: lax.scan(body, s, None, num_warmup + num_samples))(state)
    xs, acc = np.asarray(xs)[num_warmup:], np.asarray(acc)[num_warmup:]
    assert int(state.i) == num_warmup + num_samples
    assert np.all(xs > 0)
    assert np.all((acc >= 0) & (acc <= 1))  # no NaN acceptance probabilities
    assert np.any(acc == 0.0)  # some proposals landed in z < 0 and were rejected
    assert np.isfinite(float(state.adapt_state.step_size))
    draws = xs[None]
    assert abs(xs.mean() - np.sqrt(2 / np.pi)) < MCSE_MULT * az.mcse(draws) + GRID_FLOOR
    sd_tol = MCSE_MULT * az.mcse(draws, method="sd") + GRID_FLOOR
    assert abs(xs.std() - np.sqrt(1 - 2 / np.pi)) < sd_tol


# 3. Chain methods and integration -----------------------------------------------------
def test_sequential_matches_vectorized():
    # Same per-chain keys => the vmapped and the looped chains are the same chains (equal up
    # to rounding: XLA's batched and unbatched exp/log differ by ~1e-9 relative).
    runs = {}
    for method in ("sequential", "vectorized"):
        kernel = RandomWalkMH(model_2d)
        runs[method] = run_mcmc(kernel, random.PRNGKey(7), X2, Y2, num_chains=2,
                                chain_method=method, num_warmup=200, num_samples=200)
    seq = runs["sequential"].get_samples(group_by_chain=True)
    vec = runs["vectorized"].get_samples(group_by_chain=True)
    for site in ("alpha", "beta"):
        assert seq[site].shape == vec[site].shape == (2, 200)
        np.testing.assert_allclose(np.asarray(seq[site]), np.asarray(vec[site]), rtol=1e-6)


def test_arviz_and_print_summary(run_2d, capsys):
    kernel, mcmc, _ = run_2d
    idata = az.from_numpyro(mcmc, log_likelihood=False)
    assert idata.posterior["alpha"].shape == (NUM_CHAINS, NUM_SAMPLES)
    assert "acceptance_rate" in idata.sample_stats and "lp" in idata.sample_stats
    summary = az.summary(idata, var_names=["alpha", "beta"])
    assert "r_hat" in summary.columns
    assert (summary["r_hat"] < RHAT_MAX).all()
    mcmc.print_summary()
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and "r_hat" in out
    assert "acc. prob=" in kernel.get_diagnostics_str(jax.tree.map(lambda x: x[0], mcmc.last_state))


# 4. Invalid arguments -------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(step_size=0.0), "step_size"),
        (dict(step_size=-0.1), "step_size"),
        (dict(step_size=float("nan")), "step_size"),
        (dict(step_size=float("inf")), "step_size"),
        (dict(target_accept_prob=0.0), "target_accept_prob"),
        (dict(target_accept_prob=1.0), "target_accept_prob"),
        (dict(target_accept_prob=1.5), "target_accept_prob"),
        (dict(target_accept_prob=-0.2), "target_accept_prob"),
        (dict(model=None), "potential_fn"),  # neither model nor potential_fn
        (dict(potential_fn=lambda z: 0.0), "potential_fn"),  # both
    ],
)
def test_invalid_arguments_raise(kwargs, name):
    kwargs = {"model": model_1d, **kwargs}
    with pytest.raises(ValueError, match=name):
        RandomWalkMH(**kwargs)


def test_potential_fn_requires_init_params():
    mcmc = MCMC(RandomWalkMH(potential_fn=lambda z: 0.5 * jnp.sum(z**2)), num_warmup=10,
                num_samples=10, progress_bar=False)
    with pytest.raises(ValueError, match="init_params"):
        mcmc.run(random.PRNGKey(0))


def test_functional_argument_checks():
    with pytest.raises(ValueError, match="step_size"):
        mh_init(jnp.zeros(2), lambda z: 0.0, random.PRNGKey(0), step_size=0.0)
    with pytest.raises(ValueError, match="target_accept_prob"):
        build_kernel(100, 1.2)
    with pytest.raises(ValueError, match="num_warmup"):
        build_kernel(-1, 0.3)
    with pytest.raises(ValueError, match="window"):
        covariance_window_bounds(1000, window=(0.6, 0.2))


# 5. Rules ---------------------------------------------------------------------------------
def test_default_target_accept_prob():
    assert default_target_accept_prob(1) == pytest.approx(0.44)
    assert default_target_accept_prob(5) == pytest.approx(0.234)
    assert default_target_accept_prob(1000) == pytest.approx(0.234)
    values = [default_target_accept_prob(d) for d in range(1, 6)]
    assert all(a > b for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="dim"):
        default_target_accept_prob(0)


def test_covariance_window_bounds():
    assert covariance_window_bounds(MIN_WARMUP_FOR_COVARIANCE - 1) == (0, 0)
    assert covariance_window_bounds(1000, adapt_covariance=False) == (0, 0)
    for w in (MIN_WARMUP_FOR_COVARIANCE, 37, 1000, 5001):
        start, end = covariance_window_bounds(w)
        assert 0 <= start and end - start >= 2 and end < w


# 3. Sphere-native (polar) proposals and the dense "auto" default ----------------------
VMF_KAPPA = 3.0


def test_polar_proposal_samples_direction_and_length():
    # z = (w (3,), b): density exp(-|z|^2/2 + κ μ·w/|w|). The direction of w is von
    # Mises–Fisher(μ, κ), E[μ·u] = coth κ − 1/κ; |w| ~ χ_3 (E|w|^2 = 3); b ~ N(0, 1).
    mu = jnp.array([1.0, 0.0, 0.0])

    def potential_fn(z):
        w = z["w"]
        return 0.5 * jnp.sum(w**2) - VMF_KAPPA * mu @ w / jnp.linalg.norm(w) + 0.5 * z["b"] ** 2

    kernel = RandomWalkMH(potential_fn=potential_fn, sphere_sites=("w", "absent"),
                          dense_covariance="auto")
    init = {"w": jnp.ones((NUM_CHAINS, 3)), "b": jnp.zeros(NUM_CHAINS)}
    mcmc = run_mcmc(kernel, random.PRNGKey(8), init_params=init, num_warmup=1000,
                    num_samples=5000)
    assert kernel.sphere_blocks == ((1, 3),) and kernel.dense_covariance  # b sorts first
    w = np.asarray(mcmc.get_samples(group_by_chain=True)["w"])
    cos = w[..., 0] / np.linalg.norm(w, axis=-1)
    sq = np.sum(w**2, axis=-1)
    assert float(np.max(az.rhat(cos))) < RHAT_MAX and az.ess(cos) > MIN_ESS
    exact = 1.0 / np.tanh(VMF_KAPPA) - 1.0 / VMF_KAPPA
    assert abs(cos.mean() - exact) < MCSE_MULT * az.mcse(cos) + GRID_FLOOR
    assert abs(sq.mean() - 3.0) < MCSE_MULT * az.mcse(sq) + GRID_FLOOR
    scale = np.asarray(mcmc.last_state.adapt_state.sphere_scale)
    assert scale.shape == (NUM_CHAINS, 1, 2) and np.all(scale > 0) and np.all(scale != 1.0)


def test_polar_hastings_term_is_the_length_jacobian():
    # With U = 0 the acceptance is exactly min(1, (ρ'/ρ)^F): the Hastings correction of a
    # log-scale step of the length in F = 4 dimensions (the direction step is symmetric).
    from bayesirl.inference.proposals import polar_proposal
    from bayesirl.inference.random_walk import mh_transition

    z = {"w": jnp.array([0.3, -1.2, 2.0, 0.5])}
    flat = z["w"]
    for seed in range(5):
        key = random.PRNGKey(seed)
        _, _, accept, _ = mh_transition(key, z, 0.0, lambda _: 0.0, 0.5, jnp.ones(4),
                                        ((0, 4),), jnp.ones((1, 2)))
        key_proposal = random.split(key)[0]
        prop, log_h = polar_proposal(random.fold_in(key_proposal, 1), flat, flat, ((0, 4),),
                                     0.5, jnp.ones((1, 2)))
        ratio = float(jnp.linalg.norm(prop) / jnp.linalg.norm(flat))
        np.testing.assert_allclose(float(log_h), 4 * np.log(ratio), rtol=1e-10)
        np.testing.assert_allclose(float(accept), min(1.0, ratio**4), rtol=1e-10)


def test_sphere_and_dense_arguments():
    from bayesirl.inference.proposals import check_sphere_blocks
    from bayesirl.inference.random_walk_kernel import DENSE_AUTO_MAX_DIM, sphere_blocks_of

    z = {"a": jnp.zeros(2), "raw": jnp.zeros((3,)), "c": jnp.zeros(())}
    assert sphere_blocks_of(z, ("raw",)) == ((3, 3),)
    assert sphere_blocks_of(jnp.zeros(3), ("raw",)) == ()
    with pytest.raises(ValueError, match="sphere_blocks"):
        check_sphere_blocks(((0, 3), (2, 2)), 5)
    with pytest.raises(ValueError, match="dense_covariance"):
        RandomWalkMH(model_1d, dense_covariance="yes")
    big = RandomWalkMH(potential_fn=lambda z: 0.5 * jnp.sum(z**2), dense_covariance="auto")
    big.init(random.PRNGKey(0), 10, init_params=jnp.zeros(DENSE_AUTO_MAX_DIM + 1))
    assert not big.dense_covariance
