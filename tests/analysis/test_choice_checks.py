"""The misfit alarm of choice fits: the table against the likelihood, the person-dispersion
check's power against people who differ, and its calm on data from the model itself."""

import jax.numpy as jnp
import numpy as np

from bayesirl import _arviz
from bayesirl.analysis.choice_checks import (check_choice_fit, choice_log_probs,
                                             person_dispersion_check)
from bayesirl.data.choices import make_choice_sets
from bayesirl.likelihoods.luce import choice_evidence, pointwise_choice_log_likelihood

I, PER, K = 40, 15, 3
W_BAR = np.array([1.0, -1.0])


def _panel(sd, seed=0):
    """Choices of I people whose weights are W_BAR + N(0, sd²) each."""
    rng = np.random.default_rng(seed)
    W = W_BAR + sd * rng.normal(size=(I, 2))
    person = np.repeat(np.arange(I), PER)
    x = rng.normal(size=(I * PER, K, 2))
    u = np.einsum("nkf,nf->nk", x, W[person])
    p = np.exp(u - u.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    chosen = np.array([rng.choice(K, p=q) for q in p])
    return choice_evidence(make_choice_sets(x, chosen, None, person))


def _flat_fit(weights, draws=40):
    """A posterior concentrated at ``weights`` (a tiny spread, 2 chains)."""
    rng = np.random.default_rng(1)
    w = weights + 0.01 * rng.normal(size=(2, draws, 2))
    return _arviz.from_draws({"reward_weights": w})


def test_table_rows_are_the_likelihood_of_each_option():
    data = _panel(0.0)
    w = np.array([[0.3, -0.7], [1.0, 0.2]])
    table = choice_log_probs(w, data)
    assert table.shape == (2, I * PER, K)
    np.testing.assert_allclose(np.exp(table).sum(-1), 1.0, atol=1e-12)
    first = np.asarray(data.order)[:, 0]
    for m in range(2):
        want = np.asarray(pointwise_choice_log_likelihood(jnp.asarray(w[m]), data))
        np.testing.assert_allclose(table[m, np.arange(I * PER), first], want, atol=1e-10)


def test_dispersion_fires_when_people_differ_and_is_calibrated_when_they_do_not():
    """Fixed seeds. One reward fitted to people with sd 2 around it: p at its floor
    1 / (R·M + 1) in each of 10 panels. Data from that very reward: p < 0.05 in at most 12 of
    100 panels (5 expected; 12 is 3.2 binomial sd above)."""
    def p_value(sd, seed, draws=2, replicates=300):
        data = _panel(sd, seed=seed)
        table = choice_log_probs(np.tile(W_BAR, (draws, 1)), data)
        return person_dispersion_check(table, np.asarray(data.order)[:, 0],
                                       np.asarray(data.person), replicates, seed=seed).p_value

    floor = 1 / (2 * 300 + 1)
    assert all(p_value(2.0, s) <= floor + 1e-12 for s in range(10))
    null = np.array([p_value(0.0, 1000 + s) for s in range(100)])
    assert np.sum(null < 0.05) <= 12, np.sort(null)[:15]
    assert np.mean(null) > 0.35  # not piled up near 0 (uniform: 0.5)


def test_check_choice_fit_suggests_per_person_weights():
    data = _panel(2.0, seed=5)
    report = check_choice_fit(_flat_fit(W_BAR), data, seed=0)
    assert report.alarm
    assert [c.name for c in report.checks] == ["log-likelihood", "agreement", "loo",
                                               "person-dispersion"]
    assert any("--group-by" in r for r in report.remedies)
    assert "choice model does not fit the choices" in report.message
    calm = check_choice_fit(_flat_fit(W_BAR), _panel(0.0, seed=3), seed=0)
    assert not calm.alarm and calm.message is None
