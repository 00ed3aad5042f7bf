"""``bayesirl fit --trajectories`` / ``report`` / ``query`` on a trajectory run (issue 11): the
README's commands, the run folder, one-line errors."""

import json
import os

import numpy as np
import pytest

from bayesirl.cli import main
from bayesirl.data.preferences import make_preferences
from bayesirl.data.trajectories import (make_trajectories, save_trajectories,
                                        save_trajectory_preferences)

SMALL = ["--sampler", "nuts", "--num-samples", "150", "--num-warmup", "150", "--num-chains", "1",
         "--quiet"]
TRUE_W = np.array([1.0, -0.5, 0.0])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """40 trajectories (3 features, log-probabilities), 120 Bradley–Terry labels from TRUE_W,
    and three candidate policies whose true order is good > mid > bad."""
    d = tmp_path_factory.mktemp("traj")
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(40, 3))
    trajs = make_trajectories(feature_counts=phi, log_probs=-rng.uniform(1, 3, 40),
                              feature_names=["a", "b", "c"])
    save_trajectories(d / "trajs.npz", trajs)
    i, j = rng.choice(40, size=(2, 120))
    i, j = i[i != j], j[i != j]
    p_first = 1 / (1 + np.exp(-3 * (phi[i] - phi[j]) @ TRUE_W))
    labels = np.where(rng.random(len(i)) < p_first, "first", "second")
    prefs = make_preferences(40, [{"first": int(a), "second": int(b), "label": str(c)}
                                  for a, b, c in zip(i, j, labels)])
    save_trajectory_preferences(d / "prefs.json", prefs, 40, "trajs.npz")
    np.savez(d / "policies.npz", random=np.zeros((4, 3)), good=rng.normal(size=(5, 3)) + TRUE_W,
             bad=rng.normal(size=(5, 3)) - TRUE_W)
    return d


@pytest.fixture(scope="module")
def run_dir(inputs):
    """The README's fit command (small sampler settings)."""
    out = inputs / "runs" / "traj"
    code = main(["fit", "--trajectories", str(inputs / "trajs.npz"), "--preferences",
                 str(inputs / "prefs.json"), "--demos-ids", "0-2", "--prior", "l2-sphere",
                 "--beta", "bradley-terry=lognormal:0,1", "--out", str(out), *SMALL])
    assert code == 0
    return out


def test_fit_writes_the_run_folder(run_dir):
    assert sorted(os.listdir(run_dir)) == ["config.json", "posterior.nc", "preferences.json",
                                           "summary.json", "trajectories.npz"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["world"]["demos_ids"] == [0, 1, 2] and "mdp" not in config["world"]
    assert config["model"]["likelihood"] == ["sample-maxent", "bradley-terry"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["evidence"]["num_background"] == 37
    assert summary["evidence"]["importance_ess"]["median"] >= 1.0
    mean = np.array([w["mean"] for w in summary["weights"] if w["name"].startswith("reward")])
    assert mean @ TRUE_W / np.linalg.norm(mean) / np.linalg.norm(TRUE_W) > 0.8


def test_report_ranks_candidate_policies(run_dir, inputs, capsys):
    assert main(["report", str(run_dir), "--policies", str(inputs / "policies.npz"),
                 "--baseline", "random", "--sample-size", "draws", "--quiet"]) == 0
    doc = json.loads((run_dir / "report" / "report.json").read_text())
    ev = doc["evaluation"]
    assert ev["ranking_by_lower_bound"] == ["good", "random", "bad"]
    rows = {r["name"]: r for r in ev["candidates"]}
    assert rows["good"]["lower_bound"] <= rows["good"]["interval"][0] <= rows["good"]["mean"]
    assert rows["good"]["regret_bound"] < 0 < rows["bad"]["regret_bound"]
    assert sorted(os.listdir(run_dir / "report")) == ["policy_returns.png", "report.json",
                                                      "report.txt"]


def test_query_chooses_a_new_pair(run_dir, capsys):
    assert main(["query", str(run_dir), "--kind", "preference", "--top-k", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    prefs = json.loads((run_dir / "preferences.json").read_text())["comparisons"]
    asked = {tuple(sorted((c["first"], c["second"]))) for c in prefs}
    pairs = [tuple(sorted((q["first"]["index"], q["second"]["index"])))
             for q in result["queries"]]
    assert len(pairs) == 3 and not asked & set(pairs)
    assert result["num_excluded"] == len(asked)
    scores = [q["score"] for q in result["queries"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("args, message", [
    (["--demos-ids", "0-x"], "--demos-ids"),
    (["--demos-ids", "99"], "--demos-ids: id 99 is out of range"),
    (["--background-ids", "3"], "--background-ids needs --demos-ids"),
    (["--mdp", "m.npz"], "--trajectories: goes without an MDP"),
    (["--likelihood", "boltzmann"], "--likelihood"),
])
def test_fit_errors_are_one_line(inputs, tmp_path, capsys, args, message):
    code = main(["fit", "--trajectories", str(inputs / "trajs.npz"), "--preferences",
                 str(inputs / "prefs.json"), *args, "--out", str(tmp_path / "o"), *SMALL])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_report_and_query_errors(run_dir, inputs, tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", p=np.zeros((2, 5)))
    assert main(["report", str(run_dir), "--policies", str(tmp_path / "bad.npz"), "--force",
                 "--quiet"]) == 2
    assert "--policies" in capsys.readouterr().err
    assert main(["report", str(run_dir), "--policies", str(inputs / "policies.npz"),
                 "--baseline", "nobody", "--force", "--quiet"]) == 2
    assert "--baseline" in capsys.readouterr().err
    assert main(["query", str(run_dir)]) == 2
    assert "--kind preference" in capsys.readouterr().err
