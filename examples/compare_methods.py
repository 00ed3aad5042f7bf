"""Compare the classic IRL and imitation baselines with our Bayesian posteriors on the same
worlds, with the same metric: normalised expected value difference (nEVD; 0 optimal, 1 the
uniformly random policy) of each method's policy under the true reward, against the number of
demonstrations, plus the α-VaR bound on each policy's nEVD from the Boltzmann posterior.

Worlds (``--worlds``):

* ``gridworld`` — the bounds protocol of Brown & Niekum (2018): random 9×9 grids, 8 one-hot
  colour features, true weights uniform on the unit L1 sphere, slip 0.3, γ = 0.9, nine start
  states (uniform p0); the d-th demonstration starts at start state d mod 9 and follows an
  optimal policy (random tie breaks) for 100 steps.
* ``transfer`` — the same worlds, demonstrations and fits, evaluated after the dynamics change:
  two walls (column 3, rows 0–7; column 5, rows 1–8; a move into a wall stays put). Methods that
  learn a reward re-plan with it under the new dynamics; methods that learn a policy (BC,
  DAgger, SMILe, GAIL, the projection algorithm's mixture) keep their policy.
* ``frozenlake`` — gymnasium's slippery FrozenLake8x8-v1 (γ = 0.95, one-hot state features, so
  the learned reward is tabular); demonstrations are episodes of the optimal policy (≤ 200
  steps); a "world" is an independent set of demonstrations.

Methods: ``projection`` (Abbeel & Ng 2004; its stationary mixture policy), ``max-margin``
(Ng & Russell 2000), ``maxent-noncausal`` (Ziebart et al. 2008), ``bc`` (Bayesian cloning),
``dagger`` and ``smile`` (an interactive expert, budget = the labels in the d demonstrations),
``gail`` and ``airl`` (tabular; AIRL's reward linear in the state features),
``boltzmann-posterior`` (Boltzmann likelihood, β fixed, over hard Q*, uniform prior on the L1
sphere, **short PolicyWalk MH chains**; evaluation policy: the MAP draw's optimal policy, and in
``mean_policy_evd_*`` the posterior mean's) and ``maxent-posterior`` (causal discounted MaxEnt
likelihood, Gaussian prior, **MAP + Laplace**: the log-likelihood is concave in the weights and
the prior Gaussian, so the posterior is log-concave and unimodal; evaluation policy: the optimal
policy of the MAP = Laplace mean). The α-VaR bound (α = 0.95, δ = 0.05) on each method's nEVD
is computed from the Boltzmann posterior's draws (as Brown & Niekum 2018 bound the projection
algorithm's policy).

    python examples/compare_methods.py --json docs/results/compare_methods.json \
        --text docs/results/compare_methods.txt --plot docs/results/compare_methods.png
    python examples/compare_methods.py --num-worlds 1 --num-demos 1,2 --worlds gridworld \
        --num-steps 300 --max-iterations 20                      # CI
    python examples/compare_methods.py --methods max-margin --json rows.json   # one method's rows
"""

import argparse
import json
import os
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

jax.config.update("jax_enable_x64", True)

import bayesirl as birl  # noqa: E402
from bayesirl import baselines  # noqa: E402
from bayesirl.analysis.bounds import value_at_risk_bound  # noqa: E402
from bayesirl.executors import EXECUTORS, map_fits  # noqa: E402
from bayesirl.analysis.posterior import policy_losses, posterior_solutions  # noqa: E402
from bayesirl.inference.policy_walk import sample_policy_walk  # noqa: E402
from bayesirl.likelihoods import demonstration_pairs, maxent_logits  # noqa: E402
from bayesirl.solvers.evaluation import normalized_evd  # noqa: E402

METHODS = ("projection", "max-margin", "maxent-noncausal", "bc", "dagger", "smile", "gail",
           "airl", "boltzmann-posterior", "maxent-posterior")
WORLDS = ("gridworld", "transfer", "frozenlake")
START_STATES = (10, 13, 16, 37, 40, 43, 64, 67, 70)
WALLS = tuple(r * 9 + 3 for r in range(0, 8)) + tuple(r * 9 + 5 for r in range(1, 9))
#: Methods whose output is a policy (transferred as is); the others output a reward.
POLICY_METHODS = ("projection", "bc", "dagger", "smile", "gail")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worlds", default="gridworld,frozenlake",
                   help="gridworld (also gives the transfer rows) and/or frozenlake")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma-separated subset of the methods (the Boltzmann chains always "
                        "run: the α-VaR bounds use their draws)")
    p.add_argument("--num-worlds", type=int, default=20)
    p.add_argument("--num-demos", default="1,3,5,10,20")
    p.add_argument("--num-steps", type=int, default=4000, help="PolicyWalk steps per chain")
    p.add_argument("--burn-in", type=int, default=500)
    p.add_argument("--thinning", type=int, default=7)
    p.add_argument("--max-iterations", type=int, default=200,
                   help="cap for the iterative baselines (projection: a quarter of it)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write {'rows': [...]} here")
    p.add_argument("--text", help="write the tables here")
    p.add_argument("--plot", help="write the nEVD curves here (PNG)")
    p.add_argument("--executor", choices=EXECUTORS, default="serial",
                   help="where the (world, d) problems run (one task each)")
    p.add_argument("--address", default=None, help="Ray cluster for --executor ray ('auto' "
                   "or HOST:PORT; default: a local Ray)")
    args = p.parse_args(argv)
    args.worlds = args.worlds.split(",")
    args.methods = args.methods.split(",")
    if not set(args.methods) <= set(METHODS):
        p.error(f"--methods: expected a comma-separated subset of {','.join(METHODS)}")
    args.num_demos = [int(x) for x in args.num_demos.split(",")]
    if not set(args.worlds) <= {"gridworld", "frozenlake"}:
        p.error("--worlds: expected a comma-separated subset of gridworld,frozenlake")
    if min(args.num_demos) < 1 or args.num_worlds < 1:
        p.error("--num-demos and --num-worlds: expected positive numbers")
    return args


# ---------------------------------------------------------------------------------------------
# Worlds and demonstrations
# ---------------------------------------------------------------------------------------------


def walled(mdp):
    """The same MDP with WALLS: a move into a wall cell stays where it is."""
    nxt = np.asarray(mdp.next_states)
    src = np.broadcast_to(np.arange(mdp.num_states)[:, None, None], nxt.shape)
    blocked = np.isin(nxt, WALLS) & ~np.isin(src, WALLS)
    return mdp._replace(next_states=jnp.asarray(np.where(blocked, src, nxt), jnp.int32))


def gridworld_family(args, max_demos):
    """(env, expert policy, demos) per world, demos (max_demos, 100)."""
    rng = np.random.default_rng(args.seed)
    out = []
    for i in range(args.num_worlds):
        w = rng.laplace(size=8)
        env = birl.gridworld(9, 9, num_features=8, slip_probability=0.3,
                             seed=args.seed * 100_003 + i, discount=0.9,
                             initial_states=list(START_STATES), weights=w / np.abs(w).sum())
        expert = birl.greedy_policy(birl.value_iteration(env.mdp, env.true_reward).q_values)
        starts = jnp.asarray([START_STATES[d % 9] for d in range(max_demos)])
        keys = jax.random.split(jax.random.PRNGKey(args.seed * 100_003 + i), max_demos)
        demos = _rollouts(keys, env.mdp, expert, starts, 100)
        out.append((env, expert, demos))
    return out


@partial(jax.jit, static_argnums=4)
def _rollouts(keys, mdp, policy, starts, horizon):
    return jax.vmap(lambda k, s: birl.rollout(k, mdp, policy, horizon, s))(keys, starts)


def frozenlake_family(args, max_demos):
    env = birl.make_environment("FrozenLake8x8-v1")
    expert = birl.greedy_policy(birl.value_iteration(env.mdp, env.true_reward).q_values)
    starts = jnp.zeros(max_demos, jnp.int32)
    out = []
    for i in range(args.num_worlds):
        keys = jax.random.split(jax.random.PRNGKey(args.seed * 100_003 + 7919 + i), max_demos)
        out.append((env, expert, _rollouts(keys, env.mdp, expert, starts,
                                           env.max_episode_steps)))
    return out


def first(demos, d):
    return birl.Demonstrations(*(x[:d] for x in demos))


# ---------------------------------------------------------------------------------------------
# Our posteriors
# ---------------------------------------------------------------------------------------------


def boltzmann_chains(args, problems, beta, step_size):
    """One PolicyWalk chain per problem (env, demos), vmapped; returns numpy samples."""
    pairs = [demonstration_pairs(env.mdp, demos) for env, _, demos in problems]
    P = max(int(p.states.shape[0]) for p in pairs)
    n = len(problems)
    states = np.zeros((n, P), np.int32)
    actions = np.zeros((n, P), np.int32)
    weights = np.zeros((n, P))
    for i, p in enumerate(pairs):
        k = int(p.states.shape[0])
        states[i, :k], actions[i, :k], weights[i, :k] = p.states, p.actions, 1.0
    mdp0 = problems[0][0].mdp
    features = np.stack([np.asarray(env.mdp.features) for env, _, _ in problems])
    init = np.random.default_rng(args.seed + 1).laplace(size=(n, mdp0.num_features))
    keys = jax.random.split(jax.random.PRNGKey(args.seed + 2), n)
    chain = partial(sample_policy_walk, beta=beta, step_size=step_size, num_steps=args.num_steps,
                    burn_in=args.burn_in, thinning=args.thinning, axis_name="chains")

    @jax.jit
    def run(keys, feats, st, ac, pw, w0):
        def one(key, f, s, a, w, x0):
            pairs = birl.DemonstrationPairs(s, a, jnp.zeros_like(s))
            return chain(key, mdp0._replace(features=f), pairs, x0, pair_weights=w)

        return jax.vmap(one, axis_name="chains")(keys, feats, st, ac, pw, w0)

    out = run(keys, jnp.asarray(features), jnp.asarray(states), jnp.asarray(actions),
              jnp.asarray(weights), jnp.asarray(init))
    return jax.tree.map(np.asarray, out)


@jax.jit
def _maxent_value_and_grad(w, mdp, counts, prior_scale):
    def neg_log_post(w):
        log_pi = maxent_logits(mdp, birl.reward_from_weights(mdp, w), horizon=None)
        return -jnp.sum(counts * log_pi) + 0.5 * jnp.sum(w ** 2) / prior_scale ** 2

    return jax.value_and_grad(neg_log_post)(w)


@jax.jit
def _maxent_hessian(w, mdp, counts, prior_scale):
    def neg_log_post(w):
        log_pi = maxent_logits(mdp, birl.reward_from_weights(mdp, w), horizon=None)
        return -jnp.sum(counts * log_pi) + 0.5 * jnp.sum(w ** 2) / prior_scale ** 2

    return jax.hessian(neg_log_post)(w)


def maxent_laplace(mdp, demos, prior_scale=1.0):
    """MAP (L-BFGS-B) and Laplace covariance (inverse Hessian) of the causal MaxEnt posterior."""
    counts = birl.state_action_counts(mdp, demos)

    def objective(x):
        v, g = _maxent_value_and_grad(jnp.asarray(x), mdp, counts, prior_scale)
        return float(v), np.asarray(g)

    res = scipy.optimize.minimize(objective, np.zeros(mdp.num_features), jac=True,
                                  method="L-BFGS-B")
    H = np.asarray(_maxent_hessian(jnp.asarray(res.x), mdp, counts, prior_scale))
    return res.x, np.linalg.inv(0.5 * (H + H.T))


# ---------------------------------------------------------------------------------------------
# One (world, number of demonstrations) problem
# ---------------------------------------------------------------------------------------------


def fit_baselines(args, env, expert, demos, key):
    """{method: (kind, output, wall seconds)} with kind 'policy' or 'reward' ((S,) or (S, A))."""
    mdp = env.mdp
    labels = int(np.sum(np.asarray(demos.mask) & ~np.asarray(mdp.terminal)[
        np.asarray(demos.states)]))
    horizon = int(demos.states.shape[1])
    one = first(demos, 1)
    fits = {
        "projection": lambda: ("policy", baselines.projection(
            mdp, demos, max_iterations=max(args.max_iterations // 4, 1)).mixture_policy),
        "max-margin": lambda: ("reward", birl.reward_from_weights(
            mdp, baselines.max_margin(mdp, demos).weights)),
        "maxent-noncausal": lambda: ("reward", birl.reward_from_weights(
            mdp, baselines.maxent_noncausal(mdp, demos).weights)),
        "bc": lambda: ("policy", baselines.behavioural_cloning(mdp, demos).policy),
        "dagger": lambda: ("policy", baselines.dagger(
            key, mdp, expert, budget=labels, horizon=horizon, demos=one).policy),
        "smile": lambda: ("policy", baselines.smile(
            key, mdp, expert, budget=labels, horizon=horizon, demos=one).policy),
        "gail": lambda: ("policy", baselines.gail(
            mdp, demos, max_iterations=args.max_iterations).policy),
        "airl": lambda: ("reward", baselines.airl(
            mdp, demos, linear_reward=True, max_iterations=args.max_iterations).reward),
    }
    out = {}
    for name, fn in fits.items():
        if name not in args.methods:
            continue
        start = time.perf_counter()
        kind, value = fn()
        value = jax.block_until_ready(value)
        out[name] = (kind, value, time.perf_counter() - start)
    if "maxent-posterior" not in args.methods:
        return out
    start = time.perf_counter()
    w_map, _ = maxent_laplace(mdp, demos)
    out["maxent-posterior"] = ("reward", birl.reward_from_weights(mdp, jnp.asarray(w_map)),
                               time.perf_counter() - start)
    return out


def evaluate(mdp, true_reward, kind, value, draws, solutions):
    """(nEVD, α-VaR bound on the nEVD) of a method's output on ``mdp``."""
    policy = value if kind == "policy" else birl.value_iteration(mdp, value).policy
    nevd = float(normalized_evd(mdp, true_reward, policy))
    losses = np.asarray(policy_losses(mdp, draws, policy, solutions=solutions).nevd)
    return nevd, float(value_at_risk_bound(losses, 0.95, 0.05).bound)


def run_family(args, family, world_names, beta, step_size):
    """Fit every method on every (world, d) and evaluate on each world variant."""
    problems = [(w, d) for w in range(len(family)) for d in args.num_demos]
    chain_input = [(family[w][0], None, first(family[w][2], d)) for w, d in problems]
    start = time.perf_counter()
    samples = boltzmann_chains(args, chain_input, beta, step_size)
    chain_wall = (time.perf_counter() - start) / len(problems)
    settings = argparse.Namespace(methods=args.methods, max_iterations=args.max_iterations)
    tasks = [dict(world=w, num_demos=d, problem=family[w][:2] + (first(family[w][2], d),),
                  draws=samples.weights[i], map_weights=samples.map_weights[i],
                  chain_wall=chain_wall, world_names=world_names, settings=settings)
             for i, (w, d) in enumerate(problems)]
    return [rec for recs in map_fits(compare_problem, tasks, executor=args.executor,
                                     address=args.address) for rec in recs]


def compare_problem(task):
    """Fit every baseline on one (world, d) problem and evaluate every method's output on
    each world variant (a ``map_fits`` task); the records of the problem."""
    args, w, d = task["settings"], task["world"], task["num_demos"]
    env, expert, demos_d = task["problem"]
    fits = fit_baselines(args, env, expert, demos_d, jax.random.PRNGKey(1000 * w + d))
    mdp = env.mdp
    map_reward = birl.reward_from_weights(mdp, jnp.asarray(task["map_weights"]))
    mean_reward = birl.reward_from_weights(mdp, jnp.asarray(task["draws"].mean(0)))
    if "boltzmann-posterior" in args.methods:
        fits["boltzmann-posterior"] = ("reward", map_reward, task["chain_wall"])
    draws = jnp.asarray(task["draws"])
    records = []
    for world in task["world_names"]:
        eval_mdp = walled(mdp) if world == "transfer" else mdp
        solutions = posterior_solutions(eval_mdp, draws)
        for name, (kind, value, wall) in fits.items():
            nevd, bound = evaluate(eval_mdp, env.true_reward, kind, value, draws, solutions)
            rec = dict(method=name, world=world, num_demos=d, seed=w, nevd=nevd,
                       bound=bound, wall_s=wall)
            if name == "boltzmann-posterior":
                rec["mean_policy_nevd"] = evaluate(eval_mdp, env.true_reward, "reward",
                                                   mean_reward, draws, solutions)[0]
            records.append(rec)
    return records


def summarise(records):
    rows = []
    keys = sorted({(r["method"], r["world"], r["num_demos"]) for r in records},
                  key=lambda k: (WORLDS.index(k[1]), METHODS.index(k[0]), k[2]))
    for method, world, d in keys:
        sel = [r for r in records if (r["method"], r["world"], r["num_demos"]) == (method, world, d)]
        nevd = np.array([r["nevd"] for r in sel])
        bound = np.array([r["bound"] for r in sel])
        row = dict(method=method, world=world, num_demos=d, evd_mean=float(nevd.mean()),
                   evd_sd=float(nevd.std(ddof=1)) if len(sel) > 1 else 0.0,
                   wall_s=float(np.median([r["wall_s"] for r in sel])), num_worlds=len(sel),
                   bound_mean=float(bound.mean()), bound_coverage=float(np.mean(bound >= nevd)))
        if method == "boltzmann-posterior":
            m = np.array([r["mean_policy_nevd"] for r in sel])
            row["mean_policy_evd_mean"] = float(m.mean())
            row["mean_policy_evd_sd"] = float(m.std(ddof=1)) if len(sel) > 1 else 0.0
        rows.append(row)
    return rows


def format_tables(rows, args):
    demos = args.num_demos
    lines = []
    for world in [w for w in WORLDS if any(r["world"] == w for r in rows)]:
        lines.append(f"\n{world}: normalised EVD mean ± sd over worlds (0 = optimal, 1 = uniform)")
        lines.append(f"{'method':20s}" + "".join(f"{'d=' + str(d):>15s}" for d in demos)
                     + f"{'wall s':>9s}  (median per fit; compilation in the first world)")
        for method in METHODS:
            sel = {r["num_demos"]: r for r in rows if r["world"] == world and r["method"] == method}
            if not sel:
                continue
            cells = "".join(f"{sel[d]['evd_mean']:8.3f} ±{sel[d]['evd_sd']:5.3f}" for d in demos)
            wall = np.median([r["wall_s"] for r in sel.values()])
            lines.append(f"{method:20s}{cells}{wall:9.3f}")
            if method == "boltzmann-posterior":
                cells = "".join(f"{sel[d]['mean_policy_evd_mean']:8.3f} ±"
                                f"{sel[d]['mean_policy_evd_sd']:5.3f}" for d in demos)
                lines.append(f"{'  (posterior mean)':20s}{cells}")
        lines.append(f"{world}: 0.95-VaR bound (δ = 0.05, Boltzmann posterior) on each policy's "
                     "nEVD: mean [fraction of worlds where bound >= true nEVD]")
        for method in METHODS:
            sel = {r["num_demos"]: r for r in rows if r["world"] == world and r["method"] == method}
            if sel:
                lines.append(f"{method:20s}" + "".join(
                    f"{sel[d]['bound_mean']:8.3f} [{sel[d]['bound_coverage']:.2f}]" for d in demos))
    return "\n".join(lines)


def plot(rows, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    worlds = [w for w in WORLDS if any(r["world"] == w for r in rows)]
    fig, axes = plt.subplots(1, len(worlds), figsize=(5.2 * len(worlds), 4.2), squeeze=False)
    for ax, world in zip(axes[0], worlds):
        for method in METHODS:
            sel = sorted((r for r in rows if r["world"] == world and r["method"] == method),
                         key=lambda r: r["num_demos"])
            x = [r["num_demos"] for r in sel]
            y = np.array([r["evd_mean"] for r in sel])
            sd = np.array([r["evd_sd"] for r in sel]) / np.sqrt([r["num_worlds"] for r in sel])
            style = "-" if method.endswith("posterior") else "--"
            ax.errorbar(x, y, yerr=sd, label=method, ls=style, marker="o", ms=3, capsize=2)
        ax.set_xscale("log")
        ax.set_xticks(args.num_demos, [str(d) for d in args.num_demos])
        ax.set_xlabel("number of demonstrations")
        ax.set_ylabel("normalised EVD (mean ± s.e.)")
        ax.set_title(world)
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    max_demos = max(args.num_demos)
    records = []
    if "gridworld" in args.worlds:
        records += run_family(args, gridworld_family(args, max_demos), ("gridworld", "transfer"),
                              beta=100.0, step_size=0.01)
    if "frozenlake" in args.worlds:
        records += run_family(args, frozenlake_family(args, max_demos), ("frozenlake",),
                              beta=1000.0, step_size=0.01)
    rows = summarise(records)
    wall = time.perf_counter() - start
    text = (f"compare_methods: {args.num_worlds} worlds per cell, PolicyWalk {args.num_steps} "
            f"steps (burn {args.burn_in}, thin {args.thinning}), iterative baselines capped at "
            f"{args.max_iterations}; wall time {wall:.0f} s" + format_tables(rows, args))
    print(text)
    if args.text:
        with open(args.text, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "wall_time_s": wall,
                       "settings": {k: v for k, v in vars(args).items()
                                    if k not in ("json", "text", "plot", "executor",
                                                 "address")}}, f, indent=1)
    if args.plot:
        plot(rows, args, args.plot)
    return rows


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    main()
