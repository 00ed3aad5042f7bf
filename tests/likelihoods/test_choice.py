"""Choice (multinomial logit) and Plackett–Luce likelihoods: numpy loops, exact enumeration,
the Bradley–Terry special case, choix's maximum likelihood, and sampling frequencies."""

import itertools

import choix
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pytest
import scipy.optimize

from bayesirl.data.choices import make_choice_sets, make_rankings
from bayesirl.data.preferences import make_preferences
from bayesirl.likelihoods.bradley_terry import PreferenceChoice, bradley_terry_log_likelihood
from bayesirl.likelihoods.choice import (
    ChoiceDistribution,
    PlackettLuce,
    choice_log_likelihood,
    choice_log_probabilities,
    linear_utilities,
    observe_choices,
    observe_rankings,
    plackett_luce_log_likelihood,
    plackett_luce_log_probability,
)

#: float64 sums of a few logs and exps against a numpy loop.
RTOL_EXACT = 1e-12
#: Absolute slack for log-probabilities near 0: log-softmax (ours and the numpy loop) loses
#: relative precision there to cancellation (z − logsumexp z), Bradley–Terry's log σ does not.
ATOL_LOOP = 1e-13
#: Two optimisers (scipy here, choix's Newton-CG or I-LSR) stopped at their own tolerances on
#: the same strictly concave objective.
ATOL_OPTIMUM = 1e-6
#: Frequencies of n samples: |f − p| <= 5 binomial standard deviations (fails < 1e-6 per cell).
SIGMAS = 5.0


def _loop_log_probs(u, available, beta):
    out = np.full(u.shape, -np.inf)
    for n in range(u.shape[0]):
        idx = np.flatnonzero(available[n])
        z = beta * u[n, idx]
        out[n, idx] = z - np.log(np.sum(np.exp(z - z.max()))) - z.max()
    return out


def _loop_plackett_luce(u, ranking, available, beta):
    remaining = list(np.flatnonzero(available))
    total = 0.0
    for k in ranking:
        z = beta * u[remaining]
        total += beta * u[k] - np.log(np.sum(np.exp(z)))
        remaining.remove(k)
    return total


def test_choice_log_probabilities_match_a_numpy_loop():
    rng = np.random.default_rng(1)
    u = rng.normal(0, 3, (20, 5))
    available = rng.random((20, 5)) < 0.7
    available[:, :2] = True
    got = np.asarray(choice_log_probabilities(u, available, 1.7))
    want = _loop_log_probs(u, available, 1.7)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_allclose(got[available], want[available], rtol=RTOL_EXACT, atol=ATOL_LOOP)
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in available])
    ll = float(choice_log_likelihood(u, available, chosen, 1.7))
    np.testing.assert_allclose(ll, want[np.arange(20), chosen].sum(), rtol=RTOL_EXACT)
    # an unavailable choice is impossible
    bad = chosen.copy()
    bad[0] = int(np.flatnonzero(~available[0])[0]) if (~available[0]).any() else bad[0]
    if bad[0] != chosen[0]:
        assert float(choice_log_likelihood(u, available, bad, 1.7)) == -np.inf


def test_linear_utilities_shared_and_per_person():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3, 4))
    w = rng.normal(size=4)
    W = rng.normal(size=(2, 4))
    person = np.array([0, 1, 1, 0, 1, 0])
    np.testing.assert_allclose(np.asarray(linear_utilities(w, x)), x @ w, rtol=RTOL_EXACT)
    want = np.stack([x[n] @ W[person[n]] for n in range(6)])
    np.testing.assert_allclose(np.asarray(linear_utilities(W, x, person)), want, rtol=RTOL_EXACT)
    with pytest.raises(ValueError, match="person"):
        linear_utilities(W, x)


def test_bradley_terry_strict_is_the_two_option_choice():
    rng = np.random.default_rng(3)
    Phi = rng.normal(size=(6, 3))             # feature counts of 6 trajectories
    w = rng.normal(size=3)
    pairs = [(0, 1, 0), (2, 3, 1), (4, 5, 0), (1, 4, 1), (3, 0, 0)]
    prefs = make_preferences(6, pairs)
    beta = 2.5
    bt = float(bradley_terry_log_likelihood(jnp.asarray(w), jnp.asarray(Phi), prefs, beta))
    features = np.stack([Phi[[a for a, _, _ in pairs]], Phi[[b for _, b, _ in pairs]]], axis=1)
    c = make_choice_sets(features, [label for _, _, label in pairs])
    ours = float(choice_log_likelihood(linear_utilities(w, c.features), c.available, c.chosen,
                                       beta))
    np.testing.assert_allclose(ours, bt, rtol=RTOL_EXACT)
    # the distributions agree label by label
    u = np.asarray(linear_utilities(w, c.features))
    d_bt = PreferenceChoice(beta * (u[:, 0] - u[:, 1]))
    d_choice = ChoiceDistribution(u, beta=beta)
    for label in (0, 1):
        values = jnp.full(len(pairs), label)
        np.testing.assert_allclose(np.asarray(d_choice.log_prob(values)),
                                   np.asarray(d_bt.log_prob(values)), rtol=RTOL_EXACT,
                                   atol=ATOL_LOOP)


def _top1_data(rng, strengths, num):
    data = []
    for _ in range(num):
        size = rng.integers(2, 5)
        items = rng.choice(len(strengths), size=size, replace=False)
        p = np.exp(strengths[items] - strengths[items].max())
        winner = rng.choice(items, p=p / p.sum())
        data.append((int(winner), tuple(int(i) for i in items if i != winner)))
    return data


def _fit(neg_log_lik, dim):
    vg = jax.jit(jax.value_and_grad(neg_log_lik))
    res = scipy.optimize.minimize(lambda x: tuple(np.asarray(v) for v in vg(jnp.asarray(x))),
                                  np.zeros(dim), jac=True, method="L-BFGS-B",
                                  options=dict(gtol=1e-10, ftol=1e-15, maxiter=2000))
    assert res.success, res.message
    return res.x


def test_maximum_likelihood_matches_choix_on_choices_among_subsets():
    rng = np.random.default_rng(4)
    n_items, alpha = 6, 0.01
    strengths = rng.normal(0, 1, n_items)
    data = _top1_data(rng, strengths, 200)
    # our representation: all items are the options, the offered subset is available, the
    # features are one-hot item indicators, so u = w[item]
    available = np.zeros((len(data), n_items), bool)
    chosen = np.zeros(len(data), int)
    for n, (winner, losers) in enumerate(data):
        available[n, [winner, *losers]] = True
        chosen[n] = winner
    c = make_choice_sets(np.broadcast_to(np.eye(n_items), (len(data), n_items, n_items)),
                         chosen, available)

    def neg_log_posterior(w):  # choix's objective: −log-likelihood + alpha·‖w‖² (its Top1Fcts)
        u = linear_utilities(w, c.features)
        return -choice_log_likelihood(u, c.available, c.chosen) + alpha * jnp.sum(w ** 2)

    ours = _fit(neg_log_posterior, n_items)
    theirs = choix.opt_top1(n_items, data, alpha=alpha, tol=1e-12)
    np.testing.assert_allclose(ours, theirs, atol=ATOL_OPTIMUM)
    # the maximum-likelihood estimate (alpha = 0) up to the unidentified constant: I-LSR
    mle = _fit(lambda w: -choice_log_likelihood(linear_utilities(w, c.features), c.available,
                                                c.chosen) + 1e-9 * jnp.sum(w) ** 2, n_items)
    ilsr = choix.ilsr_top1(n_items, data, tol=1e-12)
    np.testing.assert_allclose(mle - mle.mean(), ilsr - ilsr.mean(), atol=ATOL_OPTIMUM)


def test_plackett_luce_maximum_likelihood_matches_choix():
    rng = np.random.default_rng(5)
    n_items, alpha = 5, 0.01
    strengths = rng.normal(0, 1, n_items)
    rankings = []
    for _ in range(150):
        keys = strengths + rng.gumbel(size=n_items)
        rankings.append(tuple(int(i) for i in np.argsort(-keys)))
    r = make_rankings(np.broadcast_to(np.eye(n_items), (150, n_items, n_items)),
                      [list(x) for x in rankings])

    def neg_log_posterior(w):
        u = linear_utilities(w, r.features)
        return -plackett_luce_log_likelihood(u, r.order, r.length) + alpha * jnp.sum(w ** 2)

    ours = _fit(neg_log_posterior, n_items)
    theirs = choix.opt_rankings(n_items, rankings, alpha=alpha, tol=1e-12)
    np.testing.assert_allclose(ours, theirs, atol=ATOL_OPTIMUM)


@pytest.mark.parametrize("available", [None, [True, False, True, True]])
def test_plackett_luce_enumeration_sums_to_one(available):
    u = np.array([0.3, -1.2, 2.0, 0.7])
    beta = 1.3
    avail = np.ones(4, bool) if available is None else np.asarray(available)
    options = np.flatnonzero(avail)
    logits = jnp.where(jnp.asarray(avail), beta * jnp.asarray(u), -jnp.inf)
    total = 0.0
    for perm in itertools.permutations(options):
        order = list(perm) + [k for k in range(4) if not avail[k]]
        lp = float(plackett_luce_log_probability(logits, jnp.asarray(order)))
        np.testing.assert_allclose(lp, _loop_plackett_luce(u, perm, avail, beta),
                                   rtol=RTOL_EXACT)
        total += np.exp(lp)
    np.testing.assert_allclose(total, 1.0, rtol=RTOL_EXACT)
    # top-2 rankings: the ordered pairs sum to 1 too, and top-1 is the choice probability
    top2 = 0.0
    for first, second in itertools.permutations(options, 2):
        rest = [k for k in range(4) if k not in (first, second)]
        order = jnp.asarray([first, second, *rest])
        top2 += float(jnp.exp(plackett_luce_log_probability(logits, order, 2)))
        top1 = float(plackett_luce_log_probability(logits, order, 1))
        np.testing.assert_allclose(
            top1, float(choice_log_probabilities(u, avail, beta)[first]), rtol=RTOL_EXACT)
    np.testing.assert_allclose(top2, 1.0, rtol=RTOL_EXACT)
    # an unavailable option among the ranked ones is impossible
    if available is not None:
        assert float(plackett_luce_log_probability(logits, jnp.asarray([1, 0, 2, 3]), 2)) \
            == -np.inf


def test_plackett_luce_gradient_is_finite_and_matches_finite_differences():
    rng = np.random.default_rng(6)
    u = rng.normal(size=(3, 5))
    available = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]], bool)
    r = make_rankings(rng.normal(size=(3, 5, 2)), [[3, 0], [4, 2, 1, 0, 3], [2, 1, 4]],
                      available)

    def f(x):
        return plackett_luce_log_likelihood(x, r.order, r.length, r.available, 0.8)

    grad = np.asarray(jax.grad(f)(jnp.asarray(u)))
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[~available], 0.0)
    eps = 1e-6
    for n, k in [(0, 0), (1, 2), (2, 4), (0, 1)]:
        step = np.zeros_like(u)
        step[n, k] = eps
        fd = (float(f(jnp.asarray(u + step))) - float(f(jnp.asarray(u - step)))) / (2 * eps)
        np.testing.assert_allclose(grad[n, k], fd, rtol=1e-6, atol=1e-9)


def test_choice_distribution_sampling_frequencies():
    u = jnp.array([[0.5, -0.3, 1.2, 0.0], [2.0, 0.1, -1.0, 0.4]])
    available = jnp.array([[True, True, False, True], [True, True, True, True]])
    d = ChoiceDistribution(u, available, beta=0.9)
    n = 100_000
    samples = np.asarray(d.sample(jax.random.PRNGKey(0), (n,)))
    probs = np.exp(np.asarray(d.log_prob(jnp.arange(4)[:, None])))  # (4, 2): value, batch
    for b in range(2):
        freq = np.bincount(samples[:, b], minlength=4) / n
        p = probs[:, b]
        assert np.all(np.abs(freq - p) <= SIGMAS * np.sqrt(p * (1 - p) / n) + 1e-12)
    assert np.all(samples[:, 0] != 2)                           # never the unavailable option
    np.testing.assert_allclose(probs.sum(0), 1.0, rtol=RTOL_EXACT)
    entropy = -np.sum(np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1)), 0), 0)
    np.testing.assert_allclose(np.asarray(d.entropy()), entropy, rtol=RTOL_EXACT)


def test_plackett_luce_sampling_frequencies_match_enumeration():
    u = jnp.array([0.8, -0.5, 0.2, 1.5])
    available = jnp.array([True, True, False, True])
    d = PlackettLuce(u, available, beta=1.1)
    n = 100_000
    samples = np.asarray(d.sample(jax.random.PRNGKey(1), (n,)))
    assert np.all(samples[:, 3] == 2)                           # the unavailable option last
    counts = {}
    for row in map(tuple, samples):
        counts[row] = counts.get(row, 0) + 1
    perms = [(*p, 2) for p in itertools.permutations([0, 1, 3])]
    assert set(counts) <= set(perms)
    for perm in perms:
        p = float(jnp.exp(d.log_prob(jnp.asarray(perm))))
        freq = counts.get(perm, 0) / n
        assert abs(freq - p) <= SIGMAS * np.sqrt(p * (1 - p) / n), (perm, freq, p)


def test_observe_sites_equal_the_pure_log_likelihoods():
    rng = np.random.default_rng(7)
    c = make_choice_sets(rng.normal(size=(8, 3, 2)), rng.integers(0, 3, 8))
    u = linear_utilities(jnp.array([0.4, -1.1]), c.features)
    with numpyro.handlers.trace() as tr:
        observe_choices(u, c, 1.5)
    site = tr["chosen"]
    assert site["is_observed"]
    np.testing.assert_allclose(float(jnp.sum(site["fn"].log_prob(site["value"]))),
                               float(choice_log_likelihood(u, c.available, c.chosen, 1.5)),
                               rtol=RTOL_EXACT)
    r = make_rankings(np.asarray(c.features), [[0, 2], [1], [2, 1, 0], [0], [1, 0], [2], [0, 1],
                                               [2, 0, 1]])
    with numpyro.handlers.trace() as tr:
        observe_rankings(u, r, 1.5)
    site = tr["ranking"]
    np.testing.assert_allclose(
        float(jnp.sum(site["fn"].log_prob(site["value"]))),
        float(plackett_luce_log_likelihood(u, r.order, r.length, r.available, 1.5)),
        rtol=RTOL_EXACT)


def test_distributions_survive_vmap_as_pytrees():
    u = jnp.array([[0.5, -0.3, 1.2], [0.1, 0.2, 0.3]])
    available = jnp.array([[True, False, True], [True, True, True]])

    def lp(x):
        return ChoiceDistribution(x, available).log_prob(jnp.array([0, 2])).sum()

    batched = jax.vmap(lp)(jnp.stack([u, 2 * u]))
    np.testing.assert_allclose(np.asarray(batched), [float(lp(u)), float(lp(2 * u))],
                               rtol=RTOL_EXACT)
    flat, tree = jax.tree_util.tree_flatten(PlackettLuce(u, available))
    rebuilt = jax.tree_util.tree_unflatten(tree, flat)
    order = jnp.array([[2, 0, 1], [1, 0, 2]])
    np.testing.assert_allclose(np.asarray(rebuilt.log_prob(order)),
                               np.asarray(PlackettLuce(u, available).log_prob(order)),
                               rtol=RTOL_EXACT)
