#!/usr/bin/env python
"""Benchmark bayesirl's Bradley-Terry MH sampler and MaxEnt log density against numpy baselines.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_preferences.py                 # full run (2.5-3.5 min on 2 CPU cores)
    python benchmarks/bench_preferences.py --quick         # smoke run (~20-40 s)
    python benchmarks/bench_preferences.py --json out.json # also write the numbers

Every baseline is timed in the same process as the code it is compared with, and the tables
print ratios (bayesirl rate / baseline rate): on a noisy shared machine the ratios are far more
stable than the absolute rates.

Part 1 (Bradley-Terry MH, Bayesian REX scale): synthetic feature counts Phi ~ N(0, 1) of shape
(N, 64), preferences labelled by a hidden unit weight vector, and the posterior of
``irl_model(mdp, Evidence(preference_features=Phi, preferences=prefs), prior="l2-sphere",
betas={"bradley-terry": 1})`` (w uniform on the unit L2 sphere, beta fixed; a 1-state MDP only
supplies F). Two sizes: Bayesian REX's Atari setting (12 ranked trajectories -> 66 pairs) and
1000 random pairs of 100 trajectories. For C vectorised chains,
``MCMC(RandomWalkMH(irl_model), chain_method="vectorized")`` is timed in MH steps per second
summed over the chains (compile excluded), beside one chain of a plain numpy MH loop written
like Bayesian REX's public code (Python loop over steps, Gaussian step on w, renormalise to
unit L2 norm, log-likelihood sum log sigmoid(beta (Phi_i - Phi_j) . w)). Also the effective
sample size per second of one weight, w[0].

Part 2 (MaxEnt log density + gradient): FrozenLake8x8-v1 (S = 64, one-hot features) and a
10x10 random-colour gridworld (F = 4), 20 demonstrations of the optimal policy, finite horizon
(T = the demonstration length) and discounted. Evaluations per second of a jitted
``jax.value_and_grad`` of the NumPyro potential of ``irl_model(..., Evidence(maxent=...))``,
against numpy: the finite-horizon log-likelihood (backward pass with scipy ``logsumexp``, no
gradient) and the classic MaxEnt IRL gradient (backward + forward pass, empirical - expected
feature counts) as in the public ``maxent_irl`` code people copy.
"""

from __future__ import annotations

# Importing the harness first pins numpy's BLAS to ONE thread before numpy is imported: on a
# 2-core machine a second OpenBLAS thread can make a numpy baseline many times slower.
import _harness  # noqa: I001
from _harness import (CompileClock, block, bulk_ess, compile_jax, print_table_header,
                      time_jax, time_numpy)

import argparse  # noqa: E402
import functools  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

NUM_FEATURES = 64
BATCH = 64
# Candidate proposal standard deviations for the numpy (Bayesian REX) chain; a short untimed
# pilot picks the one whose acceptance rate is closest to 0.234.
NP_STEP_CANDIDATES = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16)


# ---------------------------------------------------------------------------------------------
# Part 1: Bradley-Terry MH
# ---------------------------------------------------------------------------------------------


def preference_data(num_trajectories: int, num_pairs: int | None, seed: int):
    """Synthetic feature counts and preferences labelled by a hidden unit weight vector.

    ``num_pairs=None``: one full ranking of the trajectories by their true return (Bayesian
    REX: N ranked demonstrations give N(N-1)/2 pairs); otherwise ``num_pairs`` distinct random
    pairs, the higher true return preferred (noise-free labels, as ``synthetic_preferences``).
    Returns (Phi (N, F) float32, Preferences, winner (P,), loser (P,)).
    """
    from bayesirl.data.preferences import make_preferences

    rng = np.random.default_rng(seed)
    N, F = num_trajectories, NUM_FEATURES
    phi = rng.standard_normal((N, F)).astype(np.float32)
    w_true = rng.standard_normal(F)
    w_true /= np.linalg.norm(w_true)
    ret = phi.astype(np.float64) @ w_true
    if num_pairs is None:
        prefs = make_preferences(N, rankings=[[int(i) for i in np.argsort(-ret)]])
    else:
        all_pairs = np.array([(a, b) for a in range(N) for b in range(N) if a != b])
        pick = all_pairs[rng.choice(len(all_pairs), size=num_pairs, replace=False)]
        labels = np.where(ret[pick[:, 0]] > ret[pick[:, 1]], 0, 1)
        prefs = make_preferences(N, [(int(a), int(b), int(c)) for (a, b), c in zip(pick, labels)])
    first, second, label = (np.asarray(x) for x in prefs)
    winner = np.where(label == 0, first, second).astype(np.intp)
    loser = np.where(label == 0, second, first).astype(np.intp)
    return phi, prefs, winner, loser


class NumpyBREX:
    """One Bayesian REX MH chain in plain numpy (the structure of the public code).

    Proposal: ``w' = w + step * N(0, I)``, then ``w' /= ||w'||_2``; accept if
    ``log u < loglik(w') - loglik(w)``; ``loglik(w) = sum_p log sigmoid(beta (R_win - R_lose))``
    with ``R = Phi w`` (uniform prior on the sphere: no prior term).
    """

    def __init__(self, phi, winner, loser, beta):
        self.phi = np.asarray(phi, np.float64)
        self.winner, self.loser, self.beta = winner, loser, float(beta)

    def loglik(self, w):
        r = self.phi @ w
        x = self.beta * (r[self.winner] - r[self.loser])
        return -np.logaddexp(0.0, -x).sum()

    def run(self, w, step, num_steps, rng):
        """Returns (chain (num_steps, F), acceptance rate, last w)."""
        F = w.shape[0]
        chain = np.empty((num_steps, F))
        ll = self.loglik(w)
        accepted = 0
        for i in range(num_steps):
            prop = w + step * rng.standard_normal(F)
            prop /= np.linalg.norm(prop)
            ll_prop = self.loglik(prop)
            if ll_prop > ll or rng.random() < math.exp(ll_prop - ll):
                w, ll = prop, ll_prop
                accepted += 1
            chain[i] = w
        return chain, accepted / num_steps, w


def bench_numpy_chain(phi, winner, loser, beta, target_s, repeats, seed):
    brex = NumpyBREX(phi, winner, loser, beta)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(phi.shape[1])
    w /= np.linalg.norm(w)
    # untimed pilot: burn in, then pick the step whose acceptance is closest to 0.234
    _, _, w = brex.run(w, 0.05, 1000, rng)
    pilot = {}
    for step in NP_STEP_CANDIDATES:
        _, acc, w = brex.run(w, step, 300, rng)
        pilot[step] = acc
    step = min(pilot, key=lambda s: abs(pilot[s] - 0.234))
    t0 = time.perf_counter()
    _, _, w = brex.run(w, step, 200, rng)
    per_step = (time.perf_counter() - t0) / 200
    n = int(min(200_000, max(2_000, target_s / max(per_step, 1e-9))))
    times, chains, accs = [], [], []
    for _ in range(max(2, repeats)):
        t0 = time.perf_counter()
        chain, acc, w = brex.run(w, step, n, rng)
        times.append(time.perf_counter() - t0)
        chains.append(chain[:, 0])
        accs.append(acc)
    t = min(times)
    draws = np.concatenate(chains)  # one chain, continued across the repeats
    ess = bulk_ess(draws[None, :])
    return {"step": step, "pilot_accept": pilot, "steps": n, "repeats": len(times),
            "seconds": t, "steps_per_s": n / t, "accept": float(np.mean(accs)),
            "ess_w0": ess, "ess_draws": int(draws.size),
            "ess_per_s": ess / (sum(times)), "loglik_fn": brex.loglik}


def bench_mcmc_config(model, mdp, ev, C, num_warmup, target_s, clock, repeats, budget_s,
                      seed, kernel_kwargs=None):
    """One configuration of C vectorised chains: warm up, time the kernel loop, time a run.

    1. ``mcmc.warmup`` (initialisation + compile + adaptation; reported, not a rate).
    2. ``loop``: the same ``RandomWalkMH`` transitions in our own jitted ``lax.fori_loop``
       (collecting only the latent z), AOT-compiled and timed best-of-repeats: the sampler's
       steady-state cost without numpyro's per-step collection. It also sizes step 3.
    3. ``mcmc.run`` of N draws per chain (~``target_s`` long), timed once; the trace / lower /
       XLA-compile time JAX reports for that call is subtracted (numpyro 0.22 recompiles the
       sampling loop on every ``run``, see :class:`CompileClock`). ESS comes from these draws.

    ``kernel_kwargs`` are passed to ``RandomWalkMH`` (default: none, ``fit``'s kernel).
    """
    import jax
    import jax.numpy as jnp
    from jax import lax
    from numpyro.infer import MCMC, init_to_uniform

    from bayesirl.inference import RandomWalkMH

    kernel = RandomWalkMH(model, init_strategy=init_to_uniform(radius=1.0),
                          **(kernel_kwargs or {}))
    # num_samples is set after the warm-up (a small collection buffer during the warm-up)
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=1, num_chains=C,
                chain_method="vectorized", progress_bar=False)
    key_w, key_r = jax.random.split(jax.random.PRNGKey(seed))
    with clock.measure() as mw:
        mcmc.warmup(key_w, mdp, ev)
        block(mcmc.post_warmup_state)
    state = mcmc.post_warmup_state
    # pessimistic cost of one vectorised step (the warm-up also initialises the chains)
    est = max(mw.wall - mw.compile, 1e-4) / max(num_warmup, 1)
    n_loop = int(min(50_000, max(100, target_s / 4 / est)))
    args = (mdp, ev)

    def loop(state):
        coll = jax.tree.map(lambda x: jnp.zeros((n_loop,) + x.shape, x.dtype), state.z)

        def body(i, carry):
            s, c = carry
            s = kernel.sample(s, args, {})
            return s, jax.tree.map(lambda a, x: a.at[i].set(x), c, s.z)

        return lax.fori_loop(0, n_loop, body, (state, coll))

    compiled, loop_compile_s = compile_jax(loop, (state,))
    t_loop, _ = time_jax(compiled, (state,), repeats=repeats, budget_s=budget_s)
    per_step = t_loop / n_loop
    N = int(min(200_000, max(200, target_s / per_step)))
    mcmc.num_samples = N
    with clock.measure() as mr:
        mcmc.run(key_r, mdp, ev)
        samples = block(mcmc.get_samples(group_by_chain=True))
        extra = block(mcmc.get_extra_fields(group_by_chain=True))
    run_s = max(mr.wall - mr.compile, 1e-9)
    ess = bulk_ess(np.asarray(samples["reward_weights"][..., 0]))
    return {"chains": C, "warmup": num_warmup, "draws_per_chain": N,
            "warmup_call_s": mw.wall, "warmup_compile_s": mw.compile,
            "loop_steps": n_loop, "loop_compile_s": loop_compile_s,
            "loop_steps_per_s": C / per_step,
            "run_call_s": mr.wall, "run_compile_s": mr.compile, "run_s": run_s,
            "steps_per_s": C * N / run_s, "accept": float(np.mean(extra["accept_prob"])),
            "step_size": float(np.mean(state.adapt_state.step_size)),
            "ess_w0": ess, "ess_per_s": ess / run_s}


def bench_preferences(scales, beta, num_warmup, target_s, repeats, budget_s, clock, seed,
                      verbose=True):
    import jax.numpy as jnp

    from bayesirl.data.mdp import make_sparse_mdp
    from bayesirl.models import Evidence, irl_model
    from bayesirl.likelihoods import bradley_terry_log_likelihood

    F = NUM_FEATURES
    # A 1-state, 1-action MDP: the Bradley-Terry likelihood never solves it; it only gives F.
    mdp = make_sparse_mdp(np.zeros((1, 1, 1), np.int32), np.ones((1, 1, 1)),
                          features=np.zeros((1, F)), discount=0.9)
    model = functools.partial(irl_model, prior="l2-sphere", betas={"bradley-terry": beta})
    out = []
    for scale in scales:
        phi, prefs, winner, loser = preference_data(scale["trajectories"], scale["pairs"],
                                                    seed + scale["trajectories"])
        ev = Evidence(preference_features=jnp.asarray(phi), preferences=prefs)
        P = int(prefs.first.shape[0])
        npres = bench_numpy_chain(phi, winner, loser, beta, target_s, repeats, seed + 1)
        # check: numpy log-likelihood vs bayesirl's, on a few unit vectors
        rng = np.random.default_rng(seed + 2)
        ws = rng.standard_normal((8, F))
        ws /= np.linalg.norm(ws, axis=1, keepdims=True)
        ll_np = np.array([npres["loglik_fn"](w) for w in ws])
        ll_jax = np.array([float(bradley_terry_log_likelihood(jnp.asarray(w, jnp.float32),
                                                              jnp.asarray(phi), prefs, beta))
                           for w in ws])
        del npres["loglik_fn"]
        info = {"name": scale["name"], "trajectories": scale["trajectories"], "pairs": P,
                "features": F, "beta": beta, "numpy": npres,
                "check_max_abs_diff_loglik": float(np.max(np.abs(ll_np - ll_jax))),
                "loglik_scale": float(np.max(np.abs(ll_np)))}
        if verbose:
            print(f"  [{scale['name']}: numpy {npres['steps_per_s']:.0f} steps/s]", flush=True)
        rows = []
        for C in scale["chains"]:
            row = bench_mcmc_config(model, mdp, ev, C, num_warmup, target_s, clock, repeats,
                                    budget_s, seed + 10 + C)
            row["vs_np"] = row["steps_per_s"] / npres["steps_per_s"]
            row["loop_vs_np"] = row["loop_steps_per_s"] / npres["steps_per_s"]
            row["ess_per_s_vs_np"] = row["ess_per_s"] / npres["ess_per_s"]
            rows.append(row)
            if verbose:
                print(f"  [{scale['name']} C={C}: {row['steps_per_s']:.0f} steps/s, compile "
                      f"{row['warmup_compile_s'] + row['run_compile_s']:.1f} s]", flush=True)
        info["rows"] = rows
        out.append(info)
    return out


def print_preferences_table(results):
    print("\nBradley-Terry MH (Bayesian REX scale): F = 64, w uniform on the unit L2 sphere "
          "(prior='l2-sphere'), beta = 1 fixed")
    print("steps/s: MH steps per second summed over C vectorised chains of MCMC(RandomWalkMH("
          "irl_model), chain_method='vectorized').run, compile excluded;\nloop st/s: the same "
          "transitions in a jitted lax.fori_loop collecting only z (best of repeats); numpy: ONE "
          "chain, Python loop over steps\n(Bayesian REX's code structure); ESS: bulk ESS of w[0] "
          "over all chains (arviz); 'vs np' columns are bayesirl / numpy")
    hdr = (f"{'pairs':>5} {'C':>5} {'draws/ch':>9} {'steps/s':>9} {'loop st/s':>10} "
           f"{'vs np':>7} {'loop/np':>8} {'accept':>7} {'ESS(w0)':>8} {'ESS/s':>8} "
           f"{'ESS/s vs np':>12} {'compile s':>10}")
    print_table_header(hdr)
    for info in results:
        n = info["numpy"]
        print(f"{info['pairs']:>5} {'numpy':>5} {n['steps'] * n['repeats']:>9d} "
              f"{n['steps_per_s']:>9.0f} {'-':>10} {1.0:>6.2f}x {'-':>8} {n['accept']:>7.3f} "
              f"{n['ess_w0']:>8.0f} {n['ess_per_s']:>8.0f} {1.0:>11.2f}x {'-':>10}")
        for r in info["rows"]:
            comp = r["warmup_compile_s"] + r["run_compile_s"]
            print(f"{info['pairs']:>5} {r['chains']:>5} {r['draws_per_chain']:>9d} "
                  f"{r['steps_per_s']:>9.0f} {r['loop_steps_per_s']:>10.0f} "
                  f"{r['vs_np']:>6.2f}x {r['loop_vs_np']:>7.2f}x {r['accept']:>7.3f} "
                  f"{r['ess_w0']:>8.0f} {r['ess_per_s']:>8.0f} {r['ess_per_s_vs_np']:>11.2f}x "
                  f"{comp:>10.1f}")
    print("steps/s = C x draws / (wall time of one MCMC.run - the trace/lower/XLA-compile time "
          "JAX reports for it); the warm-up is a separate call.\ncompile s: trace + lower + "
          "XLA compile paid by warmup() + run() together (numpyro 0.22 recompiles the sampling "
          "loop on every run() call)")
    for info in results:
        n = info["numpy"]
        print(f"{info['pairs']} pairs ({info['trajectories']} trajectories): numpy step "
              f"sigma = {n['step']} (pilot: acceptance closest to 0.234); check: max |loglik "
              f"numpy - bayesirl| = {info['check_max_abs_diff_loglik']:.1e} "
              f"(|loglik| up to {info['loglik_scale']:.0f})")


# ---------------------------------------------------------------------------------------------
# Part 2: MaxEnt log density + gradient
# ---------------------------------------------------------------------------------------------


class NumpyMaxEnt:
    """MaxEnt IRL in plain numpy with bayesirl's conventions (dense (S*A, S) transitions).

    ``R = phi w`` (state features); terminal states have ``Q = R`` (no continuation) and
    ``V = logsumexp Q - log A``; finite horizon: undiscounted (Ziebart et al. 2008), ``Q_t = R +
    P V_{t+1}``, ``V_T = 0``; discounted: soft value iteration to bayesirl's tolerance.
    """

    def __init__(self, mdp, pairs, demos, horizon):
        self.S, self.A = int(mdp.num_states), int(mdp.num_actions)
        S, A = self.S, self.A
        ns = np.asarray(mdp.next_states).astype(np.intp)
        probs = np.asarray(mdp.next_probs, np.float64)
        K = ns.shape[-1]
        P2 = np.zeros((S * A, S))
        np.add.at(P2, (np.repeat(np.arange(S * A), K), ns.reshape(-1)), probs.reshape(-1))
        self.P2 = P2                                           # (S*A, S)
        self.phi = np.asarray(mdp.features, np.float64)        # (S, F)
        self.gamma = float(mdp.discount)
        self.terminal = np.asarray(mdp.terminal)
        self.log_a = math.log(A)
        self.p0 = np.asarray(mdp.initial_distribution, np.float64)
        self.states = np.asarray(pairs.states).astype(np.intp)
        self.actions = np.asarray(pairs.actions).astype(np.intp)
        self.times = np.asarray(pairs.times).astype(np.intp)
        self.H = horizon
        # per-demonstration feature counts (states incl. the terminal step, over the mask)
        st, mask = np.asarray(demos.states), np.asarray(demos.mask)
        T = st.shape[1]
        disc = np.ones(T) if horizon is not None else self.gamma ** np.arange(T)
        self.num_demos = st.shape[0]
        self.empirical = ((mask * disc)[:, :, None] * self.phi[st]).sum(axis=(0, 1))
        self.eps = 1e-5

    @staticmethod
    def log_prior(w):
        return float(-0.5 * np.sum(w * w) - 0.5 * w.size * math.log(2 * math.pi))

    def _ev(self, V):
        ev = (self.P2 @ V).reshape(self.S, self.A)
        ev[self.terminal] = 0.0
        return ev

    def backward(self, w):
        """Finite horizon: (H, S, A) log-policy (the MaxEnt backward pass)."""
        from scipy.special import logsumexp

        R = (self.phi @ w)[:, None]
        V = np.zeros(self.S)
        log_pi = np.empty((self.H, self.S, self.A))
        for t in range(self.H - 1, -1, -1):
            Q = R + self._ev(V)
            lse = logsumexp(Q, axis=1)
            log_pi[t] = Q - lse[:, None]
            V = lse - self.terminal * self.log_a
        return log_pi

    def soft_vi(self, w):
        """Discounted: (S, A) log-policy of soft value iteration to convergence."""
        from scipy.special import logsumexp

        R = (self.phi @ w)[:, None]
        V = np.zeros(self.S)
        for _ in range(10_000):
            Q = R + self.gamma * self._ev(V)
            new = logsumexp(Q, axis=1) - self.terminal * self.log_a
            res = np.abs(new - V).max()
            V = new
            if res <= self.eps + self.eps * np.abs(new).max():
                break
        Q = R + self.gamma * self._ev(V)
        return Q - logsumexp(Q, axis=1)[:, None]

    def log_density(self, w):
        """Log-likelihood of the demonstration pairs + Gaussian log prior (no gradient)."""
        if self.H is None:
            ll = self.soft_vi(w)[self.states, self.actions].sum()
        else:
            ll = self.backward(w)[self.times, self.states, self.actions].sum()
        return float(ll) + self.log_prior(w)

    def expected_features(self, w):
        """mu(pi_w): backward pass, then the forward pass (state visitation frequencies)."""
        S, A = self.S, self.A
        live = ~self.terminal
        if self.H is not None:
            pi = np.exp(self.backward(w))                       # (H, S, A)
            D = self.p0.copy()
            svf = np.zeros(S)
            for t in range(self.H):
                svf += D
                D = ((D * live)[:, None] * pi[t]).reshape(-1) @ self.P2
            return svf @ self.phi
        pi = np.exp(self.soft_vi(w))
        P_pi = ((live[:, None] * pi)[:, :, None] * self.P2.reshape(S, A, S)).sum(axis=1)
        occ = np.linalg.solve(np.eye(S) - self.gamma * P_pi.T, self.p0)
        return occ @ self.phi

    def classic_gradient(self, w):
        """sum over demos of (empirical - expected) feature counts (no prior)."""
        return self.empirical - self.num_demos * self.expected_features(w)


def maxent_setups(envs):
    """(name, builder) for the requested environments, in the order given."""
    from bayesirl.data.envs import make_environment

    known = {
        "frozenlake": ("FrozenLake8x8-v1", lambda: make_environment("FrozenLake8x8-v1")),
        "gridworld": ("gridworld-10x10", lambda: make_environment(
            "gridworld", height=10, width=10, num_features=4, max_episode_steps=50)),
    }
    unknown = [e for e in envs if e not in known]
    if unknown:
        raise SystemExit(f"--envs: unknown {unknown}; expected some of {sorted(known)}")
    return [known[e] for e in envs]


def bench_maxent(repeats, budget_s, num_points, num_demos, vmap_batch, envs, seed,
                 verbose=True):
    import jax
    import jax.numpy as jnp
    from numpyro.infer.util import initialize_model

    from bayesirl.data.demos import sample_demonstrations
    from bayesirl.likelihoods import demonstration_pairs
    from bayesirl.models import Evidence, irl_model
    from bayesirl.solvers.occupancy import expected_feature_counts
    from bayesirl.solvers import value_iteration

    rows = []
    for name, build in maxent_setups(envs):
        t0 = time.perf_counter()
        env = build()
        mdp = env.mdp
        policy = value_iteration(mdp, env.true_reward).policy
        demos = sample_demonstrations(jax.random.PRNGKey(seed), mdp, policy, num_demos,
                                      env.max_episode_steps)
        pairs = demonstration_pairs(mdp, demos)
        T = int(demos.states.shape[1])
        setup_s = time.perf_counter() - t0
        for horizon in (T, None):
            row = {"env": name, "S": int(mdp.num_states), "A": int(mdp.num_actions),
                   "F": int(mdp.num_features), "gamma": float(mdp.discount),
                   "horizon": horizon, "demos": num_demos, "pairs": int(pairs.states.shape[0]),
                   "setup_s": setup_s}
            t0 = time.perf_counter()
            mi = initialize_model(jax.random.PRNGKey(seed + 1), irl_model,
                                  model_args=(mdp, Evidence(maxent=pairs)),
                                  model_kwargs=dict(prior="gaussian", betas={"maxent": 1.0},
                                                    maxent_horizon=horizon),
                                  validate_grad=False)
            row["initialize_model_s"] = time.perf_counter() - t0
            z0 = mi.param_info.z
            leaves, treedef = jax.tree_util.tree_flatten(z0)
            keys = jax.random.split(jax.random.PRNGKey(seed + 2), len(leaves))
            n_pts = max(num_points, vmap_batch)
            pts = jax.tree_util.tree_unflatten(treedef, [
                jax.random.normal(k, (n_pts,) + leaf.shape, leaf.dtype)
                for k, leaf in zip(keys, leaves)])
            point = lambda i: jax.tree_util.tree_map(lambda x: x[i], pts)  # noqa: E731
            singles = [point(i) for i in range(num_points)]
            vg_fn = jax.value_and_grad(mi.potential_fn)
            vg, row["compile_s"] = compile_jax(vg_fn, (singles[0],))

            def run_all():
                out = None
                for p in singles:
                    out = block(vg(p))
                return out

            t_all, _ = time_jax(run_all, (), repeats=repeats, budget_s=budget_s)
            row["jax_eval_s"] = t_all / num_points
            row["jax_evals_per_s"] = 1.0 / row["jax_eval_s"]
            if vmap_batch:
                batch = jax.tree_util.tree_map(lambda x: x[:vmap_batch], pts)
                vvg, row["vmap_compile_s"] = compile_jax(jax.vmap(vg_fn), (batch,))
                t_b, _ = time_jax(vvg, (batch,), repeats=repeats, budget_s=budget_s)
                row["vmap_evals_per_s"] = vmap_batch / t_b

            # numpy baselines on the same points
            base = NumpyMaxEnt(mdp, pairs, demos, horizon)
            w_np = [np.asarray(p["reward_weights"], np.float64) for p in singles]
            t_ll, vals = time_numpy(lambda: [base.log_density(w) for w in w_np],
                                    repeats=repeats, budget_s=budget_s)
            row["np_ll_evals_per_s"] = num_points / t_ll
            t_g, grads = time_numpy(lambda: [base.classic_gradient(w) for w in w_np],
                                    repeats=repeats, budget_s=budget_s)
            row["np_grad_evals_per_s"] = num_points / t_g
            row["vs_np_ll"] = row["jax_evals_per_s"] / row["np_ll_evals_per_s"]
            row["vs_np_grad"] = row["jax_evals_per_s"] / row["np_grad_evals_per_s"]

            # checks: log density vs -potential; numpy expected features vs bayesirl's; how far
            # the classic gradient is from the exact gradient of the (causal) log-likelihood
            pot_grads = [vg(p) for p in singles]
            pot = np.array([float(v) for v, _ in pot_grads])
            row["max_abs_diff_log_density"] = float(np.max(np.abs(-pot - np.array(vals))))
            row["log_density_scale"] = float(np.max(np.abs(vals)))
            w0 = w_np[0]
            reward = jnp.asarray(mdp.features @ jnp.asarray(w0, jnp.float32))
            from bayesirl.likelihoods import maxent_logits

            pi = jnp.exp(maxent_logits(mdp, reward, 1.0, horizon))
            mu_ref = (expected_feature_counts(mdp, pi, horizon=horizon, discount=1.0)
                      if horizon is not None else expected_feature_counts(mdp, pi))
            mu_np = base.expected_features(w0)
            row["max_rel_diff_expected_features"] = float(
                np.max(np.abs(mu_np - np.asarray(mu_ref))) / max(np.max(np.abs(mu_np)), 1e-12))
            exact = -np.asarray(pot_grads[0][1]["reward_weights"], np.float64) + w0  # drop prior
            classic = grads[0]
            row["cos_classic_vs_exact_grad"] = float(
                classic @ exact / (np.linalg.norm(classic) * np.linalg.norm(exact) + 1e-300))
            rows.append(row)
            if verbose:
                print(f"  [MaxEnt {name} H={horizon}: {row['jax_evals_per_s']:.0f} evals/s]",
                      flush=True)
    return rows


def print_maxent_table(rows, vmap_batch):
    print("\nMaxEnt log density + gradient: irl_model(Evidence(maxent=pairs)), prior gaussian, "
          "beta = 1; H: finite horizon T (undiscounted, T = demo length) or 'disc' (discounted,"
          " soft value iteration)")
    print("jax ev/s: jitted jax.value_and_grad(potential_fn), one point per call (blocked); "
          f"vmap{vmap_batch}: points/s of one vmapped call;\nnp-ll: numpy log density only "
          "(finite: backward pass with scipy logsumexp; disc: soft VI to tolerance); np-grad: "
          "classic MaxEnt gradient (backward + forward pass)")
    vm = f"vmap{vmap_batch} ev/s" if vmap_batch else ""
    hdr = (f"{'env':>17} {'S':>4} {'F':>3} {'H':>5} {'pairs':>6} {'jax ev/s':>9} "
           + (f"{vm:>12} " if vmap_batch else "")
           + f"{'np-ll ev/s':>11} {'np-grad ev/s':>13} {'vs np-ll':>9} {'vs np-grad':>11}")
    print_table_header(hdr)
    for r in rows:
        H = "disc" if r["horizon"] is None else str(r["horizon"])
        vmc = f"{r['vmap_evals_per_s']:>12.0f} " if vmap_batch else ""
        print(f"{r['env']:>17} {r['S']:>4} {r['F']:>3} {H:>5} {r['pairs']:>6} "
              f"{r['jax_evals_per_s']:>9.0f} {vmc}{r['np_ll_evals_per_s']:>11.1f} "
              f"{r['np_grad_evals_per_s']:>13.1f} {r['vs_np_ll']:>8.1f}x "
              f"{r['vs_np_grad']:>10.1f}x")
    print("vs np-*: jax evals/s (value AND gradient) / numpy evals/s")
    print("one-off costs: " + "; ".join(
        f"{r['env']} H={'disc' if r['horizon'] is None else r['horizon']}: initialize_model "
        f"{r['initialize_model_s']:.1f} s, compile {r['compile_s']:.1f} s"
        + (f" (+vmap {r['vmap_compile_s']:.1f} s)" if "vmap_compile_s" in r else "")
        for r in rows))
    worst = max(r["max_abs_diff_log_density"] for r in rows)
    scale = max(r["log_density_scale"] for r in rows)
    mu = max(r["max_rel_diff_expected_features"] for r in rows)
    cos = ", ".join(f"{r['env'].split('-')[0]} {'disc' if r['horizon'] is None else 'T'}: "
                    f"{r['cos_classic_vs_exact_grad']:.3f}" for r in rows)
    print(f"check: max |log density numpy - (-potential)| = {worst:.1e} (float64 numpy vs "
          f"float32 jax, |log density| up to {scale:.0f}); numpy expected feature counts vs "
          f"bayesirl.solvers.occupancy: max rel diff {mu:.1e}")
    print(f"cosine(classic gradient, exact gradient of the pairs' log-likelihood): {cos}\n"
          "(finite horizon: equal only for deterministic dynamics and demos started from p0; "
          "discounted: the classic gradient matches gamma^t-weighted\nfeature counts, while the "
          "pairs' log-likelihood weights every step equally)")


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def _ints(text):
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chains", default=None,
                   help="vectorised chain counts at 66 pairs (default 1,4,16,64,256; "
                        "--quick 4; '' skips)")
    p.add_argument("--chains-large", default=None,
                   help="vectorised chain counts at 1000 pairs (default 1,4,16,64; --quick: "
                        "none; '' skips)")
    p.add_argument("--warmup", type=int, default=None,
                   help="MH warm-up (adaptation) steps per chain (default 1000; --quick 500)")
    p.add_argument("--run-seconds", type=float, default=None,
                   help="target length of each timed MCMC.run / numpy chain (default 1.5; "
                        "--quick 0.3); draws per chain are sized from the timed kernel loop")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed samples per measurement, best one kept (default 3; --quick 2)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds one measurement may take before it stops repeating "
                        "(default 2.0; --quick 0.3)")
    p.add_argument("--points", type=int, default=None,
                   help="random parameter points for the MaxEnt timings (default 16; --quick 4)")
    p.add_argument("--vmap", type=int, default=None,
                   help="batch size of the vmapped MaxEnt timing, 0 to skip (default 64; "
                        "--quick 0)")
    p.add_argument("--envs", default=None,
                   help="MaxEnt environments: frozenlake,gridworld (default both; --quick "
                        "gridworld)")
    p.add_argument("--quick", action="store_true", help="fast smoke run (< 40 s)")
    p.add_argument("--skip-preferences", action="store_true", help="only the MaxEnt part")
    p.add_argument("--skip-maxent", action="store_true", help="only the Bradley-Terry part")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write all numbers to this JSON file")
    args = p.parse_args(argv)

    q = args.quick
    chains = _ints(args.chains if args.chains is not None else ("4" if q else "1,4,16,64,256"))
    chains_large = _ints(args.chains_large if args.chains_large is not None
                         else ("" if q else "1,4,16,64"))
    warmup = args.warmup if args.warmup is not None else (500 if q else 1000)
    run_s = args.run_seconds or (0.3 if q else 1.5)
    repeats = args.repeats or (2 if q else 3)
    budget = args.budget if args.budget is not None else (0.3 if q else 2.0)
    points = args.points or (4 if q else 16)
    vmap_batch = args.vmap if args.vmap is not None else (0 if q else BATCH)
    envs = [e for e in (args.envs or ("gridworld" if q else "frozenlake,gridworld")).split(",")
            if e.strip()]

    _harness.limit_blas_threads()
    import jax

    # Run CPU computations inline instead of dispatching them asynchronously (must be set
    # before the backend starts). Otherwise numpyro's MCMC.run returns while the sampling loop
    # is still executing and the op-by-op compiles that follow it (swapaxes, get_samples)
    # overlap the loop, so subtracting compile time from the wall time would over-correct.
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    t_start = time.perf_counter()
    env = _harness.environment_info(scipy=True, async_dispatch=True)
    _harness.print_header("bayesirl preference / MaxEnt benchmark", env)
    settings = {"chains": chains, "chains_large": chains_large, "warmup": warmup,
                "run_seconds": run_s, "repeats": repeats, "budget_s": budget,
                "points": points, "vmap": vmap_batch, "envs": envs, "quick": q,
                "seed": args.seed}
    print("  settings            " + " ".join(f"{k}={v}" for k, v in settings.items()))
    print("  rates are per second (higher is better); ratios are bayesirl / numpy "
          "(> 1: bayesirl faster)", flush=True)
    results = {"environment": env, "settings": settings}

    if not args.skip_preferences:
        scales = [s for s in (
            {"name": "atari-66", "trajectories": 12, "pairs": None, "chains": chains},
            {"name": "pairs-1000", "trajectories": 100, "pairs": 1000, "chains": chains_large},
        ) if s["chains"]]
        clock = CompileClock()
        try:
            pref = bench_preferences(scales, 1.0, warmup, run_s, repeats, budget, clock,
                                     args.seed)
        finally:
            clock.close()
        results["preferences"] = pref
        print_preferences_table(pref)
    if not args.skip_maxent and envs:
        print()
        rows = bench_maxent(repeats, budget, points, 20, vmap_batch, envs, args.seed)
        results["maxent"] = rows
        print_maxent_table(rows, vmap_batch)
    _harness.finish(results, t_start, args.json, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
