"""Command-line interface: ``bayesirl fit``.

    bayesirl fit --env FrozenLake8x8-v1 --num-demos 50 --sampler nuts --out runs/frozenlake

Writes ``DIR/mdp.npz``, ``DIR/demos.json`` and/or ``DIR/preferences.json`` (the evidence
used), ``DIR/posterior.nc`` (ArviZ netCDF) and ``DIR/summary.json``. Files are written to a temporary folder and moved into ``DIR`` only when
the run succeeded, so a failed run never overwrites an earlier result.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

__all__ = ["main", "build_parser", "CLIError"]

SAMPLERS = ("nuts", "mh", "map")
PRIOR_CHOICES = ("gaussian", "laplace", "l1-sphere", "l2-sphere")
BETA_PRIORS = {"lognormal": 2, "gamma": 2, "halfnormal": 1, "exponential": 1}
#: Random-walk MH needs O(F) more steps than NUTS per effective draw: its CLI defaults.
MH_DEFAULT_WARMUP = 20_000
MH_DEFAULT_THINNING = 30


class CLIError(Exception):
    """A user error reported as one line on stderr (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line instead of usage + message
        raise CLIError(f"{self.prog}: {message} (see --help)")


def _positive_int(text: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    return _positive_int(text, 0)


def _discount(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value}")
    return value


def _beta(text: str):
    """``5`` (fixed β) or ``lognormal:0,1`` / ``gamma:2,0.5`` / ``halfnormal:10`` /
    ``exponential:0.1`` (a prior on β)."""
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        pass
    name, _, params = text.partition(":")
    if name not in BETA_PRIORS:
        raise argparse.ArgumentTypeError(
            f"expected a number > 0 or one of {', '.join(f'{k}:ARGS' for k in BETA_PRIORS)}, got {text!r}"
        )
    try:
        values = tuple(float(v) for v in params.split(",")) if params else ()
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad parameters in {text!r}") from None
    if len(values) != BETA_PRIORS[name]:
        raise argparse.ArgumentTypeError(f"{name} needs {BETA_PRIORS[name]} parameter(s), got {text!r}")
    if any(not math.isfinite(v) for v in values) or any(v <= 0 for v in values[(name == "lognormal"):]):
        raise argparse.ArgumentTypeError(f"parameters of {name} must be finite and scales > 0, got {text!r}")
    return (name, values)


SOURCE_NAMES = ("boltzmann", "maxent", "bradley-terry")


def _likelihoods(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in SOURCE_NAMES]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(SOURCE_NAMES)}, got {text!r}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a likelihood is repeated in {text!r}")
    return names


def _beta_arg(text: str):
    source, sep, spec = text.partition("=")
    if sep:
        if source not in SOURCE_NAMES:
            raise argparse.ArgumentTypeError(
                f"expected SOURCE=SPEC with SOURCE in {', '.join(SOURCE_NAMES)}, got {text!r}")
        return (source, _beta(spec))
    return (None, _beta(text))


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value}")
    return value


def _grid(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        h, w = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 5x5, got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return h, w


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``bayesirl`` command."""
    parser = _Parser(prog="bayesirl", description="Bayesian inverse reinforcement learning.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    fit = sub.add_parser("fit", help="posterior over reward weights from demonstrations and/or "
                         "preferences", description="Fit a posterior over reward weights from "
                         "demonstrations and/or preferences between trajectories.")
    src = fit.add_argument_group("evidence (either --env, or --mdp with --demos and/or --preferences)")
    src.add_argument("--env", help="gymnasium toy-text id (e.g. FrozenLake8x8-v1, Taxi-v4, "
                     "CliffWalking-v1) or 'gridworld'; demonstrations are simulated")
    src.add_argument("--mdp", help="an MDP file (.npz written by bayesirl)")
    src.add_argument("--demos", help="demonstrations (JSON) for --mdp")
    src.add_argument("--preferences", help="preferences between trajectories (JSON)")
    src.add_argument("--num-demos", type=_nonnegative_int, default=50,
                     help="simulated expert demonstrations for --env (default 50; 0 with "
                          "preferences only)")
    src.add_argument("--num-preferences", type=_nonnegative_int, default=0,
                     help="simulated comparisons for --env: rollouts of noisy policies "
                          "labelled by their true return (default 0)")
    src.add_argument("--discount", type=_discount, default=None,
                     help="γ for --env (default 0.95 gymnasium, 0.9 gridworld)")
    src.add_argument("--grid-size", type=_grid, default=(5, 5), help="gridworld HxW (default 5x5)")
    src.add_argument("--num-features", type=_positive_int, default=4,
                     help="gridworld colour features (default 4)")
    model = fit.add_argument_group("model")
    model.add_argument("--likelihood", type=_likelihoods, default=None,
                       help="comma-separated evidence models: boltzmann, maxent, bradley-terry "
                            "(default: boltzmann, plus bradley-terry when there are preferences)")
    model.add_argument("--horizon", type=_positive_int, default=None,
                       help="finite horizon T of the maxent likelihood (default: discounted)")
    model.add_argument("--delta", type=_nonnegative_float, default=None,
                       help="indifference margin δ of weak preferences (default 0, or 1 when "
                            "the preferences include 'equal' answers)")
    model.add_argument("--q", choices=("soft", "hard"), default="soft",
                       help="Q-values of the Boltzmann demonstrator (default soft; hard suits --sampler mh)")
    model.add_argument("--beta", type=_beta_arg, action="append", default=None,
                       help="rationality β: a number (fixed, default 1) or a prior such as "
                            "lognormal:0,1 (needs a sphere prior); SOURCE=SPEC sets one "
                            "source's β (e.g. --beta bradley-terry=lognormal:0,1); repeatable")
    model.add_argument("--prior", choices=PRIOR_CHOICES, default="gaussian",
                       help="prior over reward weights (default gaussian)")
    model.add_argument("--prior-scale", type=_positive_float, default=1.0,
                       help="scale of the gaussian/laplace prior (default 1)")
    inf = fit.add_argument_group("inference")
    inf.add_argument("--sampler", choices=SAMPLERS, default="nuts", help="default nuts")
    inf.add_argument("--num-samples", type=_positive_int, default=1000, help="draws per chain")
    inf.add_argument("--num-warmup", type=_nonnegative_int, default=None,
                     help="warm-up iterations per chain (default 1000; mh: 20000)")
    inf.add_argument("--thinning", type=_positive_int, default=None,
                     help="keep every k-th draw (default 1; mh: 30, i.e. 30 steps per kept draw)")
    inf.add_argument("--num-chains", type=_positive_int, default=4, help="chains (MAP: restarts)")
    inf.add_argument("--seed", type=_nonnegative_int, default=0)
    out = fit.add_argument_group("output")
    out.add_argument("--out", required=True, help="output folder (must be empty unless --force)")
    out.add_argument("--force", action="store_true", help="replace the results in a non-empty --out")
    out.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    from bayesirl.app.query import add_query_parser

    add_query_parser(sub, _Parser)
    from bayesirl.app.report import add_report_parser

    add_report_parser(sub)
    return parser


def _check_out(path: str, force: bool) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise CLIError(f"--out: {path} exists and is not a folder")
    if os.path.isdir(path) and os.listdir(path) and not force:
        raise CLIError(f"--out: {path} is not empty; choose another folder or pass --force")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user error)."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "fit":
            _check_fit_args(args)
            _check_out(args.out, args.force)
            # Parallel chains on CPU need host devices configured before JAX starts.
            import numpyro

            numpyro.set_host_device_count(max(args.num_chains, 1))
            return _run_fit(args)
        if args.command == "report":
            from bayesirl.app.report import run_report

            return run_report(args)
        if args.command == "query":
            from bayesirl.app.query import run_query

            return run_query(args)
    except CLIError as err:
        print(f"bayesirl: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, FileNotFoundError, ImportError, OSError) as err:
        print(f"bayesirl: error: {err}", file=sys.stderr)
        return 2
    return 0


def _check_fit_args(args) -> None:
    if args.env and args.mdp:
        raise CLIError("give either --env or --mdp, not both")
    if not args.env and not args.mdp:
        raise CLIError("give --env, or --mdp with --demos and/or --preferences")
    if args.mdp and not (args.demos or args.preferences):
        raise CLIError("--mdp needs --demos and/or --preferences")
    if args.env and args.demos:
        raise CLIError("--demos goes with --mdp; with --env demonstrations are simulated "
                       "(--num-demos)")
    if not args.env:
        args.num_demos = 0 if not args.demos else None
        if args.num_preferences:
            raise CLIError("--num-preferences needs --env (to label rollouts by the true return)")
    has_demos = bool(args.demos) or (args.env and args.num_demos > 0)
    has_prefs = bool(args.preferences) or (args.env and args.num_preferences > 0)
    if args.likelihood is None:
        args.likelihood = (("boltzmann",) if has_demos else ()) + (
            ("bradley-terry",) if has_prefs else ())
    if not args.likelihood:
        raise CLIError("no evidence: give demonstrations (--num-demos > 0 or --demos) or "
                       "preferences (--num-preferences > 0 or --preferences)")
    needs_demos = {"boltzmann", "maxent"} & set(args.likelihood)
    if needs_demos and not has_demos:
        raise CLIError(f"--likelihood {','.join(sorted(needs_demos))} needs demonstrations "
                       "(--num-demos > 0 or --demos)")
    if "bradley-terry" in args.likelihood and not has_prefs:
        raise CLIError("--likelihood bradley-terry needs preferences (--num-preferences > 0 "
                       "or --preferences)")
    if args.horizon is not None and "maxent" not in args.likelihood:
        raise CLIError("--horizon applies to --likelihood maxent only")
    betas = {}
    for source, spec in args.beta or [(None, 1.0)]:
        for src in ([source] if source else args.likelihood):
            if source and src not in args.likelihood:
                raise CLIError(f"--beta {source}=...: {source} is not among --likelihood "
                               f"{','.join(args.likelihood)}")
            betas[src] = spec
    args.betas = {src: betas.get(src, 1.0) for src in args.likelihood}
    learned = [src for src, b in args.betas.items() if isinstance(b, tuple)]
    if learned and len(learned) == len(args.likelihood) and args.prior not in (
            "l1-sphere", "l2-sphere"):
        raise CLIError("--beta: a prior on β needs --prior l1-sphere or l2-sphere "
                       "(the likelihood depends on β·w only)")
    mh = args.sampler == "mh"
    if args.num_warmup is None:
        args.num_warmup = MH_DEFAULT_WARMUP if mh else 1000
    if args.thinning is None:
        args.thinning = MH_DEFAULT_THINNING if mh else 1
    if args.sampler == "nuts" and args.q == "hard" and "boltzmann" in args.likelihood:
        print("bayesirl: warning: hard-max Q is piecewise linear in the reward; NUTS may report "
              "divergences (prefer --q soft or --sampler mh)", file=sys.stderr)


def _beta_value(beta):
    if not isinstance(beta, tuple):
        return beta
    import numpyro.distributions as dist

    name, p = beta
    return {
        "lognormal": lambda: dist.LogNormal(p[0], p[1]),
        "gamma": lambda: dist.Gamma(p[0], p[1]),
        "halfnormal": lambda: dist.HalfNormal(p[0]),
        "exponential": lambda: dist.Exponential(p[0]),
    }[name]()


def _run_fit(args) -> int:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from bayesirl import _arviz
    from bayesirl.data.demos import load_demonstrations, sample_demonstrations
    from bayesirl.data.envs import make_environment
    from bayesirl.solvers.evaluation import expected_value_difference, expected_return, success_probability
    from bayesirl.inference import fit_evidence
    from bayesirl.inference.fit import default_progress_bar
    from bayesirl.data.mdp import load_mdp, reward_from_weights
    from bayesirl.data.preferences import load_preferences, synthetic_preferences
    from bayesirl.solvers import value_iteration

    t_start = time.perf_counter()
    env, demos, prefs = None, None, None
    if args.env:
        kwargs = {}
        if args.env == "gridworld":
            kwargs = dict(height=args.grid_size[0], width=args.grid_size[1],
                          num_features=args.num_features)
        try:
            env = make_environment(args.env, seed=args.seed, discount=args.discount, **kwargs)
        except ValueError as err:
            raise CLIError(f"--env: {err}") from None
        mdp = env.mdp
        expert = value_iteration(mdp, env.true_reward)
        if args.num_demos > 0:
            demos = sample_demonstrations(jax.random.PRNGKey(args.seed + 1), mdp, expert.policy,
                                          args.num_demos, env.max_episode_steps)
        if args.num_preferences > 0:
            prefs = synthetic_preferences(jax.random.PRNGKey(args.seed + 2), mdp, env.true_reward,
                                          expert.policy, args.num_preferences,
                                          env.max_episode_steps)
    else:
        try:
            mdp = load_mdp(args.mdp)
        except (ValueError, FileNotFoundError) as err:
            raise CLIError(f"--mdp: {err}") from None
        if args.demos:
            try:
                demos = load_demonstrations(args.demos, mdp)
            except (ValueError, TypeError, FileNotFoundError) as err:
                raise CLIError(f"--demos: {err}") from None
    if args.preferences:
        try:
            prefs = load_preferences(args.preferences, mdp)
        except (ValueError, TypeError, FileNotFoundError) as err:
            raise CLIError(f"--preferences: {err}") from None
    if args.delta is None:
        has_equal = prefs is not None and bool(np.any(np.asarray(prefs[1].label) == 2))
        args.delta = 1.0 if has_equal else 0.0
    if args.horizon is not None and demos is not None and demos.states.shape[1] > args.horizon:
        raise CLIError(f"--horizon: demonstrations have up to {demos.states.shape[1]} steps, "
                       f"more than {args.horizon}")

    progress = default_progress_bar() and not args.quiet
    idata = fit_evidence(
        mdp, likelihoods=args.likelihood, demos=demos, preferences=prefs, method=args.sampler,
        prior=args.prior, prior_scale=args.prior_scale,
        betas={src: _beta_value(b) for src, b in args.betas.items()}, q=args.q,
        maxent_horizon=args.horizon, delta=args.delta, num_samples=args.num_samples,
        num_warmup=args.num_warmup, num_chains=args.num_chains, thinning=args.thinning,
        seed=args.seed, progress_bar=progress,
    )
    betas = [v for v in idata.posterior.data_vars if v == "beta" or v.startswith("beta_")]
    table = _arviz.summary(idata, var_names=["reward_weights"] + betas)
    mean_w = jnp.asarray(idata.posterior["reward_weights"].mean(("chain", "draw")).values,
                         mdp.features.dtype)
    learned = value_iteration(mdp, reward_from_weights(mdp, mean_w))
    policy = np.asarray(jnp.argmax(learned.policy, axis=-1)).tolist()
    summary = {
        "settings": _jsonable(vars(args)),
        "mdp": {"num_states": mdp.num_states, "num_actions": mdp.num_actions,
                "num_features": mdp.num_features, "discount": float(mdp.discount),
                "num_terminal_states": int(np.asarray(mdp.terminal).sum()),
                "max_episode_steps": int(env.max_episode_steps) if env is not None else max(
                    [int(d.states.shape[1]) for d in (demos, prefs and prefs[0]) if d is not None])},
        "evidence": {
            "likelihoods": list(args.likelihood),
            "num_demonstrations": 0 if demos is None else demos.num_trajectories,
            "num_demonstration_steps": 0 if demos is None else int(np.asarray(demos.mask).sum()),
            "num_comparisons": 0 if prefs is None else prefs[1].num_comparisons,
        },
        "diagnostics": _diagnostics(idata, table),
        "weights": _weights_table(table),
        "policy": policy,
        "policy_note": "optimal (hard-max) policy of the posterior-mean reward, one action per state",
    }
    if env is not None:
        expert_pi = value_iteration(mdp, env.true_reward).policy
        horizon = env.max_episode_steps
        ev = {
            "expected_value_difference": float(
                expected_value_difference(mdp, env.true_reward, learned.policy)),
            "expert_return": float(expected_return(mdp, env.true_reward, expert_pi)),
            "learned_return": float(expected_return(mdp, env.true_reward, learned.policy)),
        }
        if bool(np.asarray(env.success_states).any()):
            se = float(success_probability(mdp, expert_pi, env.success_states, horizon))
            sl = float(success_probability(mdp, learned.policy, env.success_states, horizon))
            ev.update(expert_success_rate=se, learned_success_rate=sl,
                      success_ratio=(sl / se if se > 0 else None), success_horizon=horizon)
        summary["evaluation"] = ev
    summary["timings"] = {"sampling_s": float(idata.posterior.attrs["sampling_time_s"]),
                          "total_s": time.perf_counter() - t_start}
    _write_outputs(args.out, args.force, mdp, demos, prefs, idata, summary)
    if not args.quiet:
        _print_report(table, summary)
    return 0


def _weights_table(table) -> list[dict]:
    rows = []
    for name, row in table.iterrows():
        rows.append({"name": str(name), **{k: _num(v) for k, v in row.items()}})
    return rows


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _diagnostics(idata, table) -> dict:
    import numpy as np

    stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    diag = {
        "method": idata.posterior.attrs.get("method"),
        "num_chains": int(idata.posterior.sizes["chain"]),
        "num_draws": int(idata.posterior.sizes["draw"]),
        "max_r_hat": _num(np.nanmax(table["r_hat"])) if table["r_hat"].notna().any() else None,
        "min_ess_bulk": _num(np.nanmin(table["ess_bulk"])) if table["ess_bulk"].notna().any() else None,
        "min_ess_tail": _num(np.nanmin(table["ess_tail"])) if table["ess_tail"].notna().any() else None,
    }
    if stats is not None and "diverging" in stats:
        diag["divergences"] = int(stats["diverging"].sum())
    for key in ("acceptance_rate", "accept_prob"):
        if stats is not None and key in stats:
            diag["mean_accept_prob"] = float(stats[key].mean())
    for key in ("map_log_density", "map_converged", "map_iterations"):
        if key in idata.posterior.attrs:
            diag[key] = _num(idata.posterior.attrs[key])
    return diag


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _write_outputs(out, force, mdp, demos, prefs, idata, summary) -> list[str]:
    from bayesirl import _arviz
    from bayesirl.data.demos import save_demonstrations
    from bayesirl.data.mdp import save_mdp
    from bayesirl.data.preferences import save_preferences

    parent = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".bayesirl-", dir=parent)
    try:
        save_mdp(os.path.join(staging, "mdp.npz"), mdp)
        if demos is not None:
            save_demonstrations(os.path.join(staging, "demos.json"), demos, mdp)
        if prefs is not None:
            save_preferences(os.path.join(staging, "preferences.json"), *prefs)
        _arviz.to_netcdf(idata, os.path.join(staging, "posterior.nc"))
        with open(os.path.join(staging, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        os.makedirs(out, exist_ok=True)
        _check_out(out, force)  # nothing appeared meanwhile
        written = sorted(os.listdir(staging))
        for name in written:
            os.replace(os.path.join(staging, name), os.path.join(out, name))
        summary["files"] = written
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _print_report(table, summary) -> None:
    cols = ["mean", "sd", "hdi_3%", "hdi_97%", "r_hat", "ess_bulk"]
    print("Posterior over reward weights (94% HDI):")
    print(table[cols].to_string(float_format=lambda x: f"{x:.3f}"))
    d = summary["diagnostics"]
    print()
    print("Diagnostics: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in d.items()))
    if "evaluation" in summary:
        print("Evaluation under the true reward: " + ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in summary["evaluation"].items()))
    t = summary["timings"]
    print(f"Time: sampling {t['sampling_s']:.1f} s, total {t['total_s']:.1f} s")
    print(f"Wrote {', '.join(summary.get('files', []))} to {summary['settings']['out']}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
