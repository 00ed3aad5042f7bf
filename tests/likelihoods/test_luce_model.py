"""The ``choice`` source: choices and rankings among options, one reward or per-person weights.

Checks against numpy loops (log-likelihoods, the per-person construction), NumPyro's own
log density of the model, and a posterior integrated on a grid (one feature).
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer.util import log_density

from bayesirl.data.choices import make_choice_sets, make_rankings
from bayesirl.inference.fit import fit_reward
from bayesirl.likelihoods.luce import (ChoiceEvidence, Hierarchy, choice_evidence,
                                       new_person_weights, person_weights,
                                       pointwise_choice_log_likelihood)
from bayesirl.likelihoods.registry import Evidence
from bayesirl.models import reward_model

#: Float64 sums of a few terms agree to this.
EXACT = 1e-10


def _data(seed=0, N=12, K=4, F=3, persons=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, K, F))
    avail = np.ones((N, K), bool)
    avail[::3, K - 1] = False
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    person = np.arange(N) % persons
    return x, avail, chosen, person


def _numpy_log_lik(w, x, avail, ranked, person):
    """Plackett–Luce by a loop: a product of choices of the best remaining option."""
    out = []
    for n, order in enumerate(ranked):
        wn = w if w.ndim == 1 else w[person[n]]
        u = x[n] @ wn
        left = set(np.flatnonzero(avail[n]).tolist())
        total = 0.0
        for k in order:
            total += u[k] - np.log(sum(np.exp(u[j]) for j in left))
            left.remove(k)
        out.append(total)
    return np.array(out)


def test_choices_are_rankings_of_length_one_and_match_a_loop():
    x, avail, chosen, person = _data()
    data = choice_evidence(make_choice_sets(x, chosen, avail, person))
    assert np.array_equal(np.asarray(data.order)[:, 0], chosen)
    assert np.all(np.asarray(data.length) == 1)
    assert np.array_equal(np.sort(np.asarray(data.order), axis=1),
                          np.broadcast_to(np.arange(4), (12, 4)))
    assert np.array_equal(np.asarray(data.person_counts), [4, 4, 4])
    w = np.array([0.5, -1.0, 2.0])
    got = np.asarray(pointwise_choice_log_likelihood(jnp.asarray(w), data))
    want = _numpy_log_lik(w, x, avail, [[k] for k in chosen], person)
    np.testing.assert_allclose(got, want, atol=EXACT)
    # β scales the utilities
    got2 = np.asarray(pointwise_choice_log_likelihood(jnp.asarray(w), data, 2.0))
    np.testing.assert_allclose(got2, _numpy_log_lik(2 * w, x, avail, [[k] for k in chosen],
                                                     person), atol=EXACT)


def test_rankings_and_per_person_weights_match_a_loop():
    x, avail, _, person = _data(1)
    rng = np.random.default_rng(5)
    ranked = []
    for n in range(x.shape[0]):
        order = rng.permutation(np.flatnonzero(avail[n])).tolist()
        ranked.append(order[:1 + n % len(order)])  # top-1 … full rankings
    data = choice_evidence(make_rankings(x, ranked, avail, person))
    W = rng.normal(size=(3, 3))
    got = np.asarray(pointwise_choice_log_likelihood(jnp.asarray(W), data))
    np.testing.assert_allclose(got, _numpy_log_lik(W, x, avail, ranked, person), atol=EXACT)


#: Two float64 evaluations of the same log-softmax (different summation orders) agree to this.
SAME_PATH = 1e-12


def _random_sets(seed, N=60, K=5, F=3, persons=4):
    """Choice sets of 2 … K available options (random masks) and a chosen available one."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, K, F))
    avail = np.zeros((N, K), bool)
    for n in range(N):
        avail[n, rng.choice(K, size=rng.integers(2, K + 1), replace=False)] = True
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    return x, avail, chosen, rng.integers(0, persons, N)


def test_choices_take_the_categorical_path_and_rankings_plackett_luce():
    x, avail, chosen, person = _random_sets(0)
    choices = choice_evidence(make_choice_sets(x, chosen, avail, person))
    assert choices.single_choices and np.asarray(choices.positions).tolist() == [0]
    ranked = [[int(k)] for k in chosen]
    ranked[3].append(int(np.flatnonzero(avail[3] & (np.arange(5) != chosen[3]))[0]))  # top-2
    rankings = choice_evidence(make_rankings(x, ranked, avail, person))
    assert not rankings.single_choices and rankings.positions.shape == (2,)
    # rankings of length 1 given as Rankings are choices too
    assert choice_evidence(make_rankings(x, [[k] for k in chosen], avail, person)).single_choices


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_categorical_path_equals_plackett_luce_and_a_loop(seed):
    """Random availability masks, shared and per-person weights, β != 1: the categorical path
    gives the Plackett–Luce path's values and gradients, and the numpy loop's values."""
    x, avail, chosen, person = _random_sets(seed)
    fast = choice_evidence(make_choice_sets(x, chosen, avail, person))
    slow = fast._replace(positions=None)          # L unknown: the Plackett–Luce path
    assert fast.single_choices and not slow.single_choices
    rng = np.random.default_rng(10 + seed)
    for w in (rng.normal(size=3) * 3, rng.normal(size=(4, 3)) * 3):
        w = jnp.asarray(w)
        got = np.asarray(pointwise_choice_log_likelihood(w, fast, 1.7))
        np.testing.assert_allclose(got, np.asarray(pointwise_choice_log_likelihood(w, slow, 1.7)),
                                   rtol=0, atol=SAME_PATH)
        want = _numpy_log_lik(1.7 * np.asarray(w), x, avail, [[k] for k in chosen], person)
        np.testing.assert_allclose(got, want, rtol=0, atol=SAME_PATH)

        def total(v, data):
            return jnp.sum(pointwise_choice_log_likelihood(v, data, 1.7))

        g_fast, g_slow = jax.grad(total)(w, fast), jax.grad(total)(w, slow)
        assert np.all(np.isfinite(np.asarray(g_fast)))
        np.testing.assert_allclose(np.asarray(g_fast), np.asarray(g_slow), rtol=0,
                                   atol=SAME_PATH)


def test_model_log_density_is_the_same_on_both_paths():
    """The model's observed site scores choices by the categorical path; NumPyro's log density
    (and its gradient) equal those of the Plackett–Luce path, with a hierarchy."""
    x, avail, chosen, person = _random_sets(3)
    fast = choice_evidence(make_choice_sets(x, chosen, avail, person))
    kwargs = dict(prior="gaussian", betas={"choice": 1.3}, hierarchy=Hierarchy((0, 2)))
    trace = handlers.trace(handlers.seed(reward_model, 0)).get_trace(Evidence(choice=fast), None,
                                                                     **kwargs)
    params = {k: v["value"] for k, v in trace.items()
              if v["type"] == "sample" and not v["is_observed"]}

    def density(p, data):
        return log_density(reward_model, (Evidence(choice=data), None), kwargs, p)[0]

    slow = fast._replace(positions=None)
    assert abs(float(density(params, fast)) - float(density(params, slow))) < SAME_PATH * 100
    g_fast, g_slow = jax.grad(density)(params, fast), jax.grad(density)(params, slow)
    for k in params:
        np.testing.assert_allclose(np.asarray(g_fast[k]), np.asarray(g_slow[k]), rtol=0,
                                   atol=SAME_PATH * 100)


def test_choice_evidence_built_without_positions_still_works():
    """Six fields, as before ``positions``: the Plackett–Luce path, the same values."""
    x, avail, chosen, person = _random_sets(4)
    data = choice_evidence(make_choice_sets(x, chosen, avail, person))
    old = ChoiceEvidence(*data[:6])
    assert old.positions is None and not old.single_choices
    w = jnp.array([0.3, -1.2, 0.8])
    np.testing.assert_allclose(np.asarray(pointwise_choice_log_likelihood(w, old)),
                               np.asarray(pointwise_choice_log_likelihood(w, data)), rtol=0,
                               atol=SAME_PATH)


def test_full_rankings_of_three_options_are_a_distribution():
    x = np.random.default_rng(2).normal(size=(6, 3, 2))
    w = jnp.array([0.7, -0.4])
    orders = [list(p) for p in itertools.permutations(range(3))]
    total = 0.0
    for order in orders:
        data = choice_evidence(make_rankings(x[:1], [order]))
        total += float(jnp.exp(pointwise_choice_log_likelihood(w, data))[0])
    assert abs(total - 1.0) < EXACT


def test_person_weights_match_a_numpy_construction():
    rng = np.random.default_rng(3)
    F, I = 4, 5
    h = Hierarchy((1, 3))
    w_bar, tau, z = rng.normal(size=F), np.abs(rng.normal(size=2)), rng.normal(size=(I, 2))
    chol = np.linalg.cholesky(np.array([[1.0, 0.3], [0.3, 1.0]]))
    got = np.asarray(person_weights(jnp.asarray(w_bar), jnp.asarray(tau), jnp.asarray(chol),
                                    jnp.asarray(z), h))
    want = np.tile(w_bar, (I, 1))
    want[:, [1, 3]] += z @ (np.diag(tau) @ chol).T
    np.testing.assert_allclose(got, want, atol=EXACT)
    one = np.asarray(person_weights(jnp.asarray(w_bar), jnp.asarray(tau[:1]), None,
                                    jnp.asarray(z[:, :1]), Hierarchy((2,))))
    want = np.tile(w_bar, (I, 1))
    want[:, 2] += tau[0] * z[:, 0]
    np.testing.assert_allclose(one, want, atol=EXACT)


def test_new_person_weights_have_the_population_mean_and_covariance():
    w_bar, tau = jnp.array([1.0, -2.0, 0.5]), jnp.array([0.5, 2.0])
    corr = np.array([[1.0, 0.6], [0.6, 1.0]])
    chol = jnp.asarray(np.linalg.cholesky(corr))
    h = Hierarchy((0, 2))
    keys = jax.random.split(jax.random.PRNGKey(0), 40_000)
    draws = np.asarray(jax.vmap(lambda k: new_person_weights(k, w_bar, tau, chol, h))(keys))
    assert np.all(draws[:, 1] == -2.0)  # a shared weight does not vary
    cov = np.diag(tau) @ corr @ np.diag(tau)
    n = draws.shape[0]
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(draws[:, [0, 2]].mean(0) - np.asarray(w_bar)[[0, 2]]) < 5 * se_mean)
    se_cov = np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / n)  # Wishart sd
    assert np.all(np.abs(np.cov(draws[:, [0, 2]].T) - cov) < 5 * se_cov)


@pytest.mark.parametrize("hierarchy", [None, Hierarchy((0, 2), 0.7, 3.0), Hierarchy((1,))])
def test_model_log_density_is_prior_plus_pointwise_likelihood(hierarchy):
    """NumPyro's log density of the model at a point = the priors + the pointwise sum."""
    import numpyro.distributions as dist

    x, avail, chosen, person = _data(4)
    data = choice_evidence(make_choice_sets(x, chosen, avail, person))
    ev = Evidence(choice=data)
    kwargs = dict(prior="gaussian", prior_scale=2.0, betas={"choice": 1.5}, hierarchy=hierarchy)
    trace = handlers.trace(handlers.seed(reward_model, 0)).get_trace(ev, None, **kwargs)
    params = {k: v["value"] for k, v in trace.items()
              if v["type"] == "sample" and not v["is_observed"]}
    got, _ = log_density(reward_model, (ev, None), kwargs, params)
    w = np.asarray(params["reward_weights"])
    want = float(dist.Normal(0, 2.0).log_prob(w).sum())
    W = w
    if hierarchy is not None:
        tau, z = params["person_scales"], params["person_z"]
        chol = params.get("person_correlation_cholesky")
        want += float(dist.HalfNormal(hierarchy.scale).log_prob(tau).sum())
        want += float(dist.Normal(0, 1).log_prob(z).sum())
        if chol is not None:
            want += float(dist.LKJCholesky(2, hierarchy.concentration).log_prob(chol))
        W = np.asarray(person_weights(jnp.asarray(w), tau, chol, z, hierarchy))
    want += float(np.sum(_numpy_log_lik(1.5 * W, x, avail, [[k] for k in chosen], person)))
    assert abs(float(got) - want) < 1e-8


def test_hierarchy_checks_its_arguments():
    with pytest.raises(ValueError, match="hierarchy.features"):
        Hierarchy.checked([0, 0], 3)
    with pytest.raises(ValueError, match="hierarchy.features"):
        Hierarchy.checked([3], 3)
    with pytest.raises(ValueError, match="hierarchy.features"):
        Hierarchy.checked([], 3)
    with pytest.raises(ValueError, match="hierarchy.scale"):
        Hierarchy.checked([0], 3, scale=0.0)
    with pytest.raises(ValueError, match="hierarchy.concentration"):
        Hierarchy.checked([0], 3, concentration=float("nan"))
    assert Hierarchy.checked([2, 0], 3) == Hierarchy((0, 2), 1.0, 2.0)
    with pytest.raises(TypeError, match="choices"):
        choice_evidence(np.zeros((2, 2, 2)))


def test_hierarchy_needs_choice_evidence():
    from bayesirl.data.preferences import make_preferences

    features = jnp.asarray(np.random.default_rng(0).normal(size=(3, 2)))
    ev = Evidence(preference_features=features,
                  preferences=make_preferences(3, [(0, 1, 0), (1, 2, 0)]))
    with pytest.raises(ValueError, match="hierarchy: per-person weights need choice evidence"):
        fit_reward(ev, None, method="map", hierarchy=Hierarchy((0,)))


def test_one_feature_posterior_matches_quadrature():
    """NUTS on a one-feature multinomial logit: posterior mean and sd of w equal the grid
    integral of prior × likelihood within Monte Carlo error."""
    rng = np.random.default_rng(7)
    N, K = 40, 3
    x = rng.normal(size=(N, K, 1))
    u = 1.2 * x[..., 0]
    p = np.exp(u) / np.exp(u).sum(1, keepdims=True)
    chosen = np.array([rng.choice(K, p=q) for q in p])
    data = choice_evidence(make_choice_sets(x, chosen))
    grid = np.linspace(-4, 6, 4001)
    log_lik = np.array([float(jnp.sum(pointwise_choice_log_likelihood(jnp.array([g]), data)))
                        for g in grid[::10]])
    log_post = np.interp(grid, grid[::10], log_lik) - 0.5 * (grid / 2.0) ** 2
    dens = np.exp(log_post - log_post.max())
    dens /= np.trapezoid(dens, grid)
    mean = np.trapezoid(grid * dens, grid)
    sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * dens, grid))
    idata = fit_reward(Evidence(choice=data), None, method="nuts", prior_scale=2.0,
                       num_chains=2, num_samples=600, num_warmup=200, seed=1,
                       predictive_groups=False, warn=False)
    w = np.asarray(idata.posterior["reward_weights"]).reshape(-1)
    ess = 600.0  # of 2 × 600 NUTS draws, nearly independent here: a conservative count
    assert abs(w.mean() - mean) < 5 * sd / np.sqrt(ess), (w.mean(), mean)
    assert abs(w.std() / sd - 1) < 0.1, (w.std(), sd)
