"""`bayesirl compare RUN_A RUN_B`: the printed table and check, the --json file, and one-line
errors with exit status 2. The two tiny runs are ``compare_runs_pair`` (tests/conftest.py)."""

import json

import pytest

from bayesirl.app.compare import compare_run_folders
from bayesirl.cli import build_parser, main


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_table_and_the_check_and_writes_json(compare_runs_pair, tmp_path, capsys):
    a, b = compare_runs_pair
    path = tmp_path / "compare.json"
    code, out, err = run(["compare", str(a), str(b), "--json", str(path)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("PSIS-LOO (az.compare) of boltzmann_actions")
    assert lines[2].split()[:2] == ["0", "beta5"] and lines[3].split()[:2] == ["1", "beta1"]
    assert "beta5 predicts held-out observations better" in out
    assert "Posterior-predictive check of the action frequencies" in out
    saved = json.loads(path.read_text())
    assert set(saved) == {"runs", "variables", "num_observations", "loo", "level",
                          "action_frequencies"}
    direct = compare_run_folders(a, b)
    assert [r["elpd_loo"] for r in saved["loo"]] == pytest.approx(
        [r["elpd_loo"] for r in direct["loo"]])
    assert saved["action_frequencies"]["beta1"]["observed"] == \
        direct["action_frequencies"]["beta1"]["observed"].tolist()


def test_compare_is_a_listed_command():
    assert "compare" in build_parser().format_help()


@pytest.mark.parametrize("extra, message", [
    (["--var-name", "maxent_actions"], "--var-name: beta5 has no log-likelihood variable"),
    (["--json", "{ROOT}/no/such/folder/x.json"], "--json: cannot write"),
    (["--level", "1.5"], "--level"),
])
def test_bad_flags_are_one_line_errors(compare_runs_pair, tmp_path, capsys, extra, message):
    a, b = compare_runs_pair
    extra = [x.replace("{ROOT}", str(tmp_path)) for x in extra]
    code, out, err = run(["compare", str(a), str(b), *extra], capsys)
    assert code == 2
    assert err.startswith("bayesirl: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_a_folder_without_a_fit_is_refused(compare_runs_pair, tmp_path, capsys):
    code, _, err = run(["compare", str(tmp_path), str(compare_runs_pair[0])], capsys)
    assert code == 2
    assert err.startswith("bayesirl: error: RUN_A: ") and "bayesirl fit --out DIR" in err
