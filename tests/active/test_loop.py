"""The active-learning loop: the stop rule, the simulated expert, history, and errors (the
particle posterior is tested in tests/inference/test_smc.py)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.active.loop import run_active_learning, sufficiency_stop
from bayesirl.data.envs import gridworld
from bayesirl.solvers import value_iteration

def test_sufficiency_stop():
    env = gridworld(4, 4, num_features=3, seed=1)
    mdp = env.mdp
    stop = sufficiency_stop(mdp, epsilon=0.05)
    truth = jnp.asarray(env.true_weights)
    optimal = value_iteration(mdp, env.true_reward).policy
    uniform = jnp.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions)
    same = jnp.tile(truth, (100, 1))
    ok, bound = stop(same, optimal)
    assert ok and bound == pytest.approx(0.0, abs=1e-9)
    ok, bound = stop(same, uniform)
    assert not ok and bound == pytest.approx(1.0)
    assert stop(same[:10], optimal) == (False, None)  # 0.95^10 > 0.05: too few draws
    with pytest.raises(ValueError, match="epsilon"):
        sufficiency_stop(mdp, epsilon=0.0)


@pytest.fixture(scope="module")
def easy_env():
    return gridworld(4, 4, num_features=3, seed=2)


def test_loop_stops_when_sufficiency_holds(easy_env, tmp_path):
    path = tmp_path / "history.json"
    history = run_active_learning(easy_env, kind="state", acquisition="bald", budget=25,
                                  rng_key=jax.random.PRNGKey(0), num_particles=1000,
                                  num_posterior_samples=300, epsilon=0.1, progress=False,
                                  history_path=path)
    assert history[-1].sufficient and history[-1].bound < 0.1
    assert len(history) < 25  # stopped early
    assert not any(r.sufficient for r in history[:-1])
    assert all(r.bound is None or r.bound >= 0.1 for r in history[:-1])
    saved = json.loads(path.read_text())
    assert [r["step"] for r in saved] == [r.step for r in history]
    assert saved[-1]["sufficient"] is True
    # the policy the test certified is good under the true reward too
    assert history[-1].true_nevd < 0.1


def test_loop_without_stop_runs_the_budget_and_learns(easy_env, capsys):
    history = run_active_learning(easy_env, kind="preference", acquisition="mutual-information",
                                  budget=8, rng_key=jax.random.PRNGKey(0), num_particles=1000,
                                  num_candidates=12, stop=None, progress=True)
    assert len(history) == 8 and all(r.bound is None for r in history)
    assert history[-1].true_nevd <= history[0].true_nevd + 1e-9
    assert "query   8: preference" in capsys.readouterr().err
    # asked pairs are not repeated
    assert len({tuple(r.query) for r in history}) == 8


def test_loop_stop_callable_and_importance_updater(easy_env):
    calls = []

    def stop(draws, policy):
        calls.append(draws.shape)
        return len(calls) == 3, 0.0

    history = run_active_learning(easy_env, kind="state", acquisition="random", budget=10,
                                  rng_key=jax.random.PRNGKey(0), num_particles=500,
                                  updater="importance", stop=stop, progress=False)
    assert len(history) == 3 and history[-1].sufficient
    assert all(r.acceptance is None for r in history)  # importance updater never moves


def test_loop_ends_when_every_state_has_been_asked():
    env = gridworld(2, 2, num_features=2, seed=0, terminal_states=[3])
    history = run_active_learning(env, kind="state", acquisition="bald", budget=10,
                                  num_particles=200, stop=None, progress=False)
    assert sorted(r.query[0] for r in history) == [0, 1, 2]


def test_simulated_expert_answers_ties_at_random():
    """All trajectories have return 0 under a zero true reward: a Bradley–Terry expert is
    indifferent, so the answers must not all be "A" (P = 2^-11 for 12 fair coin flips)."""
    env = gridworld(3, 3, num_features=2, seed=0, weights=np.zeros(2))
    history = run_active_learning(env, kind="preference", acquisition="random", budget=12,
                                  num_particles=200, num_candidates=8, stop=None,
                                  rng_key=jax.random.PRNGKey(4), progress=False)
    assert {r.answer for r in history} == {0, 1}


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="demo"), "kind"),
    (dict(acquisition="volume-removal"), "acquisition"),
    (dict(updater="mcmc"), "updater"),
    (dict(stop="never"), "stop"),
    (dict(budget=0), "budget"),
])
def test_loop_errors(easy_env, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_active_learning(easy_env, **kwargs)
