#!/usr/bin/env python
"""Issue 10's speed table in one run: γ-independent solvers, large S, MAP, BIRL ESS/s.

Run from the repository root::

    python benchmarks/bench_speed.py            # full run (tens of minutes on 2 CPU cores)
    python benchmarks/bench_speed.py --quick    # CI-sized smoke run (< 30 s)
    python benchmarks/bench_speed.py --device   # solver and sampler rows on the default JAX device
    python benchmarks/bench_speed.py --quick --rows-5-7   # smoke run of every row

Every row carries its baseline measured in the same process, and a ratio column
(baseline time / bayesirl time, > 1: bayesirl faster):

1. ``soft VI``: soft value iteration on random MDPs (A = 4, K = 4 successors, γ = 0.99) of
   10^4 / 10^5 / 10^6 states: ``method="auto"`` (Newton steps, GMRES) against value iteration
   (``method="vi"``, what bayesirl did at first) and a numpy gather loop (per sweep).
2. ``γ = 0.999``: the 5×5 gridworld log density + gradient at γ = 0.999, β = 100 (auto vs VI),
   and (full run) the NUTS fit of ``bayesirl fit --env gridworld --discount 0.999 --beta 100``:
   wall time, R-hat, leapfrog steps.
3. ``MAP``: 10^5 states (quick: 2000), 16 features, 100 demonstrations; auto vs VI solver.
4. ``BIRL``: Brown's feature gridworlds (4 one-hot colours, β = 10, slip 0.1, γ = 0.95, the
   whole optimal policy as demonstrations): ESS per second of ``fit(method="mh")`` (hard Q,
   L2-sphere prior, dense proposal covariance, 2·M warm-up, M draws × thinning 10, compile
   INCLUDED) against the numpy ``run_mcmc`` of the BIRL code people
   copy (Python MH loop, L2-normalised Gaussian proposals, dense value iteration per step).

5. ``ValueWalk``: seconds per effective sample on ValueWalk's 9 / 36 / 144-state gridworlds
   (N(0, 10²) per state, β = 1, 50 pairs, γ = 0.9), ``value_space_irl_model`` by NUTS on its
   Laplace-whitened latent (500 warm-up, 3000 draws), whitening and compile included; the
   paper's 0.27 / 0.71 / 0.77 s are printed as the reference column.
6. ``Bradley–Terry``: 66 pairs × 64 features, samples/s and ESS/s against numpy's projected
   random walk (``bench_trajectories.run``, same process): the polar walk with shared random
   numbers at C = 64 / 256 / 1024 chains, the Gaussian walk of the latent at C = 1024.
7. ``NUTS / MH at 10^5 states``: one evaluation's cost at 10^5 states times the evaluations per
   effective draw of a short fit of the same model at 2000 states, extrapolated to 100
   effective draws (a full run at 10^5 would take hours on this CPU).

``--quick`` runs rows 1–4 (rows 5–7 with ``--rows-5-7``). FrozenLake (gymnasium) rows are
``bench_solvers.py`` and the command line (``bayesirl fit --env FrozenLake8x8-v1``).
"""

from __future__ import annotations

import _harness  # noqa: E402, I001  (pins numpy's BLAS to one thread before numpy loads)

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

GAMMA_SOLVER = 0.99


# ---------------------------------------------------------------------------------------------
# numpy baselines
# ---------------------------------------------------------------------------------------------


def np_soft_sweeps(next_states, next_probs, reward, gamma, sweeps):
    """``sweeps`` soft Bellman backups in numpy (gather form); returns V."""
    V = np.zeros(reward.shape[0], reward.dtype)
    for _ in range(sweeps):
        Q = reward[:, None] + gamma * (next_probs * V[next_states]).sum(-1)
        m = Q.max(1)
        V = m + np.log(np.exp(Q - m[:, None]).sum(1))
    return V


class NumpyBIRL:
    """The numpy BIRL of the public code (``run_mcmc``): MH on unit-L2 feature weights.

    Each step proposes ``w' = normalise(w + σ N(0, I))``, solves the MDP by dense value
    iteration (``P @ V``, tolerance 1e-5 relative, hard max, warm-started from the last accepted
    values as that code does not; we keep it cold to follow it), and accepts with probability
    ``min(1, exp(ℓ' − ℓ))``, ``ℓ = Σ_(s,a) β Q(s, a) − log Σ_b exp(β Q(s, b))``.
    """

    def __init__(self, mdp, states, actions, beta):
        S, A = mdp.num_states, mdp.num_actions
        ns = np.asarray(mdp.next_states).astype(np.intp)
        pr = np.asarray(mdp.next_probs, np.float64)
        self.P = np.zeros((S * A, S))
        np.add.at(self.P, (np.repeat(np.arange(S * A), ns.shape[-1]), ns.reshape(-1)),
                  pr.reshape(-1))
        self.S, self.A, self.beta = S, A, beta
        self.gamma = float(mdp.discount)
        self.phi = np.asarray(mdp.features, np.float64)
        self.terminal = np.asarray(mdp.terminal)
        self.states, self.actions = np.asarray(states), np.asarray(actions)

    def log_likelihood(self, w):
        R = self.phi @ w
        V = np.zeros(self.S)
        for _ in range(10_000):
            ev = (self.P @ V).reshape(self.S, self.A)
            ev[self.terminal] = 0.0
            Q = R[:, None] + self.gamma * ev
            new = Q.max(1)
            done = np.abs(new - V).max() <= 1e-5 * (1 + np.abs(new).max())
            V = new
            if done:
                break
        z = self.beta * Q
        m = z.max(1, keepdims=True)
        logp = z - m - np.log(np.exp(z - m).sum(1, keepdims=True))
        return float(logp[self.states, self.actions].sum())

    def run_mcmc(self, num_samples, step, seed):
        rng = np.random.default_rng(seed)
        w = rng.normal(size=self.phi.shape[1])
        w /= np.linalg.norm(w)
        ll = self.log_likelihood(w)
        chain, accepted = np.empty((num_samples, w.size)), 0
        for i in range(num_samples):
            prop = w + step * rng.normal(size=w.size)
            prop /= np.linalg.norm(prop)
            pll = self.log_likelihood(prop)
            if pll > ll or rng.random() < math.exp(pll - ll):
                w, ll, accepted = prop, pll, accepted + 1
            chain[i] = w
        return chain, accepted / num_samples


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


def random_sparse_mdp(S, gamma, seed, features=None):
    from bayesirl.data.mdp import make_sparse_mdp

    rng = np.random.default_rng(seed)
    ns = rng.integers(0, S, size=(S, 4, 4))
    pr = rng.dirichlet(np.ones(4), size=(S, 4))
    return make_sparse_mdp(ns, pr, features=features, discount=gamma, dtype=np.float32), rng


def bench_soft_vi(sizes, repeats, budget):
    import jax
    import jax.numpy as jnp

    from bayesirl.solvers import soft_value_iteration

    rows = []
    for S in sizes:
        mdp, rng = random_sparse_mdp(S, GAMMA_SOLVER, S)
        r = jnp.asarray(rng.standard_normal(S), jnp.float32)
        row = {"S": S}
        for m in ("auto", "vi"):
            f, _ = _harness.compile_jax(lambda m_, x, m=m: soft_value_iteration(m_, x, method=m),
                                        (mdp, r))
            t, res = _harness.time_jax(f, (mdp, r), repeats=repeats if m == "auto" else 1,
                                       budget_s=budget)
            row[m] = dict(s=t, iterations=int(res.iterations), converged=bool(res.converged))
        ns, pr = np.asarray(mdp.next_states), np.asarray(mdp.next_probs)
        rn = np.asarray(r)
        t_np, _ = _harness.time_numpy(lambda: np_soft_sweeps(ns, pr, rn, GAMMA_SOLVER, 3),
                                      repeats=2, budget_s=budget)
        row["np_solve_s"] = t_np / 3 * row["vi"]["iterations"]  # numpy VI, same sweep count
        row["vi_over_auto"] = row["vi"]["s"] / row["auto"]["s"]
        row["np_over_auto"] = row["np_solve_s"] / row["auto"]["s"]
        rows.append(row)
        print(f"  [soft VI S={S}: auto {row['auto']['s']:.2f} s]", flush=True)
    print(f"\n1. soft value iteration, γ = {GAMMA_SOLVER}, A = 4, K = 4 (goal: 10^6 states < 10 s)")
    _harness.print_table_header(f"{'S':>8} {'auto s':>8} {'steps':>6} {'vi s':>8} {'sweeps':>7} "
                                f"{'numpy s':>8} {'vi/auto':>8} {'np/auto':>8} {'conv':>5}")
    for r in rows:
        print(f"{r['S']:>8} {r['auto']['s']:>8.3f} {r['auto']['iterations']:>6} "
              f"{r['vi']['s']:>8.3f} {r['vi']['iterations']:>7} {r['np_solve_s']:>8.2f} "
              f"{r['vi_over_auto']:>7.1f}x {r['np_over_auto']:>7.1f}x "
              f"{str(r['auto']['converged'] and r['vi']['converged']):>5}")
    print("steps: Newton steps + final sweeps; numpy s: per-sweep numpy gather time × VI's sweeps")
    return rows


def gridworld_999():
    import jax

    from bayesirl.data.demos import sample_demonstrations
    from bayesirl.data.envs import make_environment
    from bayesirl.solvers import value_iteration

    env = make_environment("gridworld", discount=0.999)
    pol = value_iteration(env.mdp, env.true_reward).policy
    demos = sample_demonstrations(jax.random.PRNGKey(0), env.mdp, pol, 50, env.max_episode_steps)
    return env, demos


def bench_gamma(repeats, budget, fit_sizes):
    import jax
    from numpyro.infer.util import initialize_model

    from bayesirl import _arviz
    from bayesirl.inference import fit_demonstrations
    from bayesirl.likelihoods import demonstration_pairs
    from bayesirl.models import boltzmann_irl_model

    env, demos = gridworld_999()
    pairs = demonstration_pairs(env.mdp, demos)
    row = {}
    for m in ("auto", "vi"):
        mi = initialize_model(jax.random.PRNGKey(1), boltzmann_irl_model,
                              model_args=(env.mdp, pairs),
                              model_kwargs=dict(prior="gaussian", beta=100.0, q="soft",
                                                solver_kwargs={"method": m}),
                              validate_grad=False)
        vg, _ = _harness.compile_jax(jax.value_and_grad(mi.potential_fn), (mi.param_info.z,))
        row[m], _ = _harness.time_jax(vg, (mi.param_info.z,), repeats=repeats, budget_s=budget)
    print("\n2. gridworld 5x5, γ = 0.999, β = 100, soft Q: log density + gradient")
    _harness.print_table_header(f"{'auto ms':>8} {'vi ms':>8} {'vi/auto':>8}")
    print(f"{1e3 * row['auto']:>8.2f} {1e3 * row['vi']:>8.1f} {row['vi'] / row['auto']:>7.0f}x")
    if fit_sizes:
        warm, draws, thin = fit_sizes
        t0 = time.perf_counter()
        idata = fit_demonstrations(env.mdp, demos, method="mh", beta=100.0, num_warmup=warm,
                                   num_samples=draws, thinning=thin, num_chains=4,
                                   progress_bar=False,
                                   kernel_kwargs={"dense_covariance": True})
        row["fit_s"] = time.perf_counter() - t0
        w = np.asarray(idata.posterior["reward_weights"])
        row["rhat"] = float(np.max(np.asarray(_arviz.rhat(idata)["reward_weights"])))
        row["ess_min"] = min(_harness.bulk_ess(w[..., f]) for f in range(w.shape[-1]))
        print(f"MH fit (4 chains x {warm} warm-up + {draws} x thinning {thin}, dense proposal "
              f"covariance, compile included): {row['fit_s']:.0f} s wall, max R-hat "
              f"{row['rhat']:.3f}, min bulk ESS {row['ess_min']:.0f} "
              "(NUTS with the former defaults did not finish in 20 minutes)")
    return row


def bench_map(S, F, num_demos, methods=("auto", "vi")):
    """MAP wall time, compile included: ``fit(method="map")`` (every L-BFGS evaluation solves
    from V = 0) with each solver in ``methods``, and ``warm_start_map`` (each evaluation
    warm-started from the previous one's values; same model, same kind of start)."""
    import jax.numpy as jnp

    from bayesirl.inference import fit_demonstrations
    from bayesirl.inference.map import boltzmann_log_density, warm_start_map
    from bayesirl.likelihoods import demonstration_pairs

    mdp, demos, _ = map_problem(S, F, num_demos)
    row = {"S": S, "F": F, "demos": num_demos}
    for m in methods:
        t0 = time.perf_counter()
        idata = fit_demonstrations(mdp, demos, method="map", num_chains=1, progress_bar=False,
                                   solver_kwargs={"method": m})
        row[m] = dict(s=time.perf_counter() - t0,
                      converged=bool(idata.posterior.attrs.get("map_converged", 0)),
                      iterations=int(idata.posterior.attrs.get("map_iterations", -1)),
                      log_density=float(idata.posterior.attrs.get("map_log_density", np.nan)))
    t0 = time.perf_counter()
    log_density = boltzmann_log_density(mdp, demonstration_pairs(mdp, demos))
    res = warm_start_map(log_density, np.random.default_rng(0).uniform(-1, 1, F),
                         jnp.zeros(S, jnp.float32))
    row["warm"] = dict(s=time.perf_counter() - t0, converged=res.converged,
                       iterations=res.iterations, evaluations=res.evaluations,
                       solver_iterations=res.solver_iterations, log_density=res.log_density)
    print(f"\n3. MAP, S = {S}, F = {F}, {num_demos} demonstrations, γ = 0.95 (goal at 10^5: "
          "<= 15 s, converged)")
    _harness.print_table_header(f"{'auto s':>8} {'vi s':>8} {'warm s':>8} {'auto/warm':>10} "
                                f"{'L-BFGS it':>10} {'evals':>6} {'converged':>10}")
    vi_s = row["vi"]["s"] if "vi" in row else float("nan")
    warm = row["warm"]
    print(f"{row['auto']['s']:>8.1f} {vi_s:>8.1f} {warm['s']:>8.1f} "
          f"{row['auto']['s'] / warm['s']:>9.1f}x {warm['iterations']:>10} "
          f"{warm['evaluations']:>6} {str(warm['converged']):>10}")
    print("wall time, compile included: fit(method='map', num_chains=1) with the auto / VI "
          "solver (cold solves; auto converged: "
          f"{row['auto']['converged']}), and warm_start_map (warm-started solves; its "
          "L-BFGS iterations, evaluations, convergence); log densities at the optimum "
          f"{row['auto']['log_density']:.3f} (fit) / {warm['log_density']:.3f} (warm)")
    return row


def _birl_problem(n):
    """Brown's n×n feature gridworld and its whole optimal policy as demonstration pairs."""
    import jax.numpy as jnp

    from bayesirl.data.envs import make_environment
    from bayesirl.likelihoods import DemonstrationPairs
    from bayesirl.solvers import value_iteration

    env = make_environment("gridworld", height=n, width=n, num_features=4,
                           slip_probability=0.1, discount=0.95)
    mdp = env.mdp
    pi = np.asarray(value_iteration(mdp, env.true_reward).policy)
    states = np.flatnonzero(~np.asarray(mdp.terminal)).astype(np.int32)
    actions = pi[states].argmax(1).astype(np.int32)
    pairs = DemonstrationPairs(jnp.asarray(states), jnp.asarray(actions),
                               jnp.zeros_like(jnp.asarray(states)))
    return mdp, pairs, states, actions


def _birl_policy_walk(mdp, pairs, chains, steps, step_size, mode="adaptive"):
    """PolicyWalk (L2 sphere, Brown's target), ``chains`` chains, compile included:
    (bulk ESS of w[0] over the chains, wall seconds, mean acceptance, compile seconds, exact
    solves per proposal or None). ``mode``: "isotropic" (``sample_policy_walk``), "adaptive"
    (``sample_policy_walk_adaptive``, burn-in-adapted dense proposal, target acceptance 0.234)
    or "independence" (``sample_policy_walk_independence``: fitted Student-t independence
    proposal and a cache of 4096 optimal policies)."""
    import functools

    import jax

    from bayesirl.inference.policy_walk import (
        sample_policy_walk,
        sample_policy_walk_adaptive,
        sample_policy_walk_independence,
    )

    t0 = time.perf_counter()
    key_init, key_run = jax.random.split(jax.random.PRNGKey(1))
    z0 = jax.random.normal(key_init, (chains, mdp.features.shape[-1]))
    common = {"beta": 10.0, "num_steps": steps, "burn_in": steps // 3, "norm": 2}
    if mode == "independence":
        run = jax.jit(functools.partial(sample_policy_walk_independence, cache_size=4096,
                                        **common))
        args = (key_run, mdp, pairs, z0)
    else:
        sampler, extra = ((sample_policy_walk_adaptive, {"target_accept_prob": 0.234})
                          if mode == "adaptive" else (sample_policy_walk, {}))
        run = jax.jit(jax.vmap(functools.partial(
            sampler, step_size=step_size, axis_name="chain", **common, **extra),
            in_axes=(0, None, None, 0), axis_name="chain"))
        args = (jax.random.split(key_run, chains), mdp, pairs, z0)
    compiled = run.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    out = compiled(*args)
    solves = None
    if mode == "independence":
        solves = int(out.exact_solves) / int(out.proposals)
        out = out.samples
    w = np.asarray(out.weights)
    seconds = time.perf_counter() - t0
    return (_harness.bulk_ess(w[..., 0]), seconds, float(np.mean(out.acceptance_rate)),
            compile_s, solves)


def bench_birl(sizes, draws, np_draws, thinning=4, chains=256, pw_steps=3000, pw_chains=64,
               np_chains=4, kernel_kwargs=None, ind_steps=6000):
    """Row 4: BIRL ESS/s of ``fit(method="mh")`` (vectorised chains) and of PolicyWalk (the
    burn-in-adapted random walk and the fitted independence proposal with a policy cache)
    against the numpy ``run_mcmc``; compile included (the persistent compile cache, if warm,
    helps)."""
    from bayesirl.inference import fit
    from bayesirl.models import Evidence, irl_model

    rows = []
    for n in sizes:
        mdp, pairs, states, actions = _birl_problem(n)
        t0 = time.perf_counter()
        idata = fit(irl_model, mdp, Evidence(boltzmann=pairs), method="mh", num_chains=chains,
                    chain_method="vectorized", num_warmup=2 * draws, num_samples=draws,
                    thinning=thinning, progress_bar=False, prior="l2-sphere",
                    betas={"boltzmann": 10.0}, q="hard", kernel_kwargs=kernel_kwargs,
                    solver_kwargs={"method": "vi"})
        jax_s = time.perf_counter() - t0
        ess = _harness.bulk_ess(np.asarray(idata.posterior["reward_weights"])[..., 0])
        ada = _birl_policy_walk(mdp, pairs, pw_chains, pw_steps, 0.5, mode="adaptive")
        ind = _birl_policy_walk(mdp, pairs, pw_chains, ind_steps, 0.5, mode="independence")
        use_ind = ind[0] / ind[1] > ada[0] / ada[1]
        pw_ess, pw_s, pw_acc, pw_compile, _ = ind if use_ind else ada
        base = NumpyBIRL(mdp, states, actions, 10.0)
        t0 = time.perf_counter()
        runs = [base.run_mcmc(np_draws, 0.05, seed) for seed in range(np_chains)]
        np_s = time.perf_counter() - t0
        np_ess = _harness.bulk_ess(np.stack([c[np_draws // 2:, 0] for c, _ in runs]))
        acc = float(np.mean([a for _, a in runs]))
        row = dict(n=n, jax_ess_s=ess / jax_s, np_ess_s=np_ess / np_s, jax_s=jax_s, np_s=np_s,
                   ess=ess, np_ess=np_ess, np_accept=acc, chains=chains,
                   pw_ess_s=pw_ess / pw_s, pw_s=pw_s, pw_ess=pw_ess, pw_accept=pw_acc,
                   pw_compile_s=pw_compile,
                   pw_sampler="independence" if use_ind else "adaptive",
                   pw_adaptive_ess_s=ada[0] / ada[1], pw_adaptive_s=ada[1],
                   pw_independence_ess_s=ind[0] / ind[1], pw_independence_s=ind[1],
                   pw_independence_compile_s=ind[3], pw_independence_solves=ind[4])
        row["ratio"] = row["jax_ess_s"] / max(row["np_ess_s"], 1e-12)
        row["pw_ratio"] = row["pw_ess_s"] / max(row["np_ess_s"], 1e-12)
        rows.append(row)
        print(f"  [BIRL {n}x{n}: MH {row['jax_ess_s']:.0f}, PolicyWalk adaptive "
              f"{row['pw_adaptive_ess_s']:.0f} / independence "
              f"{row['pw_independence_ess_s']:.0f} (compile {ind[3]:.1f} of {ind[1]:.1f} s, "
              f"{ind[4]:.3f} exact solves per proposal), numpy {row['np_ess_s']:.2f} ESS/s]",
              flush=True)
    _print_birl(rows, chains, draws, thinning, pw_chains, pw_steps, np_draws, np_chains,
                ind_steps)
    return rows


def _print_birl(rows, chains, draws, thinning, pw_chains, pw_steps, np_draws, np_chains,
                ind_steps):
    import jax

    cache = jax.config.jax_compilation_cache_dir or "off"
    print("\n4. BIRL on Brown's feature gridworlds (β = 10, slip 0.1, γ = 0.95, whole optimal "
          "policy): bulk ESS/s of w[0] pooled over chains, compile INCLUDED (goal >= 1000x numpy)")
    _harness.print_table_header(f"{'grid':>6} {'MH ESS/s':>9} {'MH s':>6} {'PW ESS/s':>9} "
                                f"{'PW s':>6} {'np ESS/s':>9} {'np s':>6} {'MH/np':>7} "
                                f"{'PW/np':>7} {'PW sampler':>12} {'PW comp':>7}")
    for r in rows:
        print(f"{r['n']:>3}x{r['n']:<2} {r['jax_ess_s']:>9.1f} {r['jax_s']:>6.1f} "
              f"{r['pw_ess_s']:>9.1f} {r['pw_s']:>6.1f} {r['np_ess_s']:>9.3f} {r['np_s']:>6.1f} "
              f"{r['ratio']:>6.0f}x {r['pw_ratio']:>6.0f}x {r['pw_sampler']:>12} "
              f"{r['pw_compile_s']:>7.1f}")
    print(f"MH: fit(method='mh', solver_kwargs={{'method': 'vi'}}), dense proposal covariance, "
          f"{chains} vectorised chains, "
          f"{2 * draws} warm-up + {draws} draws x thinning {thinning} each; PW: PolicyWalk "
          f"(L2 sphere, the faster of the burn-in-adapted dense random walk, {pw_chains} vmapped "
          f"chains x {pw_steps} steps, and the fitted independence proposal with a policy cache, "
          f"{pw_chains} chains x {ind_steps} steps; 1/3 burn-in); "
          f"numpy: run_mcmc (step 0.05, dense VI per step), {np_chains} chains x {np_draws} "
          f"steps, ESS pooled over their second halves, time summed; PW comp: seconds of PW s "
          f"spent tracing and compiling; persistent compile cache: {cache} "
          f"(BAYESIRL_NO_COMPILE_CACHE=1: cold)")


VALUEWALK_ANCHOR = {9: 0.27, 36: 0.71, 144: 0.77}


def bench_valuewalk(sides, warmup, draws):
    """Seconds per effective sample on ValueWalk's gridworlds (Bajgar et al. 2024, Table 1).

    One run per size, timed from the model's inputs to the posterior: the Laplace whitening
    (``value_space_whitening``: L-BFGS mode + difference Hessian) plus
    ``fit(value_space_irl_model, method="nuts", num_chains=1, whitening=...)``, compile included
    (cold unless the persistent compile cache is warm); divided by the smallest bulk ESS over
    ALL S state rewards.
    """
    import jax
    import jax.numpy as jnp
    from jax import monitoring

    from bayesirl.data.demos import sample_demonstrations
    from bayesirl.data.envs import make_environment
    from bayesirl.inference import fit
    from bayesirl.inference.value_space import value_space_whitening
    from bayesirl.likelihoods import DemonstrationPairs, demonstration_pairs
    from bayesirl.models import value_space_irl_model
    from bayesirl.solvers import soft_value_iteration

    compile_s = [0.0]

    def on_event(name, secs, **_):
        if name == "/jax/core/compile/backend_compile_duration":
            compile_s[0] += secs

    monitoring.register_event_duration_secs_listener(on_event)
    rows = []
    for n in sides:
        env = make_environment("gridworld", height=n, width=n, discount=0.9)
        pol = soft_value_iteration(env.mdp, env.true_reward).policy
        demos = sample_demonstrations(jax.random.PRNGKey(0), env.mdp, pol, 10, 10)
        p = demonstration_pairs(env.mdp, demos)
        pairs = DemonstrationPairs(*(jnp.asarray(x)[:50] for x in (p.states, p.actions, p.times)))
        compile_s[0] = 0.0
        t0 = time.perf_counter()
        white = value_space_whitening(env.mdp, pairs, prior_scale=10.0, beta=1.0)
        t_white = time.perf_counter() - t0
        idata = fit(value_space_irl_model, env.mdp, pairs, method="nuts", num_chains=1,
                    num_warmup=warmup, num_samples=draws, progress_bar=False,
                    prior_scale=10.0, beta=1.0, whitening=white)
        wall = time.perf_counter() - t0
        r = np.asarray(idata.posterior["reward"])
        ess = min(_harness.bulk_ess(r[..., s]) for s in range(r.shape[-1]))
        row = dict(S=n * n, pairs=int(pairs.states.shape[0]), wall_s=wall, whiten_s=t_white,
                   compile_s=compile_s[0], steps=float(idata.sample_stats["n_steps"].mean()),
                   min_ess=ess, s_per_ess=wall / ess,
                   anchor=VALUEWALK_ANCHOR.get(n * n, float("nan")))
        row["ratio"] = row["anchor"] / row["s_per_ess"]
        rows.append(row)
        print(f"  [ValueWalk S={n * n}: {row['s_per_ess']:.3f} s per ESS]", flush=True)
    print("\n5. ValueWalk's gridworlds (N(0, 10^2) per state, β = 1, 50 pairs, γ = 0.9): seconds "
          "per effective sample (goal <= 1/10 of ValueWalk)")
    _harness.print_table_header(f"{'S':>5} {'wall s':>7} {'whiten':>7} {'compile':>8} "
                                f"{'steps':>6} {'min ESS':>8} {'s/ESS':>7} {'ValueWalk':>10} "
                                f"{'ratio':>7}")
    for r in rows:
        print(f"{r['S']:>5} {r['wall_s']:>7.1f} {r['whiten_s']:>7.1f} {r['compile_s']:>8.1f} "
              f"{r['steps']:>6.1f} {r['min_ess']:>8.0f} {r['s_per_ess']:>7.3f} "
              f"{r['anchor']:>10.2f} {r['ratio']:>6.1f}x")
    cache = jax.config.jax_compilation_cache_dir or "off"
    print(f"bayesirl: value_space_whitening + fit(value_space_irl_model, method='nuts', "
          f"whitening=...), 1 chain, {warmup} warm-up + {draws} draws, wall from the inputs "
          f"(whitening, compile INCLUDED: 'compile' = XLA compile seconds inside it; persistent "
          f"cache: {cache}); steps = leapfrog steps per draw; min bulk ESS over ALL S state "
          f"rewards; ValueWalk: the paper's reported numbers (reference)")
    return rows


def bench_bradley_terry(quick):
    """Bradley–Terry at Bayesian REX's size: ``bench_trajectories.run`` (numpy in the same run).

    The polar walk with shared random numbers (``fit_trajectories``' MH kernel here) at
    C = 64, 256, 1024 vectorised chains, and the Gaussian walk of the latent (this row's
    former kernel) at C = 1024 for reference.
    """
    import bench_trajectories

    chains = [64] if quick else [64, 256, 1024]
    args = (300 if quick else 1000, 1.0 if quick else 4.0, 2 if quick else 3,
            0.5 if quick else 3.0, 0)
    res = bench_trajectories.run(chains, *args, kernels=("polar",),
                                 extra=() if quick else (("gaussian", 1024),))
    np_row = res["numpy"]
    print(f"\n6. Bradley-Terry, {res['pairs']} pairs x {res['features']} features (goal: >= 10^6 "
          "samples/s, >= 5x numpy's ESS/s)")
    _harness.print_table_header(f"{'sampler':>16} {'samples/s':>11} {'vs np':>7} {'ESS/s w0':>9} "
                                f"{'ESS/s vs np':>12} {'compile s':>10}")
    print(f"{'numpy MH':>16} {np_row['steps_per_s']:>11.0f} {1.0:>7.2f} "
          f"{np_row['ess_per_s']:>9.1f} {1.0:>12.2f} {0.0:>10.1f}")
    for r in res["rows"]:
        print(f"{r['kernel'] + ' C=' + str(r['chains']):>16} {r['steps_per_s']:>11.0f} "
              f"{r['vs_np']:>7.2f} {r['ess_per_s']:>9.1f} {r['ess_per_s_vs_np']:>12.2f} "
              f"{r['warmup_compile_s'] + r['run_compile_s']:>10.1f}")
    print("compile excluded from the rates (compile s: warm-up + run, bench_trajectories.py); "
          "ESS/s of w[0] over all chains; gaussian: the latent's walk (this row's old kernel)")
    return res


def map_problem(S, F, num_demos):
    """The MAP row's problem: random sparse MDP, Gaussian features, soft-optimal demos."""
    import jax
    import jax.numpy as jnp

    from bayesirl.data.demos import sample_demonstrations
    from bayesirl.solvers import soft_value_iteration

    rng = np.random.default_rng(3)
    phi = rng.normal(size=(S, F)).astype(np.float32)
    mdp, _ = random_sparse_mdp(S, 0.95, 7, features=phi)
    w_true = jnp.asarray(rng.normal(size=F), jnp.float32)
    pol = soft_value_iteration(mdp, mdp.features @ w_true).policy
    return mdp, sample_demonstrations(jax.random.PRNGKey(0), mdp, pol, num_demos, 20), w_true


def bench_large_posterior(S_big, S_small, F, mh_sizes, nuts_sizes, target_ess=100):
    """Posterior at large S, measured: ``fit_laplace_imh`` (warm-started MAP, Laplace
    approximation, independence MH with a Student-t Laplace proposal) at ``S_big`` until every
    weight has bulk ESS >= ``target_ess`` and R-hat <= 1.01 (4 chains), compile included.
    Baseline, same run: NUTS / MH extrapolated to ``S_big`` from the cost of one evaluation
    there times the evaluations per effective draw of short fits at ``S_small``."""
    import jax
    from numpyro.infer.util import initialize_model

    from bayesirl.inference import fit_demonstrations
    from bayesirl.inference.independence_mh import fit_laplace_imh
    from bayesirl.likelihoods import demonstration_pairs
    from bayesirl.models import boltzmann_irl_model

    mdp, demos, w = map_problem(S_big, F, 100)
    pairs = demonstration_pairs(mdp, demos)
    t0 = time.perf_counter()
    idata = fit_laplace_imh(mdp, pairs, seed=0, num_chains=4, target_ess=target_ess)
    attrs = dict(idata.posterior.attrs)
    imh = dict(s=time.perf_counter() - t0, **{k: attrs[k] for k in (
        "map_s", "laplace_s", "sampling_s", "evaluations", "min_ess", "max_rhat", "converged")},
        accept=float(np.mean(idata.sample_stats["accepted"])),
        draws=int(idata.posterior["reward_weights"].shape[1]))
    per_eval = {}
    mi = initialize_model(jax.random.PRNGKey(1), boltzmann_irl_model, model_args=(mdp, pairs),
                          model_kwargs=dict(prior="gaussian", q="soft"), validate_grad=False)
    z = {"reward_weights": w}
    for name, fn in (("potential", mi.potential_fn),
                     ("value_and_grad", jax.value_and_grad(mi.potential_fn))):
        f, _ = _harness.compile_jax(fn, (z,))
        per_eval[name], _ = _harness.time_jax(f, (z,), repeats=2, budget_s=2.0)
    mdp, demos, _ = map_problem(S_small, F, 100)
    rows = {}
    for method, (warm, draws, thin) in (("mh", mh_sizes), ("nuts", nuts_sizes)):
        idata = fit_demonstrations(mdp, demos, method=method, num_chains=1, num_warmup=warm,
                                   num_samples=draws, thinning=thin, progress_bar=False,
                                   predictive_groups=False)
        w = np.asarray(idata.posterior["reward_weights"])
        ess = min(_harness.bulk_ess(w[..., f]) for f in range(F))
        if method == "nuts":
            stats = idata.sample_stats
            evals = float(np.asarray(stats["n_steps" if "n_steps" in stats else "num_steps"]).sum())
            evals_warm = evals / draws * warm  # warm-up trees assumed as deep as the kept ones
            cost = per_eval["value_and_grad"]
        else:
            evals, evals_warm, cost = draws * thin, warm, per_eval["potential"]
        per_ess = evals / max(ess, 1.0)
        rows[method] = dict(ess=ess, evals_per_ess=per_ess, s_per_eval=cost,
                            minutes=(evals_warm + target_ess * per_ess) * cost / 60)
    _print_large_posterior(S_big, S_small, F, target_ess, imh, rows)
    return dict(per_eval=per_eval, rows=rows, laplace_imh=imh)


def _print_large_posterior(S_big, S_small, F, target_ess, imh, rows):
    print(f"\n7. NUTS / MH posterior at S = {S_big} (F = {F}, 100 demonstrations, γ = 0.95): "
          f"minutes to {target_ess} effective draws (goal <= 10)")
    _harness.print_table_header(f"{'sampler':>11} {'s/eval':>7} {'evals/ESS':>10} "
                                f"{'minutes':>8} {'R-hat':>6} {'min ESS':>8}")
    e = imh["evaluations"] + 0.0
    print(f"{'laplace-imh':>11} {imh['sampling_s'] / e:>7.3f} {e / imh['min_ess']:>10.1f} "
          f"{imh['s'] / 60:>8.1f} {imh['max_rhat']:>6.3f} {imh['min_ess']:>8.0f}   measured")
    for m, r in rows.items():
        print(f"{m:>11} {r['s_per_eval']:>7.3f} {r['evals_per_ess']:>10.1f} {r['minutes']:>8.1f} "
              f"{'':>6} {'':>8}   extrapolated")
    print(f"laplace-imh: fit_laplace_imh, 4 chains, wall time compile included (MAP "
          f"{imh['map_s']:.0f} s, Laplace {imh['laplace_s']:.0f} s, sampling "
          f"{imh['sampling_s']:.0f} s; {imh['draws']} kept draws per chain, acceptance "
          f"{imh['accept']:.2f}, converged {bool(imh['converged'])}); mh / nuts: one potential "
          f"(MH) or value+gradient (NUTS) at S = {S_big} times evals/ESS of a 1-chain fit at "
          f"S = {S_small} (same F, same model); minutes = (warm-up + {target_ess} ESS) x evals "
          f"x s/eval")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI-sized smoke run (< 30 s)")
    p.add_argument("--device", action="store_true",
                   help="solver and sampler rows only, on the default JAX device (e.g. a GPU)")
    p.add_argument("--skip-fit", action="store_true", help="no γ = 0.999 NUTS fit")
    p.add_argument("--rows-5-7", action="store_true",
                   help="with --quick: also the ValueWalk, Bradley-Terry and large-S rows "
                        "(~25 s more CPU; always on in a full run)")
    p.add_argument("--rows", metavar="LIST", help="comma-separated rows to run, e.g. 4 or 1,4 "
                   "(default: every row of the mode)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    only = None if args.rows is None else {int(r) for r in args.rows.split(",")}

    def want(row):
        return only is None or row in only

    _harness.limit_blas_threads()
    t_start = time.perf_counter()
    env = _harness.environment_info()
    _harness.print_header("bayesirl speed benchmark", env)
    q = args.quick
    results = {"environment": env, "settings": vars(args)}
    if want(1):
        results["soft_vi"] = bench_soft_vi([10_000] if q else [10_000, 100_000, 1_000_000],
                                           2 if q else 3, 0.3 if q else 2.0)
    fit_sizes = None if (q or args.skip_fit) else (5000, 2000, 20)
    if want(2):
        results["gamma"] = bench_gamma(2 if q else 5, 0.3 if q else 2.0, fit_sizes)
    if not args.device and want(3):
        results["map"] = bench_map(1_000 if q else 100_000, 16, 100,
                                   ("auto",) if q else ("auto", "vi"))
    if want(4):
        results["birl"] = bench_birl([5] if q else [5, 8, 12], 50 if q else 500,
                                     20 if q else 4000, 2 if q else 4, chains=4 if q else 256,
                                     pw_steps=60 if q else 3000, pw_chains=4 if q else 64,
                                     np_chains=1 if q else 4, ind_steps=60 if q else 6000)
    if not args.device and (args.rows_5_7 or not q or only is not None) and want(5):
        results["valuewalk"] = bench_valuewalk([3] if q else [3, 6, 12], 100 if q else 500,
                                               100 if q else 3000)
    if not args.device and (args.rows_5_7 or not q or only is not None) and want(6):
        results["bradley_terry"] = bench_bradley_terry(q)
    if not args.device and (args.rows_5_7 or not q or only is not None) and want(7):
        results["large_posterior"] = bench_large_posterior(
            2_000 if q else 100_000, 500 if q else 2_000, 16,
            (200, 100, 2) if q else (2000, 1000, 5), (50, 50, 1) if q else (300, 300, 1))
    _harness.finish(results, t_start, args.json, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
