"""Continuous-state runs (``bayesirl fit --env CartPole-v1`` / ``--demos-npz``): configuration,
run folder, the saved posterior, report, and the errors of a missing gymnasium.

Networks are tiny and fits a few optimiser steps: these check the plumbing, not the quality of
the fits (examples/classic_control.py measures that)."""

import json
import os
import sys

import numpy as np
import pytest

from bayesirl.app import ConfigError, RunConfig
from bayesirl.app.run import load_run
from bayesirl.cli import main
from bayesirl.data.continuous import make_transitions, save_transitions

pytest.importorskip("equinox")
pytest.importorskip("optax")

#: Episodes and steps per episode of the hand-made transitions file; D, A.
E, T, D, A = 4, 6, 3, 2
#: float32 networks: a saved and reloaded posterior gives the same Q-values to rounding.
ATOL_RELOAD = 1e-6
TINY = ["--hidden-units", "2", "--num-steps", "20", "--quiet"]


def _transitions(env_id=None):
    """E episodes of T steps: the action is 1 when the first coordinate is positive."""
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(E * T, D))
    nxt = obs + 0.1 * rng.normal(size=obs.shape)
    actions = (obs[:, 0] > 0).astype(int)
    ids = np.repeat(np.arange(E), T)
    dones = np.zeros(E * T, bool)
    dones[T - 1::T] = True
    return make_transitions(obs, actions, nxt, dones, ids, A, env_id=env_id)


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("continuous") / "logs.npz"
    save_transitions(path, _transitions())
    return path


@pytest.fixture(scope="module")
def runs(npz, tmp_path_factory):
    """A variational run on the file (one held-out episode) and a cloning run on CartPole."""
    root = tmp_path_factory.mktemp("runs")
    assert main(["fit", "--demos-npz", str(npz), "--test-episodes", "1", "--out",
                 str(root / "variational"), *TINY]) == 0
    assert main(["fit", "--env", "CartPole-v1", "--num-demos", "1", "--test-episodes", "1",
                 "--eval-episodes", "1", "--method", "cloning", "--out", str(root / "cartpole"),
                 *TINY]) == 0
    return root


def test_config_of_continuous_worlds():
    c = RunConfig(env="CartPole-v1", num_demos=3)
    assert c.world.kind == "continuous" and c.method == "variational"
    assert (c.hidden_units, c.discount, c.q, c.betas["boltzmann"].value) == (8, 0.95, "soft", 3.0)
    assert (c.test_episodes, c.eval_episodes, c.expert) == (5, 10, "optimal")
    assert RunConfig.from_json(c.to_json()) == c
    nuts = RunConfig(demos_npz="logs.npz", method="value-nuts")
    assert (nuts.num_warmup, nuts.num_samples, nuts.num_chains) == (200, 200, 2)
    assert (nuts.test_episodes, nuts.hidden_units) == (0, 16)
    assert RunConfig.from_json(nuts.to_json()) == nuts
    cloning = RunConfig(env="Acrobot-v1", method="cloning")
    assert RunConfig.from_json(cloning.to_json()) == cloning
    grid = RunConfig(env="gridworld").to_json()
    assert not {"method", "num_steps"} & set(grid["inference"])
    assert "hidden_units" not in grid["model"] and "demos_npz" not in grid["world"]


@pytest.mark.parametrize("kwargs, flag", [
    (dict(env="CartPole-v1", sampler="nuts"), "--sampler"),
    (dict(env="CartPole-v1", num_warmup=5), "--num-warmup"),
    (dict(env="CartPole-v1", method="value-nuts", num_steps=5), "--num-steps"),
    (dict(env="CartPole-v1", method="cloning", betas={None: 2.0}), "--beta"),
    (dict(env="CartPole-v1", prior="laplace"), "--prior"),
    (dict(env="CartPole-v1", expert="boltzmann"), "--expert"),
    (dict(env="CartPole-v1", demos_npz="x.npz"), "--env/--demos-npz"),
    (dict(env="gridworld", method="cloning"), "--method"),
    (dict(env="gridworld", eval_episodes=3), "--eval-episodes"),
    (dict(demos_npz="x.npz", method="qlearning"), "--method"),
])
def test_settings_that_do_not_apply_are_refused(kwargs, flag):
    with pytest.raises(ConfigError, match=f"^{flag}"):
        RunConfig(**kwargs)


def test_run_folder_of_a_transitions_file(runs, npz):
    path = runs / "variational"
    assert sorted(os.listdir(path)) == ["config.json", "posterior.npz", "summary.json",
                                        "test_transitions.npz", "transitions.npz"]
    summary = json.loads((path / "summary.json").read_text())
    assert summary["kind"] == "continuous" and summary["method"]["name"] == "variational"
    assert summary["transitions"]["num_episodes"] == E - 1  # the last one is held out
    assert summary["evidence"]["num_test_episodes"] == 1
    lp = summary["action_log_prob"]
    assert lp["test"] <= 0 and lp["train"] <= 0 and lp["num_test_transitions"] == T
    assert summary["evaluation"]["episodes"] == 0  # no env_id in the file: no rollouts
    reward = summary["reward"]
    assert reward["width"] > 0 and reward["min"] <= reward["mean"] <= reward["max"]


def test_saved_posterior_gives_the_numbers_of_the_fit(runs):
    import bayesirl.continuous as continuous

    run = load_run(runs / "variational", continuous=True)
    transitions = run.world.transitions
    assert run.idata.method == "variational" and run.idata.encoder is not None
    assert continuous.action_log_prob(run.idata, transitions) == pytest.approx(
        run.summary["action_log_prob"]["train"], abs=ATOL_RELOAD)
    mean, sd = continuous.reward_summary(run.idata, transitions)
    assert float(np.mean(mean)) == pytest.approx(run.summary["reward"]["mean"], abs=ATOL_RELOAD)
    assert float(np.mean(sd)) == pytest.approx(run.summary["reward"]["width"], abs=ATOL_RELOAD)


def test_posterior_with_draws_saves_and_loads(tmp_path):
    import equinox as eqx
    import jax

    import bayesirl.continuous as continuous
    from bayesirl.app.continuous_world import load_q_posterior, save_q_posterior

    transitions = _transitions()
    network = continuous.make_network(D, A, width=2)
    params, _ = eqx.partition(network, eqx.is_array)
    rng = np.random.default_rng(1)
    draws = jax.tree_util.tree_map(lambda x: np.asarray(x)[None] + rng.normal(
        size=(3, *x.shape)).astype(np.float32), params)
    posterior = continuous.QPosterior(network, draws, np.full(3, 3.0, np.float32),
                                      continuous.fit_standardizer(transitions.observations),
                                      0.9, False, "value-svi", {"wall_s": 1.5})
    save_q_posterior(tmp_path / "posterior.npz", posterior)
    again = load_q_posterior(tmp_path / "posterior.npz")
    assert (again.num_draws, again.method, again.soft, again.encoder) == (3, "value-svi", False,
                                                                          None)
    assert again.diagnostics == {"wall_s": 1.5} and again.discount == pytest.approx(0.9)
    np.testing.assert_array_equal(continuous.reward_draws(again, transitions),
                                  continuous.reward_draws(posterior, transitions))


def test_cartpole_run_evaluates_the_policy_by_rollouts(runs):
    summary = json.loads((runs / "cartpole" / "summary.json").read_text())
    ev = summary["evaluation"]
    assert ev["episodes"] == 1 and ev["expert_return"] == 500.0
    assert 0 < ev["learned_return"]["mean"] <= 500 and "normalized_score" in ev
    assert summary["reward"] is None  # behavioural cloning: no reward
    assert "return_under_posterior_reward" not in ev
    assert summary["transitions"]["state_dimensions"][2] == "pole angle"


def test_report_of_continuous_runs(runs, capsys):
    assert main(["report", str(runs / "variational"), "--quiet", "--dims", "2,0"]) == 0
    report = runs / "variational" / "report"
    assert {"report.txt", "report.json", "reward.png", "policy.png"} <= set(os.listdir(report))
    doc = json.loads((report / "report.json").read_text())
    assert doc["dims"]["indices"] == [2, 0] and "dimension 1" in doc["dims"][
        "others_fixed_at_median"]
    assert "reward_grid" in doc  # the variational encoder: a grid
    assert main(["report", str(runs / "cartpole"), "--quiet"]) == 0
    doc = json.loads((runs / "cartpole" / "report" / "report.json").read_text())
    assert doc["dims"]["names"] == ["pole angle", "pole angular velocity"]
    assert doc["reward_plot"].startswith("none")
    assert "reward.png" not in doc["files"] and "policy.png" in doc["files"]


def test_query_refuses_a_continuous_run(runs, capsys):
    assert main(["query", str(runs / "variational")]) == 2
    assert capsys.readouterr().err.startswith("bayesirl: error: DIR:")


def test_missing_gymnasium_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium -> ImportError
    code = main(["fit", "--env", "CartPole-v1", "--num-demos", "1", "--out",
                 str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("bayesirl: error: --env:") and 'pip install "bayesirl[gym]"' in err[0]
    assert not os.path.exists(tmp_path / "run")
