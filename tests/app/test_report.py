"""`bayesirl report DIR`: files written, contents, refusals, and safe replacement."""

import json
import os
import shutil

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.app import report as report_module
from bayesirl.cli import main as cli_main
from bayesirl.cli.report import main

PNGS = {"trace.png", "rank.png", "forest.png", "policy_loss.png", "reward_map.png"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "grid"
    code = cli_main(["fit", "--env", "gridworld", "--grid-size", "4x4", "--num-features", "3",
                     "--num-demos", "10", "--sampler", "mh", "--num-samples", "200",
                     "--num-warmup", "500", "--num-chains", "2", "--quiet", "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def reported(run_dir):
    code = main([str(run_dir), "--quiet"])
    assert code == 0
    return run_dir / "report"


def test_report_writes_text_json_and_plots(reported):
    files = set(os.listdir(reported))
    assert {"report.txt", "report.json"} | PNGS == files
    for name in PNGS:
        assert (reported / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads((reported / "report.json").read_text())
    assert set(doc["files"]) == files
    assert doc["run"]["method"] == "mh" and doc["run"]["num_states"] == 16
    assert doc["evaluation_policy"]["kind"] == "map"
    assert len(doc["evaluation_policy"]["actions"]) == 16
    assert len(doc["reward_weights"]) == 3
    states = doc["states"]["optimal_action_prob"]
    assert np.array(states["mean"]).shape == (16, 4)
    assert np.all(np.array(states["hdi_lower"]) <= np.array(states["hdi_higher"]))
    evd = doc["policy_loss"]["evd"]
    bounds = {(b["alpha"], b["sample_size"]): b for b in evd["var_bounds"]}
    assert set(bounds) == {(a, s) for a in (0.9, 0.95, 0.99) for s in ("draws", "ess")}
    assert bounds[(0.95, "draws")]["num_samples"] == 400 and bounds[(0.95, "draws")]["bound"] >= 0
    assert doc["headline_bound"]["sample_size"] == "ess"
    assert set(doc["sufficiency"]) >= {"sufficient", "bound", "epsilon", "alpha", "delta"}
    assert doc["feature_count_bound"] > 0
    assert doc["true_evaluation"]["true_evd"] >= 0  # gridworld: the true reward is known
    assert "trustworthy" in doc["diagnostics"]
    assert doc["diagnostics"]["num_parameters"] == 3  # the weights; β is fixed here
    assert doc["diagnostics"]["thresholds"]["r_hat_max"] >= 1.01
    text = (reported / "report.txt").read_text()
    assert f"max_r_hat={doc['diagnostics']['max_r_hat']:.4g} (reward_weights[" in text
    assert "Demonstration sufficiency" in text and "α-VaR upper bounds" in text


def test_refuses_a_folder_without_a_posterior(run_dir, tmp_path, capsys):
    shutil.copy(run_dir / "mdp.npz", tmp_path / "mdp.npz")
    code = main([str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "posterior.nc" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "report").exists()
    assert main([str(tmp_path / "missing")]) == 2
    # the same through the `bayesirl` entry point
    assert cli_main(["report", str(tmp_path)]) == 2
    assert "posterior.nc" in capsys.readouterr().err


def test_evaluation_policy_is_the_optimal_policy_of_the_highest_density_draw(run_dir, reported):
    import jax.numpy as jnp

    from bayesirl import load_mdp, reward_from_weights, value_iteration

    idata = _arviz.from_netcdf(str(run_dir / "posterior.nc"))
    lp = np.asarray(idata.sample_stats["lp"].values).reshape(-1)  # sampler stored -U(z)
    draws = np.asarray(idata.posterior["reward_weights"].values).reshape(lp.size, -1)
    mdp = load_mdp(str(run_dir / "mdp.npz"))
    expected = value_iteration(mdp, reward_from_weights(mdp, jnp.asarray(draws[lp.argmax()]))).q_values
    doc = json.loads((reported / "report.json").read_text())
    actions = np.asarray(doc["evaluation_policy"]["actions"])
    q = np.asarray(expected)
    # the reported action is optimal for the MAP draw (ties may be broken either way)
    assert np.allclose(q[np.arange(q.shape[0]), actions], q.max(axis=1), atol=1e-8)


def test_existing_report_needs_force_and_survives_a_failed_run(reported, run_dir, capsys,
                                                               monkeypatch):
    before = (reported / "report.json").read_text()
    assert main([str(run_dir), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_module, "write_plots", broken)
    with pytest.raises(RuntimeError):
        main([str(run_dir), "--force", "--quiet"])
    assert (reported / "report.json").read_text() == before  # the earlier report is intact
    assert not [p for p in os.listdir(run_dir) if p.startswith(".")]  # no leftovers


def test_force_replaces_the_report(run_dir, reported, capsys):
    code = main([str(run_dir), "--force", "--alpha", "0.9", "--sample-size", "draws",
                 "--policy", "mean", "--epsilon", "0.5"])
    out = capsys.readouterr().out
    assert code == 0 and "Wrote report.txt" in out
    doc = json.loads((reported / "report.json").read_text())
    assert doc["settings"]["alpha"] == 0.9 and doc["evaluation_policy"]["kind"] == "mean"
    assert doc["headline_bound"]["sample_size"] == "draws"


def test_map_run_is_reported_with_warnings(run_dir, tmp_path, capsys):
    for name in ("mdp.npz", "demos.json"):
        shutil.copy(run_dir / name, tmp_path / name)
    idata = _arviz.from_draws({"reward_weights": np.array([[[1.0, -1.0, 0.5]]])},
                              dims={"reward_weights": ["feature"]}, attrs={"method": "map"})
    _arviz.to_netcdf(idata, tmp_path / "posterior.nc")
    code = main([str(tmp_path), "--quiet", "--grid-shape", "4x4"])
    err = capsys.readouterr().err
    assert code == 0 and "should not be trusted" in err and "MAP" in err
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    assert all("error" in b for b in doc["policy_loss"]["evd"]["var_bounds"])
    assert "error" in doc["sufficiency"] and doc["true_evaluation"] is None
    assert "reward_map.png" in doc["files"] and "trace.png" not in doc["files"]


def test_user_policy_and_baseline_from_files(run_dir, tmp_path, capsys):
    """A uniformly random evaluation policy has nEVD 1 under every draw (by definition), and
    improves 0 % on itself as the baseline."""
    uniform = np.full((16, 4), 0.25)
    np.save(tmp_path / "uniform.npy", uniform)
    (tmp_path / "actions.json").write_text(json.dumps([1] * 16))
    out = tmp_path / "copy"
    shutil.copytree(run_dir, out, ignore=shutil.ignore_patterns("report"))
    code = main([str(out), "--quiet", "--policy", str(tmp_path / "uniform.npy"),
                 "--baseline", str(tmp_path / "uniform.npy")])
    assert code == 0, capsys.readouterr().err
    doc = json.loads((out / "report" / "report.json").read_text())
    assert doc["evaluation_policy"]["kind"] == "file"
    assert doc["policy_loss"]["nevd"]["mean"] == pytest.approx(1.0, abs=1e-6)
    assert doc["policy_loss"]["percent_improvement"]["mean"] == pytest.approx(0.0, abs=1e-6)
    code = main([str(out), "--quiet", "--force", "--policy", str(tmp_path / "actions.json")])
    assert code == 0
    doc = json.loads((out / "report" / "report.json").read_text())
    assert doc["evaluation_policy"]["actions"] == [1] * 16
    assert doc["policy_loss"]["evd"]["mean"] > 0  # "always down" is not optimal here


@pytest.mark.parametrize("content, message", [
    ([1] * 15, "16 actions or a 16x4 table"),
    ([7] * 16, "integer actions in [0, 4)"),
    ([[0.5, 0.6, 0.0, 0.0]] * 16, "summing to 1"),
    ("not a policy", "cannot read a policy"),
])
def test_bad_policy_files_are_clear_errors(run_dir, tmp_path, content, message, capsys):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(content) if not isinstance(content, str) else content)
    assert main([str(run_dir), "--force", "--quiet", "--policy", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--policy" in err and message in err


@pytest.mark.parametrize("argv, message", [
    (["--alpha", "1.5"], "(0, 1)"),
    (["--epsilon", "-1"], "> 0"),
    (["--policy", "median"], "no such file"),
    (["--grid-shape", "3x3"], "--grid-shape"),
])
def test_bad_arguments_exit_2(run_dir, argv, message, capsys):
    assert main([str(run_dir), "--force", *argv]) == 2
    assert message in capsys.readouterr().err
