"""The misfit alarm (posterior-predictive checks): p-values against exact enumeration of the
replicated data, PSIS-LOO against ArviZ's ``loo``, the alarm on a clearly misspecified and a
well-specified gridworld, the Bonferroni combination and its sentence, ``summary.json`` and
the report, and bad input."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.analysis import misfit
from bayesirl.analysis.misfit import (
    MisfitCheck,
    categorical_checks,
    check_fit,
    combine_checks,
    predictive_log_probs,
)
from bayesirl.data.demos import sample_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.likelihoods import demonstration_pairs
from bayesirl.likelihoods.registry import Evidence
from bayesirl.solvers import value_iteration

#: Monte Carlo p-values from N replicated data sets: 5 standard errors of a proportion
#: (at most 0.5/sqrt(N)) plus the estimator's 1/N offset.
def mc_tolerance(n):
    return 5 * 0.5 / np.sqrt(n) + 1.0 / n


#: Two draws, three observations, two categories (a hand-built posterior).
PROBS = np.array([[[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]],
                  [[0.5, 0.5], [0.8, 0.2], [0.2, 0.8]]])
OBSERVED = np.array([1, 1, 0])
GROUPS = np.array([0, 0, 1])
NUM_REPLICATES = 20_000


def _enumerate_p(statistic, two_sided):
    """Exact posterior-predictive p-value of ``statistic(y, m)`` by enumerating every
    replicated data set under each draw."""
    M, P, K = PROBS.shape
    upper = lower = 0.0
    for m in range(M):
        t_obs = statistic(OBSERVED, m)
        for y in itertools.product(range(K), repeat=P):
            prob = np.prod(PROBS[m, np.arange(P), list(y)])
            t = statistic(np.array(y), m)
            upper += prob * (t >= t_obs - 1e-12) / M
            lower += prob * (t <= t_obs + 1e-12) / M
    return min(1.0, 2 * min(upper, lower)) if two_sided else upper


def _log_likelihood(y, m):
    return np.sum(np.log(PROBS[m, np.arange(3), y]))


def _chi2(y, m):
    total = 0.0
    for g in (0, 1):
        sel = GROUPS == g
        expected = PROBS[m, sel].sum(0)
        counts = np.bincount(y[sel], minlength=2)
        total += np.sum((counts - expected) ** 2 / expected)
    return total


MEAN = PROBS.mean(0)


def _outside(y, m):
    in_set = np.zeros_like(MEAN, bool)
    for i in range(3):
        order = np.argsort(-MEAN[i])
        before = np.cumsum(MEAN[i, order]) - MEAN[i, order]
        in_set[i, order] = before < misfit.PREDICTIVE_SET_MASS
    return np.mean(~in_set[np.arange(3), y])


def _agreement(y, m):
    return np.mean(y == MEAN.argmax(-1))


@pytest.fixture(scope="module")
def policy_checks():
    checks, _ = categorical_checks(np.log(PROBS), OBSERVED, kind="policy", groups=GROUPS,
                                   num_replicates=NUM_REPLICATES, seed=0)
    return {c.name: c for c in checks}


@pytest.mark.parametrize("name, statistic, two_sided", [
    ("log-likelihood", _log_likelihood, True),
    ("action-frequencies", _chi2, False),
    ("predictive-set", _outside, False),
])
def test_policy_p_values_match_enumeration(policy_checks, name, statistic, two_sided):
    check = policy_checks[name]
    exact = _enumerate_p(statistic, two_sided)
    assert abs(check.p_value - exact) < mc_tolerance(2 * NUM_REPLICATES)
    assert check.statistic == pytest.approx(np.mean([statistic(OBSERVED, m) for m in range(2)]))


def test_agreement_p_value_matches_enumeration():
    checks, _ = categorical_checks(np.log(PROBS), OBSERVED, kind="labels",
                                   num_replicates=NUM_REPLICATES, seed=1)
    check = {c.name: c for c in checks}["agreement"]
    assert abs(check.p_value - _enumerate_p(_agreement, True)) < mc_tolerance(
        2 * NUM_REPLICATES)
    assert check.statistic == pytest.approx(_agreement(OBSERVED, 0))


def test_loo_statistic_is_arviz_elpd_loo():
    """The ``loo`` statistic is ArviZ's PSIS-LOO elpd of the observed data."""
    rng = np.random.default_rng(3)
    M, P, K = 60, 25, 4
    table = jax.nn.log_softmax(rng.normal(size=(M, P, K)) * 0.5 + rng.normal(size=(P, K)), -1)
    table = np.asarray(table)
    y = rng.integers(K, size=P)
    checks, _ = categorical_checks(table, y, kind="labels", num_replicates=2, seed=0)
    loo = {c.name: c for c in checks}["loo"]
    ll = table[:, np.arange(P), y]
    idata = _arviz.with_groups(_arviz.from_draws({"w": rng.normal(size=(1, M))}),
                               log_likelihood={"y": ll[None]})
    assert loo.statistic == pytest.approx(float(_arviz.loo(idata, var_name="y").elpd_loo),
                                          rel=1e-9)


# ---------------------------------------------------------------------------------------------
# The alarm on gridworlds (the "posterior" is the truth plus small noise: no sampler needed)
# ---------------------------------------------------------------------------------------------

#: Seeds of the two fixtures; with the default family level 0.05 the well-specified world
#: raises the alarm with probability <= 0.05, so the fixed seed decides it once and for all.
WORLD_SEED, DEMO_SEED = 2, 0


@pytest.fixture(scope="module")
def world():
    env = gridworld(4, 4, num_features=3, seed=WORLD_SEED)
    mdp = env.mdp
    draws = env.true_weights + 0.02 * np.random.default_rng(0).normal(size=(100, 3))
    idata = _arviz.from_draws({"reward_weights": draws[None]},
                              attrs={"sources": ["boltzmann"], "q": "soft"})
    q = value_iteration(mdp, env.true_reward).q_values
    return env, mdp, idata, q


def _demos(mdp, policy):
    return sample_demonstrations(jax.random.PRNGKey(DEMO_SEED), mdp, policy, 10, 10)


def test_alarm_fires_for_a_deterministic_expert_and_a_tiny_beta(world):
    env, mdp, idata, q = world
    greedy = jax.nn.one_hot(jnp.argmax(q, -1), mdp.num_actions)
    report = check_fit(idata, mdp, demos=_demos(mdp, greedy), betas={"boltzmann": 0.01})
    assert report.alarm
    assert "more deterministic" in report.message and "try" in report.message
    ll = {c.name: c for c in report.checks}["log-likelihood"]
    assert ll.misfit and ll.direction == "higher"


def test_no_alarm_in_a_well_specified_world(world):
    """Boltzmann expert (soft Q, β = 1) and the same model around the true weights."""
    env, mdp, idata, q = world
    from bayesirl.likelihoods import boltzmann_q_values

    policy = jax.nn.softmax(boltzmann_q_values(mdp, env.true_reward, 1.0, "soft"), -1)
    report = check_fit(idata, mdp, demos=_demos(mdp, policy))
    assert not report.alarm, report.checks
    assert report.message is None and report.remedies == ()
    assert {c.name for c in report.checks} == set(misfit.CHECKS["policy"])
    assert report.num_draws == 100


def test_alarm_for_a_perfectly_consistent_labeller_and_a_tiny_beta(world):
    """Labels given by the true return (no noise) against Bradley–Terry with β = 0.01: the
    labeller is more consistent than β allows; at β = 1 on the true weights it is not
    flagged as noisier."""
    from bayesirl.data.preferences import synthetic_preferences

    env, mdp, idata, q = world
    greedy = jax.nn.one_hot(jnp.argmax(q, -1), mdp.num_actions)
    prefs = synthetic_preferences(jax.random.PRNGKey(1), mdp, env.true_reward, greedy, 60, 10,
                                  num_trajectories=20)
    bt = idata.copy()
    bt.posterior.attrs["sources"] = ["bradley-terry"]
    report = check_fit(bt, mdp, preferences=prefs, betas={"bradley-terry": 0.01})
    assert report.alarm and report.message.startswith("the preference model does not fit")
    assert {c.name for c in report.checks} == set(misfit.CHECKS["labels"])
    assert "more" in report.message


def test_table_rows_are_distributions(world):
    env, mdp, idata, q = world
    demos = _demos(mdp, jax.nn.softmax(q, -1))
    evidence = Evidence(boltzmann=demonstration_pairs(mdp, demos))
    draws = jnp.asarray(idata.posterior["reward_weights"].values[0])  # the shapes of check_fit
    table = predictive_log_probs(draws, {"boltzmann": 2.0}, mdp, evidence, q="soft")["boltzmann"]
    P = int(evidence["boltzmann"].states.shape[0])
    assert table.shape == (100, P, mdp.num_actions)
    np.testing.assert_allclose(np.exp(table).sum(-1), 1.0, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# Combination, sentence, summary.json and report
# ---------------------------------------------------------------------------------------------


def _check(p, name="log-likelihood", direction="higher", source="boltzmann"):
    return MisfitCheck(source, name, 0.0, 0.0, p, direction, False, "some detail")


def test_bonferroni_threshold_and_remedies():
    checks = [_check(0.02), _check(0.5, "loo"), _check(0.9, "predictive-set")]
    report = combine_checks(checks, level=0.09)
    assert report.threshold == pytest.approx(0.03) and report.alarm
    assert [c.misfit for c in report.checks] == [True, False, False]
    assert report.message.startswith("the demonstrator model does not fit the demonstrations "
                                     "(p = 0.02: some detail)")
    assert any("learned β" in r for r in report.remedies)
    learned = combine_checks(checks, level=0.09, learned_beta=True)
    assert not any("learned β" in r for r in learned.remedies)
    assert not combine_checks(checks, level=0.05).alarm  # 0.02 > 0.05 / 3
    prefs = combine_checks([_check(1e-4, "agreement", "lower", "bradley-terry")])
    assert prefs.message.startswith("the preference model does not fit the preferences")


def test_unavailable_remedies_are_not_offered():
    report = combine_checks([_check(1e-4, direction="lower")])
    texts = " ".join(report.remedies)
    for remedy in misfit.MISFIT_REMEDIES:
        if not remedy.available():
            assert remedy.text not in texts


def test_what_the_fit_already_used_is_not_offered():
    checks = [_check(1e-4, direction="higher"), _check(1e-4, "predictive-set", "lower")]
    soft = " ".join(combine_checks(checks).remedies)
    assert "--q hard" in soft and "noisy-boltzmann" in soft
    hard = " ".join(combine_checks(checks, settings={"q": "hard"}).remedies)
    assert "--q hard" not in hard and "noisy-boltzmann" in hard
    noisy = " ".join(combine_checks(checks, settings={"sources": ("noisy-boltzmann",)}).remedies)
    assert "noisy-boltzmann" not in noisy and "--q hard" in noisy


def test_report_lines_show_the_alarm():
    """``bayesirl report`` shows the fit's misfit (``summary.json``: tests/app/test_run_folder.py
    checks that a fit writes it)."""
    from bayesirl.app.report_text import misfit_lines

    passed = combine_checks([_check(0.5)]).as_dict()
    assert "1 posterior-predictive checks passed" in misfit_lines(passed)[0]
    text = "\n".join(misfit_lines(combine_checks([_check(1e-4)]).as_dict()))
    assert "WARNING: the demonstrator model does not fit" in text and "try:" in text
    assert "boltzmann log-likelihood: p = 0.0001" in text
    assert misfit_lines(None) == []


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name", [
    (dict(log_probs=np.zeros((2, 3))), "log_probs"),
    (dict(observed=np.array([0, 1, 2])), "observed"),
    (dict(observed=np.array([0.0, 1.0, 0.0])), "observed"),
    (dict(num_replicates=0), "num_replicates"),
    (dict(kind="ranking"), "kind"),
    (dict(groups=None), "groups"),
    (dict(groups=np.array([0, 1])), "groups"),
])
def test_categorical_checks_bad_input(kwargs, name):
    args = dict(log_probs=np.log(PROBS), observed=OBSERVED, kind="policy", groups=GROUPS)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        categorical_checks(**args)


def test_check_fit_bad_input(world):
    env, mdp, idata, q = world
    demos = _demos(mdp, jax.nn.softmax(q, -1))
    with pytest.raises(ValueError, match="idata"):
        check_fit(object(), mdp, demos=demos)
    with pytest.raises(ValueError, match="evidence"):
        check_fit(idata, mdp)
    with pytest.raises(ValueError, match="num_draws"):
        check_fit(idata, mdp, demos=demos, num_draws=0)
    with pytest.raises(ValueError, match="level"):
        check_fit(idata, mdp, demos=demos, level=1.5)
    with pytest.raises(TypeError, match="evidence"):
        check_fit(idata, mdp, {"boltzmann": None})
    with pytest.raises(ValueError, match="level"):
        combine_checks([], level=0.0)
