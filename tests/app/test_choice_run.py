"""Choice runs (``bayesirl fit --choices``): configuration, run folder, report and compare, for
one reward and for per-person weights."""

import csv
import json

import numpy as np
import pytest

from bayesirl.app import ConfigError, RunConfig
from bayesirl.app.run import load_run
from bayesirl.cli import main
from bayesirl.data.choices import load_choices, make_choice_sets, save_choices

#: People, choice sets per person, options, features of the synthetic panel.
I, PER, K = 12, 8, 3
TRUE_MEAN, TRUE_SD = np.array([1.0, -0.5]), np.array([1.0, 0.0])


@pytest.fixture(scope="module")
def choices_file(tmp_path_factory):
    """A panel: person i's price weight is 1 + N(0, 1); the time weight is shared."""
    rng = np.random.default_rng(0)
    W = TRUE_MEAN + rng.normal(size=(I, 2)) * TRUE_SD
    person = np.repeat(np.arange(I), PER)
    x = rng.normal(size=(I * PER, K, 2))
    u = np.einsum("nkf,nf->nk", x, W[person])
    p = np.exp(u - u.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    chosen = np.array([rng.choice(K, p=q) for q in p])
    path = tmp_path_factory.mktemp("choices") / "panel.csv"
    save_choices(path, make_choice_sets(x, chosen, None, person), ["price", "time"],
                 ["bus", "car", "train"], [f"resp{i}" for i in range(I)])
    return path


@pytest.fixture(scope="module")
def runs(choices_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    common = ["--num-samples", "100", "--num-warmup", "100", "--num-chains", "2", "--quiet"]
    assert main(["fit", "--choices", str(choices_file), "--out", str(root / "flat"),
                 "--prior-scale", "5", *common]) == 0
    assert main(["fit", "--choices", str(choices_file), "--group-by", "person",
                 "--random-features", "price", "--prior-scale", "5", "--out",
                 str(root / "people"), *common]) == 0
    return root


def test_config_of_choice_runs():
    c = RunConfig(choices="c.csv", group_by="person", random_features=["price"],
                  person_scale=0.5)
    assert c.likelihood == ("choice",) and c.world.kind == "choices"
    assert RunConfig.from_json(c.to_json()) == c
    wide = RunConfig(choices="c.csv", group_by="person", prior_scale=10.0)
    assert wide.person_scale == 10.0  # default: the population mean's prior scale
    assert wide.replace(prior_scale=3.0).person_scale == 3.0
    assert c.replace(prior_scale=3.0).person_scale == 0.5  # given: kept
    flat = RunConfig(choices="c.csv")
    assert "random_features" not in flat.to_json()["model"]
    assert "random_features" not in RunConfig(env="gridworld").to_json()["model"]
    for kwargs, message in ((dict(env="gridworld"), "--choices: goes without"),
                            (dict(random_features=("a",)), "--random-features goes with"),
                            (dict(person_scale=2.0), "--person-scale goes with"),
                            (dict(likelihood=("boltzmann",)), "--likelihood")):
        with pytest.raises(ConfigError, match=message):
            RunConfig(choices="c.csv", **kwargs)
    with pytest.raises(ConfigError, match="--group-by goes with --choices"):
        RunConfig(env="gridworld", group_by="person")


def test_run_folders_hold_the_choices_and_the_population(runs, choices_file):
    flat = load_run(runs / "flat")
    assert flat.kind == "choices" and flat.world.hierarchy is None
    given = load_choices(choices_file)
    for got, want in zip(flat.world.data.choices, given.choices):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert flat.world.person_names == [f"resp{i}" for i in range(I)]
    people = load_run(runs / "people")
    assert people.config.group_by == "person" and people.config.random_features == ("price",)
    assert people.world.hierarchy.features == (0,)
    summary = json.loads((runs / "people" / "summary.json").read_text())
    pop = summary["population"]
    assert pop["random_features"] == ["price"]
    assert [p["person"] for p in pop["persons"]] == [f"resp{i}" for i in range(I)]
    assert all(p["num_choice_sets"] == PER for p in pop["persons"])
    assert list(people.idata.posterior["person_scales"].coords["random_feature"].values) == [
        "price"]
    # the time weight is shared: a new person's time weight is the population's
    new = {r["feature"]: r for r in pop["new_person"]}
    mean = {r["feature"]: r for r in pop["mean"]}
    assert new["time"]["mean"] == pytest.approx(mean["time"]["mean"], abs=1e-9)
    assert new["price"]["upper"] - new["price"]["lower"] > (
        mean["price"]["upper"] - mean["price"]["lower"])
    # the truth's population sd of price (1) lies in the posterior's broad interval
    assert pop["scales"][0]["lower"] < 1.0 < pop["scales"][0]["upper"] + 0.5


def test_report_of_a_population(runs, capsys):
    assert main(["report", str(runs / "people"), "--hdi-prob", "0.9"]) == 0
    text = capsys.readouterr().out
    assert "How much people differ" in text and "A new person's weights" in text
    report = runs / "people" / "report"
    with open(report / "persons.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == I * 2 and rows[0]["person"] == "resp0"
    doc = json.loads((report / "report.json").read_text())
    assert doc["interval_prob"] == 0.9 and doc["kind"] == "choices"
    assert 0 < doc["prediction"]["best_option_chosen"] <= 1
    assert {"forest.png", "persons.png"} <= set(doc["files"])
    assert main(["report", str(runs / "flat")]) == 0
    assert "one reward for everyone" in capsys.readouterr().out


def test_compare_flat_and_per_person_by_loo(runs, capsys):
    assert main(["compare", str(runs / "flat"), str(runs / "people")]) == 0
    out = capsys.readouterr().out
    assert "PSIS-LOO" in out and "choice_orders" in out and f"{I * PER} observations" in out


def test_shipped_data_set_by_name_matches_the_published_logit(tmp_path):
    """``--choices dutch-train`` with a nearly flat prior: the MAP is the multinomial logit's
    maximum-likelihood estimate, which mlogit publishes (converted to these units)."""
    assert main(["fit", "--choices", "dutch-train", "--sampler", "map", "--num-chains", "1",
                 "--prior-scale", "100", "--quiet", "--out", str(tmp_path / "t")]) == 0
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    got = {w["what"]: w["mean"] for w in summary["weights"]}
    mlogit = {"price": -0.3271, "time": -1.7206, "change": -0.3263, "comfort": -0.9457}
    for name, value in mlogit.items():  # 4 published digits; the prior moves w by < 1e-4
        assert abs(got[name] - value) < 1e-3, (name, got[name], value)
    assert summary["choices"]["num_persons"] == 235
