"""A population of rewards: each person's weights, a new person's, and how much people differ.

For a posterior of the ``choice`` likelihood with per-person weights
(:mod:`bayesirl.likelihoods.luce`: ``w_i = w̄ + S diag(τ) L z_i``), these functions rebuild
each person's weights from the posterior draws of ``reward_weights`` (w̄), ``person_scales``
(τ), ``person_correlation_cholesky`` (L) and ``person_z`` (z), draw the weights of a person not
in the data (the posterior predictive of the population), and summarise them as credible
intervals (equal-tailed: the ``(1 − p) / 2`` and ``(1 + p) / 2`` quantiles of the draws).

Source: the hierarchical Bayes logit (Allenby & Rossi 1998; Train 2009, ch. 12).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["hierarchy_of", "person_weight_draws", "new_person_weight_draws",
           "population_summary"]


def hierarchy_of(idata):
    """The :class:`~bayesirl.likelihoods.luce.Hierarchy` a posterior was fitted with, or None
    (one reward for everyone), read from ``posterior.attrs``."""
    from bayesirl.likelihoods.luce import Hierarchy

    attrs = idata.posterior.attrs
    if "hierarchy_features" not in attrs or "person_z" not in idata.posterior:
        return None
    features = np.atleast_1d(np.asarray(attrs["hierarchy_features"])).astype(int).tolist()
    return Hierarchy(tuple(features), float(attrs.get("hierarchy_scale", 1.0)),
                     float(attrs.get("hierarchy_concentration", 2.0)))


def _draws(idata, hierarchy):
    post = idata.posterior
    if hierarchy is None:
        hierarchy = hierarchy_of(idata)
    if hierarchy is None:
        raise ValueError("idata: expected a posterior with per-person weights (person_z, "
                         "person_scales and hierarchy_features in its attrs)")
    w = np.asarray(post["reward_weights"])
    C, M, F = w.shape
    tau = np.asarray(post["person_scales"]).reshape(C * M, -1)
    chol = (np.asarray(post["person_correlation_cholesky"]).reshape(C * M, tau.shape[1],
                                                                     tau.shape[1])
            if "person_correlation_cholesky" in post else None)
    z = np.asarray(post["person_z"])
    return hierarchy, w.reshape(C * M, F), tau, chol, z.reshape(C * M, *z.shape[2:]), (C, M)


def person_weight_draws(idata, hierarchy=None) -> np.ndarray:
    """Each person's reward weights at every posterior draw.

    Args:
        idata: a posterior with per-person weights (chains C, draws M, persons I).
        hierarchy: the Hierarchy (default: read from ``idata``, :func:`hierarchy_of`).

    Returns:
        (C, M, I, F) weights.

    Raises:
        ValueError: ``idata`` has no per-person weights.
    """
    from bayesirl.likelihoods.luce import person_weights

    hierarchy, w, tau, chol, z, (C, M) = _draws(idata, hierarchy)
    one = jax.jit(lambda w, t, c, z: person_weights(w, t, c, z, hierarchy))
    if chol is None:
        out = jax.vmap(lambda w, t, z: one(w, t, None, z))(w, tau, z)
    else:
        out = jax.vmap(one)(w, tau, chol, z)
    out = np.asarray(out)
    return out.reshape(C, M, *out.shape[1:])


def new_person_weight_draws(idata, hierarchy=None, seed: int = 0) -> np.ndarray:
    """The weights of a person not in the data: one draw per posterior draw of the population,
    ``w̄ + S diag(τ) L z`` with a fresh z ~ N(0, I_R).

    Args:
        idata: a posterior with per-person weights.
        hierarchy: the Hierarchy (default: read from ``idata``).
        seed: PRNG seed of the fresh z.

    Returns:
        (C, M, F) weights (the posterior predictive of a new person's reward weights).

    Raises:
        ValueError: ``idata`` has no per-person weights.
    """
    from bayesirl.likelihoods.luce import new_person_weights

    hierarchy, w, tau, chol, _, (C, M) = _draws(idata, hierarchy)
    keys = jax.random.split(jax.random.PRNGKey(seed), w.shape[0])
    if chol is None:
        out = jax.vmap(lambda k, w, t: new_person_weights(k, w, t, None, hierarchy))(
            keys, jnp.asarray(w), jnp.asarray(tau))
    else:
        out = jax.vmap(lambda k, w, t, c: new_person_weights(k, w, t, c, hierarchy))(
            keys, jnp.asarray(w), jnp.asarray(tau), jnp.asarray(chol))
    return np.asarray(out).reshape(C, M, -1)


def _interval(x: np.ndarray, prob: float, axis=0) -> dict:
    lo, hi = np.quantile(x, [(1 - prob) / 2, (1 + prob) / 2], axis=axis)
    return {"mean": np.mean(x, axis=axis), "sd": np.std(x, axis=axis), "lower": lo, "upper": hi}


def _rows(stats: dict, names: list) -> list[dict]:
    return [{"feature": str(n), **{k: float(np.asarray(v)[i]) for k, v in stats.items()}}
            for i, n in enumerate(names)]


def population_summary(idata, feature_names=None, person_names=None, *, prob: float = 0.9,
                       person_counts=None, seed: int = 0) -> dict:
    """The population of a per-person posterior, as a JSON-ready dict.

    Args:
        idata: a posterior with per-person weights (F features, R of them varying, I persons).
        feature_names: F names (default ``0 … F−1``).
        person_names: I labels (default ``0 … I−1``).
        prob: mass of the equal-tailed credible intervals, in (0, 1).
        person_counts: (I,) number of choice sets of each person, reported beside them.
        seed: PRNG seed of the new person's draws.

    Returns:
        ``{"random_features": R names, "interval_prob": prob, "mean": F rows of the population
        mean w̄, "scales": R rows of τ (how much people differ), "correlation": (R, R) posterior
        mean of the correlation, "new_person": F rows of a new person's weights, "persons": I
        rows {"person", "num_choice_sets", "weights": F rows}}``; each row has ``feature``,
        ``mean``, ``sd``, ``lower``, ``upper``.

    Raises:
        ValueError: ``idata`` has no per-person weights, or ``prob`` outside (0, 1).
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob: expected a number in (0, 1), got {prob!r}")
    hierarchy = hierarchy_of(idata)
    people = person_weight_draws(idata, hierarchy)                    # (C, M, I, F)
    C, M, I, F = people.shape
    names = list(range(F)) if feature_names is None else list(feature_names)
    persons = list(range(I)) if person_names is None else list(person_names)
    flat = people.reshape(C * M, I, F)
    post = idata.posterior
    R = len(hierarchy.features)
    if "person_correlation_cholesky" in post:
        chol = np.asarray(post["person_correlation_cholesky"]).reshape(C * M, R, R)
        correlation = np.mean(chol @ np.swapaxes(chol, -1, -2), axis=0)
    else:
        correlation = np.ones((1, 1))
    per_person = _interval(flat, prob)                                 # each (I, F)
    counts = None if person_counts is None else np.asarray(person_counts).tolist()
    return {
        "random_features": [str(names[i]) for i in hierarchy.features],
        "interval_prob": prob,
        "mean": _rows(_interval(np.asarray(post["reward_weights"]).reshape(C * M, F), prob),
                      names),
        "scales": _rows(_interval(np.asarray(post["person_scales"]).reshape(C * M, R), prob),
                        [names[i] for i in hierarchy.features]),
        "correlation": correlation.tolist(),
        "new_person": _rows(_interval(new_person_weight_draws(idata, hierarchy, seed).reshape(
            C * M, F), prob), names),
        "persons": [{"person": str(persons[i]),
                     "num_choice_sets": None if counts is None else int(counts[i]),
                     "weights": _rows({k: v[i] for k, v in per_person.items()}, names)}
                    for i in range(I)],
    }
