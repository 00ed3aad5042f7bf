"""Preferences between trajectories: the data, JSON files and synthetic labels.

The likelihood of the labels is in :mod:`bayesirl.likelihoods.bradley_terry`.

A comparison of trajectories A (``first``) and B (``second``) is labelled 0 (A preferred),
1 (B preferred) or 2 (about equal); a ranking of K trajectories stands for all its strictly
ordered pairs. Files are JSON (``bayesirl.preferences/1``, see :func:`save_preferences`).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._deprecation import renamed_arguments
from bayesirl._io import read_json, write_json
from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import check_scalar
from bayesirl.data.demos import Demonstrations, make_demonstrations, noisy_rollouts, trim
from bayesirl.data.mdp import MDP

__all__ = [
    "LABELS",
    "Preferences",
    "make_preferences",
    "ranking_to_comparisons",
    "trajectory_returns",
    "synthetic_preferences",
    "save_preferences",
    "load_preferences",
]

#: Label names in files, by label index.
LABELS = ("first", "second", "equal")
_FORMAT = "bayesirl.preferences/1"


class Preferences(NamedTuple):
    """P comparisons between trajectories (indices into a set of N trajectories).

    Attributes:
        first: (P,) int32 index of trajectory A.
        second: (P,) int32 index of trajectory B.
        label: (P,) int32: 0 = A preferred, 1 = B preferred, 2 = about equal.
    """

    first: Array
    second: Array
    label: Array

    @property
    def num_comparisons(self) -> int:
        """P, the number of comparisons."""
        return self.first.shape[0]


def ranking_to_comparisons(ranking) -> list[tuple[int, int]]:
    """All strictly ordered pairs of a ranking, best first.

    Args:
        ranking: a sequence whose items are trajectory indices or lists of indices that tie.

    Returns:
        ``(better, worse)`` pairs; tied trajectories are not compared.
    """
    groups = [list(g) if isinstance(g, (list, tuple)) else [g] for g in ranking]
    pairs = []
    for i, better in enumerate(groups):
        for worse in groups[i + 1:]:
            pairs.extend((b, w) for b in better for w in worse)
    return pairs


def _parse_label(label, where: str) -> int:
    if isinstance(label, str) and label in LABELS:
        return LABELS.index(label)
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool) and 0 <= label <= 2:
        return int(label)
    raise ValueError(f"{where}: expected a label in {LABELS} (or 0, 1, 2), got {label!r}")


def make_preferences(num_trajectories: int, comparisons=(), rankings=()) -> Preferences:
    """Validated :class:`Preferences` from comparisons and rankings.

    Args:
        num_trajectories: N; indices must lie in [0, N).
        comparisons: items ``(first, second, label)`` or mappings with keys ``first``,
            ``second``, ``label`` (label ``"first"``, ``"second"``, ``"equal"`` or 0/1/2).
        rankings: sequences best-to-worst (see :func:`ranking_to_comparisons`), expanded to all
            strictly ordered pairs.

    Raises:
        ValueError: unknown trajectory index, a trajectory compared with itself, a bad label, a
            ranking that repeats a trajectory, or no comparison at all.
    """
    firsts, seconds, labels = [], [], []

    def index(value, where):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{where}: expected a trajectory index, got {value!r}")
        if not 0 <= value < num_trajectories:
            raise ValueError(f"{where}: unknown trajectory {value}; expected 0 <= index < {num_trajectories}")
        return int(value)

    for p, item in enumerate(comparisons):
        where = f"comparisons[{p}]"
        if isinstance(item, dict):
            missing = {"first", "second", "label"} - set(item)
            if missing:
                raise ValueError(f"{where}: missing keys {sorted(missing)}")
            a, b, label = item["first"], item["second"], item["label"]
        else:
            try:
                a, b, label = item
            except (TypeError, ValueError):
                raise ValueError(f"{where}: expected (first, second, label), got {item!r}") from None
        a, b = index(a, f"{where}.first"), index(b, f"{where}.second")
        if a == b:
            raise ValueError(f"{where}: trajectory {a} is compared with itself")
        firsts.append(a), seconds.append(b), labels.append(_parse_label(label, f"{where}.label"))
    for r, ranking in enumerate(rankings):
        where = f"rankings[{r}]"
        flat = [x for g in ranking for x in (g if isinstance(g, (list, tuple)) else [g])]
        for x in flat:
            index(x, where)
        if len(set(flat)) != len(flat):
            raise ValueError(f"{where}: a trajectory appears more than once in the ranking")
        for better, worse in ranking_to_comparisons(ranking):
            firsts.append(int(better)), seconds.append(int(worse)), labels.append(0)
    if not firsts:
        raise ValueError("preferences: expected at least one comparison or ranking, got none")
    as_int = lambda v: jnp.asarray(np.asarray(v, np.int32))  # noqa: E731
    return Preferences(as_int(firsts), as_int(seconds), as_int(labels))


def trajectory_returns(mdp: MDP, reward: Array, demos: Demonstrations) -> Array:
    """Discounted returns ``Σ_t γ^t R(s_t, a_t)`` of N trajectories under a reward.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        demos: N trajectories.

    Returns:
        (N,) returns (reward units).
    """
    reward = jnp.asarray(reward)
    r = reward[demos.states] if reward.ndim == 1 else reward[demos.states, demos.actions]
    T = demos.states.shape[1]
    weights = jnp.where(demos.mask, mdp.discount ** jnp.arange(T, dtype=r.dtype), 0.0)
    return jnp.sum(weights * r, axis=1)


@renamed_arguments(key="rng_key", delta_return="return_margin")
def synthetic_preferences(rng_key: PRNGKey, mdp: MDP, true_reward: Array, optimal_policy: Array,
                          num_comparisons: int, horizon: int, *, num_trajectories: int | None = None,
                          return_margin: float = 0.0) -> tuple[Demonstrations, Preferences]:
    """Simulated preferences: rollouts of noisy policies labelled by their true return.

    Trajectory i is a rollout of the mixture ``(1 − ε_i) π* + ε_i · uniform`` with ε_i spread
    evenly over [0, 1] (from the optimal to a random policy,
    :func:`~bayesirl.data.demos.noisy_rollouts`), as in the synthetic rankings of T-REX
    (Brown et al. 2019). Each comparison picks two distinct trajectories uniformly; the
    one with the higher true discounted return is preferred, "about equal" when the returns
    differ by at most ``return_margin`` (> 0 to produce weak preferences; exact ties are
    otherwise labelled "equal" too).

    Args:
        rng_key: PRNG key (``key``: deprecated alias).
        mdp: the MDP.
        true_reward: (S,) or (S, A) reward that labels the trajectories.
        optimal_policy: (S, A) the expert's policy π*.
        num_comparisons: P >= 1.
        horizon: rollout length T.
        num_trajectories: N >= 2; default ``min(max(2, P), 100)``.
        return_margin: return difference (reward units) at or below which two trajectories
            are "about equal" (``delta_return``: deprecated alias).

    Returns:
        (trajectories, preferences).
    """
    P = check_scalar(num_comparisons, "num_comparisons", low=1, integer=True)
    N = min(max(2, P), 100) if num_trajectories is None else check_scalar(
        num_trajectories, "num_trajectories", low=2, integer=True)
    k_roll, k_a, k_b = jax.random.split(rng_key, 3)
    demos = trim(noisy_rollouts(k_roll, mdp, jnp.asarray(optimal_policy), N, horizon))
    returns = np.asarray(trajectory_returns(mdp, true_reward, demos))
    # two distinct trajectories, uniformly: b = a + offset (mod N) with offset in [1, N)
    a = np.asarray(jax.random.randint(k_a, (P,), 0, N))
    b = (a + np.asarray(jax.random.randint(k_b, (P,), 1, N))) % N
    diff = returns[a] - returns[b]
    labels = np.where(np.abs(diff) <= return_margin, 2, np.where(diff > 0, 0, 1))
    comparisons = list(zip(a.tolist(), b.tolist(), labels.tolist()))
    return demos, make_preferences(N, comparisons)


def save_preferences(path: str | os.PathLike, trajectories: Demonstrations,
                     preferences: Preferences) -> None:
    """Write trajectories and comparisons as JSON (temporary name, then renamed).

    Format: ``{"format": "bayesirl.preferences/1", "trajectories": [{"states": [...],
    "actions": [...]}, ...], "comparisons": [{"first": i, "second": j, "label": "first" |
    "second" | "equal"}, ...]}``; a file may also give ``"rankings": [[best, ..., worst], ...]``.
    """
    states, actions, mask = (np.asarray(x) for x in trajectories)
    trajs = [{"states": states[n, : int(mask[n].sum())].tolist(),
              "actions": actions[n, : int(mask[n].sum())].tolist()} for n in range(states.shape[0])]
    comps = [{"first": int(a), "second": int(b), "label": LABELS[int(c)]}
             for a, b, c in zip(*(np.asarray(x) for x in preferences))]
    write_json(path, {"format": _FORMAT, "trajectories": trajs, "comparisons": comps},
               indent=None)


def load_preferences(path: str | os.PathLike, mdp: MDP | None = None
                     ) -> tuple[Demonstrations, Preferences]:
    """Read and validate a preferences file (see :func:`save_preferences` for the format).

    Raises:
        FileNotFoundError: no such file.
        ValueError: invalid JSON or content (unknown trajectory ids, self-pairs, bad labels,
            trajectories that do not fit ``mdp``).
    """
    from bayesirl.data.demos import check_demonstrations

    doc = read_json(path, "preferences")
    if not isinstance(doc, dict) or "trajectories" not in doc:
        raise ValueError(f"preferences: {path} must be an object with a 'trajectories' list")
    if "comparisons" not in doc and "rankings" not in doc:
        raise ValueError(f"preferences: {path} has neither 'comparisons' nor 'rankings'")
    S = mdp.num_states if mdp is not None else None
    A = mdp.num_actions if mdp is not None else None
    trajectories = make_demonstrations(doc["trajectories"], S, A)
    if mdp is not None:
        check_demonstrations(mdp, trajectories)
    for key in ("comparisons", "rankings"):
        if not isinstance(doc.get(key, []), list):
            raise ValueError(f"preferences: '{key}' in {path} must be a list")
    prefs = make_preferences(trajectories.num_trajectories, doc.get("comparisons", []),
                             doc.get("rankings", []))
    return trajectories, prefs
