"""The `bayesirl fit` command: smoke runs, output files, one-line errors, safe outputs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.cli import main
from bayesirl.data.demos import save_demonstrations, make_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.data.mdp import save_mdp

SMALL = ["--num-samples", "30", "--num-warmup", "30", "--num-chains", "2", "--quiet"]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def map_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "grid"
    code = main(["fit", "--env", "gridworld", "--grid-size", "4x4", "--num-features", "3",
                 "--num-demos", "10", "--sampler", "map", "--out", str(out), *SMALL])
    assert code == 0
    return out


def test_fit_writes_all_outputs(map_run):
    assert sorted(os.listdir(map_run)) == ["config.json", "demos.json", "mdp.npz", "posterior.nc",
                                           "summary.json"]
    summary = json.loads((map_run / "summary.json").read_text())
    assert len(summary["policy"]) == 16 and all(0 <= a < 4 for a in summary["policy"])
    assert summary["evaluation"]["expected_value_difference"] >= -1e-6
    assert {"settings", "diagnostics", "weights", "timings"} <= set(summary)
    idata = _arviz.from_netcdf(map_run / "posterior.nc")
    assert idata.posterior["reward_weights"].dims == ("chain", "draw", "feature")


def test_fit_from_files_with_mh(tmp_path, capsys):
    env = gridworld(3, 3, num_features=2, seed=1)
    save_mdp(tmp_path / "m.npz", env.mdp)
    save_demonstrations(tmp_path / "d.json",
                        make_demonstrations([([0, 1, 2], [3, 3, 1]), ([3, 4], [3, 3])]), env.mdp)
    code, out, err = run(["fit", "--mdp", str(tmp_path / "m.npz"), "--demos", str(tmp_path / "d.json"),
                          "--sampler", "mh", "--q", "hard", "--out", str(tmp_path / "o"), *SMALL], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "evaluation" not in summary and summary["diagnostics"]["num_chains"] == 2
    assert 0 < summary["diagnostics"]["mean_accept_prob"] < 1


def test_refuses_non_empty_out_and_keeps_old_results(map_run, capsys):
    before = (map_run / "summary.json").read_text()
    code, _, err = run(["fit", "--env", "gridworld", "--out", str(map_run), *SMALL], capsys)
    assert code == 2 and "not empty" in err and "--force" in err
    # with --force but a failing run (bad demos file), the earlier results stay untouched
    code, _, err = run(["fit", "--mdp", str(map_run / "mdp.npz"), "--demos", str(map_run / "nope.json"),
                        "--out", str(map_run), "--force", *SMALL], capsys)
    assert code == 2 and (map_run / "summary.json").read_text() == before


INVALID_ARGS = [
    (["fit", "--out", "X"], "give --env, or --mdp"),
    (["fit", "--env", "gridworld", "--mdp", "m.npz", "--demos", "d.json", "--out", "X"], "not both"),
    (["fit", "--mdp", "m.npz", "--out", "X"], "--mdp needs --demos and/or --preferences"),
    (["fit", "--env", "gridworld", "--demos", "d.json", "--out", "X"], "--demos goes with --mdp"),
    (["fit", "--env", "gridworld", "--num-demos", "0", "--out", "X"], "no evidence"),
    (["fit", "--env", "gridworld", "--likelihood", "maxent,bradley-terry", "--out", "X"],
     "needs preferences"),
    (["fit", "--env", "gridworld", "--num-demos", "0", "--num-preferences", "5",
      "--likelihood", "maxent", "--out", "X"], "needs demonstrations"),
    (["fit", "--env", "gridworld", "--likelihood", "boltzmann,gail", "--out", "X"],
     "comma-separated list"),
    (["fit", "--env", "gridworld", "--likelihood", "maxent,maxent", "--out", "X"], "repeated"),
    (["fit", "--env", "gridworld", "--horizon", "5", "--out", "X"], "--horizon applies to"),
    (["fit", "--env", "gridworld", "--beta", "maxent=2", "--out", "X"], "not among --likelihood"),
    (["fit", "--env", "gridworld", "--beta", "gail=2", "--out", "X"], "SOURCE=SPEC"),
    (["fit", "--env", "gridworld", "--delta", "-1", "--out", "X"], "expected a finite number >= 0"),
    (["fit", "--mdp", "m.npz", "--demos", "d.json", "--num-preferences", "3", "--out", "X"],
     "--num-preferences needs --env"),
    (["fit", "--env", "NoSuchEnv-v9", "--out", "X"], "--env"),
    (["fit", "--env", "gridworld", "--sampler", "gibbs", "--out", "X"], "invalid choice"),
    (["fit", "--env", "gridworld", "--num-demos", "-1", "--out", "X"],
     "expected an integer in [0, 2147483647]"),
    (["fit", "--env", "gridworld", "--num-samples", "ten", "--out", "X"], "expected an integer"),
    (["fit", "--env", "gridworld", "--discount", "1.2", "--out", "X"], "expected a number in [0, 1)"),
    (["fit", "--env", "gridworld", "--beta", "-3", "--out", "X"], "--beta"),
    (["fit", "--env", "gridworld", "--beta", "lognormal:0", "--out", "X"], "lognormal needs 2"),
    (["fit", "--env", "gridworld", "--beta", "lognormal:0,1", "--out", "X"], "needs --prior l1-sphere"),
    (["fit", "--env", "gridworld", "--prior", "cauchy", "--out", "X"], "invalid choice"),
    (["fit", "--env", "gridworld", "--q", "medium", "--out", "X"], "invalid choice"),
    (["fit", "--env", "gridworld", "--grid-size", "5by5", "--out", "X"], "HEIGHTxWIDTH"),
    (["fit", "--env", "gridworld"], "required: --out"),
    (["fit", "--mdp", "missing.npz", "--demos", "d.json", "--out", "X"], "--mdp"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("argv, message", INVALID_ARGS, ids=[" ".join(a) for a, _ in INVALID_ARGS])
def test_bad_arguments_give_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bayesirl: error:") and message in lines[0], err
    assert "Traceback" not in err and not os.path.exists(tmp_path / "X")


def test_preferences_only_and_joint(tmp_path, capsys):
    """--num-demos 0 with synthetic preferences; then demonstrations + preferences jointly,
    each with its own β, and a finite-horizon maxent likelihood."""
    common = ["--env", "gridworld", "--grid-size", "3x3", "--num-features", "2", "--sampler", "map",
              *SMALL]
    code, _, err = run(["fit", *common, "--num-demos", "0", "--num-preferences", "20",
                        "--out", str(tmp_path / "p")], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["evidence"]["likelihoods"] == ["bradley-terry"]
    assert summary["evidence"]["num_comparisons"] == 20
    assert sorted(os.listdir(tmp_path / "p")) == ["config.json", "mdp.npz", "posterior.nc",
                                                 "preferences.json", "summary.json"]
    code, _, err = run(["fit", *common, "--num-demos", "5", "--num-preferences", "10",
                        "--likelihood", "maxent,bradley-terry", "--horizon", "12",
                        "--beta", "5", "--beta", "bradley-terry=2", "--out", str(tmp_path / "j")],
                       capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "j" / "summary.json").read_text())
    assert summary["settings"]["betas"] == {"maxent": 5.0, "bradley-terry": 2.0}
    # the written preferences file is accepted back with --mdp
    code, _, err = run(["fit", "--mdp", str(tmp_path / "j" / "mdp.npz"), "--preferences",
                        str(tmp_path / "j" / "preferences.json"), "--sampler", "map",
                        "--out", str(tmp_path / "k"), *SMALL], capsys)
    assert code == 0, err


def test_bad_preferences_file_gives_one_line(tmp_path, capsys):
    env = gridworld(3, 3, num_features=2, seed=1)
    save_mdp(tmp_path / "m.npz", env.mdp)
    (tmp_path / "p.json").write_text(json.dumps({
        "trajectories": [{"states": [0], "actions": [0]}, {"states": [1], "actions": [0]}],
        "comparisons": [{"first": 0, "second": 0, "label": "first"}]}))
    code, _, err = run(["fit", "--mdp", str(tmp_path / "m.npz"), "--preferences",
                        str(tmp_path / "p.json"), "--out", str(tmp_path / "o"), *SMALL], capsys)
    assert code == 2 and "--preferences:" in err and "compared with itself" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_demos_file_gives_one_line(tmp_path, capsys):
    env = gridworld(3, 3, num_features=2, seed=1)
    save_mdp(tmp_path / "m.npz", env.mdp)
    (tmp_path / "d.json").write_text(json.dumps([{"states": [0, 8], "actions": [3]}]))
    code, _, err = run(["fit", "--mdp", str(tmp_path / "m.npz"), "--demos", str(tmp_path / "d.json"),
                        "--out", str(tmp_path / "o"), *SMALL], capsys)
    assert code == 2 and "--demos:" in err and "probability 0" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_console_script_nuts_frozenlake(tmp_path):
    """The installed entry point, end to end with NUTS on the 4x4 FrozenLake (small run)."""
    proc = subprocess.run(
        [sys.executable, "-m", "bayesirl.cli", "fit", "--env", "FrozenLake-v1", "--num-demos", "10",
         "--sampler", "nuts", "--num-samples", "40", "--num-warmup", "60", "--num-chains", "2",
         "--out", str(tmp_path / "fl")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Posterior over reward weights" in proc.stdout and "r_hat" in proc.stdout
    summary = json.loads((tmp_path / "fl" / "summary.json").read_text())
    assert summary["diagnostics"]["num_chains"] == 2
    assert np.isfinite(summary["evaluation"]["learned_success_rate"])


def test_sharp_likelihood_switches_the_run_to_float64(tmp_path):
    """A float32 process (the default) with β / (1 − γ) = 100,000: the run says it computes in
    float64 and does (the written MDP holds float64 transition probabilities)."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    proc = subprocess.run(
        [sys.executable, "-m", "bayesirl.cli", "fit", "--env", "gridworld", "--grid-size", "3x3",
         "--num-features", "2", "--num-demos", "3", "--discount", "0.999", "--beta", "100",
         "--sampler", "map", "--quiet", "--out", str(tmp_path / "g")],
        capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "bayesirl: float64, because β / (1 − γ) = 100,00" in proc.stderr
    with np.load(tmp_path / "g" / "mdp.npz") as f:
        floats = [f[k].dtype for k in f.files if f[k].dtype.kind == "f"]
    assert floats and all(d == np.float64 for d in floats)


@pytest.fixture(scope="module")
def mh_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "grid-mh"
    code = main(["fit", "--env", "gridworld", "--grid-size", "4x4", "--num-features", "3",
                 "--num-demos", "3", "--sampler", "mh", "--num-samples", "100",
                 "--num-warmup", "300", "--thinning", "2", "--num-chains", "2", "--quiet",
                 "--out", str(out)])
    assert code == 0
    return out


def test_query_needs_posterior_draws(map_run, capsys):
    code, _, err = run(["query", str(map_run)], capsys)
    assert code == 2 and "single draw" in err
    code, out, err = run(["query", str(map_run), "--acquisition", "random"], capsys)
    assert code == 0, err


def test_query_state_and_preference(mh_run, capsys):
    map_run = mh_run
    code, out, err = run(["query", str(map_run), "--top-k", "3", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    states = [q["state"] for q in result["queries"]]
    assert len(states) == 3 and len(set(states)) == 3
    scores = [q["score"] for q in result["queries"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0  # the draws disagree
    code, out, err = run(["query", str(map_run), "--asked", ",".join(map(str, states)), "--json"],
                         capsys)
    assert code == 0 and not set(states) & {q["state"] for q in json.loads(out)["queries"]}
    code, out, err = run(["query", str(map_run), "--kind", "preference", "--top-k", "2",
                          "--num-candidates", "6"], capsys)
    assert code == 0, err
    assert "trajectories" in out and out.count("score") == 2


@pytest.mark.parametrize("argv, message", [
    (["query", "NOPE"], "has no mdp.npz"),
    (["query", "RUN", "--acquisition", "curiosity"], "acquisition"),
    (["query", "RUN", "--asked", "x"], "--asked"),
    (["query", "RUN", "--alpha", "2"], "--alpha"),
    (["query", "RUN", "--kind", "video"], "invalid choice"),
])
def test_query_errors_are_one_line(argv, message, mh_run, capsys):
    argv = [str(mh_run) if a == "RUN" else a for a in argv]
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
