"""``bayesirl sweep``: a grid of tiny gridworld fits → run folders + one table; resumable;
bad sweep files and impossible sweeps refused in one line naming the key or flag."""

import csv
import json
import os

import pytest

from bayesirl.cli import main

TINY = """
[base]
env = "gridworld"
grid-size = [3, 3]
num_features = 2
num_demos = 5
sampler = "mh"
num_samples = 60
num_warmup = 60
num_chains = 2

[grid]
seed = [0, 1]
"""


def _write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_two_point_grid_writes_two_run_folders_and_the_table(tmp_path, capsys):
    config, out = _write(tmp_path, TINY), tmp_path / "out"
    assert main(["sweep", config, "--out", str(out), "--quiet"]) == 0
    for name in ("seed=0", "seed=1"):
        assert {"config.json", "summary.json", "posterior.nc"} <= set(os.listdir(out / name))
    with open(out / "sweep.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["seed=0", "seed=1"]
    assert [r["seed"] for r in rows] == ["0", "1"]
    assert all(r["sampler"] == "mh" and r["status"] == "ran" for r in rows)
    assert all(float(r["max_r_hat"]) > 0 and float(r["min_ess_bulk"]) > 0 for r in rows)
    assert rows[0]["max_r_hat"] != rows[1]["max_r_hat"]  # different seeds, different chains
    first = json.loads((out / "sweep.json").read_text())["rows"]
    # a rerun finds both runs finished and runs nothing: same numbers, status skipped
    assert main(["sweep", config, "--out", str(out)]) == 0
    again = json.loads((out / "sweep.json").read_text())["rows"]
    assert [r["status"] for r in again] == ["skipped", "skipped"]
    assert [r["max_r_hat"] for r in again] == [r["max_r_hat"] for r in first]
    assert "seed=1" in capsys.readouterr().out


@pytest.mark.parametrize("text, expected", [
    ("[grid]\nseed = [0, 1\n", "invalid TOML"),
    ("[grid]\nnum_demos = [5, -1]\n[base]\nenv = 'gridworld'\n",
     "[grid] num_demos = -1: --num-demos"),
    ("[base]\nenv = 'gridworld'\nbogus = 1\n[grid]\nseed = [0]\n", "[base] bogus: unknown setting"),
    ("[grid]\nseed = 3\n", "[grid] seed: expected a non-empty list"),
    ("[grid]\nseed = []\n", "[grid] seed: expected a non-empty list"),
    ("[base]\nenv = 'gridworld'\n", "[grid]: expected a table"),
    ("[other]\nx = 1\n[grid]\nseed = [0]\n", "other: expected only the tables"),
    ("[base]\nseed = 1\nenv = 'gridworld'\n[grid]\nseed = [0]\n", "[grid] seed: also set in"),
    ("[base]\nenv = 'gridworld'\nsampler = 'nope'\n[grid]\nseed = [0]\n", "[base] sampler"),
])
def test_bad_sweep_file_one_line_naming_the_key(tmp_path, capsys, text, expected):
    config = _write(tmp_path, text)
    assert main(["sweep", config, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "sweep.toml" in err, err
    assert not (tmp_path / "out").exists()


def test_missing_file_and_stray_address(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "CONFIG: no such file" in capsys.readouterr().err
    config = _write(tmp_path, TINY)
    assert main(["sweep", config, "--out", str(tmp_path / "o"), "--address", "auto"]) == 2
    assert "--address: applies to --executor ray" in capsys.readouterr().err


def test_sweep_too_large_for_memory_is_refused_before_it_starts(tmp_path, capsys):
    text = TINY.replace("num_chains = 2", "num_chains = 100000").replace(
        "num_samples = 60", "num_samples = 1000000000")
    config, out = _write(tmp_path, text), tmp_path / "out"
    assert main(["sweep", config, "--out", str(out), "--executor", "process",
                 "--max-workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bayesirl: error: --max-workers:") and err.count("\n") == 1
    assert not out.exists()
    assert main(["sweep", config, "--out", str(out)]) == 2
    assert "num_chains/num_samples" in capsys.readouterr().err
