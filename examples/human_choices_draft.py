"""Choices by real people: multinomial, mixed and hierarchical logit on two survey data sets.

A draft check of :mod:`bayesirl.likelihoods.choice` and :mod:`bayesirl.hierarchical` against
published estimates:

(a) Swissmetro multinomial logit (Biogeme's ``b01a_logit``): maximum likelihood by L-BFGS-B on
    the JAX log-likelihood, standard errors from the inverse Hessian (and the robust sandwich);
(b) the same model by NUTS with a very wide prior: posterior means and standard deviations
    against the maximum-likelihood estimates and Biogeme's standard errors;
(c) B_TIME ~ N(B_TIME, B_TIME_S) random. Biogeme's ``b05`` draws B_TIME once per *choice*
    (cross-sectional): (c1) its likelihood, integrating B_TIME numerically (to 1e-7 nats), by
    maximum likelihood, against Biogeme's ``b05b`` (integral) and ``b05a`` (Monte Carlo);
    (c2) the same model as a hierarchy with one latent B_TIME per choice (NUTS, as Biogeme's
    Bayesian ``b05``); (c3) the panel version, one B_TIME per respondent shared by their 9
    choices, by NUTS, against its quadrature maximum likelihood (no published value);
(d) Dutch train trips: one weight vector for everyone against a hierarchical model (all four
    weights random, LKJ correlation), compared by R-hat and PSIS-LOO (ArviZ).

Run: ``python examples/human_choices_draft.py`` (a few minutes per part on 2 CPU cores);
``--parts a,b`` for some parts; smaller ``--num-samples``/``--num-warmup`` for a quick run.

Published values: Biogeme 3.3.4 example results ``b01a_logit``, ``b05a_normal_mixture``,
``b05b_normal_mixture_integral`` (docs/source/examples/swissmetro/saved_results/*.yaml of the
Biogeme repository; standard errors computed here from the Hessian stored there, robust ones
match the published report) and the Bayesian ``b01a_logit``/``b05_normal_mixture`` reports
(docs/source/examples/bayesian_swissmetro/saved_html/); the mlogit vignette "The random
parameters (or mixed) logit model" for the Dutch train trips.
"""

import argparse
import functools
import os
import time


print = functools.partial(print, flush=True)  # noqa: A001 - progress shows in log files


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="a,b,c1,c3,d",
                   help="comma-separated parts to run: a, b, c1, c2, c3, d (c2, 6768 latent "
                        "variables, takes about half an hour on 2 cores)")
    p.add_argument("--num-chains", type=int, default=4)
    p.add_argument("--num-warmup", type=int, default=1000)
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--quadrature-nodes", type=int, default=801,
                   help="trapezoid nodes on [-9, 9] for the B_TIME integral")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


ARGS = parse_args()
# Parallel chains on CPU need one host device per chain, set before JAX starts.
import numpyro  # noqa: E402

numpyro.set_host_device_count(ARGS.num_chains)
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from numpyro.infer import MCMC, NUTS, log_likelihood  # noqa: E402

from bayesirl import _arviz  # noqa: E402
from bayesirl.data.choices import make_choice_sets  # noqa: E402
from bayesirl.datasets import load_dutch_train, load_swissmetro  # noqa: E402
from bayesirl.hierarchical import choice_model, hierarchical_choice_model  # noqa: E402
from bayesirl.likelihoods.choice import choice_log_probabilities, linear_utilities  # noqa: E402

# --- published values ------------------------------------------------------------------------
NAMES = ("ASC_TRAIN", "ASC_CAR", "B_TIME", "B_COST")
#: Biogeme b01a_logit: estimates, final log-likelihood, SE = sqrt(diag(inv(-H))) of its stored
#: Hessian (= the 3.2.6 report's "Std err": 0.0549, 0.0432, 0.0569, 0.0518) and robust SE.
B01 = dict(estimate=(-0.7011872849436404, -0.15463267198926287, -1.2778589565196716,
                     -1.0837900371207714),
           loglik=-5331.252006916163, null_loglik=-6964.662979192191,
           se=(0.0548739, 0.0432355, 0.0568833, 0.0518302),
           robust_se=(0.0825620, 0.0581634, 0.1042544, 0.0682250))
#: Biogeme's Bayesian b01a_logit (NUTS, 4 × 2000 draws): posterior mean and std.
B01_BAYES = dict(mean=(-0.70, -0.153, -1.28, -1.08), sd=(0.0559, 0.0433, 0.0579, 0.052))
MIX_NAMES = ("ASC_TRAIN", "ASC_CAR", "B_TIME", "B_TIME_S", "B_COST")
#: Biogeme b05b_normal_mixture_integral (exact integral) and b05a (10 000 Monte Carlo draws).
B05B = dict(estimate=(-0.3959009752590908, 0.14282068945779475, -2.2783610724977708,
                      1.6750316452921232, -1.2881666205820543),
            loglik=-5213.725388729767, se=(0.0626337, 0.0517604, 0.1186851, 0.1175853, 0.0628498),
            robust_se=(0.0636741, 0.0517442, 0.1172339, 0.1023173, 0.0864190))
B05A = dict(estimate=(-0.4026421286359236, 0.1363202808789179, -2.256833276642435,
                      1.654339197707781, -1.2846226483353214),
            loglik=-5215.694234617809, se=(0.0634359, 0.0516319, 0.1190087, 0.1382976, 0.0630141))
#: Biogeme's Bayesian b05_normal_mixture (one latent B_TIME per choice; NUTS 4 × 2000).
B05_BAYES = dict(mean=(-0.40, 0.14, -2.28, 1.69, -1.29), sd=(0.0636, 0.0509, 0.118, 0.14, 0.063))
#: mlogit (Croissant) multinomial logit of the Dutch train trips, in this script's units
#: (price per euro = mlogit's coefficient × 2.20371², signs flipped: mlogit uses −x).
TRAIN_MNL = dict(estimate=(-0.06735804 * 2.20371 ** 2, -1.72055142, -0.32634094, -0.94572555),
                 se=(0.003393252 * 2.20371 ** 2, 0.160351702, 0.059489152, 0.064945464))


def line(*cols, width=12):
    return "".join(f"{c:>{width}}" if not isinstance(c, float) else f"{c:>{width}.4f}"
                   for c in cols)


def minimize(neg_log_lik, x0):
    """L-BFGS-B on a jitted value-and-grad; returns (x, value, inverse Hessian)."""
    vg = jax.jit(jax.value_and_grad(neg_log_lik))
    res = scipy.optimize.minimize(lambda x: tuple(np.asarray(v) for v in vg(jnp.asarray(x))),
                                  np.asarray(x0, float), jac=True, method="L-BFGS-B",
                                  options=dict(maxiter=5000, ftol=1e-15, gtol=1e-9))
    hess = np.asarray(jax.hessian(neg_log_lik)(jnp.asarray(res.x)))
    return res.x, float(res.fun), np.linalg.inv(hess), res


def run_nuts(model, seed, **kwargs):
    mcmc = MCMC(NUTS(model, target_accept_prob=0.9), num_warmup=ARGS.num_warmup,
                num_samples=ARGS.num_samples, num_chains=ARGS.num_chains,
                chain_method="parallel", progress_bar=False)
    start = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed), extra_fields=("diverging",), **kwargs)
    samples = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
    divergences = int(np.sum(mcmc.get_extra_fields()["diverging"]))
    return mcmc, samples, time.perf_counter() - start, divergences


def summarize(samples, names, site_columns):
    """Posterior mean, sd, R-hat and bulk ESS of named columns: (site, column index or None)."""
    rows = {}
    for name, (site, col) in zip(names, site_columns):
        x = np.asarray(samples[site])
        x = x[..., col] if col is not None else x
        rows[name] = dict(mean=float(x.mean()), sd=float(x.std()),
                          rhat=float(_arviz.rhat(x)), ess=float(_arviz.ess(x)))
    return rows


# --- (a), (b) Swissmetro multinomial logit ----------------------------------------------------

def part_a(sm):
    c = sm.choices

    def neg_log_lik(w):
        log_p = choice_log_probabilities(linear_utilities(w, c.features), c.available)
        return -jnp.sum(jnp.take_along_axis(log_p, c.chosen[:, None], axis=1))

    start = time.perf_counter()
    w, nll, cov, res = minimize(neg_log_lik, np.zeros(4))
    seconds = time.perf_counter() - start
    se = np.sqrt(np.diag(cov))
    # robust (sandwich) SE: cov · (Σ_n g_n g_nᵀ) · cov with per-choice score vectors g_n
    def one(w, x, a, k):
        return jax.nn.log_softmax(jnp.where(a, x @ w, -jnp.inf))[k]
    scores = np.asarray(jax.vmap(jax.grad(one), (None, 0, 0, 0))(
        jnp.asarray(w), c.features, c.available, c.chosen))
    robust = np.sqrt(np.diag(cov @ (scores.T @ scores) @ cov))
    print(f"(a) Swissmetro MNL maximum likelihood, N = {c.num_choices}: "
          f"{res.nit} L-BFGS-B iterations, {seconds:.2f} s")
    print(line("", "ours", "Biogeme", "diff", "SE", "Biogeme SE", "robust SE", "Biogeme rob"))
    for i, name in enumerate(NAMES):
        print(line(name, w[i], B01["estimate"][i], w[i] - B01["estimate"][i], se[i],
                   B01["se"][i], robust[i], B01["robust_se"][i]))
    print(f"    log-likelihood {-nll:.6f} (Biogeme {B01['loglik']:.6f}, diff "
          f"{-nll - B01['loglik']:.2e}); max |estimate diff| "
          f"{np.max(np.abs(w - B01['estimate'])):.2e}; max |SE / Biogeme SE − 1| "
          f"{np.max(np.abs(se / np.array(B01['se']) - 1)):.2e}")
    return w, se


def part_b(sm, w_ml, se_ml):
    mcmc, samples, seconds, div = run_nuts(choice_model, ARGS.seed, choices=sm.choices,
                                           prior_scale=100.0)
    rows = summarize(samples, NAMES, [("weights", i) for i in range(4)])
    print(f"(b) Swissmetro MNL by NUTS (prior N(0, 100²)), {ARGS.num_chains} × "
          f"{ARGS.num_samples} draws: {seconds:.1f} s, {div} divergences")
    print(line("", "mean", "ML", "|Δ|/SE", "sd", "Biogeme SE", "sd/SE − 1", "R-hat", "ESS",
               "Bayes mean", "Bayes sd"))
    for i, name in enumerate(NAMES):
        r = rows[name]
        print(line(name, r["mean"], w_ml[i], abs(r["mean"] - w_ml[i]) / se_ml[i], r["sd"],
                   B01["se"][i], r["sd"] / B01["se"][i] - 1, r["rhat"], r["ess"],
                   B01_BAYES["mean"][i], B01_BAYES["sd"][i]))


# --- (c) normal mixture: B_TIME random --------------------------------------------------------

def mixture_pieces(c):
    """Split features: fixed part (N, K, 3) for ASC_TRAIN, ASC_CAR, COST; TIME (N, K)."""
    return c.features[..., jnp.array([0, 1, 3])], c.features[..., 2]


def mixture_log_lik(theta, c, nodes, log_weights, num_persons=None):
    """log L of the normal mixture, B_TIME = b + s·ε integrated on quadrature nodes.

    theta = (ASC_TRAIN, ASC_CAR, B_TIME, log B_TIME_S, B_COST). With ``num_persons`` the
    integral is per person over the product of their choices (panel), else per choice.
    """
    fixed, tt = mixture_pieces(c)
    w_fixed = jnp.stack([theta[0], theta[1], theta[4]])
    b_time = theta[2] + jnp.exp(theta[3]) * nodes                    # (Q,)
    v = (fixed @ w_fixed)[None] + b_time[:, None, None] * tt[None]   # (Q, N, K)
    log_p = jax.nn.log_softmax(jnp.where(c.available[None], v, -jnp.inf), axis=-1)
    log_p = jnp.take_along_axis(log_p, c.chosen[None, :, None], axis=-1)[..., 0]  # (Q, N)
    if num_persons is not None:
        log_p = jax.ops.segment_sum(log_p.T, c.person, num_persons).T  # (Q, I)
    return jnp.sum(jax.scipy.special.logsumexp(log_p + log_weights[:, None], axis=0))


def quadrature(num_nodes, half_width=9.0):
    """Trapezoid nodes on [−9, 9] with log weights for E[f(ε)], ε ~ N(0, 1).

    Gauss–Hermite converges slowly here: some choice sets differ by 14 time units, so the
    choice probability is nearly a step in ε. The trapezoid rule converges geometrically for
    such analytic integrands; 401 nodes reproduce 801 to 1e-7 nats for the cross-sectional
    likelihood, 801 are needed for the panel one.
    """
    nodes = np.linspace(-half_width, half_width, num_nodes)
    weights = (nodes[1] - nodes[0]) * np.exp(-nodes ** 2 / 2) / np.sqrt(2 * np.pi)
    return jnp.asarray(nodes), jnp.asarray(np.log(weights))


def mixture_ml(c, nodes, log_weights, num_persons=None, x0=(-0.4, 0.1, -2.0, 0.3, -1.3)):
    start = time.perf_counter()
    theta, nll, cov, res = minimize(
        lambda t: -mixture_log_lik(t, c, nodes, log_weights, num_persons), np.array(x0))
    seconds = time.perf_counter() - start
    # delta method for B_TIME_S = exp(log s)
    est = np.array([theta[0], theta[1], theta[2], np.exp(theta[3]), theta[4]])
    se = np.sqrt(np.diag(cov))
    se[3] = est[3] * se[3]
    return est, se, -nll, seconds


def mixture_table(title, est, se):
    print(title)
    print(line("", "ours", "SE", "b05a", "b05a SE", "|Δ|/SE", "b05b", "b05b SE", "|Δ|/SE"))
    for i, name in enumerate(MIX_NAMES):
        print(line(name, est[i], se[i], B05A["estimate"][i], B05A["se"][i],
                   abs(est[i] - B05A["estimate"][i]) / B05A["se"][i], B05B["estimate"][i],
                   B05B["se"][i], abs(est[i] - B05B["estimate"][i]) / B05B["se"][i]))


def part_c1(sm, nodes, log_weights):
    c = sm.choices
    est, se, ll, seconds = mixture_ml(c, nodes, log_weights)
    at = {name: float(mixture_log_lik(jnp.array([r["estimate"][0], r["estimate"][1],
                                                  r["estimate"][2], np.log(r["estimate"][3]),
                                                  r["estimate"][4]]), c, nodes, log_weights))
          for name, r in (("b05a", B05A), ("b05b", B05B))}
    mixture_table(f"(c1) Swissmetro normal mixture (B_TIME per choice), likelihood integrated "
                  f"on {len(nodes)} trapezoid nodes, maximum likelihood: {seconds:.1f} s, "
                  f"log-likelihood {ll:.3f} (Biogeme reports b05b {B05B['loglik']:.3f}, b05a "
                  f"{B05A['loglik']:.3f}; this likelihood at their estimates: b05b "
                  f"{at['b05b']:.3f}, b05a {at['b05a']:.3f})", est, se)
    return est, se


def hierarchical_rows(samples):
    return summarize(samples, MIX_NAMES, [("weights", 0), ("weights", 1), ("weights", 2),
                                          ("scales", 0), ("weights", 3)])


def part_c2(sm, ml):
    c = sm.choices
    per_choice = make_choice_sets(np.asarray(c.features), np.asarray(c.chosen),
                                  np.asarray(c.available), np.arange(c.num_choices))
    mcmc, samples, seconds, div = run_nuts(
        hierarchical_choice_model, ARGS.seed + 2, choices=per_choice, random=[2],
        num_persons=c.num_choices, prior_scale=10.0, scale_prior=5.0)
    rows = hierarchical_rows(samples)
    print(f"(c2) the same mixture as a hierarchy, one latent B_TIME per choice "
          f"({c.num_choices} latent z), NUTS: {seconds:.1f} s, {div} divergences")
    print(line("", "mean", "sd", "ML (c1)", "ML SE", "|Δ|/SE", "Bayes mean", "Bayes sd",
               "R-hat", "ESS"))
    for i, name in enumerate(MIX_NAMES):
        r = rows[name]
        print(line(name, r["mean"], r["sd"], ml[0][i], ml[1][i],
                   abs(r["mean"] - ml[0][i]) / ml[1][i], B05_BAYES["mean"][i],
                   B05_BAYES["sd"][i], r["rhat"], r["ess"]))


def part_c3(sm, nodes, log_weights):
    c = sm.choices
    I = c.num_persons
    est, se, ll, seconds = mixture_ml(c, nodes, log_weights, num_persons=I,
                                      x0=(-0.4, 0.1, -3.0, 1.0, -1.5))
    mcmc, samples, nuts_seconds, div = run_nuts(
        hierarchical_choice_model, ARGS.seed + 3, choices=c, random=[2], num_persons=I,
        prior_scale=10.0, scale_prior=5.0)
    rows = hierarchical_rows(samples)
    print(f"(c3) panel mixture: one B_TIME per respondent (I = {I}), quadrature maximum "
          f"likelihood {seconds:.1f} s (log-likelihood {ll:.3f}); hierarchical NUTS "
          f"{nuts_seconds:.1f} s, {div} divergences")
    print(line("", "NUTS mean", "sd", "ML", "ML SE", "|Δ|/SE", "R-hat", "ESS"))
    for i, name in enumerate(MIX_NAMES):
        r = rows[name]
        print(line(name, r["mean"], r["sd"], est[i], se[i], abs(r["mean"] - est[i]) / se[i],
                   r["rhat"], r["ess"]))


# --- (d) Dutch train trips: flat against hierarchical -----------------------------------------

def part_d():
    data = load_dutch_train()
    c = data.choices
    names = data.feature_names
    fits = {}
    for label, model, kwargs in (
            ("flat", choice_model, dict(prior_scale=10.0)),
            ("hierarchical", hierarchical_choice_model,
             dict(prior_scale=10.0, scale_prior=5.0, concentration=2.0))):
        mcmc, samples, seconds, div = run_nuts(model, ARGS.seed + 4, choices=c, **kwargs)
        start = time.perf_counter()
        pointwise = log_likelihood(model, mcmc.get_samples(), choices=c, **kwargs)["chosen"]
        shape = (ARGS.num_chains, ARGS.num_samples, c.num_choices)
        idata = _arviz.with_groups(_arviz.from_numpyro(mcmc), log_likelihood={
            "chosen": np.asarray(pointwise).reshape(shape)})
        loo = _arviz.loo(idata)
        loo_seconds = time.perf_counter() - start
        with np.errstate(invalid="ignore", divide="ignore"):  # constant entries: R-hat NaN
            rhat = _arviz.rhat(idata)
        worst = max(float(np.nanmax(rhat[v].values)) for v in rhat.data_vars)
        fits[label] = idata
        print(f"(d) Dutch train, {label}: NUTS {seconds:.1f} s, {div} divergences, max R-hat "
              f"{worst:.3f}; PSIS-LOO elpd {float(loo.elpd_loo):.1f} ± {float(loo.se):.1f} "
              f"(p_loo {float(loo.p_loo):.1f}, {int(np.sum(np.asarray(loo.pareto_k) > 0.7))} "
              f"Pareto k > 0.7; {loo_seconds:.1f} s)")
        w = np.asarray(samples["weights"]).reshape(-1, len(names))
        row = "    population mean weights: " + ", ".join(
            f"{n} {m:.3f} ± {s:.3f}" for n, m, s in zip(names, w.mean(0), w.std(0)))
        print(row)
        if label == "flat":
            print("    mlogit MNL:              " + ", ".join(
                f"{n} {m:.3f} ± {s:.3f}" for n, m, s in
                zip(names, TRAIN_MNL["estimate"], TRAIN_MNL["se"])))
        else:
            tau = np.asarray(samples["scales"]).reshape(-1, len(names))
            print("    population sds τ:        " + ", ".join(
                f"{n} {m:.3f} ± {s:.3f}" for n, m, s in zip(names, tau.mean(0), tau.std(0))))
    comparison = _arviz.compare(fits)
    print("    az.compare:")
    print(comparison[["rank", "elpd_loo", "p_loo", "elpd_diff", "dse", "weight"]].to_string())


def main():
    parts = set(ARGS.parts.split(","))
    unknown = parts - {"a", "b", "c1", "c2", "c3", "d"}
    if unknown:
        raise SystemExit(f"--parts: unknown part(s) {sorted(unknown)}")
    print(f"JAX {jax.__version__}, NumPyro {numpyro.__version__}, {jax.device_count()} host "
          f"devices, {os.cpu_count()} CPUs")
    sm = load_swissmetro()
    nodes, log_weights = quadrature(ARGS.quadrature_nodes)
    w_ml, se_ml = part_a(sm) if parts & {"a", "b"} else (None, None)
    if "b" in parts:
        part_b(sm, w_ml, se_ml)
    ml = part_c1(sm, nodes, log_weights) if parts & {"c1", "c2"} else None
    if "c2" in parts:
        part_c2(sm, ml)
    if "c3" in parts:
        part_c3(sm, nodes, log_weights)
    if "d" in parts:
        part_d()


if __name__ == "__main__":
    total = time.perf_counter()
    main()
    print(f"total wall time {time.perf_counter() - total:.1f} s")
