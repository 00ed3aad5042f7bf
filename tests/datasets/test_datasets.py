"""The packaged Swissmetro and Dutch train data: sizes, layout, and published log-likelihoods
and estimates (a check of the feature layout, scaling and availability)."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from bayesirl.datasets import (
    DUTCH_TRAIN_FEATURES,
    GUILDERS_PER_EURO,
    SWISSMETRO_FEATURES,
    load_dutch_train,
    load_swissmetro,
)
from bayesirl.likelihoods.choice import choice_log_likelihood, linear_utilities

#: Biogeme b01a_logit estimates (ASC_TRAIN, ASC_CAR, B_TIME, B_COST) and log-likelihoods.
BIOGEME_01LOGIT = (-0.7011872849436404, -0.15463267198926287, -1.2778589565196716,
                   -1.0837900371207714)
BIOGEME_FINAL_LL, BIOGEME_NULL_LL = -5331.252006916163, -6964.662979192191
#: The published log-likelihoods are given to 3 decimals in Biogeme's reports; the brief's
#: tolerance for a data-layout check.
ATOL_LL = 0.05
#: mlogit's multinomial logit of the Train data (price per euro = its coefficient × 2.20371²;
#: signs flipped, mlogit uses −x) and the agreement expected of two optimisers stopped at
#: their tolerances (mlogit prints 7 significant digits).
MLOGIT_TRAIN = (-0.06735804 * GUILDERS_PER_EURO ** 2, -1.72055142, -0.32634094, -0.94572555)
ATOL_ESTIMATE = 1e-4


def _log_lik(data, w):
    c = data.choices
    return float(choice_log_likelihood(linear_utilities(jnp.asarray(w), c.features),
                                       c.available, c.chosen))


def test_swissmetro_biogeme_sample_and_log_likelihood():
    data = load_swissmetro()
    c = data.choices
    assert c.features.shape == (6768, 3, 4)
    assert c.num_persons == 752
    assert data.feature_names == SWISSMETRO_FEATURES
    assert data.option_names == ("TRAIN", "SM", "CAR")
    assert np.all(np.bincount(np.asarray(c.person)) == 9)      # nine choices per respondent
    np.testing.assert_allclose(_log_lik(data, BIOGEME_01LOGIT), BIOGEME_FINAL_LL, atol=ATOL_LL)
    np.testing.assert_allclose(_log_lik(data, np.zeros(4)), BIOGEME_NULL_LL, atol=ATOL_LL)
    # the alternative-specific constants: TRAIN and CAR indicators; SM is the reference
    x = np.asarray(c.features)
    avail = np.asarray(c.available)
    np.testing.assert_array_equal(x[:, 0, 0][avail[:, 0]], 1.0)
    np.testing.assert_array_equal(x[:, 2, 1][avail[:, 2]], 1.0)
    np.testing.assert_array_equal(x[:, 1, :2], 0.0)


def test_swissmetro_full_sample():
    c = load_swissmetro(keep_biogeme_sample=False).choices
    assert c.features.shape == (10719, 3, 4)                   # 10 728 rows, 9 without a choice
    assert c.num_persons == 1191


def test_dutch_train_layout_and_mlogit_estimates():
    data = load_dutch_train()
    c = data.choices
    assert c.features.shape == (2929, 2, 4)
    assert c.num_persons == 235
    assert data.feature_names == DUTCH_TRAIN_FEATURES
    assert np.all(np.asarray(c.available))
    # first row of the file: trip 1 costs 2400 cents of guilders and takes 150 minutes
    np.testing.assert_allclose(np.asarray(c.features)[0, 0], [24 / GUILDERS_PER_EURO, 2.5, 0, 1])

    nll = jax.jit(jax.value_and_grad(lambda w: -choice_log_likelihood(
        linear_utilities(w, c.features), c.available, c.chosen)))
    res = scipy.optimize.minimize(lambda w: tuple(np.asarray(v) for v in nll(jnp.asarray(w))),
                                  np.zeros(4), jac=True, method="L-BFGS-B",
                                  options=dict(gtol=1e-9, ftol=1e-15))
    assert res.success, res.message
    np.testing.assert_allclose(res.x, MLOGIT_TRAIN, atol=ATOL_ESTIMATE)
