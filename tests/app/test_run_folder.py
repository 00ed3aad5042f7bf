"""Run folders (issue 14): whole-folder replacement, early --out checks, --strict and honest
warnings, the two seeds, interrupts, old folders, and the Python path giving the CLI's folder."""

import json
import os
import time

import pytest

from bayesirl.app import RunConfig, run_fit
from bayesirl.app import fit as fit_module
from bayesirl.cli import main

#: An --out inside a file must be refused before any work, within this many seconds.
EARLY_FAILURE_S = 10.0
TINY = ["--env", "gridworld", "--grid-size", "3x3", "--num-features", "2", "--sampler", "map",
        "--num-chains", "2", "--quiet"]


def _files(folder) -> set:
    return {os.path.relpath(os.path.join(d, f), folder)
            for d, _, fs in os.walk(folder) for f in fs}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A MAP run (seed 0, data seed 0, 5 demonstrations), read only: tests copy it."""
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["fit", *TINY, "--num-demos", "5", "--out", str(out)]) == 0
    return out


@pytest.fixture
def first_run(reference, tmp_path):
    import shutil

    shutil.copytree(reference, tmp_path / "run")
    return tmp_path / "run"


@pytest.mark.slow
def test_force_replaces_the_whole_folder(first_run, capsys):
    """fit → report → refit with --force on different evidence: no file of the first run left."""
    assert main(["report", str(first_run), "--quiet"]) == 0
    assert (first_run / "report" / "report.json").exists()
    old = {name: (first_run / name).read_bytes() for name in _files(first_run)}
    assert main(["fit", *TINY, "--num-demos", "0", "--num-preferences", "8", "--data-seed", "3",
                 "--out", str(first_run), "--force"]) == 0
    files = _files(first_run)
    assert files == {"mdp.npz", "posterior.nc", "preferences.json", "config.json",
                     "summary.json"}
    for name in files - {"mdp.npz"}:  # the same world, so the MDP file may be identical
        assert (first_run / name).read_bytes() != old.get(name), name
    assert not [p for p in os.listdir(first_run.parent) if p.startswith(".")]
    config = json.loads((first_run / "config.json").read_text())
    assert config["world"]["data_seed"] == 3 and config["model"]["likelihood"] == ["bradley-terry"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(first_run).st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700


def test_out_inside_a_file_fails_fast(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    start = time.perf_counter()
    code = main(["fit", "--env", "gridworld", "--out", str(tmp_path / "file" / "run")])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "file" in err and len(err.splitlines()) == 1
    assert elapsed < EARLY_FAILURE_S


def test_strict_run_with_failed_diagnostics_warns_and_exits_1(tmp_path, capsys, monkeypatch):
    """--strict: failed diagnostics → warning block with what to try, exit 1; the MAP table is
    not labelled a posterior with HDIs; no ArviZ shape warning. (``fit --sampler map --strict``
    is refused up front, as its diagnostics always fail: the check is bypassed here so that
    the cheapest fit exercises the exit-1 path.)"""
    from bayesirl.cli import fit as cli_fit

    monkeypatch.setattr(cli_fit, "check_strict", lambda config: None)
    argv = [a for a in TINY if a != "--quiet"]
    code = main(["fit", *argv, "--num-demos", "5", "--seed", "7", "--strict",
                 "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 1 and "should not be trusted" in captured.err and "try:" in captured.err
    assert "MAP estimate" in captured.out and "HDI" not in captured.out
    assert "Shape validation" not in captured.err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["warnings"] and summary["diagnostics"]["remedies"]


def test_summary_records_the_misfit_alarm(reference):
    """Every fit runs the misfit alarm (posterior-predictive checks) and records it in
    summary.json; a MAP fit (one draw: the best restart) gets the plug-in checks, without LOO."""
    summary = json.loads((reference / "summary.json").read_text())
    misfit = summary["misfit"]
    assert {c["name"] for c in misfit["checks"]} == {
        "log-likelihood", "action-frequencies", "predictive-set"}
    assert misfit["num_draws"] == 1 and 0 < misfit["threshold"] < misfit["level"]
    assert (misfit["message"] in summary["warnings"]) == misfit["alarm"]


def test_seed_changes_inference_not_data(reference, tmp_path):
    """Same --data-seed: identical evidence for another --seed; another --data-seed: new
    evidence."""
    assert main(["fit", *TINY, "--num-demos", "5", "--seed", "7",
                 "--out", str(tmp_path / "b")]) == 0
    assert main(["fit", *TINY, "--num-demos", "5", "--data-seed", "5",
                 "--out", str(tmp_path / "c")]) == 0
    demos = [(p / "demos.json").read_text() for p in (reference, tmp_path / "b", tmp_path / "c")]
    assert demos[0] == demos[1] != demos[2]
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["inference"]["seed"] == 7 and config["world"]["data_seed"] == 0


def test_python_api_writes_the_cli_folder(reference, tmp_path):
    config = RunConfig(env="gridworld", grid_size=(3, 3), num_features=2, num_demos=5,
                       sampler="map", num_chains=2)
    result = run_fit(config, tmp_path / "py", echo=lambda m: None)
    assert _files(tmp_path / "py") == _files(reference)
    for name in ("config.json", "demos.json"):
        assert (tmp_path / "py" / name).read_text() == (reference / name).read_text()
    assert RunConfig.from_json(json.loads((tmp_path / "py" / "config.json").read_text())) == \
        result.config


def test_interrupt_is_one_line_exit_130_and_writes_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_module, "fit_posterior", interrupted)
    code = main(["fit", *TINY, "--num-demos", "5", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 130 and len(err.strip().splitlines()) == 1 and "interrupted" in err
    assert os.listdir(tmp_path) == []


def test_interrupt_while_writing_leaves_the_old_run(first_run, capsys, monkeypatch):
    from bayesirl import _arviz

    before = {n: (first_run / n).read_bytes() for n in _files(first_run)}
    idata = _arviz.from_netcdf(first_run / "posterior.nc")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_module, "fit_posterior", lambda *a, **k: (idata, []))
    monkeypatch.setattr(fit_module._arviz, "to_netcdf", interrupted)
    code = main(["fit", *TINY, "--num-demos", "5", "--out", str(first_run), "--force"])
    assert code == 130
    assert {n: (first_run / n).read_bytes() for n in _files(first_run)} == before
    assert not [p for p in os.listdir(first_run.parent) if p.startswith(".")]


@pytest.mark.slow
def test_old_run_folder_without_config_still_loads(first_run, tmp_path, capsys):
    """A folder from before config.json: report and query rebuild the settings from
    summary.json's argparse settings; without them, query refuses in one line."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(first_run, old, ignore=shutil.ignore_patterns("report", "config.json"))
    summary = json.loads((old / "summary.json").read_text())
    settings = summary["settings"]
    settings.update(delta=settings.pop("margin"), out=str(old), force=False, quiet=True,
                    betas={k: v for k, v in settings["betas"].items()})
    settings.pop("data_seed")
    (old / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(old), "--quiet"]) == 0
    assert main(["query", str(old), "--acquisition", "random", "--kind", "preference",
                 "--num-candidates", "4", "--json"]) == 0
    (old / "summary.json").unlink()
    capsys.readouterr()
    assert main(["query", str(old), "--acquisition", "random"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bayesirl fit" in err[0]
