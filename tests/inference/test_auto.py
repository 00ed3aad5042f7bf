"""``method="auto"``: the rule of bayesirl.inference.auto, one case per row of its table, on
problems built without sampling; and the sampler registry's requirements."""

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from bayesirl.data.demos import make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.data.mdp import make_sparse_mdp
from bayesirl.data.preferences import make_preferences
from bayesirl.inference.auto import (FLOAT64_SHARPNESS, LARGE_STATES, POLICY_WALK_MAX_FEATURES,
                                     RULES, SHARP_LIKELIHOOD, choose_sampler, precision_reason)
from bayesirl.inference.samplers import (SAMPLERS, Problem, canonical_name, check_supported,
                                         problem_reasons)
from bayesirl.likelihoods import demonstration_pairs
from bayesirl.likelihoods.bradley_terry import PreferenceData
from bayesirl.likelihoods.registry import Evidence


def _problem(mdp, sources=("boltzmann",), prior="gaussian", betas=None, num_features=None):
    data = {}
    demos = make_demonstrations([([0, 1], [1, 1])])
    if "boltzmann" in sources:
        data["boltzmann"] = demonstration_pairs(mdp, demos)
    if "bradley-terry" in sources:
        F = num_features or mdp.num_features
        data["bradley-terry"] = PreferenceData(jnp.ones((2, F)),
                                               make_preferences(2, [(0, 1, "first")]))
    F = mdp.num_features if mdp is not None else num_features
    return Problem(Evidence(data), mdp, prior, 1.0, dict(betas or {}), {"q": "soft"},
                   list(range(F)))


@pytest.fixture(scope="module")
def grid():
    return gridworld(4, 4, num_features=4, seed=1).mdp


def test_rule_1_policy_walk_for_the_birl_posterior(grid):
    choice = choose_sampler(_problem(grid, prior="l2-sphere", betas={"boltzmann": 10.0}))
    assert (choice.sampler, choice.q, choice.rule) == ("policy-walk", "hard", 1)
    assert "give q soft to keep soft Q" in choice.reason
    explicit = choose_sampler(_problem(grid, prior="l1-sphere"), q="hard")
    assert explicit.sampler == "policy-walk" and "give q soft" not in explicit.reason
    # soft Q asked for, a learned β, or preferences too: not PolicyWalk
    assert choose_sampler(_problem(grid, prior="l2-sphere"), q="soft").sampler == "nuts"
    learned = _problem(grid, prior="l2-sphere", betas={"boltzmann": dist.LogNormal(0.0, 1.0)})
    assert choose_sampler(learned).sampler == "nuts"
    both = _problem(grid, sources=("boltzmann", "bradley-terry"), prior="l2-sphere")
    assert choose_sampler(both).sampler == "nuts"


def test_rule_1_needs_few_features():
    mdp = gridworld(4, 4, num_features=POLICY_WALK_MAX_FEATURES + 1, seed=1).mdp
    assert choose_sampler(_problem(mdp, prior="l2-sphere")).sampler == "nuts"


def test_rule_2_laplace_imh_at_large_state_counts():
    S = LARGE_STATES
    rng = np.random.default_rng(0)
    mdp = make_sparse_mdp(rng.integers(0, S, (S, 2, 2)), np.full((S, 2, 2), 0.5),
                          features=np.eye(2)[rng.integers(0, 2, S)], discount=0.9)
    choice = choose_sampler(_problem(mdp))
    assert (choice.sampler, choice.rule) == ("laplace-imh", 2)


def test_rule_3_hard_q_takes_the_random_walk(grid):
    choice = choose_sampler(_problem(grid), q="hard")
    assert (choice.sampler, choice.rule, choice.q) == ("mh", 3, "hard")


def test_rule_4_sharp_likelihoods_take_the_random_walk():
    mdp = gridworld(4, 4, num_features=4, seed=1, discount=0.999).mdp
    choice = choose_sampler(_problem(mdp, betas={"boltzmann": 100.0}))
    assert (choice.sampler, choice.rule) == ("mh", 4)
    assert f"{SHARP_LIKELIHOOD:,.0f}" in choice.reason
    mild = choose_sampler(_problem(mdp, betas={"boltzmann": 1.0}))
    assert mild.sampler == "nuts"  # β / (1 − γ) = 1000 < the threshold


def test_float64_is_asked_for_sharp_mdp_likelihoods_only():
    """γ = 0.999, β = 100: float32 Q-values are too coarse (the reason says why); β = 1 and
    evidence without an MDP need no float64."""
    mdp = gridworld(4, 4, num_features=4, seed=1, discount=0.999).mdp
    why = precision_reason(_problem(mdp, betas={"boltzmann": 100.0}))
    assert why is not None and f"{FLOAT64_SHARPNESS:,.0f}" in why and "float32" in why
    assert precision_reason(_problem(mdp, betas={"boltzmann": 1.0})) is None
    assert precision_reason(_problem(None, sources=("bradley-terry",), num_features=3)) is None


def test_rule_5_nuts_otherwise_with_mh_as_fallback(grid):
    choice = choose_sampler(_problem(grid))
    assert (choice.sampler, choice.rule, choice.fallback) == ("nuts", 5, "mh")
    no_mdp = _problem(None, sources=("bradley-terry",), num_features=3)
    assert choose_sampler(no_mdp).sampler == "nuts"


def test_rule_table_lists_every_rule():
    assert [r[0] for r in RULES] == [1, 2, 3, 4, 5]
    assert {r[1] for r in RULES} <= set(SAMPLERS)


def test_requirements_name_what_is_missing(grid):
    pw = SAMPLERS["policy-walk"]
    reasons = problem_reasons(pw, _problem(grid, prior="gaussian"))
    assert [arg for arg, _ in reasons] == ["prior", "q"]
    assert "needs q hard" in reasons[1][1]
    with pytest.raises(ValueError, match="prior: method policy-walk cannot sample"):
        check_supported(pw, _problem(grid))
    assert problem_reasons(SAMPLERS["mh"], _problem(grid)) == []


def test_names_and_aliases():
    assert canonical_name("policy_walk") == "policy-walk"
    assert canonical_name("laplace_imh") == "laplace-imh"
    with pytest.raises(ValueError, match="method: expected one of auto, nuts"):
        canonical_name("hmc")
    for sampler in SAMPLERS.values():
        assert sampler.description and set(sampler.defaults) == {
            "num_samples", "num_warmup", "num_chains", "thinning"}
