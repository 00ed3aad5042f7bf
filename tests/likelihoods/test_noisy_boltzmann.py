"""The ε-contaminated Boltzmann demonstrator: exact references (numpy loop, ε = 0 and ε = 1,
quadrature of the 1-D posterior of ε), bad input, and the source inside fits and checks."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro import handlers
from numpyro.infer.util import log_density

from bayesirl.data.demos import make_demonstrations
from bayesirl.data.mdp import make_mdp
from bayesirl.inference.fit import fit, fit_evidence
from bayesirl.inference.predictive import simulate_demonstrations
from bayesirl.likelihoods import (
    BoltzmannPolicy,
    NoisyBoltzmannPolicy,
    boltzmann_log_likelihood,
    boltzmann_q_values,
    demonstration_pairs,
    noisy_action_log_probabilities,
    noisy_boltzmann_log_likelihood,
    noisy_boltzmann_log_probabilities,
    noisy_boltzmann_policy,
)
from bayesirl.likelihoods.noisy_boltzmann import check_epsilon, default_epsilon_prior
from bayesirl.models import Evidence, reward_model

#: float64 agreement of two formulas of the same log-likelihood (rounding only).
RTOL_EXACT = 1e-12
#: Posterior mean / quantiles of ε from 2 × 1000 NUTS draws against quadrature: the Monte
#: Carlo error of the mean (sd ≈ 0.1, ESS ≈ 10^3) is ≈ 0.003, of the 10/90 % quantiles ≈ 0.005.
POSTERIOR_ATOL = 0.02

# One decision state 0 with two actions: action 0 -> state 1 (terminal), action 1 -> state 2
# (terminal); identity features, γ = 0.5.
P = np.zeros((3, 2, 3))
P[0, 0, 1] = P[0, 1, 2] = 1.0
P[1, :, 1] = P[2, :, 2] = 1.0
MDP = make_mdp(P, discount=0.5, terminal_states=[1, 2], initial_distribution=[1.0, 0, 0])
REWARD = jnp.asarray([0.0, 2.0, -1.0])
BETA = 2.0
#: 30 demonstrations of action 0 (the better one), 10 of action 1.
DEMOS = make_demonstrations([([0, 1], [0, 0])] * 30 + [([0, 2], [1, 0])] * 10)
PAIRS = demonstration_pairs(MDP, DEMOS)


def _numpy_log_likelihood(logits, states, actions, epsilon):
    total = 0.0
    for s, a in zip(np.asarray(states), np.asarray(actions)):
        z = np.asarray(logits[s], float)
        soft = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        total += np.log((1 - epsilon) * soft[a] + epsilon / z.size)
    return total


@pytest.mark.parametrize("epsilon", [0.0, 0.05, 0.3, 0.9, 1.0])
def test_log_likelihood_matches_numpy_loop(epsilon):
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(6, 4)) * 3.0)
    states, actions = rng.integers(6, size=25), rng.integers(4, size=25)
    pairs = PAIRS._replace(states=jnp.asarray(states), actions=jnp.asarray(actions),
                           times=jnp.zeros(25, jnp.int32))
    got = noisy_boltzmann_log_likelihood(logits, pairs, epsilon)
    np.testing.assert_allclose(got, _numpy_log_likelihood(logits, states, actions, epsilon),
                               rtol=RTOL_EXACT)
    np.testing.assert_allclose(jnp.exp(noisy_boltzmann_log_probabilities(logits, epsilon))
                               .sum(-1), 1.0, rtol=RTOL_EXACT)
    np.testing.assert_allclose(noisy_boltzmann_policy(logits, epsilon).sum(-1), 1.0,
                               rtol=RTOL_EXACT)


def test_epsilon_zero_is_boltzmann_exactly_and_one_is_uniform():
    logits = boltzmann_q_values(MDP, REWARD, BETA)
    np.testing.assert_array_equal(noisy_boltzmann_log_probabilities(logits, 0.0),
                                  jax.nn.log_softmax(logits, -1))
    np.testing.assert_array_equal(noisy_boltzmann_log_likelihood(logits, PAIRS, 0.0),
                                  boltzmann_log_likelihood(logits, PAIRS))
    np.testing.assert_allclose(noisy_boltzmann_log_probabilities(logits, 1.0), -np.log(2.0),
                               rtol=RTOL_EXACT)
    np.testing.assert_allclose(NoisyBoltzmannPolicy(logits, 1.0, 0.0).probs,
                               BoltzmannPolicy(logits, 1.0).probs, rtol=RTOL_EXACT)
    # the gradient in the logits stays finite at ε = 0 (log ε = −inf in the mixture)
    grad = jax.grad(lambda z: noisy_boltzmann_log_likelihood(z, PAIRS, 0.0))(logits)
    np.testing.assert_allclose(grad, jax.grad(lambda z: boltzmann_log_likelihood(z, PAIRS))(
        logits), rtol=RTOL_EXACT)
    # the model with a fixed ε = 0 has the Boltzmann model's log density (the categorical
    # normalises the already normalised log-probabilities once more: rounding only)
    w = {"reward_weights": REWARD}
    noisy, _ = log_density(reward_model, (Evidence({"noisy-boltzmann": PAIRS}), MDP),
                           dict(betas={"noisy-boltzmann": BETA}, epsilon=0.0), w)
    plain, _ = log_density(reward_model, (Evidence(boltzmann=PAIRS), MDP),
                           dict(betas={"boltzmann": BETA}), w)
    np.testing.assert_allclose(noisy, plain, rtol=RTOL_EXACT)


def test_action_log_probabilities_per_draw():
    weights = jnp.asarray([[0.0, 2.0, -1.0], [0.5, -1.0, 1.0]])
    got = noisy_action_log_probabilities(MDP, weights, BETA, jnp.asarray([0.1, 0.6]))
    for m, eps in enumerate([0.1, 0.6]):
        want = noisy_boltzmann_log_probabilities(boltzmann_q_values(MDP, weights[m], BETA), eps)
        np.testing.assert_allclose(got[m], want, rtol=RTOL_EXACT)


@pytest.mark.parametrize("bad, error", [
    (-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError),
    ("0.1", TypeError), (True, TypeError), (np.array([0.1, 0.2]), TypeError),
    (dist.Normal(0.0, 1.0), ValueError), (dist.Beta(jnp.ones(2), 9.0), ValueError),
])
def test_bad_epsilon_is_refused_naming_it(bad, error):
    with pytest.raises(error, match="epsilon"):
        check_epsilon(bad)
    with pytest.raises(error, match="epsilon"):
        fit_evidence(MDP, likelihoods="noisy-boltzmann", demos=DEMOS, epsilon=bad,
                     method="map")


def test_bad_epsilon_arrays_and_an_epsilon_without_its_source():
    logits = boltzmann_q_values(MDP, REWARD, BETA)
    for bad in (-0.2, 1.2):
        with pytest.raises(ValueError, match="epsilon"):
            noisy_boltzmann_log_probabilities(logits, bad)
        with pytest.raises(ValueError, match="epsilon"):
            NoisyBoltzmannPolicy(logits, 1.0, bad)
    with pytest.raises(ValueError, match="epsilon: only the noisy-boltzmann"):
        fit_evidence(MDP, likelihoods="boltzmann", demos=DEMOS, epsilon=0.1, method="map")
    assert check_epsilon(dist.Uniform(0.0, 1.0)) is not None and check_epsilon(None) is None
    assert check_epsilon(np.float32(0.25)) == 0.25


def _epsilon_model(evidence, mdp, weights):
    """The library's model with the reward fixed: ε is its only latent."""
    with handlers.condition(data={"reward_weights": weights}):
        reward_model(evidence, mdp, betas={"noisy-boltzmann": BETA})


def test_posterior_of_epsilon_matches_quadrature():
    grid = np.linspace(1e-6, 1 - 1e-6, 20_001)
    logits = boltzmann_q_values(MDP, REWARD, BETA)
    loglik = jax.vmap(lambda e: noisy_boltzmann_log_likelihood(logits, PAIRS, e))(
        jnp.asarray(grid))
    log_post = np.asarray(loglik) + np.asarray(default_epsilon_prior().log_prob(grid))
    density = np.exp(log_post - log_post.max())
    density /= np.trapezoid(density, grid)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    mean = np.trapezoid(grid * density, grid)
    quantiles = np.interp([0.1, 0.5, 0.9], cdf, grid)

    idata = fit(_epsilon_model, Evidence({"noisy-boltzmann": PAIRS}), MDP, REWARD,
                method="nuts", num_samples=1000, num_warmup=300, num_chains=2,
                chain_method="sequential", seed=1, progress_bar=False)
    draws = np.asarray(idata.posterior["epsilon"]).ravel()
    assert abs(draws.mean() - mean) < POSTERIOR_ATOL, (draws.mean(), mean)
    np.testing.assert_allclose(np.quantile(draws, [0.1, 0.5, 0.9]), quantiles,
                               atol=POSTERIOR_ATOL)
    assert mean > 0.2  # the data carry information: far above the prior mean 0.1


def test_fit_stores_epsilon_and_the_predictive_groups():
    from bayesirl.app.compare import action_frequency_check

    idata = fit_evidence(MDP, likelihoods="noisy-boltzmann", demos=DEMOS, method="nuts",
                         betas={"noisy-boltzmann": BETA}, num_samples=100, num_warmup=100,
                         num_chains=2, chain_method="sequential", progress_bar=False)
    assert idata.posterior["epsilon"].dims == ("chain", "draw")
    assert idata.posterior.attrs["sources"] == ["noisy-boltzmann"]
    assert idata.log_likelihood["noisy_boltzmann_actions"].dims == (
        "chain", "draw", "noisy_boltzmann_pair")
    assert "noisy_boltzmann_states" in idata.constant_data
    check = action_frequency_check(idata, "noisy-boltzmann")
    assert check["observed"].tolist() == [[0.75, 0.25]]
    fixed = fit_evidence(MDP, likelihoods="noisy-boltzmann", demos=DEMOS, method="map",
                         betas={"noisy-boltzmann": BETA}, epsilon=0.2)
    assert "epsilon" not in fixed.posterior


def test_simulated_demonstrations_at_epsilon_zero_are_boltzmann():
    weights = jnp.asarray([[0.0, 2.0, -1.0]])
    key = jax.random.PRNGKey(0)
    kwargs = dict(num_trajectories=200, horizon=2, beta=BETA)
    noisy = simulate_demonstrations(key, MDP, weights, likelihood="noisy-boltzmann",
                                    epsilon=0.0, **kwargs)
    plain = simulate_demonstrations(key, MDP, weights, likelihood="boltzmann", **kwargs)
    np.testing.assert_array_equal(noisy.actions, plain.actions)
    uniform = simulate_demonstrations(key, MDP, weights, likelihood="noisy-boltzmann",
                                      epsilon=1.0, **kwargs)
    share = float(np.mean(np.asarray(uniform.actions)[0, :, 0]))
    assert abs(share - 0.5) < 0.15  # 200 fair coin flips: sd 0.035


def test_prior_predictive_simulates_the_site():
    from numpyro.infer import Predictive

    blank = Evidence({"noisy-boltzmann": PAIRS._replace(actions=None)})
    draws = Predictive(reward_model, num_samples=50)(jax.random.PRNGKey(0), blank, MDP)
    assert draws["noisy_boltzmann_actions"].shape == (50, PAIRS.states.shape[0])
    assert draws["epsilon"].shape == (50,)
    assert np.all((draws["epsilon"] > 0) & (draws["epsilon"] < 1))
    with numpyro.handlers.seed(rng_seed=0):
        assert NoisyBoltzmannPolicy(jnp.zeros(3), 1.0, 0.5).sample(jax.random.PRNGKey(0)) < 3


@pytest.mark.parametrize("prior, q, sampler", [("l1-sphere", None, "nuts"),
                                               ("gaussian", "soft", "nuts"),
                                               ("l2-sphere", "hard", "mh")])
def test_auto_never_routes_it_to_the_boltzmann_only_samplers(prior, q, sampler):
    from bayesirl.inference.auto import choose_sampler
    from bayesirl.inference.samplers import Problem

    problem = Problem(Evidence({"noisy-boltzmann": PAIRS}), MDP, prior, 1.0,
                      {"noisy-boltzmann": BETA}, {"q": q or "soft", "epsilon": None},
                      [0, 1, 2])
    assert choose_sampler(problem, q).sampler == sampler  # PolicyWalk would drop ε
