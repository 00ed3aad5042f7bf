"""Policy evaluation against a known reward: bad inputs are refused eagerly, naming the
argument (the values are checked in tests/analysis and tests/solvers/test_occupancy.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl.data.mdp import make_mdp
from bayesirl.solvers import (
    expected_return,
    expected_value_difference,
    normalized_evd,
    success_probability,
)
from tests.conftest import random_mdp_arrays

MDP = make_mdp(random_mdp_arrays(3, S=4, A=2, K=2), discount=0.9, terminal_states=[3])
REWARD = np.array([0.0, 0.5, -1.0, 2.0])
UNIFORM = np.full((4, 2), 0.5)
SUCCESS = np.array([False, False, False, True])


def changed(array, index, value):
    out = np.array(array, dtype=float)
    out[index] = value
    return out


#: (id, call, arguments checked for modification, exception, argument named).
BAD_EVALUATION_INPUTS = [
    ("return-nan-reward", lambda r, p: expected_return(MDP, r, p),
     (changed(REWARD, 1, np.nan), UNIFORM), ValueError, "reward"),
    ("return-inf-reward", lambda r, p: expected_return(MDP, r, p),
     (changed(REWARD, 1, np.inf), UNIFORM), ValueError, "reward"),
    ("return-nan-policy", lambda r, p: expected_return(MDP, r, p),
     (REWARD, changed(UNIFORM, (0, 1), np.nan)), ValueError, "policy"),
    ("return-rows-sum-to-2", lambda r, p: expected_return(MDP, r, p),
     (REWARD, 2 * UNIFORM), ValueError, "policy"),
    ("evd-nan-reward", lambda r, p: expected_value_difference(MDP, r, p),
     (changed(REWARD, 0, np.nan), UNIFORM), ValueError, "reward"),
    ("evd-inf-policy", lambda r, p: expected_value_difference(MDP, r, p),
     (REWARD, changed(UNIFORM, (2, 0), np.inf)), ValueError, "policy"),
    ("evd-negative-policy", lambda r, p: expected_value_difference(MDP, r, p),
     (REWARD, np.array([[1.5, -0.5]] * 4)), ValueError, "policy"),
    ("nevd-nan-reward", lambda r, p: normalized_evd(MDP, r, p),
     (changed(REWARD, 2, np.nan), UNIFORM), ValueError, "reward"),
    ("success-rows-sum-to-2", lambda p, s: success_probability(MDP, p, s, 5),
     (2 * UNIFORM, SUCCESS), ValueError, "policy"),
    ("success-mask-shape", lambda p, s: success_probability(MDP, p, s, 5),
     (UNIFORM, SUCCESS[:3]), ValueError, "success_states"),
    ("success-mask-not-boolean", lambda p, s: success_probability(MDP, p, s, 5),
     (UNIFORM, np.array([0.0, 0.0, 0.0, 1.0])), TypeError, "success_states"),
    ("success-negative-horizon", lambda p, s: success_probability(MDP, p, s, -1),
     (UNIFORM, SUCCESS), ValueError, "horizon"),
]


@pytest.mark.parametrize("call, args, error, name", [c[1:] for c in BAD_EVALUATION_INPUTS],
                         ids=[c[0] for c in BAD_EVALUATION_INPUTS])
def test_evaluation_refuses_bad_inputs_naming_the_argument(call, args, error, name):
    before = [np.array(a, copy=True) for a in args]
    with pytest.raises(error, match=f"^{name}: "):
        call(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


def test_evd_under_jit_and_vmap_still_runs():
    """The value checks skip traced arrays: jit and vmap over rewards keep working."""
    rewards = jnp.asarray(np.stack([REWARD, -REWARD]))
    evd = jax.vmap(lambda r: expected_value_difference(MDP, r, jnp.asarray(UNIFORM)))(rewards)
    assert evd.shape == (2,) and np.all(np.asarray(evd) >= 0)
    jitted = jax.jit(lambda r: expected_return(MDP, r, jnp.asarray(UNIFORM)))
    assert np.isnan(float(jitted(jnp.asarray(changed(REWARD, 0, np.nan)))))
