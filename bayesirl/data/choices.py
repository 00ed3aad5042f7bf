"""Discrete choices among K options and rankings of them: the data, JSON and CSV files.

A choice set offers K options, option k described by a feature vector ``x_k`` (F,); a person
picks one of the options that are available to them. With a linear utility ``u_k = w·x_k``
(the reward weights w of the library, in utility units) the Boltzmann-rational chooser is the
multinomial logit of McFadden (1974), Luce's choice rule (1959); a ranking of the options is
the Plackett–Luce model (Plackett 1975). The likelihoods are in
:mod:`bayesirl.likelihoods.choice`.

Choice sets with fewer than K options are padded with unavailable options (``available`` False,
features 0). Each choice set belongs to a person (an index in [0, I)), so a hierarchical model
can give every person their own weights (:mod:`bayesirl.hierarchical`).

Files (:func:`save_choices`, :func:`load_choices`) are JSON (``bayesirl.choices/1``) or CSV in
long format (one row per option); both are documented in :func:`save_choices`.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from bayesirl._io import atomic_path, read_json, write_json
from bayesirl._typing import Array
from bayesirl._validate import as_index_array

__all__ = [
    "ChoiceSets",
    "Rankings",
    "ChoiceData",
    "make_choice_sets",
    "make_rankings",
    "choices_from_preferences",
    "save_choices",
    "load_choices",
    "CSV_COLUMNS",
]

_FORMAT = "bayesirl.choices/1"
#: The reserved columns of the long-format CSV; every other column is a feature.
CSV_COLUMNS = ("choice_set", "option", "chosen", "rank", "available", "person")


class ChoiceSets(NamedTuple):
    """N choices, each among K options with F features (a JAX pytree).

    Attributes:
        features: (N, K, F) float feature vectors x of the options (0 for unavailable ones).
        available: (N, K) bool, True for the options offered in each choice set.
        chosen: (N,) int32 index of the chosen option (always an available one).
        person: (N,) int32 index in [0, I) of the person who chose (all 0 for one person).
    """

    features: Array
    available: Array
    chosen: Array
    person: Array

    @property
    def num_choices(self) -> int:
        """N, the number of choice sets."""
        return self.features.shape[0]

    @property
    def num_options(self) -> int:
        """K, the largest number of options in a choice set."""
        return self.features.shape[1]

    @property
    def num_features(self) -> int:
        """F, the number of features of an option."""
        return self.features.shape[2]

    @property
    def num_persons(self) -> int:
        """I = 1 + the largest person index (read eagerly: not inside jit)."""
        return int(np.max(np.asarray(self.person))) + 1


class Rankings(NamedTuple):
    """N rankings, each of (some of) the K options of a choice set (a JAX pytree).

    A full ranking orders every available option; a top-k ranking orders only the best
    ``length`` of them (the rest are known to be worse, in no known order).

    Attributes:
        features: (N, K, F) float feature vectors of the options (0 for unavailable ones).
        order: (N, K) int32, a permutation of 0 … K−1 per row: the ranked options best first,
            then the unranked available options, then the unavailable ones.
        length: (N,) int32 number of ranked options (1 <= length <= available options).
        available: (N, K) bool, True for the options offered.
        person: (N,) int32 index in [0, I) of the person who ranked.
    """

    features: Array
    order: Array
    length: Array
    available: Array
    person: Array

    @property
    def num_rankings(self) -> int:
        """N, the number of rankings."""
        return self.features.shape[0]

    @property
    def num_persons(self) -> int:
        """I = 1 + the largest person index (read eagerly: not inside jit)."""
        return int(np.max(np.asarray(self.person))) + 1


class ChoiceData(NamedTuple):
    """Choice sets (or rankings) with the names of their features, options and persons, as
    files and data sets give them.

    Attributes:
        choices: the :class:`ChoiceSets`, or :class:`Rankings` when the file ranks options.
        feature_names: F names, one per feature (column of ``choices.features[..., f]``).
        option_names: K names of the options (e.g. ``("TRAIN", "SM", "CAR")``), or ``()`` when
            options are only positions.
        description: what the data are and where they come from (may be empty).
        person_names: I labels of the persons (person index i is ``person_names[i]``), or
            ``()`` when the indices are the labels.
    """

    choices: ChoiceSets
    feature_names: tuple[str, ...]
    option_names: tuple[str, ...] = ()
    description: str = ""
    person_names: tuple[str, ...] = ()


# --- validation ------------------------------------------------------------------------------

def _features(features) -> np.ndarray:
    try:
        arr = np.array(features, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"features: expected a numeric (N, K, F) array, got "
                        f"{type(features).__name__}") from err
    if arr.ndim != 3:
        raise ValueError(f"features: expected an (N, K, F) array, got shape {arr.shape}")
    N, K, F = arr.shape
    if N < 1 or K < 2 or F < 1:
        raise ValueError(f"features: expected N >= 1 choice sets, K >= 2 options and F >= 1 "
                         f"features, got shape {arr.shape}")
    return arr


def _available(available, shape: tuple[int, int]) -> np.ndarray:
    if available is None:
        return np.ones(shape, bool)
    raw = np.array(available, copy=True)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"available: expected booleans (or 0/1), got dtype {raw.dtype}")
    if raw.shape != shape:
        raise ValueError(f"available: expected shape {shape} (N, K), got {raw.shape}")
    if raw.dtype.kind != "b" and not np.all((raw == 0) | (raw == 1)):
        bad = tuple(int(i) for i in np.argwhere((raw != 0) & (raw != 1))[0])
        raise ValueError(f"available: expected booleans or 0/1, got {raw[bad]} at index {bad}")
    return raw.astype(bool)


def _persons(person, N: int, num_persons) -> np.ndarray:
    if person is None:
        return np.zeros(N, np.int64)
    if num_persons is None:
        ids = as_index_array(person, "person", np.iinfo(np.int32).max)
    else:
        if isinstance(num_persons, bool) or not isinstance(num_persons, (int, np.integer)) \
                or num_persons < 1:
            raise ValueError(f"num_persons: expected an integer >= 1, got {num_persons!r}")
        ids = as_index_array(person, "person", int(num_persons))
    if ids.shape != (N,):
        raise ValueError(f"person: expected shape ({N},) (one index per choice set), "
                         f"got {ids.shape}")
    return ids


def _check_features_available(arr: np.ndarray, available: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(arr) & available[..., None]
    if bad.any():
        n, k, f = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"features: expected finite numbers for available options, got "
                         f"{arr[n, k, f]} at choice set {n}, option {k}, feature {f}")
    return np.where(available[..., None], arr, 0.0)  # unavailable options: NaN allowed, stored 0


def _check_counts(available: np.ndarray, what: str) -> None:
    counts = available.sum(axis=1)
    if (counts < 2).any():
        n = int(np.argmax(counts < 2))
        raise ValueError(f"available: {what} {n} offers {int(counts[n])} option(s); expected "
                         f"at least 2")


def make_choice_sets(features, chosen, available=None, person=None, *,
                     num_persons: int | None = None) -> ChoiceSets:
    """Validated :class:`ChoiceSets` from arrays (inputs are copied, never modified).

    Args:
        features: (N, K, F) feature vectors; entries of unavailable options may be NaN (they are
            stored as 0).
        chosen: (N,) index of the chosen option of each choice set.
        available: (N, K) booleans (or 0/1); default: every option is available.
        person: (N,) person index of each choice set; default all 0.
        num_persons: I; person indices must lie in [0, I). Default: 1 + the largest index.

    Returns:
        ChoiceSets (features in JAX's default float dtype, indices int32).

    Raises:
        TypeError: non-numeric features, non-integer indices.
        ValueError: wrong shapes (N < 1, K < 2, F < 1), NaN/inf features of an available option, an
            index out of range, a chosen option that is not available, a choice set with fewer
            than 2 available options; the message names the argument and the choice set.
    """
    arr = _features(features)
    N, K, _ = arr.shape
    avail = _available(available, (N, K))
    picks = as_index_array(chosen, "chosen", K)
    if picks.shape != (N,):
        raise ValueError(f"chosen: expected shape ({N},) (one index per choice set), "
                         f"got {picks.shape}")
    ids = _persons(person, N, num_persons)
    arr = _check_features_available(arr, avail)
    _check_counts(avail, "choice set")
    unavailable = ~avail[np.arange(N), picks]
    if unavailable.any():
        n = int(np.argmax(unavailable))
        raise ValueError(f"chosen: choice set {n} chose option {int(picks[n])}, which is not "
                         f"available")
    return ChoiceSets(jnp.asarray(arr), jnp.asarray(avail), jnp.asarray(picks, jnp.int32),
                      jnp.asarray(ids, jnp.int32))


def _ranking_rows(rankings, N: int, K: int) -> list[list[int]]:
    if isinstance(rankings, np.ndarray) or hasattr(rankings, "shape"):
        arr = np.asarray(rankings)
        if arr.ndim != 2 or arr.shape[0] != N:
            raise ValueError(f"rankings: expected an (N, K) array with N = {N} (padding -1) or a "
                             f"list of N lists, got shape {arr.shape}")
        rows = [[x for x in row.tolist() if x != -1] for row in arr]
    else:
        rows = [list(r) if isinstance(r, (list, tuple, np.ndarray)) else r for r in rankings]
        if len(rows) != N:
            raise ValueError(f"rankings: expected {N} rankings (one per choice set), "
                             f"got {len(rows)}")
    out = []
    for n, row in enumerate(rows):
        if not isinstance(row, list) or not row:
            raise ValueError(f"rankings[{n}]: expected a non-empty list of option indices, "
                             f"got {row!r}")
        out.append([int(i) for i in as_index_array(row, f"rankings[{n}]", K)])
    return out


def make_rankings(features, rankings, available=None, person=None, *,
                  num_persons: int | None = None) -> Rankings:
    """Validated :class:`Rankings` (inputs are copied, never modified).

    Args:
        features: (N, K, F) feature vectors of the options (NaN allowed for unavailable ones).
        rankings: N rankings, each a list of option indices best first (all available options:
            a full ranking; fewer: a top-k ranking), or an (N, K) integer array padded with -1.
        available: (N, K) booleans; default all available.
        person: (N,) person indices; default all 0.
        num_persons: I; person indices must lie in [0, I). Default: 1 + the largest index.

    Returns:
        Rankings whose ``order`` completes each ranking to a permutation of 0 … K−1.

    Raises:
        TypeError / ValueError: as :func:`make_choice_sets`, and a ranking that is empty,
            repeats an option or ranks an unavailable one.
    """
    arr = _features(features)
    N, K, _ = arr.shape
    avail = _available(available, (N, K))
    rows = _ranking_rows(rankings, N, K)
    ids = _persons(person, N, num_persons)
    arr = _check_features_available(arr, avail)
    _check_counts(avail, "ranking")
    order = np.zeros((N, K), np.int64)
    length = np.zeros(N, np.int64)
    for n, row in enumerate(rows):
        if len(set(row)) != len(row):
            raise ValueError(f"rankings[{n}]: an option appears more than once in {row}")
        off = [k for k in row if not avail[n, k]]
        if off:
            raise ValueError(f"rankings[{n}]: option {off[0]} is ranked but not available")
        ranked = set(row)
        rest = [k for k in range(K) if k not in ranked and avail[n, k]]
        rest += [k for k in range(K) if not avail[n, k]]
        order[n], length[n] = row + rest, len(row)
    return Rankings(jnp.asarray(arr), jnp.asarray(order, jnp.int32),
                    jnp.asarray(length, jnp.int32), jnp.asarray(avail),
                    jnp.asarray(ids, jnp.int32))


def choices_from_preferences(features, preferences, person=None, *,
                             num_persons: int | None = None) -> ChoiceSets:
    """Strict preferences between trajectories as two-option choice sets, so that preferences
    from many labellers can be fitted with per-person weights (``bayesirl fit --choices``
    with ``--group-by``, or the ``choice`` source with a
    :class:`~bayesirl.likelihoods.luce.Hierarchy`).

    Comparison p of trajectories A = ``first[p]`` and B = ``second[p]`` becomes the choice set
    with options ``(Φ_A, Φ_B)`` and chosen option 0 (A preferred) or 1 (B preferred): the
    multinomial logit of two options is Bradley–Terry, ``σ(β w·(Φ_A − Φ_B))`` (Bradley &
    Terry 1952; Brown et al. 2019).

    Args:
        features: (N, F) feature counts Φ of the compared trajectories.
        preferences: P comparisons (:class:`~bayesirl.data.preferences.Preferences`) of rows
            of ``features``, labels 0 or 1.
        person: (P,) index of the labeller of each comparison (default: all 0).
        num_persons: I, as in :func:`make_choice_sets`.

    Returns:
        ChoiceSets with (P, 2, F) features.

    Raises:
        ValueError: an "about equal" answer (label 2: it needs the weak-preference margin of
            the Bradley–Terry likelihood), an index outside [0, N), or as
            :func:`make_choice_sets`.
    """
    counts = np.asarray(features, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"features: expected (N, F) feature counts, got shape {counts.shape}")
    first, second, label = (np.asarray(x) for x in preferences)
    N = counts.shape[0]
    for name, ids in (("first", first), ("second", second)):
        if ids.size and (ids.min() < 0 or ids.max() >= N):
            raise ValueError(f"preferences.{name}: expected trajectory indices in [0, {N}), "
                             f"got {int(ids.min())}..{int(ids.max())}")
    if np.any(label == 2):
        p = int(np.argmax(label == 2))
        raise ValueError(f"preferences.label: comparison {p} is 'about equal'; a choice set "
                         "needs a strict answer (fit such labels with the Bradley–Terry "
                         "likelihood and its margin)")
    return make_choice_sets(np.stack([counts[first], counts[second]], axis=1), label, None,
                            person, num_persons=num_persons)


# --- files -----------------------------------------------------------------------------------

def _names(names, count: int, what: str, default_prefix: str | None) -> tuple[str, ...]:
    if names is None or len(names) == 0:
        return tuple(f"{default_prefix}{i}" for i in range(count)) if default_prefix else ()
    names = tuple(str(x) for x in names)
    if len(names) != count:
        raise ValueError(f"{what}: expected {count} names, got {len(names)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what}: names must be distinct, got {list(names)}")
    return names


def _ranked(choices) -> list[list[int]]:
    """The chosen option (a list of one) or the ranked options, best first, of each set."""
    if isinstance(choices, Rankings):
        order, length = np.asarray(choices.order), np.asarray(choices.length)
        return [order[n, :length[n]].tolist() for n in range(order.shape[0])]
    return [[int(k)] for k in np.asarray(choices.chosen)]


def save_choices(path: str | os.PathLike, choices: ChoiceSets | Rankings, feature_names=None,
                 option_names=None, person_names=None) -> None:
    """Write choice sets (or rankings) as JSON or long-format CSV, by the file name (atomic
    write).

    **JSON** (``.json``)::

        {"format": "bayesirl.choices/1",
         "feature_names": ["price", "time"],          # F names
         "option_names": ["A", "B", "C"],             # optional: K names
         "person_names": ["ann", "bob"],              # optional: I names of person indices
         "choice_sets": [
            {"features": [[1.0, 2.5], [0.5, 3.0], null],  # K rows of F numbers (null: absent)
             "available": [true, true, false],            # optional, default all true
             "chosen": 1,                                 # option index (or name)
             "person": 0},                                # optional, default 0
            {"features": [[1.0, 2.0], [0.0, 1.0], [2.0, 0.5]],
             "ranking": [2, 0],                           # instead of "chosen": best first
             "person": 1},
            ...]}

    A ``"ranking"`` lists options best first: all available options (a full ranking) or the
    best few (a top-k ranking); ``"chosen": k`` is the same as ``"ranking": [k]``. Choice sets
    may list fewer options than others; missing options are unavailable. The person of a set is
    ``"person"`` (or the key given to :func:`load_choices` as ``group_by``): an integer index
    >= 0 or any label (labels are numbered in order of first appearance).

    **CSV** (``.csv`` or ``.csv.gz``), one row per option of each choice set::

        choice_set,option,chosen,available,person,price,time
        0,0,0,1,0,1.0,2.5
        0,1,1,1,0,0.5,3.0

    ``choice_set`` is any label (sets are numbered in order of first appearance); ``option`` an
    index in [0, K) or a name (numbered in order of first appearance); ``chosen`` 1 on exactly
    one row per set, or instead a ``rank`` column (1 for the best, 2 for the next, ...; empty
    or 0 for options not ranked); ``available`` (optional column, default 1) 0 or 1;
    ``person`` (optional, default 0) an integer index >= 0 or a label; every other column is a
    numeric feature. An option missing from a set is unavailable; a feature cell may be empty
    for an unavailable option.

    Args:
        path: the file; its name ends in ``.json``, ``.csv`` or ``.csv.gz``.
        choices: the N choice sets (:class:`ChoiceSets`) or rankings (:class:`Rankings`).
        feature_names: F names (default ``x0``, ``x1``, …).
        option_names: K names (default: options written as indices).
        person_names: I names of the person indices (JSON only; default none).

    Raises:
        ValueError: an unknown file extension, or names of the wrong number.
        TypeError: ``choices`` neither ChoiceSets nor Rankings.
    """
    if not isinstance(choices, (ChoiceSets, Rankings)):
        raise TypeError(f"choices: expected ChoiceSets or Rankings, got {type(choices).__name__}")
    feats = np.asarray(choices.features)
    N, K, F = feats.shape
    fnames = _names(feature_names, F, "feature_names", "x")
    onames = _names(option_names, K, "option_names", None)
    avail, person = np.asarray(choices.available), np.asarray(choices.person)
    pnames = _names(person_names, int(person.max()) + 1, "person_names", None)
    bad = [n for n in fnames if n in CSV_COLUMNS]
    if bad:
        raise ValueError(f"feature_names: {bad[0]!r} is a reserved column name {CSV_COLUMNS}")
    ranked = _ranked(choices)
    rankings = isinstance(choices, Rankings)
    kind = _kind(path)
    if kind == "json":
        sets = []
        for n in range(N):
            item = {"features": [feats[n, k].tolist() for k in range(K)], "person": int(person[n])}
            picks = [onames[k] if onames else int(k) for k in ranked[n]]
            if rankings:
                item["ranking"] = picks
            else:
                item["chosen"] = picks[0]
            if not avail[n].all():
                item["available"] = avail[n].tolist()
            sets.append(item)
        doc = {"format": _FORMAT, "feature_names": list(fnames), "choice_sets": sets}
        if onames:
            doc["option_names"] = list(onames)
        if pnames:
            doc["person_names"] = list(pnames)
        write_json(path, doc, indent=None)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    pick = "rank" if rankings else "chosen"
    writer.writerow(["choice_set", "option", pick, "available", "person", *fnames])
    for n in range(N):
        for k in range(K):
            mark = (ranked[n].index(k) + 1 if k in ranked[n] else "") if rankings else int(
                ranked[n][0] == k)
            writer.writerow([n, onames[k] if onames else k, mark, int(avail[n, k]),
                             pnames[person[n]] if pnames else int(person[n]),
                             *(repr(float(v)) for v in feats[n, k])])
    with atomic_path(path) as tmp:
        opener = gzip.open if kind == "csv.gz" else open
        with opener(tmp, "wt", encoding="utf-8", newline="") as f:
            f.write(buffer.getvalue())


def _kind(path) -> str:
    name = os.fspath(path).lower()
    for kind in ("csv.gz", "csv", "json"):
        if name.endswith("." + kind):
            return kind
    raise ValueError(f"path: expected a file name ending in .json, .csv or .csv.gz, got "
                     f"{os.fspath(path)!r}")


def load_choices(path: str | os.PathLike, group_by: str = "person") -> ChoiceData:
    """Read and validate a choices file (JSON or long-format CSV, see :func:`save_choices`).

    Args:
        path: the file (``.json``, ``.csv`` or ``.csv.gz``).
        group_by: the field (JSON key of a choice set, or CSV column) that says who chose:
            ``"person"`` by default; another CSV column is then not a feature. Its values are
            integer indices >= 0 (kept as they are) or labels (numbered in order of first
            appearance, kept in ``person_names``).

    Returns:
        ChoiceData with the choice sets (:class:`ChoiceSets`, or :class:`Rankings` when some
        set is ranked) and the feature, option and person names.

    Raises:
        FileNotFoundError: no such file.
        ValueError: invalid content; the message names the file, the line or choice set and
            the field.
    """
    if not isinstance(group_by, str) or not group_by:
        raise ValueError(f"group_by: expected a field name, got {group_by!r}")
    kind = _kind(path)
    if kind == "json":
        return _load_json(path, group_by)
    opener = gzip.open if kind == "csv.gz" else open
    with opener(os.fspath(path), "rt", encoding="utf-8", newline="") as f:
        return _load_csv(f, path, group_by)


def _person_indices(labels: list, where: str, field: str, given_names=()):
    """(N,) person indices and the person names from per-set labels: integer labels >= 0 are
    indices; otherwise each distinct label is a person, in order of first appearance."""
    def is_index(x):
        return (isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= 0) or (
            isinstance(x, str) and x.isdigit())

    if all(is_index(x) for x in labels):
        return np.array([int(x) for x in labels], np.int64), tuple(given_names)
    for n, x in enumerate(labels):
        if not isinstance(x, (str, int)) or isinstance(x, bool) or (isinstance(x, str)
                                                                     and not x.strip()):
            raise ValueError(f"{where}: choice set {n}: '{field}' must be an integer >= 0 or a "
                             f"non-empty label, got {x!r}")
    names = {}
    ids = np.array([names.setdefault(str(x), len(names)) for x in labels], np.int64)
    return ids, tuple(names)


def _build(where, feats, avail, ranked, person, as_rankings):
    try:
        if as_rankings:
            return make_rankings(feats, ranked, avail, person)
        return make_choice_sets(feats, [r[0] for r in ranked], avail, person)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from None


def _load_json(path, group_by: str = "person") -> ChoiceData:
    where = f"choices: {os.fspath(path)}"
    doc = read_json(path, "choices")
    if not isinstance(doc, dict) or not isinstance(doc.get("choice_sets"), list):
        raise ValueError(f"{where} must be an object with a 'choice_sets' list")
    if not doc["choice_sets"]:
        raise ValueError(f"{where}: 'choice_sets' is empty")
    fnames = doc.get("feature_names")
    if not isinstance(fnames, list) or not fnames:
        raise ValueError(f"{where}: 'feature_names' must be a non-empty list of names")
    F = len(fnames)
    onames = doc.get("option_names", [])
    if not isinstance(onames, list):
        raise ValueError(f"{where}: 'option_names' must be a list of names")
    pnames = doc.get("person_names", [])
    if not isinstance(pnames, list) or not all(isinstance(x, str) for x in pnames):
        raise ValueError(f"{where}: 'person_names' must be a list of names")
    sets = doc["choice_sets"]
    K = max([len(s.get("features", [])) if isinstance(s, dict) else 0 for s in sets] +
            [len(onames)])
    N = len(sets)
    feats = np.full((N, K, F), np.nan)
    avail = np.zeros((N, K), bool)
    ranked, labels, any_ranking = [], [], False
    for n, item in enumerate(sets):
        here = f"{where}, choice_sets[{n}]"
        if not isinstance(item, dict) or "features" not in item or (
                ("chosen" in item) == ("ranking" in item)):
            raise ValueError(f"{here}: expected an object with 'features' and either 'chosen' "
                             f"or 'ranking'")
        rows = item["features"]
        if not isinstance(rows, list):
            raise ValueError(f"{here}.features: expected a list of option feature rows")
        given = item.get("available", [row is not None for row in rows])
        if not isinstance(given, list) or len(given) != len(rows) or \
                not all(isinstance(a, bool) or a in (0, 1) for a in given):
            raise ValueError(f"{here}.available: expected {len(rows)} booleans, got {given!r}")
        for k, row in enumerate(rows):
            if row is None:
                if given[k]:
                    raise ValueError(f"{here}.features[{k}]: an available option needs "
                                     f"features, got null")
                continue
            if not isinstance(row, list) or len(row) != F:
                raise ValueError(f"{here}.features[{k}]: expected {F} numbers "
                                 f"(one per feature name), got {row!r}")
            try:
                feats[n, k] = [np.nan if v is None else float(v) for v in row]
            except (TypeError, ValueError):
                raise ValueError(f"{here}.features[{k}]: expected numbers, got {row!r}") from None
            avail[n, k] = bool(given[k])
        field_name = "ranking" if "ranking" in item else "chosen"
        picks = item[field_name] if field_name == "ranking" else [item["chosen"]]
        any_ranking |= field_name == "ranking"
        if not isinstance(picks, list) or not picks:
            raise ValueError(f"{here}.ranking: expected a non-empty list of option indices or "
                             f"names, best first, got {picks!r}")
        out = []
        for pick in picks:
            if isinstance(pick, str):
                if pick not in onames:
                    raise ValueError(f"{here}.{field_name}: unknown option name {pick!r}; "
                                     f"option_names are {onames}")
                pick = onames.index(pick)
            if isinstance(pick, bool) or not isinstance(pick, int):
                raise ValueError(f"{here}.{field_name}: expected an option index or name, got "
                                 f"{pick!r}")
            out.append(pick)
        ranked.append(out)
        if group_by != "person" and group_by not in item:
            raise ValueError(f"{here}: no '{group_by}' (the group_by field)")
        labels.append(item.get(group_by, 0))
    person, names = _person_indices(labels, where, group_by,
                                    pnames if group_by == "person" else ())
    choices = _build(where, feats, avail, ranked, person, any_ranking)
    if names and len(names) != int(person.max()) + 1:
        raise ValueError(f"{where}: 'person_names' has {len(names)} names, but person indices "
                         f"go up to {int(person.max())}")
    return ChoiceData(choices, tuple(str(x) for x in fnames),
                      _names(onames, K, "option_names", None) if onames else (), "", names)


def _load_csv(f, path, group_by: str = "person") -> ChoiceData:
    where = f"choices: {os.fspath(path)}"
    reader = csv.reader(f)
    header = next(reader, None)
    if not header:
        raise ValueError(f"{where} is empty; expected a header row {CSV_COLUMNS[:3]} + features")
    header = [h.strip() for h in header]
    missing = [c for c in CSV_COLUMNS[:2] if c not in header]
    if "chosen" not in header and "rank" not in header:
        missing.append("chosen (or rank)")
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; expected at least "
                         f"{list(CSV_COLUMNS[:3])} and feature columns")
    if len(set(header)) != len(header):
        raise ValueError(f"{where}: repeated column names in the header {header}")
    if group_by != "person" and group_by not in header:
        raise ValueError(f"{where}: no column '{group_by}' (the group_by column); columns are "
                         f"{header}")
    col = {name: i for i, name in enumerate(header)}
    fcols = [i for i, name in enumerate(header) if name not in CSV_COLUMNS and name != group_by]
    if not fcols:
        raise ValueError(f"{where}: no feature columns (every column besides {CSV_COLUMNS})")
    use_rank = "rank" in col
    set_ids, option_labels, records = {}, {}, []
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ValueError(f"{where}, line {line}: expected {len(header)} columns, "
                             f"got {len(row)}")

        def flag(name, default=None, line=line, row=row):
            if name not in col:
                return default
            value = row[col[name]].strip()
            if value not in ("0", "1"):
                raise ValueError(f"{where}, line {line}: column '{name}' must be 0 or 1, "
                                 f"got {value!r}")
            return value == "1"

        n = set_ids.setdefault(row[col["choice_set"]].strip(), len(set_ids))
        label = row[col["option"]].strip()
        option_labels.setdefault(label, len(option_labels))
        is_avail = flag("available", True)
        if use_rank:
            cell = row[col["rank"]].strip()
            if cell and not cell.isdigit():
                raise ValueError(f"{where}, line {line}: column 'rank' must be an integer >= 1 "
                                 f"(1 = best) or empty, got {cell!r}")
            rank = int(cell) if cell else 0
        else:
            rank = 1 if flag("chosen") else 0
        p = row[col[group_by]].strip() if group_by in col else "0"
        if not p:
            raise ValueError(f"{where}, line {line}: column '{group_by}' is empty")
        values = []
        for i in fcols:
            cell = row[i].strip()
            try:
                values.append(float(cell) if cell else np.nan)
            except ValueError:
                raise ValueError(f"{where}, line {line}: feature column '{header[i]}' must be "
                                 f"a number, got {cell!r}") from None
        records.append((line, n, label, rank, is_avail, p, values))
    if not records:
        raise ValueError(f"{where}: no data rows")
    numeric = all(lbl.isdigit() for lbl in option_labels)
    onames = () if numeric else tuple(option_labels)
    K = max(int(lbl) for lbl in option_labels) + 1 if numeric else len(option_labels)
    if K < 2:
        raise ValueError(f"{where}: column 'option' names a single option; a choice needs >= 2")
    N, F = len(set_ids), len(fcols)
    feats = np.full((N, K, F), np.nan)
    avail = np.zeros((N, K), bool)
    seen = np.zeros((N, K), bool)
    ranks = np.zeros((N, K), np.int64)
    lines = np.zeros((N, K), np.int64)
    labels = [None] * N
    set_names = list(set_ids)
    for line, n, label, rank, is_avail, p, values in records:
        k = int(label) if numeric else option_labels[label]
        if seen[n, k]:
            raise ValueError(f"{where}, line {line}: option {label!r} appears twice in choice "
                             f"set {set_names[n]!r}")
        seen[n, k] = True
        feats[n, k], avail[n, k], ranks[n, k], lines[n, k] = values, is_avail, rank, line
        if labels[n] not in (None, p):
            raise ValueError(f"{where}, line {line}: column '{group_by}' differs within choice "
                             f"set {set_names[n]!r} ({labels[n]} and {p})")
        labels[n] = p
    ranked = []
    for n in range(N):
        given = sorted((int(r), int(lines[n, k]), k) for k, r in enumerate(ranks[n]) if r > 0)
        if not given:
            raise ValueError(f"{where}: choice set {set_names[n]!r} has no chosen option "
                             f"(column '{'rank' if use_rank else 'chosen'}')")
        bad = [j for j, (r, _, _) in enumerate(given) if r != j + 1]
        if bad:
            line = max(ln for _, ln, _ in given[:bad[0] + 1])
            what = ("ranks must be 1, 2, ... without gaps or repeats" if use_rank
                    else "more than one chosen option")
            raise ValueError(f"{where}, line {line}: choice set {set_names[n]!r} has {what}, "
                             f"got {[r for r, _, _ in given]}")
        ranked.append([k for _, _, k in given])
    person, names = _person_indices(labels, where, group_by)
    choices = _build(where, feats, avail, ranked, person, use_rank)
    return ChoiceData(choices, tuple(header[i] for i in fcols), onames, "", names)
