"""Rankings of trajectories: each ranking ONE observation of the Plackett–Luce model.

A ranking orders some trajectories of a set of N (indices into it), best first. A full ranking
orders every trajectory it offers; a top-L ranking orders the best L of the trajectories
offered, the rest known to be worse in no known order. Rankings may offer different numbers of
trajectories. The likelihood is in :mod:`bayesirl.likelihoods.plackett_luce` (Plackett 1975;
Luce 1959); :func:`~bayesirl.data.preferences.make_preferences` instead expands a ranking
into all its ordered pairs for the Bradley–Terry model, which counts one ranking of K
trajectories as K(K − 1)/2 independent observations.

Files are JSON (``bayesirl.rankings/1``, see :func:`load_rankings`).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from bayesirl._io import read_json, write_json
from bayesirl._typing import Array
from bayesirl._validate import as_index_array

__all__ = ["TrajectoryRankings", "make_trajectory_rankings", "save_rankings", "load_rankings"]

_FORMAT = "bayesirl.rankings/1"
#: Index of ``order`` where a ranking offers fewer than K trajectories.
PADDING = -1


class TrajectoryRankings(NamedTuple):
    """R rankings of trajectories (indices into a set of N trajectories), a JAX pytree.

    Attributes:
        order: (R, K) int32 trajectory indices of each ranking, best first: the ``length``
            ranked ones, then the offered but unranked ones (a top-L ranking), then -1 padding
            (a ranking offering fewer than K trajectories).
        length: (R,) int32 number L of ranked trajectories (1 <= L <= the number offered).
    """

    order: Array
    length: Array

    @property
    def num_rankings(self) -> int:
        """R, the number of rankings."""
        return self.order.shape[0]

    @property
    def num_options(self) -> int:
        """K, the largest number of trajectories offered in one ranking."""
        return self.order.shape[1]


def _rows(value, name: str) -> list[list[int]]:
    """R lists of integer indices from a list of lists or an (R, K) array padded with -1."""
    if isinstance(value, TrajectoryRankings):
        order, length = np.asarray(value.order), np.asarray(value.length)
        return [[int(i) for i in row[:n]] for row, n in zip(order, length)]
    if isinstance(value, np.ndarray) or hasattr(value, "shape"):
        arr = np.asarray(value)
        if arr.ndim != 2:
            raise ValueError(f"{name}: expected an (R, K) array padded with -1 or a list of R "
                             f"lists of trajectory indices, got shape {arr.shape}")
        return [[x for x in row.tolist() if x != PADDING] for row in arr]
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: expected a list of rankings (lists of trajectory indices), "
                        f"got {type(value).__name__}")
    rows = []
    for r, row in enumerate(value):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
            raise ValueError(f"{name}[{r}]: expected a list of trajectory indices, got {row!r}")
        rows.append(list(row))
    return rows


def make_trajectory_rankings(rankings, num_trajectories: int | None = None, *,
                             offered=None) -> TrajectoryRankings:
    """Validated :class:`TrajectoryRankings` (inputs are copied, never modified).

    Args:
        rankings: R rankings, each a sequence of trajectory indices best first (lengths may
            differ), or an (R, K) integer array padded with -1, or a
            :class:`TrajectoryRankings` (checked again, e.g. against ``num_trajectories``).
        num_trajectories: N; indices must lie in [0, N) (default: only checked >= 0; the
            likelihood checks them against its trajectory set).
        offered: optional R sequences: the trajectories offered for each ranking, a superset
            of the ranked ones; those not ranked are known to be worse than every ranked one (a
            top-L ranking). Default: each ranking offers exactly the trajectories it ranks.

    Returns:
        TrajectoryRankings with K = the largest number offered.

    Raises:
        TypeError: indices that are not integers, rankings that are not sequences.
        ValueError: no ranking, an empty ranking, a trajectory repeated within a ranking or
            out of range, a ranked trajectory not offered, a ranking offering fewer than two
            trajectories (it has probability 1: no evidence), ``offered`` of another length.
    """
    upper = np.iinfo(np.int32).max if num_trajectories is None else int(num_trajectories)
    if isinstance(rankings, TrajectoryRankings) and offered is None:
        offered = [[i for i in row if i != PADDING] for row in np.asarray(rankings.order).tolist()]
    rows = _rows(rankings, "rankings")
    if not rows:
        raise ValueError("rankings: expected at least one ranking, got none")
    shown = None if offered is None else _rows(offered, "offered")
    if shown is not None and len(shown) != len(rows):
        raise ValueError(f"offered: expected {len(rows)} lists (one per ranking), got "
                         f"{len(shown)}")
    full = []
    for r, row in enumerate(rows):
        if not row:
            raise ValueError(f"rankings[{r}]: expected a non-empty list of trajectory indices")
        ids = [int(i) for i in as_index_array(row, f"rankings[{r}]", upper)]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rankings[{r}]: a trajectory appears more than once in {ids}")
        rest: list[int] = []
        if shown is not None:
            pool = [int(i) for i in as_index_array(shown[r], f"offered[{r}]", upper)]
            if len(set(pool)) != len(pool):
                raise ValueError(f"offered[{r}]: a trajectory appears more than once in {pool}")
            missing = sorted(set(ids) - set(pool))
            if missing:
                raise ValueError(f"rankings[{r}]: trajectory {missing[0]} is ranked but not in "
                                 f"offered[{r}]")
            rest = [i for i in pool if i not in set(ids)]
        if len(ids) + len(rest) < 2:
            raise ValueError(f"rankings[{r}]: a ranking needs at least two trajectories offered "
                             f"(one alone has probability 1), got {ids + rest}")
        full.append((ids, rest))
    K = max(len(ids) + len(rest) for ids, rest in full)
    order = np.full((len(full), K), PADDING, np.int32)
    length = np.zeros(len(full), np.int32)
    for r, (ids, rest) in enumerate(full):
        order[r, :len(ids) + len(rest)] = ids + rest
        length[r] = len(ids)
    return TrajectoryRankings(jnp.asarray(order), jnp.asarray(length))


def save_rankings(path: str | os.PathLike, rankings: TrajectoryRankings) -> None:
    """Write rankings as JSON (temporary name, then renamed).

    Format::

        {"format": "bayesirl.rankings/1",
         "rankings": [[3, 0, 7], [5, 2], ...],     # trajectory indices, best first
         "offered": [[3, 0, 7, 1, 4], [5, 2], ...]} # optional: a superset of each ranking

    ``offered`` is written only when some ranking is a top-L ranking.

    Args:
        path: the file (``.json``).
        rankings: the R rankings.
    """
    order, length = np.asarray(rankings.order), np.asarray(rankings.length)
    ranked = [[int(i) for i in row[:n]] for row, n in zip(order, length)]
    doc = {"format": _FORMAT, "rankings": ranked}
    shown = [[int(i) for i in row if i != PADDING] for row in order]
    if any(len(s) != len(r) for s, r in zip(shown, ranked)):
        doc["offered"] = shown
    write_json(path, doc, indent=None)


def load_rankings(path: str | os.PathLike, num_trajectories: int | None = None
                  ) -> TrajectoryRankings:
    """Read and validate a rankings file (see :func:`save_rankings` for the format).

    Args:
        path: the JSON file.
        num_trajectories: N, to check the indices against (default: not checked).

    Raises:
        FileNotFoundError: no such file.
        ValueError: invalid JSON or content (the message names the file and the field).
    """
    doc = read_json(path, "rankings")
    if not isinstance(doc, dict) or not isinstance(doc.get("rankings"), list):
        raise ValueError(f"rankings: {os.fspath(path)} must be an object with a 'rankings' list")
    offered = doc.get("offered")
    if offered is not None and not isinstance(offered, list):
        raise ValueError(f"rankings: 'offered' in {os.fspath(path)} must be a list")
    try:
        return make_trajectory_rankings(doc["rankings"], num_trajectories, offered=offered)
    except (TypeError, ValueError) as err:
        raise ValueError(f"rankings: {os.fspath(path)}: {err}") from None
