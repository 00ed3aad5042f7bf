"""``bayesirl fit --sampler policy-walk``: defaults it implies (hard Q, L2 sphere, 64 chains),
one run plus ``bayesirl report`` on a small world, and one-line usage errors."""

import json
import os

import pytest

from bayesirl import _arviz
from bayesirl.app.config import POLICY_WALK_DEFAULT_CHAINS, RunConfig
from bayesirl.cli import main


def test_defaults_implied_by_policy_walk():
    config = RunConfig(env="gridworld", sampler="policy-walk")
    assert (config.q, config.prior, config.num_chains) == ("hard", "l2-sphere",
                                                           POLICY_WALK_DEFAULT_CHAINS)
    assert (config.num_samples, config.num_warmup, config.thinning) == (1000, 1000, 1)
    assert RunConfig.from_json(config.to_json()) == config
    other = RunConfig(env="gridworld", sampler="mh")
    assert (other.q, other.prior, other.num_chains) == ("soft", "gaussian", 4)


def test_fit_and_report(tmp_path, capsys):
    out = tmp_path / "pw"
    code = main(["fit", "--env", "gridworld", "--grid-size", "3x3", "--num-features", "3",
                 "--num-demos", "5", "--sampler", "policy-walk", "--beta", "2",
                 "--num-samples", "100", "--num-warmup", "50", "--num-chains", "4", "--quiet",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert (config["inference"]["sampler"], config["model"]["q"],
            config["model"]["prior"]) == ("policy-walk", "hard", "l2-sphere")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diagnostics"]["method"] == "policy-walk"
    assert summary["diagnostics"]["num_chains"] == 4 and len(summary["policy"]) == 9
    idata = _arviz.from_netcdf(out / "posterior.nc")
    assert idata.posterior["reward_weights"].shape == (4, 100, 3)
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["run"]["method"] == "policy-walk"
    assert report["evaluation_policy"]["kind"] == "map"  # the draws carry lp


INVALID = [
    (["--q", "soft"], "--q: --sampler policy-walk"),
    (["--prior", "gaussian"], "--prior: --sampler policy-walk"),
    (["--prior", "l1-sphere", "--beta", "lognormal:0,1"], "--beta: --sampler policy-walk"),
    (["--num-preferences", "5"], "--sampler policy-walk"),
    (["--num-warmup", "2"], "--num-warmup"),
]


@pytest.mark.parametrize("extra, message", INVALID, ids=[" ".join(a) for a, _ in INVALID])
def test_unsupported_settings_give_one_line(extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["fit", "--env", "gridworld", "--sampler", "policy-walk", *extra, "--out", "X"])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert not os.path.exists(tmp_path / "X")
