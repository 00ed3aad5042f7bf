"""Trajectory runs from Python (issue 11): RunConfig's trajectory source, the run folder of
run_trajectory_fit, loading it back, a MAP run refused by the report."""

import numpy as np
import pytest

from bayesirl.app import ConfigError, RunConfig, UsageError
from bayesirl.app.fit import run_fit
from bayesirl.app.report import run_report
from bayesirl.app.run import load_run
from bayesirl.app.world import is_trajectory_run
from bayesirl.data.trajectories import make_trajectories, save_trajectories


@pytest.mark.parametrize("kwargs, message", [
    (dict(), "--trajectories needs --preferences and/or --demos-ids"),
    (dict(demos_ids=()), "--demos-ids: expected at least one"),
    (dict(demos_ids=(1, -2)), "--demos-ids"),
    (dict(background_ids=(1,), preferences="p.json"), "--background-ids needs --demos-ids"),
    (dict(demos_ids=(0,), env="gridworld"), "--trajectories: goes without an MDP"),
    (dict(demos_ids=(0,), likelihood=("maxent",)), "--likelihood"),
    (dict(demos_ids=(0,), num_preferences=5), "--num-preferences"),
])
def test_config_rejects_bad_trajectory_sources(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        RunConfig(trajectories="t.npz", **kwargs)


def test_config_defaults_and_round_trip():
    c = RunConfig(trajectories="t.npz", preferences="p.json", demos_ids=[3, 4])
    assert c.likelihood == ("sample-maxent", "bradley-terry") and c.demos_ids == (3, 4)
    assert RunConfig.from_json(c.to_json()) == c
    with pytest.raises(ConfigError, match="--demos-ids/--background-ids go with --trajectories"):
        RunConfig(env="gridworld", demos_ids=(1,))


def test_map_run_folder(tmp_path):
    rng = np.random.default_rng(1)
    trajs = make_trajectories(feature_counts=rng.normal(size=(12, 2)),
                              log_probs=-rng.uniform(1, 2, 12))
    save_trajectories(tmp_path / "t.npz", trajs)
    config = RunConfig(trajectories=str(tmp_path / "t.npz"), demos_ids=(0, 1), sampler="map",
                       num_chains=2)
    result = run_fit(config, tmp_path / "run", echo=lambda m: None)
    assert result.summary["files"] == ["config.json", "posterior.nc", "summary.json",
                                       "trajectories.npz"]
    assert is_trajectory_run(tmp_path / "run")
    run = load_run(tmp_path / "run")
    np.testing.assert_allclose(run.trajectories.feature_counts, trajs.feature_counts)
    assert run.preferences is None and run.config.demos_ids == (0, 1)
    with pytest.raises(UsageError, match="single draw"):
        run_report(tmp_path / "run", quiet=True)
    with pytest.raises(UsageError, match="--demos-ids: id 12 is out of range"):
        run_fit(RunConfig(trajectories=str(tmp_path / "t.npz"), demos_ids=(12,)),
                           tmp_path / "other")
