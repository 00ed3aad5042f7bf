"""The Boltzmann likelihood on a hand-computed case; the NumPyro building block."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pytest
from numpyro.infer.util import log_density

from bayesirl.data.demos import make_demonstrations
from bayesirl.likelihoods import (
    BoltzmannPolicy,
    boltzmann_log_likelihood,
    boltzmann_q_values,
    demonstration_pairs,
    maxent_logits,
)
from bayesirl.data.mdp import make_mdp
from bayesirl.models import boltzmann_irl_model

# One decision state 0 with two actions: action 0 -> state 1 (reward r1, terminal),
# action 1 -> state 2 (reward r2, terminal). γ = 0.5, state reward r0 in state 0.
P = np.zeros((3, 2, 3))
P[0, 0, 1] = P[0, 1, 2] = 1.0
P[1, :, 1] = P[2, :, 2] = 1.0
MDP = make_mdp(P, discount=0.5, terminal_states=[1, 2], initial_distribution=[1.0, 0, 0])


@pytest.mark.parametrize("q", ["hard", "soft"])
def test_hand_computed_log_likelihood(q):
    r = np.array([0.3, 1.0, -0.5])
    beta = 2.0
    # Q(0, a) = r0 + γ V(next); terminal V = r(terminal) in both hard and soft forms.
    q0 = np.array([0.3 + 0.5 * 1.0, 0.3 + 0.5 * -0.5])
    logp = beta * q0 - np.log(np.exp(beta * q0).sum())
    # three demonstrations: action 0 twice, action 1 once; the terminal steps are skipped
    demos = make_demonstrations([([0, 1], [0, 0]), ([0, 1], [0, 1]), ([0, 2], [1, 0])])
    pairs = demonstration_pairs(MDP, demos)
    assert pairs.states.shape == (3,)
    logits = boltzmann_q_values(MDP, jnp.asarray(r), beta, q)
    ll = boltzmann_log_likelihood(logits, pairs)
    np.testing.assert_allclose(ll, 2 * logp[0] + logp[1], rtol=1e-10)
    # pair weights are multiplicities: one action-0 pair counted twice, padding weighted 0
    pad = pairs._replace(states=pairs.states[1:], actions=pairs.actions[1:])
    weighted = boltzmann_log_likelihood(logits, pad, jnp.array([2.0, 1.0]))
    np.testing.assert_allclose(weighted, ll, rtol=1e-10)
    np.testing.assert_allclose(boltzmann_log_likelihood(logits, pairs, jnp.array([1.0, 0, 0])),
                               logp[0], rtol=1e-10)


def test_model_log_density_is_prior_plus_likelihood():
    demos = make_demonstrations([([0, 1], [0, 0])])
    pairs = demonstration_pairs(MDP, demos)
    w = jnp.asarray([0.1, 0.7, -0.2])
    ld, _ = log_density(boltzmann_irl_model, (MDP, pairs), dict(beta=1.5, prior="gaussian"),
                        {"reward_weights": w})
    prior = jax.scipy.stats.norm.logpdf(w).sum()
    q0 = np.array([0.1 + 0.5 * 0.7, 0.1 + 0.5 * -0.2])
    like = 1.5 * q0[0] - np.log(np.exp(1.5 * q0).sum())
    np.testing.assert_allclose(ld, prior + like, rtol=1e-9)


def test_boltzmann_policy_distribution():
    q = jnp.asarray([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    d = BoltzmannPolicy(q, beta=jnp.asarray([2.0, 5.0]))
    assert d.batch_shape == (2,)
    expected = jax.nn.log_softmax(2.0 * q[0])[1]
    np.testing.assert_allclose(d.log_prob(jnp.asarray([1, 2]))[0], expected, rtol=1e-12)
    np.testing.assert_allclose(d.log_prob(jnp.asarray([1, 2]))[1], -np.log(3), rtol=1e-12)
    # β = 0 is uniformly random
    np.testing.assert_allclose(BoltzmannPolicy(q[0], 0.0).probs, np.ones(3) / 3)
    # usable inside a user's NumPyro model
    def model():
        numpyro.sample("a", BoltzmannPolicy(q[0], 1.0), obs=1)
    ld, _ = log_density(model, (), {}, {})
    np.testing.assert_allclose(ld, jax.nn.log_softmax(q[0])[1])


def test_pairs_reject_only_terminal():
    with pytest.raises(ValueError, match="no state-action pair"):
        demonstration_pairs(MDP, make_demonstrations([([1], [0])]))


def test_unknown_q_kind():
    with pytest.raises(ValueError, match="q: expected one of"):
        boltzmann_q_values(MDP, jnp.zeros(3), 1.0, "medium")


Q3 = np.array([1.0, 2.0, 0.0])

#: (id, call, arguments checked for modification, exception, argument named).
BAD_RATIONALITY = [
    ("negative-beta", lambda q, b: BoltzmannPolicy(q, b), (Q3, np.float64(-1.0)), ValueError,
     "beta"),
    ("negative-beta-in-a-batch", lambda q, b: BoltzmannPolicy(q, b),
     (np.stack([Q3, Q3]), np.array([2.0, -0.5])), ValueError, "beta"),
    ("nan-beta", lambda q, b: BoltzmannPolicy(q, b), (Q3, np.float64(np.nan)), ValueError, "beta"),
    ("inf-beta", lambda q, b: BoltzmannPolicy(q, b), (Q3, np.float64(np.inf)), ValueError, "beta"),
    ("complex-beta", lambda q, b: BoltzmannPolicy(q, b), (Q3, np.complex128(1.0)), TypeError,
     "beta"),
    ("nan-q-values", lambda q, b: BoltzmannPolicy(q, b), (np.array([1.0, np.nan, 0.0]),
                                                          np.float64(1.0)), ValueError, "q_values"),
    ("q-negative-beta", lambda r, b: boltzmann_q_values(MDP, r, b),
     (np.zeros(3), np.float64(-2.0)), ValueError, "beta"),
    ("q-nan-reward", lambda r, b: boltzmann_q_values(MDP, r, b, "hard"),
     (np.array([0.0, np.nan, 1.0]), np.float64(1.0)), ValueError, "reward"),
    ("maxent-zero-beta", lambda r, b: maxent_logits(MDP, r, b, horizon=3),
     (np.zeros(3), np.float64(0.0)), ValueError, "beta"),
]


@pytest.mark.parametrize("call, args, error, name", [c[1:] for c in BAD_RATIONALITY],
                         ids=[c[0] for c in BAD_RATIONALITY])
def test_concrete_bad_rationality_and_values_are_refused(call, args, error, name):
    before = [np.array(a, copy=True) for a in args]
    with pytest.raises(error, match=f"^{name}: "):
        call(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


def test_traced_beta_is_not_checked_inside_a_jitted_model():
    """Under jit β is a tracer: no error (the model's prior keeps β positive)."""
    log_prob = jax.jit(lambda b: BoltzmannPolicy(jnp.asarray(Q3), b).log_prob(1))
    np.testing.assert_allclose(log_prob(-1.0), jax.nn.log_softmax(-Q3)[1], rtol=1e-12)
