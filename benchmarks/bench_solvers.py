#!/usr/bin/env python
"""Benchmark bayesirl's JAX solvers and Boltzmann-IRL log density against numpy baselines.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_solvers.py                 # full run (~3-5 min on 2 CPU cores)
    python benchmarks/bench_solvers.py --quick         # smoke run (< 30 s)
    python benchmarks/bench_solvers.py --json out.json # also write the numbers

Every baseline is timed in the same process as the code it is compared with, and the tables
print ratios (baseline time / bayesirl time): on a noisy shared machine the ratios are far more
stable than the absolute times.

Part 1 (solvers): random MDPs with S states, A = 4 actions, K = 4 random successors per
state-action (Dirichlet(1) probabilities), gamma = 0.95, a standard-normal state reward. For
value iteration and soft value iteration it reports the time of one Bellman backup of

* ``jax``     -- ``bayesirl.solvers`` jit-compiled, full solve to convergence (compile excluded)
  divided by ``result.iterations``;
* ``np-dense`` -- numpy, dense (S*A, S) transition matrix, ``P @ V`` (what public BIRL code does);
* ``np-gather`` -- numpy, the same sparse successor lists as bayesirl,
  ``(probs * V[next]).sum(-1)`` (the fair baseline);

plus the time per reward of a ``jax.vmap`` batch of 64 rewards and the cost of
``jax.value_and_grad`` (implicit differentiation) relative to the forward solve.

Part 2 (FrozenLake8x8 model): evaluations per second of a jitted ``value_and_grad`` of the
NumPyro potential of ``boltzmann_irl_model`` (soft and hard Q), single and vmapped over 4 and
64 points, against numpy implementations of the same log posterior (no gradient): a vectorized
one (dense ``P @ V`` value iteration + log-softmax) and one written with the per-state /
per-action / per-pair Python loops of the public BIRL code people copy.
"""

from __future__ import annotations

# Importing the harness first pins numpy's BLAS to ONE thread before numpy is imported: on a
# 2-core machine a second OpenBLAS thread can make a numpy baseline many times slower.
import _harness  # noqa: I001
from _harness import block, compile_jax, print_table_header, time_jax

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

NUM_ACTIONS = 4
NUM_SUCCESSORS = 4
DISCOUNT = 0.95
BATCH = 64


# ---------------------------------------------------------------------------------------------
# numpy baselines
# ---------------------------------------------------------------------------------------------


def np_value_iteration(expected_next: Callable, reward: np.ndarray, gamma: float, soft: bool,
                       atol: float, rtol: float, max_iterations: int,
                       terminal: np.ndarray | None = None):
    """Plain numpy (soft) value iteration with bayesirl's stopping rule and terminal convention.

    ``expected_next(V)`` returns E[V(s') | s, a] of shape (S, A). Stops when
    ``max|V_new - V| <= atol + rtol * max|V_new|`` or after ``max_iterations`` sweeps.
    Returns (V, Q, iterations).
    """
    S, A = reward.shape
    V = np.zeros(S, reward.dtype)
    g = reward.dtype.type(gamma)
    log_a = reward.dtype.type(math.log(A))
    it = 0
    while it < max_iterations:
        ev = expected_next(V)
        if terminal is not None:
            ev[terminal] = 0.0
        Q = reward + g * ev
        if soft:
            m = Q.max(axis=1)
            new = m + np.log(np.exp(Q - m[:, None]).sum(axis=1))
            if terminal is not None:
                new[terminal] -= log_a
        else:
            new = Q.max(axis=1)
        it += 1
        res = np.abs(new - V).max()
        V = new
        if res <= atol + rtol * np.abs(new).max():
            break
    ev = expected_next(V)
    if terminal is not None:
        ev[terminal] = 0.0
    return V, reward + g * ev, it


def dense_expected_next(P2: np.ndarray, S: int, A: int) -> Callable:
    """E[V(s')|s,a] with a dense (S*A, S) matrix: one BLAS matvec ``P @ V``."""
    return lambda V: (P2 @ V).reshape(S, A)


def gather_expected_next(next_states: np.ndarray, next_probs: np.ndarray) -> Callable:
    """E[V(s')|s,a] with successor lists: ``(probs * V[next]).sum(-1)``."""
    return lambda V: (next_probs * V[next_states]).sum(axis=-1)


def dense_matrix(next_states: np.ndarray, next_probs: np.ndarray) -> np.ndarray:
    """The dense (S*A, S) transition matrix of successor lists (repeated successors add up)."""
    S, A, K = next_states.shape
    P2 = np.zeros((S * A, S), next_probs.dtype)
    rows = np.repeat(np.arange(S * A), K)
    np.add.at(P2, (rows, next_states.reshape(-1)), next_probs.reshape(-1))
    return P2


def time_numpy_solver(run: Callable[[int], int], *, repeats: int, budget_s: float,
                      max_iterations: int):
    """Best-of-``repeats`` seconds per backup of ``run(cap) -> iterations done``.

    The iteration cap is chosen from a 3-sweep probe so that one sample takes about
    ``budget_s / repeats`` (at least 3 sweeps, at most ``max_iterations``): per-backup cost
    does not depend on how far the iterate is from convergence.
    """
    t0 = time.perf_counter()
    it = run(3)
    probe = (time.perf_counter() - t0) / it
    cap = int(min(max_iterations, max(3, budget_s / max(repeats, 1) / max(probe, 1e-9))))
    samples = []
    spent = 0.0
    while len(samples) < repeats and (len(samples) < 2 or spent < budget_s):
        t0 = time.perf_counter()
        it = run(cap)
        dt = time.perf_counter() - t0
        spent += dt
        samples.append(dt / it)
    return min(samples), cap


# ---------------------------------------------------------------------------------------------
# Part 1: solvers on random sparse MDPs
# ---------------------------------------------------------------------------------------------


def random_mdp_arrays(S: int, seed: int, dtype):
    rng = np.random.default_rng(seed)
    next_states = rng.integers(0, S, size=(S, NUM_ACTIONS, NUM_SUCCESSORS))
    next_probs = rng.dirichlet(np.ones(NUM_SUCCESSORS), size=(S, NUM_ACTIONS))
    reward = rng.standard_normal(S)
    rewards = rng.standard_normal((BATCH, S))
    return next_states, next_probs, reward.astype(dtype), rewards.astype(dtype)


def bench_solvers(sizes, repeats: int, budget_s: float, seed: int, dtype, verbose=True):
    import jax
    import jax.numpy as jnp

    from bayesirl.data.mdp import make_sparse_mdp
    from bayesirl.solvers import soft_value_iteration, value_iteration

    eps = 1e-5 if np.dtype(dtype) == np.float32 else 1e-10  # bayesirl's default tolerances
    rows = {"value_iteration": [], "soft_value_iteration": []}
    for S in sizes:
        ns, probs, reward, rewards = random_mdp_arrays(S, seed + S, dtype)
        # One constant feature: the default identity features would be an unused (S, S) array.
        mdp = make_sparse_mdp(ns, probs, features=np.ones((S, 1)), discount=DISCOUNT,
                              dtype=dtype)
        r = jnp.asarray(reward)
        R64 = jnp.asarray(rewards)
        probs_np = np.asarray(mdp.next_probs)          # the same (rounded) numbers as JAX uses
        ns_np = np.asarray(mdp.next_states).astype(np.intp)
        P2 = dense_matrix(ns_np, probs_np)
        ev_dense = dense_expected_next(P2, S, NUM_ACTIONS)
        ev_gather = gather_expected_next(ns_np, probs_np)
        R_sa = np.broadcast_to(reward[:, None], (S, NUM_ACTIONS)).astype(dtype)
        v_test = np.random.default_rng(1).standard_normal(S).astype(dtype)
        assert np.allclose(ev_dense(v_test), ev_gather(v_test), rtol=1e-4, atol=1e-4)

        for name, solver, soft in (("value_iteration", value_iteration, False),
                                   ("soft_value_iteration", soft_value_iteration, True)):
            row = {"S": S, "A": NUM_ACTIONS, "K": NUM_SUCCESSORS, "edges": S * NUM_ACTIONS
                   * NUM_SUCCESSORS}

            # --- JAX forward solve ---
            fwd, row["compile_s"] = compile_jax(lambda m, x: solver(m, x), (mdp, r))
            t_fwd, res = time_jax(fwd, (mdp, r), repeats=repeats, budget_s=budget_s)
            iters = int(res.iterations)
            row.update(iterations=iters, converged=bool(res.converged), jax_solve_s=t_fwd,
                       jax_backup_us=1e6 * t_fwd / iters)
            row["jax_ns_per_edge"] = 1e3 * row["jax_backup_us"] / row["edges"]

            # --- numpy baselines (same algorithm, same stopping rule) ---
            def run_gather(cap, _soft=soft):
                return np_value_iteration(ev_gather, R_sa, DISCOUNT, _soft, eps, eps, cap)[2]

            def run_dense(cap, _soft=soft):
                return np_value_iteration(ev_dense, R_sa, DISCOUNT, _soft, eps, eps, cap)[2]

            t_gather, _ = time_numpy_solver(run_gather, repeats=repeats, budget_s=budget_s,
                                            max_iterations=10_000)
            t_dense, row["np_dense_sweep_cap"] = time_numpy_solver(
                run_dense, repeats=repeats, budget_s=budget_s, max_iterations=10_000)
            row["np_gather_backup_us"] = 1e6 * t_gather
            row["np_dense_backup_us"] = 1e6 * t_dense
            row["dense_over_jax"] = row["np_dense_backup_us"] / row["jax_backup_us"]
            row["gather_over_jax"] = row["np_gather_backup_us"] / row["jax_backup_us"]
            # correctness cross-check: numpy gather solved to convergence vs bayesirl
            V_np, _, it_np = np_value_iteration(ev_gather, R_sa, DISCOUNT, soft, eps, eps,
                                                10_000)
            row["np_iterations"] = it_np
            row["max_abs_diff_values"] = float(np.abs(V_np - np.asarray(res.values)).max())

            # --- vmap over a batch of 64 rewards ---
            batched, _ = compile_jax(jax.vmap(lambda m, x: solver(m, x), in_axes=(None, 0)),
                                     (mdp, R64))
            t_batch, bres = time_jax(batched, (mdp, R64), repeats=repeats, budget_s=budget_s)
            row["vmap64_per_reward_us"] = 1e6 * t_batch / BATCH
            row["vmap64_max_iterations"] = int(np.max(bres.iterations))
            row["vmap64_gain"] = t_fwd / (t_batch / BATCH)

            # --- value and gradient (implicit differentiation) ---
            vg, _ = compile_jax(
                jax.value_and_grad(lambda m, x: solver(m, x).values.sum(), argnums=1),
                (mdp, r))
            t_vg, _ = time_jax(vg, (mdp, r), repeats=repeats, budget_s=budget_s)
            row["value_and_grad_s"] = t_vg
            row["grad_over_fwd"] = t_vg / t_fwd
            rows[name].append(row)
            if verbose:
                print(f"  [{name} S={S}: jax {row['jax_backup_us']:.1f} us/backup, "
                      f"{iters} it, grad/fwd {row['grad_over_fwd']:.2f}]", flush=True)
        del P2
    return rows


def print_solver_table(name: str, rows):
    print(f"\n{name}: one Bellman backup, A = {NUM_ACTIONS}, K = {NUM_SUCCESSORS} successors, "
          f"gamma = {DISCOUNT}")
    hdr = (f"{'S':>6} {'iters':>6} {'jax us':>9} {'ns/edge':>8} {'np-dense us':>12} "
           f"{'np-gather us':>13} {'dense/jax':>10} {'gather/jax':>11} "
           f"{'vmap64 us/rew':>14} {'vmap gain':>10} {'grad/fwd':>9}")
    print_table_header(hdr)
    for r in rows:
        print(f"{r['S']:>6} {r['iterations']:>6} {r['jax_backup_us']:>9.2f} "
              f"{r['jax_ns_per_edge']:>8.2f} {r['np_dense_backup_us']:>12.1f} "
              f"{r['np_gather_backup_us']:>13.1f} {r['dense_over_jax']:>9.1f}x "
              f"{r['gather_over_jax']:>10.1f}x {r['vmap64_per_reward_us']:>14.0f} "
              f"{r['vmap64_gain']:>9.2f}x {r['grad_over_fwd']:>8.2f}x")
    print("jax us: bayesirl solve time / iterations; ns/edge: jax us per S*A*K transition; "
          "np-*: numpy backups (same stopping rule);\n"
          "X/jax: numpy time / jax time; vmap64 us/rew: vmapped solve of 64 rewards / 64; "
          "vmap gain: single solve / (vmap64 / 64); grad/fwd: value_and_grad / forward solve")
    bad = [r for r in rows if not r["converged"] or r["max_abs_diff_values"] > 1e-2]
    worst = max(r["max_abs_diff_values"] for r in rows)
    print(f"check: max |V_numpy - V_jax| = {worst:.2e}; all converged: "
          f"{all(r['converged'] for r in rows)}" + ("  <-- MISMATCH" if bad else ""))


# ---------------------------------------------------------------------------------------------
# Part 2: FrozenLake8x8 log density + gradient
# ---------------------------------------------------------------------------------------------


class NumpyBIRL:
    """The log posterior of ``boltzmann_irl_model(prior="gaussian", beta=1)`` in plain numpy.

    Same conventions as bayesirl: ``R = phi w``, terminal states have Q = R (no continuation),
    soft values use log-mean-exp in terminal states, same tolerances. Two flavours:

    * :meth:`log_density` -- vectorized: dense ``(S*A, S) @ V`` value iteration and a
      vectorized log-softmax over the pairs;
    * :meth:`log_density_loops` -- the structure of the public Python BIRL code: value iteration
      with Python loops over states and actions (one ``np.dot`` of a dense transition row per
      state-action), and the likelihood summed pair by pair.
    """

    def __init__(self, mdp, pairs, eps):
        self.S, self.A = int(mdp.num_states), int(mdp.num_actions)
        ns = np.asarray(mdp.next_states).astype(np.intp)
        probs = np.asarray(mdp.next_probs, np.float64)
        self.P2 = dense_matrix(ns, probs)                       # (S*A, S)
        self.P = self.P2.reshape(self.S, self.A, self.S)        # (S, A, S)
        self.phi = np.asarray(mdp.features, np.float64)
        self.gamma = float(mdp.discount)
        self.terminal = np.asarray(mdp.terminal)
        self.states = np.asarray(pairs.states).astype(np.intp)
        self.actions = np.asarray(pairs.actions).astype(np.intp)
        self.eps = eps
        self.ev = dense_expected_next(self.P2, self.S, self.A)

    @staticmethod
    def log_prior(w):
        return float(-0.5 * np.sum(w * w) - 0.5 * w.size * math.log(2 * math.pi))

    def log_density(self, w, soft: bool):
        R = np.broadcast_to((self.phi @ w)[:, None], (self.S, self.A))
        _, Q, _ = np_value_iteration(self.ev, R, self.gamma, soft, self.eps, self.eps, 10_000,
                                     self.terminal)
        m = Q.max(axis=1, keepdims=True)
        log_pi = Q - m - np.log(np.exp(Q - m).sum(axis=1, keepdims=True))
        return float(log_pi[self.states, self.actions].sum()) + self.log_prior(w)

    def log_density_loops(self, w, soft: bool):
        S, A, P, gamma = self.S, self.A, self.P, self.gamma
        R = self.phi @ w
        V = np.zeros(S)
        Q = np.zeros((S, A))
        for _ in range(10_000):
            V_old = V.copy()
            for s in range(S):
                for a in range(A):
                    cont = 0.0 if self.terminal[s] else gamma * np.dot(P[s, a], V_old)
                    Q[s, a] = R[s] + cont
                if soft:
                    m = max(Q[s])
                    V[s] = m + math.log(sum(math.exp(q - m) for q in Q[s]))
                    if self.terminal[s]:
                        V[s] -= math.log(A)
                else:
                    V[s] = max(Q[s])
            diff = np.abs(V - V_old).max()
            if diff <= self.eps + self.eps * np.abs(V).max():
                break
        for s in range(S):
            for a in range(A):
                Q[s, a] = R[s] + (0.0 if self.terminal[s] else gamma * np.dot(P[s, a], V))
        ll = 0.0
        for s, a in zip(self.states, self.actions):
            m = max(Q[s])
            ll += Q[s, a] - m - math.log(sum(math.exp(q - m) for q in Q[s]))
        return ll + self.log_prior(w)


def bench_frozenlake(repeats: int, budget_s: float, num_points: int, loop_evals: int,
                     verbose=True):
    import jax
    from numpyro.infer.util import initialize_model

    from bayesirl.data.demos import sample_demonstrations
    from bayesirl.data.envs import make_environment
    from bayesirl.likelihoods import demonstration_pairs
    from bayesirl.models import boltzmann_irl_model
    from bayesirl.solvers import value_iteration

    t0 = time.perf_counter()
    env = make_environment("FrozenLake8x8-v1")
    policy = value_iteration(env.mdp, env.true_reward).policy
    demos = sample_demonstrations(jax.random.PRNGKey(0), env.mdp, policy, 50,
                                  env.max_episode_steps)
    pairs = demonstration_pairs(env.mdp, demos)
    setup_s = time.perf_counter() - t0
    dtype = np.dtype(env.mdp.next_probs.dtype)
    eps = 1e-5 if dtype == np.float32 else 1e-10
    base = NumpyBIRL(env.mdp, pairs, eps)
    info = {"S": env.mdp.num_states, "A": env.mdp.num_actions, "F": env.mdp.num_features,
            "pairs": int(pairs.states.shape[0]), "demos": 50, "setup_s": setup_s}
    rows = []
    for q in ("soft", "hard"):
        t0 = time.perf_counter()
        # validate_grad=False skips numpyro's eager gradient check at the initial point
        # (~3 s of op-by-op compilation); it does not change potential_fn.
        mi = initialize_model(jax.random.PRNGKey(1), boltzmann_irl_model,
                              model_args=(env.mdp, pairs),
                              model_kwargs=dict(prior="gaussian", beta=1.0, q=q),
                              validate_grad=False)
        init_s = time.perf_counter() - t0
        z0 = mi.param_info.z
        leaves, treedef = jax.tree_util.tree_flatten(z0)
        keys = jax.random.split(jax.random.PRNGKey(2), len(leaves))
        # random points in unconstrained space, standard normal like the prior
        pts = jax.tree_util.tree_unflatten(treedef, [
            jax.random.normal(k, (max(num_points, BATCH),) + leaf.shape, leaf.dtype)
            for k, leaf in zip(keys, leaves)])
        point = lambda i: jax.tree_util.tree_map(lambda x: x[i], pts)  # noqa: E731
        batch = lambda n: jax.tree_util.tree_map(lambda x: x[:n], pts)  # noqa: E731
        vg_fn = jax.value_and_grad(mi.potential_fn)
        row = {"q": q, "initialize_model_s": init_s}

        vg, row["compile_s"] = compile_jax(vg_fn, (point(0),))
        singles = [point(i) for i in range(num_points)]

        def run_all():
            out = None
            for p in singles:
                out = block(vg(p))
            return out

        t_all, _ = time_jax(lambda: run_all(), (), repeats=repeats, budget_s=budget_s)
        row["jax_eval_s"] = t_all / num_points
        row["jax_evals_per_s"] = 1.0 / row["jax_eval_s"]

        for n in (4, BATCH):
            vvg, _ = compile_jax(jax.vmap(vg_fn), (batch(n),))
            t_b, _ = time_jax(vvg, (batch(n),), repeats=repeats, budget_s=budget_s)
            row[f"vmap{n}_call_s"] = t_b
            row[f"vmap{n}_evals_per_s"] = n / t_b

        # numpy baselines (log density only, no gradient), on the same points
        w_np = [np.asarray(p["reward_weights"], np.float64) for p in singles]
        soft = q == "soft"
        samples = []
        spent = 0.0
        while len(samples) < repeats and (len(samples) < 2 or spent < budget_s):
            t0 = time.perf_counter()
            vals = [base.log_density(w, soft) for w in w_np]
            dt = time.perf_counter() - t0
            spent += dt
            samples.append(dt / len(w_np))
        row["np_eval_s"] = min(samples)
        row["np_evals_per_s"] = 1.0 / row["np_eval_s"]
        jax_pot = np.array([float(vg(p)[0]) for p in singles])
        row["max_abs_diff_log_density"] = float(np.max(np.abs(-jax_pot - np.array(vals))))

        t0 = time.perf_counter()
        for w in w_np[:loop_evals]:
            ll_loop = base.log_density_loops(w, soft)
        row["np_loops_eval_s"] = (time.perf_counter() - t0) / loop_evals
        row["np_loops_evals_per_s"] = 1.0 / row["np_loops_eval_s"]
        row["max_abs_diff_loops"] = abs(ll_loop - vals[loop_evals - 1])

        row["speedup_vs_np"] = row["np_eval_s"] / row["jax_eval_s"]
        row["speedup_vs_np_loops"] = row["np_loops_eval_s"] / row["jax_eval_s"]
        row["vmap64_speedup_vs_np"] = row["vmap64_evals_per_s"] / row["np_evals_per_s"]
        rows.append(row)
        if verbose:
            print(f"  [FrozenLake q={q}: {row['jax_evals_per_s']:.0f} evals/s]", flush=True)
    return info, rows


def print_frozenlake_table(info, rows):
    print(f"\nFrozenLake8x8-v1 log density + gradient: S = {info['S']}, A = {info['A']}, "
          f"F = {info['F']}, {info['demos']} demos = {info['pairs']} pairs, prior gaussian, "
          "beta = 1")
    print("evals/s: jitted jax.value_and_grad(potential_fn), one point per call (blocked); "
          "vmapN: evals/s summed over the N points of a batch;\n"
          "np: numpy log density only (no gradient), vectorized (P @ V) or with Python loops")
    hdr = (f"{'q':>5} {'jax ev/s':>9} {'vmap4 ev/s':>11} {'vmap64 ev/s':>12} {'np ev/s':>8} "
           f"{'np-loops ev/s':>14} {'jax/np':>8} {'jax/np-loops':>13} {'vmap64/np':>10}")
    print_table_header(hdr)
    for r in rows:
        print(f"{r['q']:>5} {r['jax_evals_per_s']:>9.0f} {r['vmap4_evals_per_s']:>11.0f} "
              f"{r['vmap64_evals_per_s']:>12.0f} {r['np_evals_per_s']:>8.1f} "
              f"{r['np_loops_evals_per_s']:>14.2f} {r['speedup_vs_np']:>7.1f}x "
              f"{r['speedup_vs_np_loops']:>12.0f}x {r['vmap64_speedup_vs_np']:>9.1f}x")
    print("jax/np: jax evals/s / numpy evals/s (jax also computes the gradient); "
          "vmap64/np: vmap64 evals/s / numpy evals/s")
    print(f"one-off costs: environment + expert + demos {info['setup_s']:.1f} s; "
          + "; ".join(f"q={r['q']}: initialize_model {r['initialize_model_s']:.1f} s, "
                      f"compile value_and_grad {r['compile_s']:.1f} s" for r in rows))
    worst = max(max(r["max_abs_diff_log_density"], r["max_abs_diff_loops"]) for r in rows)
    print(f"check: max |log density numpy - jax| = {worst:.2e} (float32 jax vs float64 numpy, "
          f"log densities of order 1e3)")


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default=None,
                   help="comma-separated numbers of states (default 100,500,1000,2500,5000; "
                        "--quick: 100,600)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed samples per measurement, best one kept (default 7; --quick 2)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds one measurement may take before it stops repeating "
                        "(default 3.0; --quick 0.3)")
    p.add_argument("--points", type=int, default=None,
                   help="random parameter points for the FrozenLake timings (default 64; "
                        "--quick 8)")
    p.add_argument("--quick", action="store_true", help="fast smoke run (< 30 s)")
    p.add_argument("--skip-solvers", action="store_true", help="only the FrozenLake part")
    p.add_argument("--skip-frozenlake", action="store_true", help="only the solver part")
    p.add_argument("--x64", action="store_true", help="enable float64 in JAX (and numpy)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write all numbers to this JSON file")
    args = p.parse_args(argv)

    sizes = args.sizes or ("100,600" if args.quick else "100,500,1000,2500,5000")
    sizes = [int(s) for s in sizes.split(",") if s.strip()]
    repeats = args.repeats or (2 if args.quick else 7)
    budget = args.budget if args.budget is not None else (0.3 if args.quick else 3.0)
    points = args.points or (8 if args.quick else 64)
    loop_evals = 1 if args.quick else 2

    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    _harness.limit_blas_threads()
    t_start = time.perf_counter()
    env = _harness.environment_info(x64=True)
    _harness.print_header("bayesirl solver benchmark", env)
    print(f"  settings            sizes={sizes} repeats={repeats} budget={budget}s "
          f"points={points} quick={args.quick}")
    print("  times are the best of the repeats; ratios are baseline time / bayesirl time "
          "(> 1: bayesirl faster)", flush=True)

    results = {"environment": env, "settings": {"sizes": sizes, "repeats": repeats,
                                                "budget_s": budget, "points": points,
                                                "quick": args.quick}}
    dtype = np.float64 if args.x64 else np.float32
    if not args.skip_solvers:
        rows = bench_solvers(sizes, repeats, budget, args.seed, dtype)
        results["solvers"] = rows
        for name, r in rows.items():
            print_solver_table(name, r)
    if not args.skip_frozenlake:
        print()
        info, rows = bench_frozenlake(repeats, budget, points, loop_evals)
        results["frozenlake"] = {"info": info, "rows": rows}
        print_frozenlake_table(info, rows)
    _harness.finish(results, t_start, args.json, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
