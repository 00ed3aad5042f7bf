"""α-VaR bounds (Brown & Niekum 2018), CVaR, demonstration sufficiency and the worst-case
feature-count bound: exact references (scipy's binomial, numpy linear algebra) and a
statistical coverage test on a real MDP."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from bayesirl.analysis.bounds import (
    conditional_value_at_risk,
    demonstration_sufficiency,
    feature_count_bound,
    minimum_samples,
    order_statistic_index,
    value_at_risk_bound,
)
from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.data.mdp import transition_matrix
from bayesirl.analysis.posterior import policy_losses
from bayesirl.solvers import value_iteration


@pytest.mark.parametrize("n", [1, 2, 29, 59, 60, 100, 299, 495, 1000, 4000])
@pytest.mark.parametrize("alpha", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("delta", [0.01, 0.05, 0.2])
def test_order_statistic_is_the_smallest_k_by_scipy(n, alpha, delta):
    if alpha ** n > delta:  # no order statistic exists
        with pytest.raises(ValueError, match="needs at least"):
            order_statistic_index(n, alpha, delta)
        return
    k = order_statistic_index(n, alpha, delta)
    assert 1 <= k <= n
    assert scipy.stats.binom.cdf(k - 1, n, alpha) >= 1 - delta
    if k > 1:
        assert scipy.stats.binom.cdf(k - 2, n, alpha) < 1 - delta


def test_exact_order_statistic_beside_the_normal_approximation():
    # n = 495 (10,000 steps, burn-in 100, thinning 20): the paper's normal approximation
    # ⌈nα + z√(nα(1−α)) − 0.5⌉ picks one order statistic too few.
    n, alpha, delta = 495, 0.95, 0.05
    approx = math.ceil(n * alpha + scipy.stats.norm.ppf(1 - delta)
                       * math.sqrt(n * alpha * (1 - alpha)) - 0.5)
    assert order_statistic_index(n, alpha, delta) == approx + 1


@pytest.mark.parametrize("alpha, delta", [(0.9, 0.05), (0.95, 0.05), (0.99, 0.05), (0.5, 0.5)])
def test_minimum_samples(alpha, delta):
    n = minimum_samples(alpha, delta)
    assert alpha ** n <= delta < alpha ** (n - 1) if n > 1 else alpha <= delta
    assert n == math.ceil(math.log(delta) / math.log(alpha))


def test_too_few_samples_is_a_clear_error():
    with pytest.raises(ValueError, match=r"needs at least 299 samples.*got 100"):
        value_at_risk_bound(np.linspace(0, 1, 100), alpha=0.99, delta=0.05)


def test_bound_is_the_kth_smallest_draw():
    rng = np.random.default_rng(0)
    z = rng.exponential(size=500)
    b = value_at_risk_bound(z, 0.95, 0.05)
    assert b.bound == np.sort(z)[b.order_index - 1]
    assert (b.num_samples, b.num_draws, b.effective_sample_size) == (500, 500, None)
    # (C, D) input is flattened the same way
    assert value_at_risk_bound(z.reshape(2, 250), 0.95, 0.05).bound == b.bound


def test_ess_option_thins_autocorrelated_chains():
    rng = np.random.default_rng(1)
    chains = np.zeros((2, 2000))
    for t in range(1, 2000):  # AR(1) with ρ = 0.95: ESS ≈ M (1 − ρ) / (1 + ρ)
        chains[:, t] = 0.95 * chains[:, t - 1] + rng.normal(size=2)
    raw = value_at_risk_bound(chains, 0.9, 0.05)
    thin = value_at_risk_bound(chains, 0.9, 0.05, sample_size="ess")
    assert thin.effective_sample_size < 0.2 * chains.size
    assert thin.num_samples <= thin.effective_sample_size + 2  # one stride per chain
    assert thin.num_samples < raw.num_samples == chains.size
    # with too little information the ESS version refuses where the raw one does not
    short = np.zeros((2, 150))
    for t in range(1, 150):  # ρ = 0.99: a few dozen effective draws
        short[:, t] = 0.99 * short[:, t - 1] + rng.normal(size=2)
    value_at_risk_bound(short, 0.95, 0.05)
    with pytest.raises(ValueError, match="effective sample size"):
        value_at_risk_bound(short, 0.95, 0.05, sample_size="ess")


def test_cvar():
    z = np.arange(1, 101, dtype=float)
    assert conditional_value_at_risk(z, 0.9) == pytest.approx(np.mean(z[90:]))
    # a boundary draw counts by its overlap with the upper tail
    assert conditional_value_at_risk(z, 0.905) == pytest.approx((0.5 * 91 + z[91:].sum()) / 9.5)
    rng = np.random.default_rng(2)
    w = rng.normal(size=1000)
    assert conditional_value_at_risk(w, 0.95) >= np.quantile(w, 0.95)


def test_sufficiency_verdict():
    nevd = np.concatenate([np.zeros(400), np.full(100, 0.2)])  # 80 % of draws: optimal
    yes = demonstration_sufficiency(nevd, epsilon=0.1, alpha=0.75, delta=0.05)
    assert yes.sufficient and yes.bound == 0.0 and yes.epsilon == 0.1
    assert (yes.alpha, yes.delta, yes.num_samples, yes.quantity) == (0.75, 0.05, 500, "nEVD")
    no = demonstration_sufficiency(nevd, epsilon=0.1, alpha=0.95, delta=0.05)
    assert not no.sufficient and no.bound == 0.2


INVALID = [
    (dict(losses=[1.0] * 100, alpha=1.0), "alpha"),
    (dict(losses=[1.0] * 100, alpha=0.0), "alpha"),
    (dict(losses=[1.0] * 100, alpha="high"), "alpha"),
    (dict(losses=[1.0] * 100, delta=0.0), "delta"),
    (dict(losses=[1.0] * 100, delta=1.5), "delta"),
    (dict(losses=[1.0] * 99 + [float("nan")]), "losses"),
    (dict(losses=[]), "losses"),
    (dict(losses=np.ones((2, 2, 25))), "losses"),
    (dict(losses=[1.0] * 100, sample_size="all"), "sample_size"),
]


@pytest.mark.parametrize("kwargs, name", INVALID)
def test_invalid_arguments_name_the_argument(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        value_at_risk_bound(**kwargs)
    with pytest.raises(ValueError, match="epsilon"):
        demonstration_sufficiency(np.zeros(100), epsilon=0.0)


# ---------------------------------------------------------------------------------------------
# Coverage on an MDP: the truth is itself a draw from the "posterior"
# ---------------------------------------------------------------------------------------------

#: Trials of the coverage test and the number of posterior draws per trial.
COVERAGE_TRIALS, COVERAGE_DRAWS = 1000, 60
ALPHA, DELTA = 0.95, 0.05


@pytest.fixture(scope="module")
def coverage_losses():
    """EVDs of one fixed policy under 1000 × (60 + 1) + 20,000 i.i.d. weight draws."""
    env = gridworld(3, 3, num_features=3, slip_probability=0.2, seed=3)
    mdp = env.mdp
    mean = jnp.array([1.0, -0.5, 0.2])
    policy = value_iteration(mdp, mdp.features @ mean).policy
    key = jax.random.PRNGKey(7)
    total = COVERAGE_TRIALS * (COVERAGE_DRAWS + 1) + 20_000
    weights = mean + 0.8 * jax.random.normal(key, (total, 3))
    evd = np.asarray(policy_losses(mdp, weights, policy).evd)
    trials = evd[: COVERAGE_TRIALS * (COVERAGE_DRAWS + 1)].reshape(COVERAGE_TRIALS, -1)
    return trials, evd[COVERAGE_TRIALS * (COVERAGE_DRAWS + 1):]


def test_bound_covers_the_true_evd_at_least_at_the_nominal_rate(coverage_losses):
    """The truth is exchangeable with the n draws, so P(true EVD <= Z_(k)) >= k / (n + 1)
    (= 60/61 here) >= α. Count ~ Binomial(1000, >= 0.984): mean >= 984, sd ~4; we require
    >= α·1000 = 950, > 8 sd below — a correct implementation fails with probability < 1e-12.
    (Measured with this seed: 0.974 — ties at EVD = 0 and the MC noise; the naive index
    k = ⌈nα⌉ = 57 covers 0.914 and fails.)
    """
    trials, _ = coverage_losses
    assert np.mean(trials[:, -1] == 0.0) < 0.9  # a real loss distribution, not all zeros
    covered = sum(value_at_risk_bound(t[:-1], ALPHA, DELTA).bound >= t[-1] for t in trials)
    assert covered >= ALPHA * COVERAGE_TRIALS


def test_bound_exceeds_the_alpha_quantile_with_confidence(coverage_losses):
    """The guarantee itself: P(Z_(k) >= q_α) >= 1 − δ (here 1 − 0.95^60 = 0.954). Over 1000
    trials the count ~ Binomial(1000, >= 0.954), sd ~6.6; we allow 4.5 sd below 1 − δ
    (>= 920), so a correct implementation fails with probability < 1e-5 (measured: 0.962),
    while k = ⌈nα⌉ (measured: 0.367) fails surely. q_α comes from 20,000 further draws."""
    trials, reference = coverage_losses
    q = np.quantile(reference, ALPHA)
    assert q > 0
    held = sum(value_at_risk_bound(t[:-1], ALPHA, DELTA).bound >= q for t in trials)
    assert held >= (1 - DELTA) * COVERAGE_TRIALS - 4.5 * math.sqrt(
        COVERAGE_TRIALS * DELTA * (1 - DELTA))


# ---------------------------------------------------------------------------------------------
# Worst-case feature-count bound against a numpy reference
# ---------------------------------------------------------------------------------------------


def test_feature_count_bound_matches_numpy():
    env = gridworld(3, 4, num_features=3, slip_probability=0.2, seed=5, terminal_states=[11])
    mdp = env.mdp
    demos = make_demonstrations([([0, 1, 2, 3, 7, 11], [3, 3, 3, 1, 1, 0]),
                                 ([4, 5, 6, 10, 11], [3, 3, 1, 3, 0]),
                                 ([8, 9, 10, 11], [3, 3, 3, 0])], 12, 4)
    rng = np.random.default_rng(0)
    policy = rng.dirichlet(np.ones(4), size=12)
    got = float(feature_count_bound(mdp, demos, policy))

    P = np.array(transition_matrix(mdp))
    P[np.asarray(mdp.terminal)] = 0.0  # no continuation after a terminal state
    gamma, phi = float(mdp.discount), np.asarray(mdp.features)
    p0 = np.asarray(mdp.initial_distribution)
    P_pi = np.einsum("sa,sat->st", policy, P)
    occupancy = np.linalg.solve(np.eye(12) - gamma * P_pi.T, p0)
    mu_pi = occupancy @ phi
    states, mask = np.asarray(demos.states), np.asarray(demos.mask)
    counts = [sum(gamma ** t * phi[s] for t, s in enumerate(states[n][mask[n]]))
              for n in range(states.shape[0])]
    want = np.max(np.abs(np.mean(counts, axis=0) - mu_pi))
    assert got == pytest.approx(want, rel=1e-9)
    with pytest.raises(ValueError, match="policy"):
        feature_count_bound(mdp, demos, policy[:5])


@pytest.mark.parametrize("demos, policy, error, match", [
    ([([0, 1], [0])], None, TypeError, "demos: expected Demonstrations"),
    (None, "nan", ValueError, "policy: expected action probabilities"),
    (None, "sum-2", ValueError, "policy: expected action probabilities"),
], ids=["plain-list", "nan-policy", "rows-sum-to-2"])
def test_feature_count_bound_refuses_bad_inputs(demos, policy, error, match):
    mdp = gridworld(2, 2, num_features=2, seed=0).mdp
    demos = make_demonstrations([([0, 1], [1])]) if demos is None else demos
    pi = np.full((mdp.num_states, mdp.num_actions), 1 / mdp.num_actions)
    if policy == "nan":
        pi[0, 0] = np.nan
    elif policy == "sum-2":
        pi = 2 * pi
    with pytest.raises(error, match="^" + match):
        feature_count_bound(mdp, demos, pi)
