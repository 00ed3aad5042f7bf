"""The sharded solvers (states split over devices), the chunked MDP builder and the solver memory
estimate.

The multi-device agreement checks run in ONE subprocess with 4 CPU host devices
(``tests/solvers/sharded_subprocess.py``); the rest runs here on a one-device mesh.
"""

import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesirl._memory import available_memory, format_bytes
from bayesirl.data.mdp import IdentityFeatures, make_sparse_mdp
from bayesirl.data.sparse_build import pad_states, sparse_mdp_from_chunks
from bayesirl.likelihoods import (
    DemonstrationPairs,
    boltzmann_log_likelihood,
    boltzmann_q_values,
    sharded_boltzmann_log_likelihood,
)
from bayesirl.solvers import (
    check_solver_memory,
    estimate_solver_memory,
    shard_mdp,
    sharded_soft_value_iteration,
    soft_value_iteration,
)
from bayesirl.solvers.sharded import make_state_mesh

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Sharded against one-device solves in float64 (solver tolerance 1e-10; only the order of
#: floating-point sums differs).
ATOL = 1e-6


def random_arrays(S, seed, A=4, K=4):
    rng = np.random.default_rng(seed)
    return rng.integers(0, S, (S, A, K)), rng.dirichlet(np.ones(K), (S, A)), rng


@pytest.fixture(scope="module")
def one_device_mesh():
    return make_state_mesh(jax.devices()[:1])


def test_on_several_devices_in_a_subprocess():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu", BAYESIRL_NO_COMPILE_CACHE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-m", "tests.solvers.sharded_subprocess"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert "all checks passed" in out.stdout
    for check in ("layout", "chunked build on 4 devices", "soft newton values",
                  "soft newton q_values", "hard vi values", "policy evaluation values",
                  "soft log-likelihood gradient in the reward",
                  "hard log-likelihood gradient in beta"):
        assert check in out.stdout, check


def test_one_device_mesh_matches_the_solver_and_its_likelihood_gradient(one_device_mesh):
    # γ = 0.9: value iteration and dense implicit solves (quick to compile); the 4-device
    # subprocess covers Newton steps and GMRES.
    ns, pr, rng = random_arrays(200, 0)
    mdp = make_sparse_mdp(ns, pr, discount=0.9, terminal_states=[3])
    reward = jnp.asarray(rng.standard_normal(200))
    one = soft_value_iteration(mdp, reward)
    split = sharded_soft_value_iteration(mdp, reward, mesh=one_device_mesh)
    np.testing.assert_allclose(split.values, one.values, atol=ATOL)
    np.testing.assert_allclose(split.q_values, one.q_values, atol=ATOL)
    assert int(split.iterations) == int(one.iterations) and bool(split.converged)
    pairs = DemonstrationPairs(jnp.asarray([0, 7, 199], jnp.int32), jnp.asarray([1, 3, 0]),
                               jnp.zeros(3, jnp.int32))
    grad_one = jax.jit(jax.grad(
        lambda r: boltzmann_log_likelihood(boltzmann_q_values(mdp, r, 3.0), pairs)))(reward)
    grad_split = jax.jit(jax.grad(lambda r: sharded_boltzmann_log_likelihood(
        mdp, r, pairs, 3.0, mesh=one_device_mesh)))(reward)
    np.testing.assert_allclose(grad_split, grad_one, atol=ATOL)
    # A mesh from jax.make_mesh (explicit axes by default) works the same.
    explicit = sharded_soft_value_iteration(mdp, reward, mesh=jax.make_mesh((1,), ("states",)))
    np.testing.assert_allclose(explicit.values, one.values, atol=ATOL)


def test_padding_states_changes_nothing_on_the_original_states():
    ns, pr, rng = random_arrays(30, 1)
    mdp = make_sparse_mdp(ns, pr, rng.standard_normal((30, 2)), discount=0.9,
                          terminal_states=[0])
    padded = pad_states(mdp, 33)
    assert padded.num_states == 33 and padded.features.shape == (33, 2)
    assert np.asarray(padded.terminal)[30:].all()
    assert float(np.asarray(padded.initial_distribution)[30:].sum()) == 0.0
    np.testing.assert_array_equal(np.asarray(padded.next_states)[30:, :, 0], [[30] * 4, [31] * 4,
                                                                            [32] * 4])
    reward = jnp.asarray(rng.standard_normal(30))
    one = soft_value_iteration(mdp, reward)
    pad = soft_value_iteration(padded, jnp.concatenate([reward, jnp.zeros(3)]))
    np.testing.assert_allclose(pad.values[:30], one.values, atol=ATOL)
    np.testing.assert_allclose(pad.values[30:], 0.0, atol=ATOL)
    assert pad_states(mdp, 30) is mdp
    identity = pad_states(make_sparse_mdp(ns, pr, IdentityFeatures(30, jnp.float64)), 32)
    assert isinstance(identity.features, IdentityFeatures) and identity.features.shape == (32, 32)
    with pytest.raises(ValueError, match="num_states"):
        pad_states(mdp, 29)


def test_chunked_build_equals_make_sparse_mdp():
    ns, pr, rng = random_arrays(101, 2)
    features = rng.standard_normal((101, 3))
    calls = []

    def successors(start, stop):
        calls.append((start, stop))
        return ns[start:stop], pr[start:stop]

    built = sparse_mdp_from_chunks(successors, 101, 4, 4, chunk_size=25, features=features,
                                   discount=0.9, terminal_states=[5, 7])
    reference = make_sparse_mdp(ns, pr, features, discount=0.9, terminal_states=[5, 7])
    for field in ("next_states", "next_probs", "features", "discount", "initial_distribution",
                  "terminal"):
        got, want = np.asarray(getattr(built, field)), np.asarray(getattr(reference, field))
        assert got.dtype == want.dtype, field
        np.testing.assert_array_equal(got, want, err_msg=field)
    assert calls == [(0, 25), (25, 50), (50, 75), (75, 100), (100, 101)]


def test_chunked_build_uses_implicit_identity_features_for_large_mdps():
    S = 4096
    built = sparse_mdp_from_chunks(
        lambda a, b: (np.zeros((b - a, 1, 1), int), np.ones((b - a, 1, 1))), S, 1, 1,
        chunk_size=1000, terminal_states=[0])
    assert isinstance(built.features, IdentityFeatures) and built.features.shape == (S, S)


def _chunks(bad):
    ns, pr, _ = random_arrays(10, 3)
    ns, pr = ns.copy(), pr.copy()
    if bad == "negative":
        pr[4, 2] = [1.5, -0.5, 0.0, 0.0]
    elif bad == "sum":
        pr[6, 1, 0] += 0.1
    elif bad == "index":
        ns[8, 0, 3] = 10
    elif bad == "shape":
        return lambda a, b: (ns[a:b, :3], pr[a:b, :3])
    elif bad == "nan":
        pr[2, 0, 0] = np.nan
    elif bad == "float_index":
        return lambda a, b: (ns[a:b] + 0.5, pr[a:b])
    elif bad == "single":
        return lambda a, b: ns[a:b]
    return lambda a, b: (ns[a:b], pr[a:b])


#: invalid chunk -> (error type, pattern of the message)
INVALID_CHUNKS = {
    "negative": (ValueError, r"successors_fn\(4, 8\): probabilities must be >= 0, got -0.5 "
                             r"for state 4, action 2, successor 1"),
    "sum": (ValueError, r"successors_fn\(4, 8\): probabilities must sum to 1 .* state 6, "
                        r"action 1"),
    "index": (ValueError, r"successors_fn\(8, 10\) next_states: index 10 is out of range"),
    "shape": (ValueError, r"successors_fn\(0, 4\): expected next_probs of shape"),
    "nan": (ValueError, r"successors_fn\(0, 4\) next_probs: expected finite numbers"),
    "float_index": (TypeError, r"next_states: expected integer indices"),
    "single": (TypeError, r"successors_fn\(0, 4\): expected a pair"),
}


@pytest.mark.parametrize("bad", sorted(INVALID_CHUNKS))
def test_chunked_build_refuses_bad_chunks(bad):
    error, pattern = INVALID_CHUNKS[bad]
    with pytest.raises(error, match=pattern):
        sparse_mdp_from_chunks(_chunks(bad), 10, 4, 4, chunk_size=4)


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(num_states=0), ValueError, "num_states: expected >= 1"),
    (dict(num_actions=1.5), TypeError, "num_actions: expected an integer"),
    (dict(chunk_size=0), ValueError, "chunk_size"),
    (dict(discount=1.0), ValueError, "discount"),
    (dict(terminal_states=np.ones(10, bool)), ValueError, "every state is terminal"),
    (dict(features=np.ones((9, 2))), ValueError, "features: expected shape"),
    (dict(successors_fn=3), TypeError, "successors_fn: expected a function"),
    (dict(sharding="rows"), TypeError, "sharding: expected a jax.sharding.NamedSharding"),
])
def test_chunked_build_refuses_bad_arguments(kwargs, error, pattern):
    args = dict(successors_fn=_chunks("good"), num_states=10, num_actions=4, num_successors=4)
    args.update(kwargs)
    with pytest.raises(error, match=pattern):
        sparse_mdp_from_chunks(args.pop("successors_fn"), args.pop("num_states"),
                               args.pop("num_actions"), args.pop("num_successors"), **args)


def test_mesh_and_shape_errors_name_the_argument(one_device_mesh):
    ns, pr, rng = random_arrays(12, 4)
    mdp = make_sparse_mdp(ns, pr)
    with pytest.raises(ValueError, match="reward: expected S = 12 rows"):
        sharded_soft_value_iteration(mdp, jnp.zeros(13), mesh=one_device_mesh)
    with pytest.raises(ValueError, match="mesh: expected an axis named 'states'"):
        sharded_soft_value_iteration(mdp, jnp.zeros(12),
                                     mesh=jax.sharding.Mesh(np.asarray(jax.devices()[:1]), ("x",)))
    with pytest.raises(TypeError, match="mesh: expected a jax.sharding.Mesh"):
        shard_mdp(mdp, mesh="states")
    with pytest.raises(ValueError, match="devices: expected at least one device"):
        make_state_mesh([])


def test_memory_estimate_scales_with_edges_batch_and_devices():
    one = estimate_solver_memory(10**6, 4, 4)
    # Linear in S but for the fixed-size block of gathered successor values (17 MB).
    assert estimate_solver_memory(10**7, 4, 4) == pytest.approx(10 * one, rel=0.05)
    # float32 at 10^6 states, A = K = 4: the MDP (128 MB) plus the solver's arrays; XLA's
    # buffer assignment of the compiled soft value iteration holds 357 MB.
    assert 300e6 < one < 450e6
    assert estimate_solver_memory(10**6, 4, 4, dtype="float64") > 1.5 * one
    mdp_bytes = 10**6 * 16 * 8 + 10**6 * 5
    assert estimate_solver_memory(10**6, 4, 4, batch=3) == pytest.approx(
        mdp_bytes + 3 * (one - mdp_bytes), rel=1e-6)
    four = estimate_solver_memory(10**6, 4, 4, num_devices=4)
    assert one / 4 < four < one / 2
    assert estimate_solver_memory(10**6, 4, 4, num_features=8) > one


def test_memory_check_refuses_what_does_not_fit():
    need = estimate_solver_memory(10**7, 4, 4)
    assert check_solver_memory(10**7, 4, 4, available=10 * need) == need
    with pytest.raises(ValueError, match=r"num_states: solving S = 10000000 states .* needs "
                                         r"about .* GiB per device, more than 80% of the"):
        check_solver_memory(10**7, 4, 4, available=need)
    with pytest.raises(ValueError, match=r"num_states/batch: .* \(batch\)"):
        check_solver_memory(10**5, 4, 4, batch=1000, available=10**9)
    with pytest.raises(ValueError, match="batch: expected >= 1"):
        estimate_solver_memory(10, 4, 4, batch=0)
    with pytest.raises(ValueError, match="dtype: expected a float dtype"):
        estimate_solver_memory(10, 4, 4, dtype="int32")


def test_available_memory_is_a_positive_number_or_unknown():
    free = available_memory()
    assert free is None or free > 0
    assert format_bytes(3 * 2**30) == "3.0 GiB" and format_bytes(512) == "512 B"
