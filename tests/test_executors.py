"""``map_fits``: the same results on every executor, failures reported with their settings,
finished tasks not run again."""

import os

import numpy as np
import pytest

from bayesirl.executors import TaskError, TaskFailures, map_fits, task_key


def tiny_fit(task):
    """A small MH fit of a 3x3 gridworld (a map_fits task): the draws of the reward weights."""
    from bayesirl.data.envs import gridworld
    from bayesirl.inference import fit_demonstrations

    env = gridworld(3, 3, num_features=2, seed=task["world_seed"])
    import jax

    from bayesirl.data.demos import sample_demonstrations
    from bayesirl.solvers import value_iteration

    policy = value_iteration(env.mdp, env.true_reward).policy
    demos = sample_demonstrations(jax.random.PRNGKey(task["world_seed"]), env.mdp, policy,
                                  task["num_demos"], 5)
    idata = fit_demonstrations(env.mdp, demos, method="mh", num_samples=30, num_warmup=30,
                               num_chains=1, seed=task["seed"], progress_bar=False)
    return np.asarray(idata.posterior["reward_weights"])


def counted(task):
    """Record the call in ``task["calls"]`` (a folder), fail while ``task["fail"]`` exists."""
    n = len(os.listdir(task["calls"]))
    open(os.path.join(task["calls"], f"{task['seed']}-{n}"), "w").close()
    if os.path.exists(task["fail"]) and task["seed"] == 1:
        raise ValueError(f"seed {task['seed']} refused")
    return {"seed": task["seed"], "square": task["seed"] ** 2}


def random_draws(task):
    """A few JAX random numbers from the task's seed (float64 when the caller is), plus the
    task's own array (a float64 JAX array must arrive as float64)."""
    import jax

    draws = jax.random.normal(jax.random.PRNGKey(task["seed"]), (3,))
    return np.asarray(draws + task.get("offset", 0.0))


TINY_TASKS = [dict(world_seed=w, num_demos=3, seed=s) for w, s in ((0, 0), (1, 5), (2, 7))]


def test_serial_and_process_results_are_bit_identical():
    serial = map_fits(tiny_fit, TINY_TASKS, executor="serial", progress=False)
    process = map_fits(tiny_fit, TINY_TASKS, executor="process", max_workers=2, progress=False)
    assert len(serial) == len(process) == 3
    for a, b in zip(serial, process):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(a, b)  # bit-identical: each task carries its seed
    assert not np.array_equal(serial[0], serial[1])


def test_failed_task_is_reported_with_its_settings_and_others_finish(tmp_path):
    calls, fail = tmp_path / "calls", tmp_path / "fail"
    calls.mkdir()
    fail.touch()
    tasks = [dict(seed=s, calls=str(calls), fail=str(fail)) for s in range(3)]
    with pytest.raises(TaskFailures) as info:
        map_fits(counted, tasks, progress=False)
    err = info.value
    assert [f.index for f in err.failures] == [1]
    assert "task 1" in str(err) and "'seed': 1" in str(err) and "seed 1 refused" in str(err)
    assert err.results[0] == {"seed": 0, "square": 0} and err.results[2]["square"] == 4
    assert isinstance(err.results[1], TaskError) and err.results[1].task == tasks[1]
    returned = map_fits(counted, tasks, progress=False, on_error="return")
    assert isinstance(returned[1], TaskError) and returned[2]["square"] == 4


def test_rerun_skips_finished_tasks(tmp_path):
    calls, fail, results = tmp_path / "calls", tmp_path / "fail", tmp_path / "results"
    calls.mkdir()
    fail.touch()
    tasks = [dict(seed=s, calls=str(calls), fail=str(fail)) for s in range(3)]
    with pytest.raises(TaskFailures):
        map_fits(counted, tasks, results_dir=results, progress=False)
    assert len(os.listdir(calls)) == 3
    assert len(os.listdir(results)) == 2  # the two finished results, nothing half-written
    fail.unlink()
    out = map_fits(counted, tasks, results_dir=results, progress=False)
    assert sorted(os.listdir(calls)) == ["0-0", "1-1", "1-3", "2-2"]  # only task 1 ran again
    assert [r["square"] for r in out] == [0, 1, 4]
    map_fits(counted, tasks, results_dir=results, progress=False)
    assert len(os.listdir(calls)) == 4  # everything finished: nothing runs


def test_task_key_depends_on_settings_not_their_order():
    a = task_key(counted, {"seed": 1, "beta": np.array([1.0, 2.0])})
    assert a == task_key(counted, {"beta": np.array([1.0, 2.0]), "seed": 1})
    assert a != task_key(counted, {"seed": 1, "beta": np.array([1.0, 2.5])})
    assert a != task_key(random_draws, {"seed": 1, "beta": np.array([1.0, 2.0])})
    assert task_key(counted, {"seed": 1}) != task_key(counted, {"seed": 1.0})


@pytest.mark.parametrize("kwargs, match", [
    (dict(executor="threads"), "executor: expected one of serial, process, ray, got 'threads'"),
    (dict(address="auto"), "address: .*with executor 'serial'"),
    (dict(max_workers=0), "max_workers: expected a positive integer"),
    (dict(on_error="ignore"), "on_error: expected 'raise' or 'return'"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        map_fits(random_draws, [{"seed": 0}], progress=False, **kwargs)


def test_tasks_must_be_a_list():
    with pytest.raises(TypeError, match="tasks: expected a list of tasks, got dict"):
        map_fits(random_draws, {"seed": 0}, progress=False)


def test_ray_missing_names_the_executor(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ValueError, match=r"executor: 'ray' needs Ray.*bayesirl\[distributed\]"):
        map_fits(random_draws, [{"seed": 0}], executor="ray", progress=False)


def test_ray_gives_the_serial_results():
    ray = pytest.importorskip("ray")
    import jax.numpy as jnp

    tasks = [{"seed": s, "offset": jnp.asarray([1e-12, 0.0, 1.0 / 3.0])} for s in range(4)]
    try:
        got = map_fits(random_draws, tasks, executor="ray", max_workers=2, progress=False)
    finally:
        ray.shutdown()
    for a, b in zip(got, map_fits(random_draws, tasks, progress=False)):
        assert a.dtype == np.float64  # the caller's float64 setting reached the workers
        np.testing.assert_array_equal(a, b)
