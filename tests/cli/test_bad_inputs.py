"""The bad-input table: every case exits with status 2 and one line on stderr that names the
flag or argument first, before any fitting, and leaves an existing run folder byte-identical.

The run folder is written by hand (no fit), so the whole table runs in seconds in-process. The
memory available is fixed (:data:`AVAILABLE`) so that the size estimates refuse the same
cases on every machine.
"""

import hashlib
import json
import os
import re
import socket
import time

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl._io import claim_file
from bayesirl.app.config import RunConfig
from bayesirl.cli import main
from bayesirl.data.demos import make_demonstrations, save_demonstrations
from bayesirl.data.envs import gridworld
from bayesirl.data.mdp import save_mdp

ENV = ["fit", "--env", "gridworld", "--grid-size", "3x3", "--num-features", "2"]
#: Memory the size estimates see as available in these tests (bytes).
AVAILABLE = 8 * 2**30
#: An integer beyond int64 (2**70).
HUGE = "1180591620717411303424"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A hand-written run folder RUN plus input files of every kind, good and bad."""
    root = tmp_path_factory.mktemp("bad-inputs")
    run = root / "run"
    run.mkdir()
    env = gridworld(3, 3, num_features=2, seed=1)
    save_mdp(run / "mdp.npz", env.mdp)
    demos = make_demonstrations([([0, 1, 2], [3, 3, 1]), ([3, 4], [3, 3])])
    save_demonstrations(run / "demos.json", demos, env.mdp)
    draws = np.random.default_rng(0).normal(size=(2, 20, 2))
    idata = _arviz.from_draws({"reward_weights": draws}, dims={"reward_weights": ["feature"]},
                              attrs={"method": "mh"})
    _arviz.to_netcdf(idata, run / "posterior.nc")
    config = RunConfig(env="gridworld", grid_size=(3, 3), num_features=2, num_demos=2,
                       data_seed=1, sampler="mh")
    (run / "config.json").write_text(json.dumps(config.to_json()))
    (run / "summary.json").write_text(json.dumps({"mdp": {"max_episode_steps": 10}}))
    (root / "text.npz").write_text("not an archive")
    np.savez(root / "foreign.npz", a=np.ones(3))
    np.save(root / "array.npy", np.ones((3, 2, 3)) / 3)
    (root / "bad.json").write_text("{not json")
    (root / "demos_bad.json").write_text(json.dumps([{"states": [0, 8], "actions": [3]}]))
    (root / "prefs_self.json").write_text(json.dumps({
        "trajectories": [{"states": [0], "actions": [0]}],
        "comparisons": [{"first": 0, "second": 0, "label": "first"}]}))
    (root / "a_file").write_text("x")
    (root / "policy_short.json").write_text(json.dumps([1] * 5))
    np.save(root / "T.npy", np.full((3, 2, 3), 1 / 3))
    np.save(root / "T_bad.npy", np.full((3, 2, 3), 0.5))
    np.save(root / "F.npy", np.eye(3))
    np.save(root / "F_bad.npy", np.ones((4, 2)))
    np.save(root / "R_bad.npy", np.ones(7))
    np.save(root / "T_complex.npy", np.full((3, 2, 3), 1 / 3 + 0j))
    (root / "folder.npy").mkdir()
    (root / "folder.npz").mkdir()
    for name, state in (("1e30", 1e30), ("negative", -1), ("too_large", 9), ("int128", 2**100)):
        (root / f"demos_{name}.json").write_text(json.dumps(
            {"format": "bayesirl.demonstrations/1",
             "trajectories": [{"states": [0, state], "actions": [3, 3]}]}))
    header = "choice_set,option,chosen,available,person,price,time\n"
    (root / "choices.csv").write_text(header + "0,0,1,1,ann,1.0,2.0\n0,1,0,1,ann,2.0,1.0\n")
    (root / "choices_two.csv").write_text(header + "0,0,1,1,0,1.0,2.0\n0,1,1,1,0,2.0,1.0\n")
    (root / "choices_nan.csv").write_text(header + "0,0,1,1,0,nan,2.0\n0,1,0,1,0,2.0,1.0\n")
    (root / "choices_one.csv").write_text(header + "0,0,1,1,0,1.0,2.0\n")
    (root / "choices_rank_gap.csv").write_text(
        "choice_set,option,rank,price\n0,0,1,1.0\n0,1,3,2.0\n0,2,,0.0\n")
    (root / "choices.txt").write_text("x")
    _continuous_files(root)
    with open(claim_file(root / "busy"), "w") as f:  # another live process is writing it
        json.dump({"pid": os.getppid(), "host": socket.gethostname(), "started": time.time()},
                  f)
    return root


def _continuous_files(root):
    """Transitions files (``bayesirl.transitions/1``): one good, one bad per field; and a
    continuous-state run folder CRUN written by hand."""
    from bayesirl.data.continuous import make_transitions, save_transitions

    obs = np.arange(12.0).reshape(6, 2)
    good = dict(format=np.array("bayesirl.transitions/1"), observations=obs,
                actions=np.array([0, 1, 0, 1, 0, 1]), next_observations=obs + 1,
                dones=np.array([False, False, True, False, False, True]),
                episode_ids=np.array([0, 0, 0, 1, 1, 1]), num_actions=np.array(2))
    np.savez(root / "transitions.npz", **good)
    bad = {"format": dict(format=np.array("bayesirl.transitions/0")),
           "observations": dict(observations=np.full((6, 2), np.nan)),
           "actions": dict(actions=np.array([0, 1, 0, 1, 0, 2])),
           "next_observations": dict(next_observations=np.ones((5, 2))),
           "dones": dict(dones=np.zeros(6)),
           "episode_ids": dict(episode_ids=np.array([0, 1, 0, 1, 0, 1])),
           "num_actions": dict(num_actions=np.array(1.5)),
           "rewards": dict(rewards=np.ones(4))}
    for field, change in bad.items():
        np.savez(root / f"transitions_{field}.npz", **{**good, **change})
    missing = dict(good)
    missing.pop("dones")
    np.savez(root / "transitions_missing.npz", **missing)
    np.savez(root / "transitions_unknown.npz", **good, extra=np.ones(2))
    pytest.importorskip("equinox")
    import bayesirl.continuous as continuous
    from bayesirl.app.continuous_world import save_q_posterior

    crun = root / "crun"
    crun.mkdir()
    t = make_transitions(obs, good["actions"], obs + 1, good["dones"], good["episode_ids"], 2)
    save_transitions(crun / "transitions.npz", t)
    net = continuous.make_network(2, 2, width=2)
    import equinox as eqx
    import jax

    draws = jax.tree_util.tree_map(lambda x: x[None], eqx.partition(net, eqx.is_array)[0])
    save_q_posterior(crun / "posterior.npz", continuous.QPosterior(
        net, draws, np.ones(1, np.float32), continuous.fit_standardizer(obs), 0.95))
    config = RunConfig(demos_npz="transitions.npz", hidden_units=2)
    (crun / "config.json").write_text(json.dumps(config.to_json()))


@pytest.fixture(autouse=True)
def fixed_memory(monkeypatch):
    monkeypatch.setattr("bayesirl.app.checks.available_memory", lambda: AVAILABLE)


def _fit_cases():
    cases = []
    ints = {"--num-demos": 0, "--num-preferences": 0, "--num-features": 1, "--num-samples": 1,
            "--num-warmup": 0, "--thinning": 1, "--num-chains": 1, "--seed": 0,
            "--data-seed": 0, "--horizon": 1}
    for flag, low in ints.items():
        for bad in (str(low - 1), "abc", "1.5", "", HUGE, str(2**32)):
            cases.append((ENV + [flag, bad, "--out", "{NEW}"], flag))
    floats = {"--discount": ("1", "-0.1", "nan", "inf", "x", "0.99999999", "1e300"),
              "--prior-scale": ("0", "-1", "inf", "nan", "x", "1e300", "1e-320"),
              "--delta": ("-1", "nan", "inf", "x"),
              "--margin": ("-1", "nan", "inf", "1e300", "1e-300")}
    for flag, values in floats.items():
        cases += [(ENV + [flag, v, "--out", "{NEW}"], flag) for v in values]
    for flag in ("--sampler", "--prior", "--q"):
        cases.append((ENV + [flag, "bogus", "--out", "{NEW}"], flag))
    for v in ("", "gail", "maxent,maxent", ",", "boltzmann;maxent"):
        cases.append((ENV + ["--likelihood", v, "--out", "{NEW}"], "--likelihood"))
    for v in ("-3", "0", "nan", "inf", "lognormal:0", "lognormal:0,-1", "gamma:1", "gamma:x,1",
              "halfnormal:-1", "exponential:0", "cauchy:1", "gail=2", "maxent=2",
              "lognormal:0,1", "bradley-terry=2", "1e300", "1e-300", "3e38", "1e10",
              "lognormal:0,1e300", "lognormal:-1e300,1", "gamma:1e-320,1"):
        cases.append((ENV + ["--beta", v, "--out", "{NEW}"], "--beta"))
    for v in ("5by5", "0x5", "5x", "x", "5x5x5", f"{HUGE}x2", "100000x100000"):
        cases.append((ENV + ["--grid-size", v, "--out", "{NEW}"], "--grid-size"))
    sizes = {"--num-demos": "1000000000", "--num-preferences": "2000000000",
             "--num-features": "100000000"}  # in range, but far beyond the memory
    cases += [(ENV + [flag, v, "--out", "{NEW}"], flag) for flag, v in sizes.items()]
    for v in ("greedy", "noisy", "noisy:1.5", "noisy:-0.1", "optimal:1", "boltzmann:0",
              "boltzmann:-2", "boltzmann:x", "boltzmann:", "boltzmann:1e300", "noisy:nan"):
        cases.append((ENV + ["--expert", v, "--out", "{NEW}"], "--expert"))
    cases.append((["fit", "--mdp", "{RUN}/mdp.npz", "--demos", "{RUN}/demos.json", "--expert",
                   "optimal", "--out", "{NEW}"], "--expert"))  # files are what they are
    for flag, v in (("--grid-size", "3x3"), ("--num-features", "3")):  # gridworld only
        cases.append((["fit", "--env", "FrozenLake-v1", flag, v, "--out", "{NEW}"], flag))
    cases += [(ENV + ["--sampler", "map", "--strict", "--out", "{NEW}"], "--strict"),
              (ENV + ["--sampler", "mh", "--num-chains", "1", "--strict", "--out", "{NEW}"],
               "--strict")]
    return cases


CHOICES = ["fit", "--choices", "{ROOT}/choices.csv"]
CHOICE_CASES = [
    (["fit", "--choices", "{ROOT}/missing.csv", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "{ROOT}", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "{ROOT}/choices.txt", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "{ROOT}/bad.json", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "{ROOT}/choices_two.csv", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "{ROOT}/choices_nan.csv", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "{ROOT}/choices_one.csv", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "{ROOT}/choices_rank_gap.csv", "--out", "{NEW}"], "--choices"),
    (["fit", "--choices", "", "--out", "{NEW}"], "--choices"),
    (CHOICES + ["--env", "gridworld", "--out", "{NEW}"], "--choices"),
    (CHOICES + ["--mdp", "{RUN}/mdp.npz", "--out", "{NEW}"], "--choices"),
    (CHOICES + ["--num-features", "3", "--out", "{NEW}"], "--num-features"),
    (CHOICES + ["--num-preferences", "3", "--out", "{NEW}"], "--num-preferences"),
    (CHOICES + ["--likelihood", "boltzmann", "--out", "{NEW}"], "--likelihood"),
    (CHOICES + ["--group-by", "team", "--out", "{NEW}"], "--group-by"),
    (CHOICES + ["--group-by", "", "--out", "{NEW}"], "--group-by"),
    (ENV + ["--group-by", "person", "--out", "{NEW}"], "--group-by"),
    (CHOICES + ["--random-features", "price", "--out", "{NEW}"], "--random-features"),
    (CHOICES + ["--group-by", "person", "--random-features", "cost", "--out", "{NEW}"],
     "--random-features"),
    (CHOICES + ["--group-by", "person", "--random-features", "price,price", "--out", "{NEW}"],
     "--random-features"),
    (CHOICES + ["--group-by", "person", "--random-features", ",", "--out", "{NEW}"],
     "--random-features"),
    (CHOICES + ["--person-scale", "2", "--out", "{NEW}"], "--person-scale"),
    (["fit", "--choices", "dutch-train", "--group-by", "team", "--out", "{NEW}"], "--group-by"),
] + [(CHOICES + ["--group-by", "person", "--sampler", v, "--out", "{NEW}"], flag)
      for v, flag in (("map", "--sampler"), ("laplace", "--sampler"),
                      ("laplace-imh", "--choices"))] + [
    (CHOICES + ["--group-by", "person", "--person-scale", v, "--out", "{NEW}"],
      "--person-scale") for v in ("0", "-1", "nan", "inf", "x", "1e300")]

CONT = ["fit", "--env", "CartPole-v1", "--num-demos", "1"]
NPZ = ["fit", "--demos-npz", "{ROOT}/transitions.npz"]
CONTINUOUS_CASES = [
    (["fit", "--demos-npz", f, "--out", "{NEW}"], "--demos-npz")
    for f in ["{ROOT}/missing.npz", "{ROOT}/text.npz", "{ROOT}/foreign.npz", "{ROOT}",
              "{ROOT}/folder.npz", "", "{ROOT}/transitions_missing.npz",
              "{ROOT}/transitions_unknown.npz"]] + [
    (["fit", "--demos-npz", f"{{ROOT}}/transitions_{field}.npz", "--out", "{NEW}"],
     "--demos-npz")
    for field in ("format", "observations", "actions", "next_observations", "dones",
                  "episode_ids", "num_actions", "rewards")] + [
    (CONT + extra + ["--out", "{NEW}"], flag) for extra, flag in (
        (["--sampler", "nuts"], "--sampler"), (["--likelihood", "boltzmann"], "--likelihood"),
        (["--prior", "laplace"], "--prior"), (["--horizon", "3"], "--horizon"),
        (["--margin", "1"], "--margin"), (["--num-preferences", "3"], "--num-preferences"),
        (["--grid-size", "3x3"], "--grid-size"), (["--num-features", "2"], "--num-features"),
        (["--group-by", "person"], "--group-by"), (["--thinning", "2"], "--thinning"),
        (["--num-warmup", "10"], "--num-warmup"), (["--num-chains", "2"], "--num-chains"),
        (["--method", "value-nuts", "--num-steps", "5"], "--num-steps"),
        (["--method", "cloning", "--beta", "2"], "--beta"),
        (["--method", "cloning", "--q", "hard"], "--q"),
        (["--beta", "lognormal:0,1"], "--beta"), (["--beta", "bradley-terry=2"], "--beta"),
        (["--expert", "boltzmann"], "--expert"), (["--method", "qlearning"], "--method"),
        (["--random-features", "x"], "--random-features"),
        (["--person-scale", "2"], "--person-scale"), (["--mdp", "{RUN}/mdp.npz"], "--mdp"),
        (["--demos-ids", "1"], "--demos-ids"), (["--hidden-units", "0"], "--hidden-units"),
        (["--num-steps", "0"], "--num-steps"), (["--test-episodes", "-1"], "--test-episodes"),
        (["--eval-episodes", "x"], "--eval-episodes"), (["--strict"], "--strict"),
        (["--demos-npz", "{ROOT}/transitions.npz"], "--env"),
        (["--num-demos", "0"], "--num-demos"),
        (["--num-demos", "1000000000"], "--num-demos"))] + [
    (NPZ + extra + ["--out", "{NEW}"], flag) for extra, flag in (
        (["--test-episodes", "2"], "--test-episodes"), (["--expert", "optimal"], "--expert"),
        (["--trajectories", "{ROOT}/t.npz"], "--trajectories"))] + [
    (ENV + [flag, "3", "--out", "{NEW}"], flag)
    for flag in ("--hidden-units", "--num-steps", "--test-episodes", "--eval-episodes")] + [
    (ENV + ["--method", "cloning", "--out", "{NEW}"], "--method"),
    (["report", "{ROOT}/crun", "--dims", "0,5"], "--dims"),
    (["report", "{ROOT}/crun", "--dims", "1,1"], "--dims"),
    (["report", "{ROOT}/crun", "--dims", "0,1,2"], "--dims"),
    (["report", "{ROOT}/crun", "--alpha", "0.9"], "--alpha"),
    (["report", "{ROOT}/crun", "--policy", "mean"], "--policy"),
    (["report", "{RUN}", "--dims", "0,1"], "--dims"),
    (["query", "{ROOT}/crun"], "DIR"),
]

COMBINATIONS = [
    (["fit", "--out", "{NEW}"], "--env"),
    (["fit", "--env", "gridworld", "--mdp", "{RUN}/mdp.npz", "--demos", "d.json", "--out",
      "{NEW}"], "--env"),
    (["fit", "--mdp", "{RUN}/mdp.npz", "--out", "{NEW}"], "--mdp"),
    (["fit", "--env", "gridworld", "--demos", "d.json", "--out", "{NEW}"], "--demos"),
    (ENV + ["--num-demos", "0", "--out", "{NEW}"], "--num-demos"),
    (ENV + ["--likelihood", "maxent,bradley-terry", "--out", "{NEW}"], "--likelihood"),
    (ENV + ["--num-demos", "0", "--num-preferences", "5", "--likelihood", "maxent", "--out",
            "{NEW}"], "--likelihood"),
    (ENV + ["--horizon", "5", "--out", "{NEW}"], "--horizon"),
    (["fit", "--mdp", "{RUN}/mdp.npz", "--demos", "{RUN}/demos.json", "--num-preferences", "3",
      "--out", "{NEW}"], "--num-preferences"),
    (["fit", "--env", "NoSuchEnv-v9", "--out", "{NEW}"], "--env"),
    (["fit", "--env", "", "--out", "{NEW}"], "--env"),
    (ENV, "--out"),
    (["frobnicate"], "command"),
    ([], "command"),
]

OUTPUTS = [
    (ENV + ["--out", ""], "--out"),
    (ENV + ["--out", "   "], "--out"),
    (ENV + ["--out", "{ROOT}/a_file/sub"], "--out"),
    (ENV + ["--out", "{ROOT}/a_file/sub/deeper"], "--out"),
    (ENV + ["--out", "{ROOT}/a_file"], "--out"),
    (ENV + ["--out", "{RUN}"], "--out"),
    (ENV + ["--out", "{RUN}/mdp.npz", "--force"], "--out"),
    (ENV + ["--num-chains", "100000", "--num-samples", "1000000", "--out", "{NEW}"],
     "--num-chains"),
    (ENV + ["--out", "{ROOT}/busy"], "--out"),  # another fit is writing it
]

FILES = [(["fit", "--mdp", mdp, "--demos", "{RUN}/demos.json", "--out", "{RUN}", "--force"],
          "--mdp") for mdp in ("{ROOT}/missing.npz", "{ROOT}", "{ROOT}/text.npz",
                               "{ROOT}/foreign.npz", "{ROOT}/array.npy", "{ROOT}/bad.json")]
FILES += [(["fit", "--mdp", "{RUN}/demos.json", "--demos", "{RUN}/demos.json", "--out", "{RUN}",
            "--force"], "--mdp")]
FILES += [(["fit", "--mdp", "{RUN}/mdp.npz", "--demos", demos, "--out", "{RUN}", "--force"],
           "--demos") for demos in ("{ROOT}/missing.json", "{ROOT}/bad.json",
                                    "{ROOT}/demos_bad.json", "{ROOT}", "{RUN}/mdp.npz",
                                    "{ROOT}/demos_1e30.json", "{ROOT}/demos_negative.json",
                                    "{ROOT}/demos_too_large.json", "{ROOT}/demos_int128.json")]
FILES += [(["fit", "--mdp", "{RUN}/mdp.npz", "--preferences", p, "--out", "{RUN}", "--force"],
           "--preferences") for p in ("{ROOT}/missing.json", "{ROOT}/bad.json",
                                      "{ROOT}/prefs_self.json", "{RUN}/demos.json", "{ROOT}",
                                      "{RUN}/mdp.npz")]
FILES += [(["fit", "--mdp", "{RUN}/mdp.npz", "--demos", "{RUN}/demos.json", "--likelihood",
            "maxent", "--horizon", "1", "--out", "{RUN}", "--force"], "--horizon")]

REPORT = [(["report", "{RUN}", "--force", flag, v], flag) for flag, v in (
    ("--alpha", "1.5"), ("--alpha", "0"), ("--alpha", "x"), ("--delta", "1"), ("--delta", "-0.1"),
    ("--epsilon", "-1"), ("--epsilon", "0"), ("--epsilon", "inf"), ("--hdi-prob", "1"),
    ("--hdi-prob", "x"), ("--sample-size", "all"), ("--grid-shape", "2x2"),
    ("--grid-shape", "3by3"), ("--max-plot-weights", "0"), ("--policy", "median"),
    ("--policy", "{ROOT}/bad.json"), ("--policy", "{ROOT}/policy_short.json"),
    ("--baseline", "{ROOT}/missing.json"))]
REPORT += [(["report", d], "DIR") for d in ("{ROOT}/missing", "{ROOT}/a_file", "{ROOT}")]

QUERY = [(["query", "{RUN}", *extra], flag) for extra, flag in (
    (["--kind", "video"], "--kind"), (["--top-k", "0"], "--top-k"),
    (["--num-draws", "0"], "--num-draws"), (["--num-candidates", "1"], "--num-candidates"),
    (["--alpha", "2"], "--alpha"), (["--asked", "x"], "--asked"), (["--asked", "99"], "--asked"),
    (["--kind", "preference", "--asked", "1-1"], "--asked"),
    (["--acquisition", "curiosity"], "acquisition"), (["--seed", "-1"], "--seed"),
    (["--seed", str(2**32)], "--seed"), (["--top-k", HUGE], "--top-k"),
    (["--kind", "preference", "--candidates", "{ROOT}/bad.json"], "--candidates"))]
QUERY += [(["query", d], "DIR") for d in ("{ROOT}/missing", "{ROOT}/a_file")]

MAKE = ["make-mdp", "--discount", "0.9", "--out", "{ROOT}/new.npz"]
MAKE_MDP = [
    (["make-mdp", "--features", "{ROOT}/F.npy", "--discount", "0.9", "--out", "{NEW}.npz"],
     "--transitions"),
    (MAKE + ["--transitions", "{ROOT}/missing.npy", "--features", "{ROOT}/F.npy"], "--transitions"),
    (MAKE + ["--transitions", "{ROOT}/bad.json", "--features", "{ROOT}/F.npy"], "--transitions"),
    (MAKE + ["--transitions", "{ROOT}/T_bad.npy", "--features", "{ROOT}/F.npy"], "--transitions"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F_bad.npy"], "--features"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--terminal", "x"],
     "--terminal"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--terminal", "9"],
     "--terminal"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--reward",
             "{ROOT}/R_bad.npy"], "--reward"),
    (["make-mdp", "--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--discount",
      "1", "--out", "{ROOT}/new.npz"], "--discount"),
    (["make-mdp", "--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--discount",
      "0.9", "--out", "{RUN}/mdp.npz"], "--out"),
    (["make-mdp", "--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--discount",
      "0.9", "--out", "{ROOT}/new.txt"], "--out"),
    (MAKE + ["--transitions", "{ROOT}/T_complex.npy", "--features", "{ROOT}/F.npy"],
     "--transitions"),
    (MAKE + ["--transitions", "{ROOT}/folder.npy", "--features", "{ROOT}/F.npy"],
     "--transitions"),
    (MAKE + ["--transitions", "{RUN}/demos.json", "--features", "{ROOT}/F.npy"],
     "--transitions"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/folder.npy"], "--features"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--initial",
             "{ROOT}/folder.npy"], "--initial"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--terminal", "abc"],
     "--terminal"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--terminal",
             HUGE], "--terminal"),
    (MAKE + ["--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--terminal",
             "-1"], "--terminal"),
] + [(["make-mdp", "--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--discount",
       "0.9", "--out", out], "--out")
     for out in ("{ROOT}/missing/new.npz", "{ROOT}/folder.npz", "{ROOT}/a_file/new.npz")] + [
    (["make-mdp", "--transitions", "{ROOT}/T.npy", "--features", "{ROOT}/F.npy", "--discount",
      v, "--out", "{ROOT}/new.npz"], "--discount") for v in ("nan", "0.99999999", "-0.5")]

TABLE = _fit_cases() + CHOICE_CASES + CONTINUOUS_CASES + COMBINATIONS + OUTPUTS + FILES + REPORT + QUERY + MAKE_MDP


def _snapshot(folder) -> dict:
    out = {}
    for dirpath, dirnames, files in os.walk(folder):
        for name in sorted(files + dirnames):
            path = os.path.join(dirpath, name)
            if os.path.isdir(path):
                data = b"<dir>"
            else:
                with open(path, "rb") as f:
                    data = f.read()
            out[os.path.relpath(path, folder)] = hashlib.sha256(data).hexdigest()
    return out


def _head(line: str) -> str:
    """What the error is about: the flag (or argument) comes first, directly (``--out: ...``)
    or in argparse's words (``bayesirl fit: argument --seed: ...``, ``bayesirl fit: the
    following arguments are required: --out``)."""
    text = re.sub(r"^bayesirl: error: (bayesirl(?: [\w-]+)?: )?", "", line)
    text = text.removeprefix("argument ").removeprefix("the following arguments are required: ")
    return text.split(": ", 1)[0]


def test_the_table_is_large():
    assert len(TABLE) >= 200


@pytest.mark.parametrize("argv, flag", TABLE, ids=[" ".join(a) for a, _ in TABLE])
def test_bad_input_gives_one_line_naming_the_flag(argv, flag, world, tmp_path, capsys):
    run = world / "run"
    before = _snapshot(world)
    fill = {"{RUN}": str(run), "{ROOT}": str(world), "{NEW}": str(tmp_path / "new")}
    args = []
    for a in argv:
        for k, v in fill.items():
            a = a.replace(k, v)
        args.append(a)
    code = main(args)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("bayesirl"), err
    assert flag in _head(lines[0]) and "Traceback" not in err, lines[0]
    assert ".bayesirl-" not in lines[0]  # never a temporary file's name
    assert _snapshot(world) == before  # the existing run folder (and inputs) are untouched
    assert not os.path.exists(tmp_path / "new")


def test_make_mdp_into_a_read_only_folder_names_out_not_a_temporary_file(world, tmp_path,
                                                                          capsys, monkeypatch):
    """A folder without write permission (simulated: tests may run as root, who may write
    anywhere) is reported under --out, naming the file asked for; nothing is left."""
    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", os.path.join(dir, ".bayesirl-x.tmp"))

    monkeypatch.setattr("bayesirl._io.tempfile.mkstemp", refuse)
    folder = tmp_path / "read-only"
    folder.mkdir()
    code = main(["make-mdp", "--transitions", str(world / "T.npy"), "--features",
                 str(world / "F.npy"), "--discount", "0.9", "--out", str(folder / "mdp.npz")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0] == (f"bayesirl: error: --out: cannot write {folder / 'mdp.npz'}: no "
                        f"permission to write in {folder}")
    assert os.listdir(folder) == []
