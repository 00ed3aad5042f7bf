"""How often the misfit alarm fires where it should: well-specified worlds against misspecified
ones, and whether the posterior's α-VaR bound holds in each.

Worlds: random 5×5 colour gridworlds (4 one-hot colour features, slip 0.3, γ = 0.9, uniform
start), true weights uniform on the unit L1 sphere (the model's prior); N demonstrations of T
steps. Model: the Boltzmann demonstrator over hard Q* with β fixed (``--beta``), uniform prior
on the L1 sphere, one PolicyWalk chain per world (all worlds vmapped). Kinds of world
(``--kinds``):

* ``control`` — the expert is Boltzmann at the model's β (well specified);
* ``optimal`` — the expert takes an optimal action (uniform among ties);
* ``beta-x0.1`` / ``beta-x10`` — Boltzmann at 0.1 × / 10 × the model's β;
* ``eps-0.1`` / ``eps-0.3`` — optimal, but a uniformly random action with probability ε;
* ``sparse-goal`` — the true reward is 1 in one random goal cell and 0 elsewhere (off the
  prior and, in general, outside the span of the colour features); Boltzmann expert at the
  model's β.

For each world: the α = 0.95, δ = 0.05 VaR bound on the nEVD of the MAP draw's optimal policy
(Brown & Niekum 2018; as in ``compare_methods.py``), whether it holds under the true reward,
and :func:`bayesirl.analysis.check_fit` (every check's p-value). Reported per kind: the alarm
rate, the bound's failure rate, and the alarm rate among the worlds where the bound fails, at
the default level and a grid of levels.

    python examples/misfit_alarm.py --json docs/results/misfit_alarm.json
    python examples/misfit_alarm.py --num-worlds 2 --num-steps 300 --kinds control,optimal  # CI
"""

import argparse
import json
import os
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import bayesirl as birl  # noqa: E402
from bayesirl import _arviz  # noqa: E402
from bayesirl.analysis.bounds import value_at_risk_bound  # noqa: E402
from bayesirl.analysis.misfit import DEFAULT_LEVEL, check_fit, combine_checks  # noqa: E402
from bayesirl.analysis.posterior import policy_losses, posterior_solutions  # noqa: E402
from bayesirl.inference.policy_walk import sample_policy_walk  # noqa: E402
from bayesirl.likelihoods import demonstration_pairs  # noqa: E402
from bayesirl.solvers.evaluation import normalized_evd  # noqa: E402

KINDS = ("control", "optimal", "beta-x0.1", "beta-x10", "eps-0.1", "eps-0.3", "sparse-goal")
LEVELS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--num-worlds", type=int, default=30)
    p.add_argument("--num-demos", type=int, default=10)
    p.add_argument("--horizon", type=int, default=15)
    p.add_argument("--beta", type=float, default=10.0, help="the model's β")
    p.add_argument("--num-steps", type=int, default=4000, help="PolicyWalk steps per chain")
    p.add_argument("--burn-in", type=int, default=500)
    p.add_argument("--thinning", type=int, default=7)
    p.add_argument("--step-size", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write {'rows': [...], 'worlds': [...]} here")
    args = p.parse_args(argv)
    args.kinds = args.kinds.split(",")
    if not set(args.kinds) <= set(KINDS):
        p.error(f"--kinds: expected a comma-separated subset of {','.join(KINDS)}")
    return args


def world(args, kind, i):
    """(env, true reward (S, A), expert policy (S, A), demos)."""
    seed = args.seed * 100_003 + KINDS.index(kind) * 1009 + i
    env = birl.gridworld(5, 5, num_features=4, seed=seed, discount=0.9)
    mdp = env.mdp
    reward = env.true_reward
    if kind == "sparse-goal":
        goal = np.random.default_rng(seed).integers(mdp.num_states)
        reward = jnp.zeros_like(reward).at[goal].set(1.0)
    q = birl.value_iteration(mdp, reward).q_values
    greedy = birl.greedy_policy(q)
    uniform = jnp.full_like(greedy, 1.0 / mdp.num_actions)
    beta = {"beta-x0.1": 0.1, "beta-x10": 10.0}.get(kind, 1.0) * args.beta
    if kind == "optimal":
        policy = greedy
    elif kind.startswith("eps-"):
        eps = float(kind[4:])
        policy = (1 - eps) * greedy + eps * uniform
    else:
        policy = jax.nn.softmax(beta * q, -1)
    demos = birl.sample_demonstrations(jax.random.PRNGKey(seed), mdp, policy, args.num_demos,
                                       args.horizon)
    return env, reward, policy, demos


def chains(args, problems):
    """One PolicyWalk chain per (env, demos), vmapped (same P for all: no terminal states)."""
    pairs = [demonstration_pairs(env.mdp, demos) for env, _, _, demos in problems]
    mdp0 = problems[0][0].mdp
    features = jnp.stack([env.mdp.features for env, *_ in problems])
    states = jnp.stack([p.states for p in pairs])
    actions = jnp.stack([p.actions for p in pairs])
    init = np.random.default_rng(args.seed + 1).laplace(size=(len(problems), mdp0.num_features))
    keys = jax.random.split(jax.random.PRNGKey(args.seed + 2), len(problems))
    chain = partial(sample_policy_walk, beta=args.beta, step_size=args.step_size,
                    num_steps=args.num_steps, burn_in=args.burn_in, thinning=args.thinning,
                    axis_name="chains")

    @jax.jit
    def run(keys, feats, st, ac, w0):
        def one(key, f, s, a, x0):
            return chain(key, mdp0._replace(features=f), birl.DemonstrationPairs(
                s, a, jnp.zeros_like(s)), x0)

        return jax.vmap(one, axis_name="chains")(keys, feats, st, ac, w0)

    return jax.tree.map(np.asarray, run(keys, features, states, actions, jnp.asarray(init)))


def evaluate(args, kind, i, problem, samples, j):
    env, reward, _, demos = problem
    mdp = env.mdp
    draws = jnp.asarray(samples.weights[j])
    policy = birl.value_iteration(mdp, birl.reward_from_weights(
        mdp, jnp.asarray(samples.map_weights[j]))).policy
    true_nevd = float(normalized_evd(mdp, reward, policy))
    losses = np.asarray(policy_losses(mdp, draws, policy,
                                      solutions=posterior_solutions(mdp, draws)).nevd)
    bound = float(value_at_risk_bound(losses, 0.95, 0.05).bound)
    idata = _arviz.from_draws({"reward_weights": np.asarray(draws)[None]},
                              attrs={"sources": ["boltzmann"], "q": "hard"})
    report = check_fit(idata, mdp, demos=demos, betas={"boltzmann": args.beta}, seed=i)
    return dict(kind=kind, world=i, true_nevd=true_nevd, bound=bound,
                bound_holds=bool(bound >= true_nevd),
                acceptance=float(samples.acceptance_rate[j]),
                checks=[dict(name=c.name, statistic=c.statistic, replicated=c.replicated,
                             p_value=c.p_value, direction=c.direction) for c in report.checks],
                alarm=bool(report.alarm), message=report.message)


def alarm_at(record, level):
    checks = [birl.analysis.MisfitCheck("boltzmann", c["name"], c["statistic"], c["replicated"],
                                        c["p_value"], c["direction"], False, "")
              for c in record["checks"]]
    return combine_checks(checks, level=level).alarm


def summarise(records, kinds):
    rows = []
    for kind in kinds:
        sel = [r for r in records if r["kind"] == kind]
        fails = [r for r in sel if not r["bound_holds"]]
        row = dict(kind=kind, num_worlds=len(sel),
                   bound_coverage=float(np.mean([r["bound_holds"] for r in sel])),
                   num_bound_fails=len(fails))
        for level in LEVELS:
            row[f"alarm_rate@{level:g}"] = float(np.mean([alarm_at(r, level) for r in sel]))
            row[f"alarm_when_bound_fails@{level:g}"] = (
                float(np.mean([alarm_at(r, level) for r in fails])) if fails else None)
        row["min_p"] = {name: float(np.median([min(c["p_value"] for c in r["checks"]
                                                    if c["name"] == name) for r in sel]))
                        for name in [c["name"] for c in sel[0]["checks"]]}
        rows.append(row)
    return rows


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    problems = [(kind, i, world(args, kind, i)) for kind in args.kinds
                for i in range(args.num_worlds)]
    samples = chains(args, [p for _, _, p in problems])
    chain_s = time.perf_counter() - start
    records = [evaluate(args, kind, i, p, samples, j) for j, (kind, i, p) in enumerate(problems)]
    rows = summarise(records, args.kinds)
    wall = time.perf_counter() - start
    for row in rows:
        print(f"{row['kind']:12s} worlds {row['num_worlds']:3d}  bound holds "
              f"{row['bound_coverage']:.2f}  alarm@{DEFAULT_LEVEL:g} "
              f"{row[f'alarm_rate@{DEFAULT_LEVEL:g}']:.2f}  alarm|bound fails "
              f"{row[f'alarm_when_bound_fails@{DEFAULT_LEVEL:g}']}  "
              + " ".join(f"{k}={v:.3g}" for k, v in row["min_p"].items()))
    print(f"wall time {wall:.0f} s (chains {chain_s:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "worlds": records, "wall_time_s": wall,
                       "settings": {k: v for k, v in vars(args).items() if k != "json"}},
                      f, indent=1)
    return rows


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    main()
