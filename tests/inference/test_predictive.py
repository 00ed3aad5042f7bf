"""log_likelihood / posterior_predictive groups: PSIS-LOO agrees with the stored values, the
joint model's pointwise terms sum to its log density minus the prior, simulated
demonstrations have the right shapes, masks and terminal handling."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import log_density

from bayesirl import _arviz
from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.data.preferences import make_preferences
from bayesirl.inference import fit_evidence
from bayesirl.inference.predictive import (
    add_predictive_groups, group_log_likelihood, log_likelihood, pair_trajectories,
    posterior_samples, simulate_demonstrations, without_observations)
from bayesirl.likelihoods import demonstration_pairs
from bayesirl.models import Evidence, irl_model
from bayesirl.solvers.occupancy import empirical_feature_counts
from bayesirl.solvers.value_iteration import value_iteration
from tests.reference import rollouts

RTOL = 1e-10  # same float64 computations, different code paths
C, M = 2, 100  # chains and draws per chain of the shared fit


def true_returns(mdp, reward, trajectories):
    """Discounted true return of each trajectory under an (S, A) reward (numpy)."""
    gamma, r = float(mdp.discount), np.asarray(reward)
    return np.array([sum(gamma ** t * r[s, a] for t, (s, a) in enumerate(zip(states, actions)))
                     for states, actions in trajectories])


@pytest.fixture(scope="module")
def joint_fit():
    """One MH fit of demonstrations and preferences by ``fit_evidence``, which stores the
    predictive groups itself (``full``); ``idata`` is the same fit without them."""
    env = gridworld(3, 3, num_features=2, seed=0, discount=0.8, terminal_states=[8])
    mdp = env.mdp
    S, A = mdp.num_states, mdp.num_actions
    policy = jax.nn.softmax(value_iteration(mdp, env.true_reward).q_values * 5.0, -1)
    rng = np.random.default_rng(0)
    demos = make_demonstrations(rollouts(rng, mdp, policy, 5, 6), S, A)
    pool = rollouts(rng, mdp, np.full((S, A), 1.0 / A), 6, 6)  # compared trajectories
    trajectories = make_demonstrations(pool, S, A)
    returns = true_returns(mdp, env.true_reward, pool)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)][:12]
    assert all(returns[i] != returns[j] for i, j in pairs)  # strict labels only
    prefs = make_preferences(6, [(i, j, "first" if returns[i] > returns[j] else "second")
                                 for i, j in pairs])
    model_kwargs = dict(prior="gaussian", prior_scale=1.0, betas={}, q="soft",
                        maxent_horizon=None, margin=0.0, solver_kwargs=None)
    full = fit_evidence(mdp, likelihoods=("boltzmann", "bradley-terry"), demos=demos,
                        preferences=(trajectories, prefs), method="mh", num_samples=M,
                        num_warmup=200, num_chains=C, thinning=1, progress_bar=False)
    idata = type(full)(posterior=full.posterior, sample_stats=full.sample_stats)
    evidence = Evidence(boltzmann=demonstration_pairs(mdp, demos),
                        preference_features=empirical_feature_counts(mdp, trajectories),
                        preferences=prefs)
    return mdp, demos, evidence, model_kwargs, idata, full


def test_groups_are_stored_with_data(joint_fit):
    mdp, _, evidence, model_kwargs, idata, full = joint_fit
    P = evidence.boltzmann.states.shape[0]
    assert {"log_likelihood", "posterior_predictive", "observed_data", "constant_data"} <= set(
        full.groups())  # fit_evidence stores them (small fit, not MAP)
    assert full.log_likelihood["boltzmann_actions"].shape == (C, M, P)
    assert full.posterior_predictive["preference_labels"].shape == (C, M, 12)
    again = add_predictive_groups(idata, mdp, evidence, posterior_predictive_draws=False,
                                  **model_kwargs)
    assert "log_likelihood" not in idata.groups()  # the input is not modified
    assert "posterior_predictive" not in again.groups()
    for name in ("boltzmann_actions", "preference_labels"):
        np.testing.assert_allclose(again.log_likelihood[name], full.log_likelihood[name],
                                   rtol=RTOL)
    np.testing.assert_array_equal(full.observed_data["boltzmann_actions"],
                                  evidence.boltzmann.actions)
    np.testing.assert_array_equal(full.constant_data["boltzmann_states"],
                                  evidence.boltzmann.states)
    pp = full.posterior_predictive["boltzmann_actions"].values
    assert pp.min() >= 0 and pp.max() < 4
    labels = full.posterior_predictive["preference_labels"].values
    assert set(np.unique(labels)) <= {0, 1}  # strict model: never "equal"


def test_loo_pointwise_matches_stored_log_likelihood(joint_fit):
    *_, full = joint_fit
    for name in ("boltzmann_actions", "preference_labels"):
        result = _arviz.loo(full, var_name=name)
        ll = full.log_likelihood[name].values.reshape(-1, full.log_likelihood[name].shape[-1])
        # PSIS-LOO's pointwise elpd is a weighted log-mean-exp of the stored values, so it
        # lies between their min and the log of their mean (Jensen) for every observation.
        lme = np.log(np.mean(np.exp(ll), axis=0))
        assert np.all(result.loo_i.values <= lme + 1e-9)
        assert np.all(result.loo_i.values >= ll.min(axis=0) - 1e-9)
        assert result.elpd_loo == pytest.approx(float(result.loo_i.sum()))
        assert result.loo_i.shape == (ll.shape[1],)


def test_joint_log_likelihood_is_log_density_minus_prior(joint_fit):
    mdp, _, evidence, model_kwargs, idata, full = joint_fit
    w = idata.posterior["reward_weights"].values.reshape(-1, mdp.num_features)
    total = sum(full.log_likelihood[k].values.reshape(w.shape[0], -1).sum(-1)
                for k in ("boltzmann_actions", "preference_labels"))
    some = np.arange(0, w.shape[0], 37)

    def minus_prior(weights):
        joint, _ = log_density(irl_model, (mdp, evidence), model_kwargs,
                               {"reward_weights": weights})
        return joint - dist.Normal(0.0, 1.0).log_prob(weights).sum()

    np.testing.assert_allclose(jax.jit(jax.vmap(minus_prior))(jnp.asarray(w[some])),
                               total[some], rtol=RTOL)


def test_trajectory_grouping_sums_pairs(joint_fit):
    mdp, demos, evidence, model_kwargs, idata, full = joint_fit
    groups = pair_trajectories(mdp, demos)
    assert groups.shape == evidence.boltzmann.states.shape
    values = full.log_likelihood["boltzmann_actions"].values
    per_traj = group_log_likelihood(values, groups, demos.num_trajectories)
    assert per_traj.shape == (C, M, demos.num_trajectories)
    np.testing.assert_allclose(per_traj.sum(-1), values.sum(-1), rtol=RTOL)
    direct = log_likelihood(posterior_samples(idata), mdp,
                            Evidence(boltzmann=evidence.boltzmann), **model_kwargs)
    np.testing.assert_allclose(direct["boltzmann_actions"], values, rtol=RTOL)


def test_without_observations_drops_actions_and_labels(joint_fit):
    _, _, evidence, *_ = joint_fit
    blank = without_observations(evidence)
    assert blank.boltzmann.actions is None and blank.preferences.label is None
    assert evidence.boltzmann.actions is not None  # the input is not modified
    np.testing.assert_array_equal(blank.boltzmann.states, evidence.boltzmann.states)


@pytest.mark.parametrize("likelihood, maxent_horizon", [("boltzmann", None), ("maxent", 7)])
def test_simulated_demonstrations_shapes_masks_terminal(likelihood, maxent_horizon):
    env = gridworld(2, 3, num_features=2, seed=1, discount=0.8, terminal_states=[5])
    mdp = env.mdp
    weights = np.array([[1.0, -1.0], [0.0, 2.0], [-1.0, 0.5]])
    starts = np.array([0, 5, 1, 3])
    demos = simulate_demonstrations(jax.random.PRNGKey(0), mdp, weights, num_trajectories=4,
                                    horizon=7, likelihood=likelihood,
                                    maxent_horizon=maxent_horizon, initial_states=starts)
    states, actions, mask = (np.asarray(x) for x in demos)
    assert states.shape == actions.shape == mask.shape == (3, 4, 7)
    assert states.min() >= 0 and states.max() < mdp.num_states and actions.max() < 4
    np.testing.assert_array_equal(states[:, :, 0], np.broadcast_to(starts, (3, 4)))
    assert np.all(mask[..., 0])
    assert np.all(mask[..., 1:] <= mask[..., :-1])  # a prefix: no step after the end
    terminal = np.asarray(mdp.terminal)[states] & mask
    assert np.all(actions[terminal] == 0)
    lengths = mask.sum(-1)
    ends_terminal = np.take_along_axis(terminal, (lengths - 1)[..., None], -1)[..., 0]
    assert np.all(ends_terminal | (lengths == 7))  # stops only at a terminal state
    assert np.all(lengths[:, 1] == 1)  # started in the terminal state
    with pytest.raises(ValueError, match="weights"):
        simulate_demonstrations(jax.random.PRNGKey(0), mdp, weights[0], num_trajectories=1,
                                horizon=3)

