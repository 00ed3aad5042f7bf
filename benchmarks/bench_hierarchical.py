#!/usr/bin/env python
"""Effective samples per second of the hierarchical choice posterior against plain NumPyro.

Run from the repository root::

    python benchmarks/bench_hierarchical.py                 # Dutch train panel + 2000 people
    python benchmarks/bench_hierarchical.py --quick         # smoke run (~6 min on 2 shared cores)
    python benchmarks/bench_hierarchical.py --json out.json

The posterior: population mean weights w̄ ~ N(0, 1)^F (``reward_weights``), every person's
weights ``w_i = w̄ + diag(τ) L z_i`` with τ_f ~ HalfNormal(1) (``person_scales``),
L ~ LKJCholesky(F, 2) and z_i ~ N(0, I) (non-centred), all F weights random, and each choice
a multinomial logit of ``x·w_i`` (the mixed logit of Revelt & Train 1998 as a hierarchical
Bayes logit, Allenby & Rossi 1998). Two implementations of it, sampled by NUTS with the same
chains, warm-up, kept draws, initialisation (uniform in [−1, 1] unconstrained), step-size
and diagonal mass-matrix adaptation, target acceptance 0.8, maximum tree depth 10:

* ``bayesirl``: ``fit_reward(Evidence(choice=choice_evidence(choices)), None, method="nuts",
  hierarchy=Hierarchy(range(F)))`` (one compiled program per shape; choices only, so the
  ``choice`` source scores them by its categorical path, ``β u_chosen − logsumexp β u``,
  not Plackett–Luce);
* ``numpyro``: the same model written out in this file as a user would (``numpyro.infer.MCMC``
  with ``NUTS``, ``Categorical(logits=x·w_i)``).

Per posterior: the wall time of the fit (cold: the persistent compilation cache is off), JAX's
own compile time within it (trace + lower + XLA compile, ``jax.monitoring``; numpyro 0.22
compiles each sequential chain again), the sampling time (wall − compile), the smallest bulk
ESS (rank-normalised, all chains) over the population parameters w̄ (F) and τ (F), the ESS per
second of sampling and per second of wall time, and bayesirl ÷ numpyro for each. A ``check:``
line gives the largest difference of the two posterior means of w̄ and τ in Monte Carlo
standard errors. Data: the Dutch railways' panel (:func:`bayesirl.datasets.load_dutch_train`:
2929 binary choices of 235 people, F = 4) and a synthetic panel (``--people`` × ``--choices``
choice sets of K = 3 options with standard-normal features, F = 4, truth w̄ = (−1, −0.5, 0.5,
1), τ = 0.5, L = I) to show the scaling with the number of people.

A third row, Biogeme's Bayesian estimation (``BIOGEME.bayesian_estimation`` on a panel
database, Biogeme >= 3.3: the model is built in PyMC and, by Biogeme's default sampling strategy
"automatic" on one CPU device, sampled by NumPyro's NUTS with vectorized chains), runs when
``--biogeme-python`` names an interpreter that imports biogeme; otherwise one line says why it
is absent. Installing biogeme into bayesirl's environment would replace its pandas with an
older release, so give it an environment of its own (biogeme 3.3.2 also needs
``tomlkit<0.14``). Its model is the same but with INDEPENDENT random weights (Biogeme has no
LKJ correlation): w̄_f ~ N(0, 1) (``Beta(..., sigma_prior=1)``), τ_f ~ HalfNormal(1), one
standard-normal draw per person and feature (``Draws(...).set_draw_per_individual()``), target
acceptance 0.8. Its ``wall s`` is the whole subprocess (imports, PyMC model, compilation,
sampling), its ``sample s`` the ``bayesian_estimation`` call (compilation included).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Importing the harness first pins numpy's BLAS to ONE thread before numpy is imported.
import _harness  # noqa: E402, I001

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Both implementations compile cold: bayesirl turns JAX's persistent compilation cache on at
# import, which would serve either one from earlier runs.
os.environ.setdefault("BAYESIRL_NO_COMPILE_CACHE", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

# JAX's compile durations are subtracted from wall times: with asynchronous CPU dispatch the
# sampling loop would overlap the compiles that follow it (see benchmarks/README.md).
jax.config.update("jax_cpu_enable_async_dispatch", False)

import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from numpyro.infer import MCMC, NUTS, init_to_uniform  # noqa: E402

from bayesirl import _arviz  # noqa: E402
from bayesirl.data.choices import make_choice_sets  # noqa: E402
from bayesirl.datasets import load_dutch_train  # noqa: E402
from bayesirl.inference.fit import fit_reward  # noqa: E402
from bayesirl.likelihoods.luce import Hierarchy, choice_evidence  # noqa: E402
from bayesirl.models import Evidence  # noqa: E402

POPULATION = ("reward_weights", "person_scales")
HIERARCHY_SCALE, LKJ_CONCENTRATION, PRIOR_SCALE = 1.0, 2.0, 1.0
SYNTHETIC_WEIGHTS, SYNTHETIC_SCALE, SYNTHETIC_OPTIONS = (-1.0, -0.5, 0.5, 1.0), 0.5, 3


def synthetic_panel(num_people, choices_per_person, seed):
    """ChoiceSets of people with their own weights w̄ + τ z_i (all options available)."""
    rng = np.random.default_rng(seed)
    F, K = len(SYNTHETIC_WEIGHTS), SYNTHETIC_OPTIONS
    N = num_people * choices_per_person
    person = np.repeat(np.arange(num_people), choices_per_person)
    weights = np.asarray(SYNTHETIC_WEIGHTS) + SYNTHETIC_SCALE * rng.normal(size=(num_people, F))
    features = rng.normal(size=(N, K, F))
    utilities = np.einsum("nkf,nf->nk", features, weights[person])
    chosen = np.argmax(utilities + rng.gumbel(size=(N, K)), axis=1)
    return make_choice_sets(features, chosen, None, person)


def plain_model(features, person, num_persons, chosen=None):
    """The hierarchical logit written directly in NumPyro (non-centred, as a user would)."""
    F = features.shape[-1]
    w = numpyro.sample("reward_weights", dist.Normal(0.0, PRIOR_SCALE).expand([F]).to_event(1))
    tau = numpyro.sample("person_scales", dist.HalfNormal(HIERARCHY_SCALE).expand([F]).to_event(1))
    chol = numpyro.sample("person_correlation_cholesky", dist.LKJCholesky(F, LKJ_CONCENTRATION))
    with numpyro.plate("persons", num_persons):
        z = numpyro.sample("person_z", dist.Normal(0.0, 1.0).expand([F]).to_event(1))
    person_w = w + z @ (tau[:, None] * chol).T                      # (I, F)
    utilities = jnp.einsum("nkf,nf->nk", features, person_w[person])
    with numpyro.plate("choice_sets", features.shape[0]):
        numpyro.sample("chosen", dist.Categorical(logits=utilities), obs=chosen)


def population_ess(samples):
    """Smallest bulk ESS over the components of w̄ and τ; samples {site: (C, D, F)}."""
    return min(_harness.bulk_ess(samples[site][..., f]) for site in POPULATION
               for f in range(samples[site].shape[-1]))


def summary(samples):
    """{site: (means (F,), Monte Carlo standard errors (F,))} of w̄ and τ."""
    out = {}
    for site in POPULATION:
        x = np.asarray(samples[site], np.float64)
        ess = np.array([_harness.bulk_ess(x[..., f]) for f in range(x.shape[-1])])
        out[site] = (x.mean(axis=(0, 1)), x.std(axis=(0, 1)) / np.sqrt(ess))
    return out


def run_bayesirl(choices, settings, clock):
    F = choices.num_features
    evidence = Evidence(choice=choice_evidence(choices))
    with warnings.catch_warnings(), clock.measure() as m:
        warnings.simplefilter("ignore")
        idata = fit_reward(evidence, None, method="nuts", hierarchy=Hierarchy(tuple(range(F))),
                           prior="gaussian", prior_scale=PRIOR_SCALE,
                           num_samples=settings["num_samples"],
                           num_warmup=settings["num_warmup"], num_chains=settings["num_chains"],
                           chain_method="sequential", seed=settings["seed"],
                           predictive_groups=False, warn=False)
        samples = {s: np.asarray(idata.posterior[s].values) for s in POPULATION}
    stats = idata.sample_stats
    return samples, m, dict(divergences=int(stats["diverging"].values.sum()),
                            mean_steps=float(stats["n_steps"].values.mean())
                            if "n_steps" in stats else float("nan"))


def run_numpyro(choices, settings, clock):
    features = jnp.asarray(choices.features)
    person = jnp.asarray(choices.person)
    num_persons = int(np.asarray(choices.person).max()) + 1
    kernel = NUTS(plain_model, init_strategy=init_to_uniform(radius=1.0))
    mcmc = MCMC(kernel, num_warmup=settings["num_warmup"], num_samples=settings["num_samples"],
                num_chains=settings["num_chains"], chain_method="sequential",
                progress_bar=False)
    with warnings.catch_warnings(), clock.measure() as m:
        warnings.simplefilter("ignore")
        mcmc.run(jax.random.PRNGKey(settings["seed"]), features, person, num_persons,
                 chosen=jnp.asarray(choices.chosen), extra_fields=("diverging", "num_steps"))
        samples = {s: np.asarray(v) for s, v in
                   mcmc.get_samples(group_by_chain=True).items() if s in POPULATION}
    fields = mcmc.get_extra_fields()
    return samples, m, dict(divergences=int(np.asarray(fields["diverging"]).sum()),
                            mean_steps=float(np.asarray(fields["num_steps"]).mean()))


BIOGEME_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import pandas as pd
import pymc as pm
from biogeme.biogeme import BIOGEME
from biogeme.database import Database
from biogeme.expressions import Beta, DistributedParameter, Draws, Variable
from biogeme.models import loglogit
from biogeme.version import __version__
args = json.loads(sys.argv[1])
data = np.load(args["data"])
X, chosen, person = data["features"], data["chosen"], data["person"]
N, K, F = X.shape
columns = {f"x{k}_{f}": X[:, k, f] for k in range(K) for f in range(F)}
database = Database("panel", pd.DataFrame(dict(columns, choice=chosen + 1, person=person)))
database.panel("person")
weights = []
for f in range(F):  # w_f + tau_f z_f, z_f ~ N(0, 1) per person; N(0, 1) and HalfNormal(1) priors
    mean = Beta(f"w{f}", 0.0, None, None, 0, sigma_prior=args["prior_scale"])
    scale = Beta(f"tau{f}", 0.5, 0.0, None, 0,
                 prior=lambda name, **_: pm.HalfNormal(name, sigma=args["hierarchy_scale"]))
    z = Draws(f"z{f}", "NORMAL")
    z.set_draw_per_individual()
    weights.append(DistributedParameter(f"w{f}_person", mean + scale * z))
utilities = {k + 1: sum(weights[f] * Variable(f"x{k}_{f}") for f in range(F)) for k in range(K)}
biogeme = BIOGEME(database, loglogit(utilities, None, Variable("choice")),
                  bayesian_draws=args["num_samples"], warmup=args["num_warmup"],
                  chains=args["num_chains"], target_accept=0.8, seed=args["seed"] + 1,
                  sample_from_prior=False, calculate_likelihood=False, calculate_waic=False,
                  calculate_loo=False, generate_html=False, generate_yaml=False,
                  generate_netcdf=False, save_iterations=False)
biogeme.model_name = "bench_hierarchical"
start = time.perf_counter()
results = biogeme.bayesian_estimation()
wall = time.perf_counter() - start
posterior = results.idata.posterior
names = [f"w{f}" for f in range(F)] + [f"tau{f}" for f in range(F)]
print(json.dumps({"wall_s": wall, "version": __version__,
                  "draws": {n: np.asarray(posterior[n].values).tolist() for n in names}}))
"""


def run_biogeme(choices, settings, python, timeout_s, workdir):
    """Biogeme's Bayesian estimation in another interpreter, or ``(None, reason)``."""
    if not python:
        return None, ("not run: no --biogeme-python (pip install biogeme would replace "
                      "bayesirl's pandas with an older release; install it in another "
                      "environment and pass its interpreter)")
    probe = subprocess.run([python, "-c", "from biogeme.version import __version__; "
                            "print(__version__)"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None, (f"not available: {python} cannot import biogeme "
                      f"({probe.stderr.strip()[-200:]})")
    path = os.path.join(workdir, "bench_hierarchical_panel.npz")
    np.savez(path, features=np.asarray(choices.features), chosen=np.asarray(choices.chosen),
             person=np.asarray(choices.person))
    script_args = json.dumps(dict(settings, data=path, prior_scale=PRIOR_SCALE,
                                  hierarchy_scale=HIERARCHY_SCALE))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([python, "-c", BIOGEME_SCRIPT, script_args], capture_output=True,
                              text=True, timeout=timeout_s, cwd=workdir)
    except subprocess.TimeoutExpired:
        return None, f"stopped after {timeout_s:.0f} s (--biogeme-timeout)"
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return None, f"failed: {proc.stderr.strip()[-400:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    F = choices.num_features
    draws = out["draws"]
    samples = {"reward_weights": np.stack([np.asarray(draws[f"w{f}"]) for f in range(F)], -1),
               "person_scales": np.stack([np.asarray(draws[f"tau{f}"]) for f in range(F)], -1)}
    return dict(samples=samples, wall=wall, sampling=out["wall_s"], version=out["version"]), None


def measure(name, runner, choices, settings, clock):
    samples, m, extra = runner(choices, settings, clock)
    sampling = max(m.wall - m.compile, 1e-9)
    ess = population_ess(samples)
    row = dict(name=name, wall_s=m.wall, compile_s=m.compile, sampling_s=sampling,
               min_bulk_ess=ess, ess_per_s=ess / sampling, ess_per_wall_s=ess / m.wall, **extra)
    print(f"  [{name}: {m.wall:.0f} s, min ESS {ess:.0f}]", flush=True)
    return row, samples


def compare_means(a, b):
    """Largest |mean_a − mean_b| / sqrt(mcse_a² + mcse_b²) over w̄ and τ."""
    sa, sb = summary(a), summary(b)
    return max(float(np.max(np.abs(sa[s][0] - sb[s][0]) / np.hypot(sa[s][1], sb[s][1])))
               for s in POPULATION)


def bench_dataset(label, choices, settings, clock, args):
    I = int(np.asarray(choices.person).max()) + 1
    print(f"\n{label}: N = {choices.num_choices} choice sets, I = {I} people, "
          f"K = {choices.num_options}, F = {choices.num_features} (all random); "
          f"{settings['num_chains']} chains x ({settings['num_warmup']} warm-up + "
          f"{settings['num_samples']} draws), sequential", flush=True)
    rows = []
    ours, ours_samples = measure("bayesirl", run_bayesirl, choices, settings, clock)
    plain, plain_samples = measure("numpyro", run_numpyro, choices, settings, clock)
    rows += [ours, plain]
    with tempfile.TemporaryDirectory() as workdir:  # Biogeme writes files where it runs
        biogeme, why = run_biogeme(choices, settings, args.biogeme_python,
                                   args.biogeme_timeout, workdir)
    if biogeme is not None:
        ess = population_ess(biogeme["samples"])
        rows.append(dict(name=f"biogeme {biogeme['version']}", wall_s=biogeme["wall"],
                         compile_s=float("nan"), sampling_s=biogeme["sampling"],
                         min_bulk_ess=ess, ess_per_s=ess / biogeme["sampling"],
                         ess_per_wall_s=ess / biogeme["wall"], divergences=-1,
                         mean_steps=float("nan")))
    hdr = (f"{'sampler':>16s} {'wall s':>8s} {'compile s':>9s} {'sample s':>9s} "
           f"{'min ESS':>8s} {'ESS/s':>8s} {'ESS/wall s':>10s} {'ours/this':>9s} "
           f"{'ours/this wall':>14s} {'div':>5s} {'steps':>6s}")
    _harness.print_table_header(hdr)
    for r in rows:
        r["ours_over_this"] = ours["ess_per_s"] / r["ess_per_s"]
        r["ours_over_this_wall"] = ours["ess_per_wall_s"] / r["ess_per_wall_s"]
        print(f"{r['name']:>16s} {r['wall_s']:8.1f} {r['compile_s']:9.1f} "
              f"{r['sampling_s']:9.1f} {r['min_bulk_ess']:8.0f} {r['ess_per_s']:8.2f} "
              f"{r['ess_per_wall_s']:10.2f} {r['ours_over_this']:9.2f} "
              f"{r['ours_over_this_wall']:14.2f} {r['divergences']:5d} {r['mean_steps']:6.1f}")
    if why:
        print(f"biogeme: {why}")
    z = compare_means(ours_samples, plain_samples)
    print(f"check: posterior means of w̄ and τ, bayesirl vs numpyro: largest difference "
          f"{z:.2f} Monte Carlo standard errors")
    means = summary(ours_samples)
    print("bayesirl means: " + "; ".join(
        f"{s} " + ", ".join(f"{v:.3f}" for v in means[s][0]) for s in POPULATION))
    return dict(label=label, num_choices=choices.num_choices, num_persons=I, rows=rows,
                biogeme=why or "ran", max_mean_difference_mcse=z,
                means={s: means[s][0].tolist() for s in POPULATION})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-samples", type=int, default=500)
    parser.add_argument("--num-warmup", type=int, default=500)
    parser.add_argument("--num-chains", type=int, default=4)
    parser.add_argument("--people", type=int, default=2000, help="people of the synthetic panel")
    parser.add_argument("--choices", type=int, default=5, help="choice sets per person there")
    parser.add_argument("--datasets", default="dutch,synthetic",
                        help="comma-separated: dutch, synthetic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--biogeme-python", default=None,
                        help="a Python interpreter with biogeme installed (third row)")
    parser.add_argument("--biogeme-timeout", type=float, default=1800.0)
    parser.add_argument("--quick", action="store_true",
                        help="2 chains x (150 + 150), synthetic panel of 200 people")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.quick:
        args.num_samples, args.num_warmup, args.num_chains, args.people = 150, 150, 2, 200
    datasets = [d for d in args.datasets.split(",") if d]
    unknown = sorted(set(datasets) - {"dutch", "synthetic"})
    if unknown:
        parser.error(f"--datasets: expected dutch and/or synthetic, got {unknown}")
    start = time.perf_counter()
    env = _harness.environment_info(async_dispatch=True)
    _harness.print_header("bench_hierarchical: hierarchical choice posterior, bayesirl vs "
                          "plain NumPyro NUTS", env)
    settings = dict(num_samples=args.num_samples, num_warmup=args.num_warmup,
                    num_chains=args.num_chains, seed=args.seed)
    clock = _harness.CompileClock()
    results = {"environment": env, "settings": vars(args), "datasets": []}
    for name in datasets:
        if name == "dutch":
            choices, label = load_dutch_train().choices, "Dutch train panel"
        else:
            choices = synthetic_panel(args.people, args.choices, args.seed)
            label = f"synthetic panel ({args.people} people x {args.choices} choices)"
        results["datasets"].append(bench_dataset(label, choices, settings, clock, args))
    clock.close()
    print("\nmin ESS: smallest bulk ESS over w̄ and τ; ESS/s: per second of sampling (wall − "
          "JAX compile time); ours/this: bayesirl's ESS/s ÷ the row's; div: divergent "
          "transitions; steps: mean leapfrog steps per draw")
    _harness.finish(results, start, args.json, indent=1, default=float)


if __name__ == "__main__":
    main()
