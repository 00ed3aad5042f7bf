"""Trajectories given as features, for environments without a tabular MDP.

A :class:`Trajectories` holds N trajectories of any environment (continuous observations
included) as what the reward model needs: their discounted feature counts
``Φ_n = Σ_t γ^t φ(o_t, a_t)`` (N, F), optionally the per-step features (N, T, F) with a mask,
the per-step log-probabilities of the behaviour policy that generated them (for importance
sampling, :mod:`bayesirl.likelihoods.sample_maxent`) and their true returns (evaluation only).

File format (``.npz``, written by :func:`save_trajectories`)
------------------------------------------------------------
=====================  ===========  ======================================================
key                    shape/dtype  meaning
=====================  ===========  ======================================================
``format``             str          ``"bayesirl.trajectories/1"``
``feature_counts``     (N, F) f64   discounted feature counts Φ (always present)
``discount``           () f64       γ used for Φ (1.0: undiscounted sums)
``features``           (N, T, F)    per-step features (optional, with ``mask``)
``mask``               (N, T) bool  valid steps, a prefix of each row (optional)
``log_probs``          (N, T) f64   log π_b(a_t | o_t) of the behaviour policy (optional;
                                    needs ``mask``) — or (N,) per-trajectory sums
``returns``            (N,) f64     true returns (optional, evaluation only)
``feature_names``      (F,) str     optional
=====================  ===========  ======================================================

A preferences file over these trajectories is the JSON of
:mod:`bayesirl.data.preferences` whose ids index the npz rows, with ``"trajectories"`` either
absent or a reference ``{"npz": "trajs.npz", "num_trajectories": N}``
(:func:`save_trajectory_preferences`, :func:`load_trajectory_preferences`).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from bayesirl._io import atomic_path, file_kind, input_file, read_json, write_json
from bayesirl._validate import as_float_array, as_index_array, check_scalar
from bayesirl.data.preferences import LABELS, Preferences, make_preferences

__all__ = [
    "Trajectories",
    "make_trajectories",
    "select_trajectories",
    "save_trajectories",
    "load_trajectories",
    "save_trajectory_preferences",
    "load_trajectory_preferences",
]

_FORMAT = "bayesirl.trajectories/1"
_PREF_FORMAT = "bayesirl.preferences/1"
_KEYS = ("format", "feature_counts", "discount", "features", "mask", "log_probs", "returns",
         "feature_names")


class Trajectories(NamedTuple):
    """N trajectories as features (immutable; numpy arrays, never modified).

    Attributes:
        feature_counts: (N, F) discounted feature counts ``Φ_n = Σ_t γ^t φ(o_t, a_t)``.
        features: (N, T, F) per-step features, or None.
        mask: (N, T) bool, valid steps (a prefix of each row), or None.
        log_probs: (N,) ``log π_b(τ_n) = Σ_t log π_b(a_t | o_t)``, the log-probability of each
            trajectory's actions under the policy that generated it (dynamics excluded), or None.
        returns: (N,) true returns (evaluation only), or None.
        discount: γ used for the feature counts.
        feature_names: F names, or None.
    """

    feature_counts: np.ndarray
    features: np.ndarray | None = None
    mask: np.ndarray | None = None
    log_probs: np.ndarray | None = None
    returns: np.ndarray | None = None
    discount: float = 1.0
    feature_names: tuple[str, ...] | None = None

    @property
    def num_trajectories(self) -> int:
        """N."""
        return int(self.feature_counts.shape[0])

    @property
    def num_features(self) -> int:
        """F."""
        return int(self.feature_counts.shape[1])


def _check_mask(mask, shape) -> np.ndarray:
    raw = np.asarray(mask)
    if raw.dtype.kind not in "bui" or (raw.dtype.kind != "b" and not np.isin(raw, (0, 1)).all()):
        raise ValueError(f"mask: expected booleans (or 0/1), got dtype {raw.dtype}")
    m = raw.astype(bool)
    if m.shape != shape:
        raise ValueError(f"mask: expected shape (N, T) = {shape}, got {m.shape}")
    # valid steps must be a prefix: once False, False for the rest of the row
    bad = np.nonzero((~m[:, :-1] & m[:, 1:]).any(axis=1))[0]
    if bad.size:
        raise ValueError(f"mask: valid steps must be a prefix of each row; row {int(bad[0])} "
                         "has a valid step after an invalid one")
    empty = np.nonzero(~m.any(axis=1))[0]
    if empty.size:
        raise ValueError(f"mask: trajectory {int(empty[0])} has no valid step")
    return m


def _step_features(features, mask, discount):
    x = as_float_array(features, "features", ndim=3)
    N, T, F = x.shape
    if N == 0 or F == 0:
        raise ValueError(f"features: expected N >= 1 trajectories and F >= 1 features, got shape {x.shape}")
    m = np.ones((N, T), bool) if mask is None else _check_mask(mask, (N, T))
    weights = np.where(m, discount ** np.arange(T), 0.0)
    return x, m, np.einsum("nt,ntf->nf", weights, x)


def _log_probs(log_probs, mask, N) -> np.ndarray:
    lp = as_float_array(log_probs, "log_probs", ndim=(1, 2))
    if lp.ndim == 2:
        if mask is None:
            raise ValueError("log_probs: per-step log-probabilities (N, T) need per-step features "
                             "and a mask; give per-trajectory sums (N,) with feature counts")
        if lp.shape != mask.shape:
            raise ValueError(f"log_probs: expected shape (N, T) = {mask.shape}, got {lp.shape}")
        lp = np.where(mask, lp, 0.0)
    if lp.shape[0] != N:
        raise ValueError(f"log_probs: expected {N} trajectories, got {lp.shape[0]}")
    if (lp > 1e-9).any():
        idx = tuple(int(i) for i in np.argwhere(lp > 1e-9)[0])
        raise ValueError(f"log_probs: log-probabilities must be <= 0, got {lp[idx]} at {idx}")
    return lp.sum(axis=1) if lp.ndim == 2 else lp


def make_trajectories(*, features=None, mask=None, feature_counts=None, log_probs=None,
                      returns=None, discount: float = 1.0, feature_names=None) -> Trajectories:
    """Validated :class:`Trajectories` from per-step features or feature counts.

    Args:
        features: (N, T, F) per-step features φ(o_t, a_t); or None with ``feature_counts``.
        mask: (N, T) valid steps (a prefix of each row, at least one per row); default all.
        feature_counts: (N, F) precomputed Φ; or None to compute ``Σ_t γ^t φ_t`` from
            ``features``. Exactly one of ``features`` and ``feature_counts``.
        log_probs: (N, T) per-step ``log π_b(a_t|o_t)`` of the behaviour policy (needs
            ``features``; masked steps ignored) or (N,) per-trajectory sums.
        returns: (N,) true returns, for evaluation only.
        discount: γ in (0, 1] for the feature counts.
        feature_names: F strings.

    Returns:
        :class:`Trajectories` (inputs are copied, never modified).

    Raises:
        ValueError: both or neither of ``features``/``feature_counts``; wrong ranks or shapes;
            NaN/inf; a mask that is not a prefix or leaves a trajectory empty; positive
            log-probabilities; γ outside (0, 1]; the wrong number of feature names.
        TypeError: non-numeric arrays.
    """
    discount = float(check_scalar(discount, "discount", low=0.0, high=1.0, low_open=True))
    if (features is None) == (feature_counts is None):
        raise ValueError("features, feature_counts: expected exactly one of per-step features "
                         "(N, T, F) and feature counts (N, F)")
    if features is not None:
        features, mask, counts = _step_features(features, mask, discount)
    else:
        if mask is not None:
            raise ValueError("mask: a mask needs per-step features (N, T, F)")
        counts = as_float_array(feature_counts, "feature_counts", ndim=2)
        if counts.shape[0] == 0 or counts.shape[1] == 0:
            raise ValueError(f"feature_counts: expected N >= 1 and F >= 1, got shape {counts.shape}")
    N, F = counts.shape
    lp = None if log_probs is None else _log_probs(log_probs, mask, N)
    ret = None
    if returns is not None:
        ret = as_float_array(returns, "returns", ndim=1)
        if ret.shape[0] != N:
            raise ValueError(f"returns: expected {N} values, got {ret.shape[0]}")
    names = None
    if feature_names is not None:
        names = tuple(str(n) for n in feature_names)
        if len(names) != F:
            raise ValueError(f"feature_names: expected {F} names, got {len(names)}")
    return Trajectories(counts, features, mask, lp, ret, discount, names)


def select_trajectories(trajectories: Trajectories, ids) -> Trajectories:
    """The trajectories ``ids`` (K,) of a set, in that order (a copy).

    Raises:
        ValueError / TypeError: ids that are not integers in [0, N), or none.
    """
    idx = as_index_array(ids, "ids", trajectories.num_trajectories)
    if idx.size == 0:
        raise ValueError("ids: expected at least one trajectory id, got none")
    take = lambda x: None if x is None else x[idx].copy()  # noqa: E731
    t = trajectories
    return Trajectories(t.feature_counts[idx].copy(), take(t.features), take(t.mask),
                        take(t.log_probs), take(t.returns), t.discount, t.feature_names)


def save_trajectories(path: str | os.PathLike, trajectories: Trajectories) -> None:
    """Write ``trajectories`` as ``.npz`` (schema in the module docstring; temporary name, then
    renamed so a reader never sees a partial file)."""
    arrays = {"format": np.array(_FORMAT), "feature_counts": trajectories.feature_counts,
              "discount": np.array(trajectories.discount)}
    for key in ("features", "mask", "log_probs", "returns"):
        value = getattr(trajectories, key)
        if value is not None:
            arrays[key] = value
    if trajectories.feature_names is not None:
        arrays["feature_names"] = np.array(trajectories.feature_names, dtype=str)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_trajectories(path: str | os.PathLike) -> Trajectories:
    """Read and validate a trajectories ``.npz`` (see the module docstring).

    When the file has per-step features the feature counts are recomputed and must match the
    stored ones.

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: ``path`` is a folder.
        ValueError: not an npz (the message says what the file seems to hold), a wrong
            ``format``, unknown keys, or content that :func:`make_trajectories` rejects.
    """
    path = input_file(path, "trajectories", "an .npz file of trajectories")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array")
        with npz:
            doc = {k: npz[k] for k in npz.files}
    except Exception as err:  # numpy raises several kinds (pickle, zip, header)
        kind = file_kind(path)
        detail = f" that cannot be read ({err})" if kind == "an .npz archive" else ""
        raise ValueError(f"trajectories: {path} is not a readable .npz file of trajectories: it "
                         f"holds {kind}{detail}") from None
    if str(doc.get("format", "")) != _FORMAT:
        raise ValueError(f"trajectories: {path} must have format {_FORMAT!r}, got "
                         f"{str(doc.get('format')) if 'format' in doc else 'none'}")
    unknown = sorted(set(doc) - set(_KEYS))
    if unknown:
        raise ValueError(f"trajectories: {path} has unknown keys {unknown}; expected {_KEYS}")
    if "feature_counts" not in doc:
        raise ValueError(f"trajectories: {path} has no 'feature_counts'")
    discount = float(doc["discount"]) if "discount" in doc else 1.0
    names = doc["feature_names"].tolist() if "feature_names" in doc else None
    common = dict(log_probs=doc.get("log_probs"), returns=doc.get("returns"),
                  discount=discount, feature_names=names)
    if "features" in doc:
        out = make_trajectories(features=doc["features"], mask=doc.get("mask"), **common)
        stored = as_float_array(doc["feature_counts"], "feature_counts", ndim=2)
        if stored.shape != out.feature_counts.shape or not np.allclose(
                stored, out.feature_counts, rtol=1e-6, atol=1e-9):
            raise ValueError(f"feature_counts: the counts in {path} do not match the discounted "
                             "sums of its per-step features")
        return out
    return make_trajectories(feature_counts=doc["feature_counts"], mask=doc.get("mask"), **common)


def save_trajectory_preferences(path: str | os.PathLike, preferences: Preferences,
                                num_trajectories: int, trajectories_file: str | None = None) -> None:
    """Write comparisons over the rows of a trajectories npz as a preferences JSON file.

    Format: ``{"format": "bayesirl.preferences/1", "trajectories": {"npz": file,
    "num_trajectories": N}, "comparisons": [{"first": i, "second": j, "label": "first" |
    "second" | "equal"}, ...]}``.
    """
    comps = [{"first": int(a), "second": int(b), "label": LABELS[int(c)]}
             for a, b, c in zip(*(np.asarray(x) for x in preferences))]
    ref = {"num_trajectories": int(num_trajectories)}
    if trajectories_file is not None:
        ref["npz"] = os.fspath(trajectories_file)
    write_json(path, {"format": _PREF_FORMAT, "trajectories": ref, "comparisons": comps},
               indent=None)


def load_trajectory_preferences(path: str | os.PathLike, num_trajectories: int) -> Preferences:
    """Read a preferences JSON whose ids index N trajectories of an npz.

    ``"trajectories"`` may be absent or ``{"num_trajectories": N, "npz": ...}`` (N must match);
    ``"comparisons"`` and ``"rankings"`` as in :func:`~bayesirl.data.preferences.make_preferences`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: invalid JSON, a trajectory list (that is a tabular preferences file), a
            count that differs from ``num_trajectories``, or invalid comparisons.
    """
    N = check_scalar(num_trajectories, "num_trajectories", low=1, integer=True)
    doc = read_json(path, "preferences")
    if not isinstance(doc, dict):
        raise ValueError(f"preferences: {path} must hold a JSON object")
    ref = doc.get("trajectories")
    if ref is not None:
        if not isinstance(ref, dict):
            raise ValueError(f"preferences: 'trajectories' in {path} must be a reference "
                             "{'npz': ..., 'num_trajectories': N}, got a "
                             f"{type(ref).__name__} (a tabular preferences file?)")
        if "num_trajectories" in ref and ref["num_trajectories"] != N:
            raise ValueError(f"preferences: {path} refers to {ref['num_trajectories']} "
                             f"trajectories, but the trajectories file has {N}")
    if "comparisons" not in doc and "rankings" not in doc:
        raise ValueError(f"preferences: {path} has neither 'comparisons' nor 'rankings'")
    for key in ("comparisons", "rankings"):
        if not isinstance(doc.get(key, []), list):
            raise ValueError(f"preferences: '{key}' in {path} must be a list")
    return make_preferences(N, doc.get("comparisons", []), doc.get("rankings", []))
