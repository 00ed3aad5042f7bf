"""RunConfig: settings outside their type's range are refused with the flag, the expected
range and what was given; the limits themselves are accepted."""

import math
import re

import pytest

from bayesirl.app.config import (BETA_MAX, COUNT_MAX, DISCOUNT_MAX_FLOAT32, SEED_MAX,
                                 ConfigError, RunConfig)

#: (id, settings over a gridworld run, start of the message).
OUT_OF_RANGE = [
    ("seed-2**32", dict(seed=2**32), "--seed: expected an integer in [0, 4294967295], got "
                                     "4294967296"),
    ("data-seed-beyond-int64", dict(data_seed=2**70),
     "--data-seed: expected an integer in [0, 4294967295], got 1180591620717411303424"),
    ("samples-2**31", dict(num_samples=2**31), "--num-samples: expected an integer in "
                                               "[1, 2147483647]"),
    ("chains-400-digits", dict(num_chains=10**400), "--num-chains: expected an integer in [1, "
                                                    "2147483647], got 100000000000… (401 "
                                                    "characters)"),
    ("demos-float-1e300", dict(num_demos=1e300), "--num-demos: expected an integer in [0, "),
    ("warmup-fraction", dict(num_warmup=2.5), "--num-warmup: expected an integer, got 2.5"),
    ("grid-side", dict(grid_size=(2**31, 1)), "--grid-size: expected an integer in [1, "),
    ("features", dict(num_features=2**31), "--num-features: expected an integer in [1, "),
    ("discount-rounds-to-1", dict(discount=0.99999999), "--discount: expected a number below 1 "
                                                        "in float32"),
    ("prior-scale-overflows", dict(prior_scale=1e300), "--prior-scale: 1e+300 is out of range: "
                                                       "bayesirl computes in float32"),
    ("prior-scale-underflows", dict(prior_scale=1e-320), "--prior-scale: 1e-320 is out of range"),
    ("margin-overflows", dict(margin=1e300, num_preferences=3), "--margin: 1e+300 is out of "
                                                                "range"),
    ("beta-above-max", dict(betas={None: 1e300}), "--beta: expected a number in (0, 1e+09], got "
                                                  "1e+300"),
    ("beta-underflows", dict(betas={None: 1e-300}), "--beta: 1e-300 is out of range"),
    ("beta-prior-parameter", dict(betas={None: "lognormal:0,1e300"}, prior="l2-sphere"),
     "--beta: lognormal parameter: 1e+300 is out of range"),
]


@pytest.mark.parametrize("settings, message", [c[1:] for c in OUT_OF_RANGE],
                         ids=[c[0] for c in OUT_OF_RANGE])
def test_settings_out_of_range_are_refused(settings, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        RunConfig(env="gridworld", **settings)


def test_the_limits_themselves_are_accepted():
    config = RunConfig(env="gridworld", seed=SEED_MAX, data_seed=SEED_MAX,
                       discount=DISCOUNT_MAX_FLOAT32, betas={None: BETA_MAX},
                       num_samples=COUNT_MAX, num_demos=COUNT_MAX, margin=0.0)
    assert (config.seed, config.data_seed, config.num_samples) == (SEED_MAX, SEED_MAX, COUNT_MAX)
    assert config.betas["boltzmann"].value == BETA_MAX


@pytest.mark.parametrize("settings, written, absent", [
    (dict(env="gridworld"), {"env", "grid_size", "num_features", "num_demos", "data_seed"},
     {"mdp", "demos", "trajectories"}),
    (dict(env="FrozenLake8x8-v1"), {"env", "num_demos", "data_seed"},
     {"grid_size", "num_features", "mdp"}),
    (dict(mdp="world.npz", demos="demos.npz"), {"mdp", "demos"},
     {"env", "grid_size", "num_features", "num_demos", "num_preferences", "data_seed"}),
], ids=["gridworld", "frozenlake", "files"])
def test_only_the_worlds_own_settings_are_written_and_read_back(settings, written, absent):
    config = RunConfig(**settings)
    world = config.to_json()["world"]
    assert written <= set(world) and not absent & set(world), sorted(world)
    assert not absent & set(config.flat_json())
    assert RunConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize("settings, expert", [
    (dict(), "boltzmann:1"),                                    # the model's own β
    (dict(betas={None: 5.0}), "boltzmann:5"),
    (dict(expert="boltzmann:2.5"), "boltzmann:2.5"),
    (dict(expert="optimal"), "optimal"),
    (dict(expert=" noisy:0.3"), "noisy:0.3"),
    (dict(num_demos=0, num_preferences=3), None),               # nothing simulated: no expert
    (dict(env="FrozenLake8x8-v1"), "optimal"),                  # a game's reward: the solver
    (dict(env="FrozenLake8x8-v1", expert="boltzmann"), "boltzmann:1"),
], ids=["default", "model-beta", "explicit-beta", "optimal", "noisy", "no-demonstrations",
        "gymnasium-default", "gymnasium-boltzmann"])
def test_the_simulated_expert_is_resolved_against_the_model(settings, expert):
    config = RunConfig(**{"env": "gridworld", **settings})
    assert config.expert == expert
    assert ("expert" in config.to_json()["world"]) == (expert is not None)
    assert RunConfig.from_json(config.to_json()) == config


def test_a_learned_beta_simulates_at_its_prior_mean():
    config = RunConfig(env="gridworld", betas={None: "lognormal:0,1"}, prior="l2-sphere")
    kind, beta = config.expert.split(":")
    assert kind == "boltzmann" and float(beta) == pytest.approx(math.exp(0.5), rel=1e-6)


def test_the_default_expert_follows_a_replaced_beta_but_an_explicit_one_stays():
    assert RunConfig(env="gridworld").replace(betas={None: 7.0}).expert == "boltzmann:7"
    explicit = RunConfig(env="gridworld", expert="boltzmann:3")
    assert explicit.replace(betas={None: 7.0}).expert == "boltzmann:3"


def test_configs_written_before_the_expert_setting_simulated_the_optimal_expert():
    doc = RunConfig(env="gridworld").to_json()
    del doc["world"]["expert"]
    assert RunConfig.from_json(doc).expert == "optimal"


@pytest.mark.parametrize("settings, message", [
    (dict(env="gridworld", expert="greedy"), "--expert: expected optimal, boltzmann[:BETA] or "
                                             "noisy:EPS, got 'greedy'"),
    (dict(env="gridworld", expert="noisy"), "--expert: expected optimal, boltzmann[:BETA]"),
    (dict(env="gridworld", expert="optimal:1"), "--expert: expected optimal, boltzmann[:BETA]"),
    (dict(env="gridworld", expert="noisy:1.5"), "--expert: expected a number in [0, 1], got 1.5"),
    (dict(env="gridworld", expert="boltzmann:-2"), "--expert: expected a number in (0, "),
    (dict(env="gridworld", expert="boltzmann:x"), "--expert: expected a number after "
                                                  "'boltzmann:', got 'x'"),
    (dict(mdp="world.npz", demos="d.json", expert="optimal"), "--expert applies to --env"),
], ids=["unknown", "noisy-without-eps", "optimal-with-arg", "eps-above-1", "negative-beta",
        "not-a-number", "file-world"])
def test_bad_experts_are_refused_naming_the_flag(settings, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        RunConfig(**settings)
