"""The multi-device checks of ``test_sharded.py``, run in a fresh process with 4 CPU host devices.

``XLA_FLAGS=--xla_force_host_platform_device_count=4`` only counts before JAX starts, and the
test process has started it, so ``test_sharded.py`` runs ``python -m
tests.solvers.sharded_subprocess`` with that flag (and ``JAX_ENABLE_X64=1``). Every check
compares the sharded solvers with the one-device solvers on the same MDP in float64; the
process prints one ``ok <name>`` line per check and exits non-zero at the first failure.
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import bayesirl.solvers._sharding as sharding_kernels
from bayesirl.data.mdp import make_sparse_mdp
from bayesirl.data.sparse_build import sparse_mdp_from_chunks
from bayesirl.likelihoods import (
    DemonstrationPairs,
    boltzmann_log_likelihood,
    boltzmann_q_values,
    sharded_boltzmann_log_likelihood,
)
from bayesirl.solvers import (
    policy_evaluation,
    shard_mdp,
    sharded_policy_evaluation,
    sharded_soft_value_iteration,
    sharded_value_iteration,
    soft_value_iteration,
    value_iteration,
)
from bayesirl.solvers.sharded import STATE_AXIS, make_state_mesh

#: Agreement of the sharded and one-device solvers (float64; solver tolerance 1e-10, the
#: split only changes the order of floating-point sums).
ATOL = 1e-6
#: Small blocks (7 rows), so each device's rows (100 or 101 here) take 15 blocks, the last
#: one shifted back.
TEST_BLOCK_EDGES = 7 * 16


SOLVERS = {"soft": (soft_value_iteration, sharded_soft_value_iteration),
           "hard": (value_iteration, sharded_value_iteration)}


def random_mdp(S, seed, discount=0.99, terminal=(1,)):
    """γ = 0.99: Newton steps with GMRES (method "auto"); γ = 0.9: value iteration (quicker to
    compile)."""
    rng = np.random.default_rng(seed)
    return make_sparse_mdp(rng.integers(0, S, (S, 4, 4)), rng.dirichlet(np.ones(4), (S, 4)),
                           discount=discount, terminal_states=list(terminal)), rng


def close(name, a, b, atol=ATOL):
    err = float(jnp.max(jnp.abs(jnp.asarray(a) - jnp.asarray(b))))
    if not err <= atol:
        raise AssertionError(f"{name}: max abs difference {err:.3g} > {atol:g}")
    print(f"ok {name} ({err:.1e})", flush=True)


def check_solvers(mesh, S, methods, discount):
    mdp, rng = random_mdp(S, S, discount)
    reward = jnp.asarray(rng.standard_normal(S))
    for kind, method in methods:
        one_solver, split_solver = SOLVERS[kind]
        one = one_solver(mdp, reward, method=method)
        split = split_solver(mdp, reward, method=method, mesh=mesh)
        close(f"S={S} {kind} {method} values", one.values, split.values)
        close(f"S={S} {kind} {method} q_values", one.q_values, split.q_values)
        assert bool(split.converged), f"S={S} {kind} {method}: not converged"


def check_policy_evaluation(mesh, S):
    mdp, rng = random_mdp(S, S + 2)
    reward = jnp.asarray(rng.standard_normal(S))
    policy = jnp.asarray(rng.dirichlet(np.ones(4), S))
    one = policy_evaluation(mdp, reward, policy)
    split = sharded_policy_evaluation(mdp, reward, policy, mesh=mesh)
    close(f"S={S} policy evaluation values", one.values, split.values)
    close(f"S={S} policy evaluation q_values", one.q_values, split.q_values)


def check_likelihood(mesh, S, q, discount):
    mdp, rng = random_mdp(S, S + 1, discount)
    reward = jnp.asarray(rng.standard_normal(S))
    pairs = DemonstrationPairs(jnp.asarray(rng.integers(2, S, 30), jnp.int32),
                               jnp.asarray(rng.integers(0, 4, 30), jnp.int32),
                               jnp.zeros(30, jnp.int32))
    weights = jnp.asarray(rng.uniform(0.5, 2.0, 30))

    def one(r, beta):
        return boltzmann_log_likelihood(boltzmann_q_values(mdp, r, beta, q), pairs, weights)

    def split(r, beta):
        return sharded_boltzmann_log_likelihood(mdp, r, pairs, beta, q, weights, mesh=mesh)

    value_one, grad_one = jax.jit(jax.value_and_grad(one, argnums=(0, 1)))(reward, 2.0)
    value_split, grad_split = jax.jit(jax.value_and_grad(split, argnums=(0, 1)))(reward, 2.0)
    close(f"S={S} {q} log-likelihood", value_one, value_split)
    close(f"S={S} {q} log-likelihood gradient in the reward", grad_one[0], grad_split[0])
    close(f"S={S} {q} log-likelihood gradient in beta", grad_one[1], grad_split[1])


def check_layout(mesh):
    S = 400
    mdp, rng = random_mdp(S, 7, discount=0.9)
    placed = shard_mdp(mdp, mesh)
    shapes = {s.data.shape for s in placed.next_states.addressable_shards}
    assert shapes == {(S // 4, 4, 4)}, shapes
    reward = jnp.asarray(rng.standard_normal(S))
    jaxpr = str(jax.make_jaxpr(
        lambda r: sharded_soft_value_iteration(placed, r, mesh=mesh).values)(reward))
    assert "shard_map" in jaxpr, "the split kernels are not used"
    batch = jnp.asarray(rng.standard_normal((3, S)))
    one = jax.vmap(lambda r: soft_value_iteration(mdp, r).values)(batch)
    split = jax.vmap(lambda r: sharded_soft_value_iteration(placed, r, mesh=mesh).values)(batch)
    close("vmap over 3 rewards", one, split)
    print("ok layout", flush=True)


def check_chunked_build(mesh):
    S = 400
    rng = np.random.default_rng(11)
    ns, pr = rng.integers(0, S, (S, 4, 4)), rng.dirichlet(np.ones(4), (S, 4))
    calls = []

    def successors(start, stop):
        calls.append((start, stop))
        return ns[start:stop], pr[start:stop]

    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(STATE_AXIS))
    built = sparse_mdp_from_chunks(successors, S, 4, 4, chunk_size=30, discount=0.99,
                                   sharding=sharding)
    reference = make_sparse_mdp(ns, pr, discount=0.99)
    for field in ("next_states", "next_probs", "initial_distribution", "terminal"):
        np.testing.assert_array_equal(np.asarray(getattr(built, field)),
                                      np.asarray(getattr(reference, field)), err_msg=field)
    assert {s.data.shape for s in built.next_probs.addressable_shards} == {(S // 4, 4, 4)}
    assert max(stop - start for start, stop in calls) <= 30
    assert sorted(calls) == calls and sum(stop - start for start, stop in calls) == S
    print("ok chunked build on 4 devices", flush=True)


def main():
    assert jax.config.jax_enable_x64, "run with JAX_ENABLE_X64=1"
    assert len(jax.devices()) == 4, f"expected 4 CPU host devices, got {jax.devices()}"
    sharding_kernels.BLOCK_EDGES = TEST_BLOCK_EDGES
    mesh = make_state_mesh()
    start = time.perf_counter()
    check_layout(mesh)
    check_chunked_build(mesh)
    check_solvers(mesh, 10, [("soft", "vi"), ("hard", "vi")], 0.9)  # padded to 12 states
    # Padded to 404 states: 101 per device, 15 blocks of 7 rows.
    check_solvers(mesh, 402, [("soft", "newton")], 0.99)  # GMRES on the split operator
    check_policy_evaluation(mesh, 402)
    check_likelihood(mesh, 402, "soft", 0.99)  # implicit gradient: GMRES, transposed kernels
    check_likelihood(mesh, 402, "hard", 0.9)
    print(f"all checks passed ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    sys.exit(main())
