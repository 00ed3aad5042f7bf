"""Two real stated-choice data sets shipped with bayesirl: Swissmetro and the Dutch train trips.

Both ship as gzip-compressed CSV files inside the package (see ``data/NOTICE.md`` for their
sources and licence) and load as :class:`~bayesirl.data.choices.ChoiceData`, ready for
:mod:`bayesirl.likelihoods.choice` and :mod:`bayesirl.hierarchical`.
"""

from __future__ import annotations

import csv
import gzip
from importlib import resources

import numpy as np

from bayesirl.data.choices import ChoiceData, make_choice_sets

__all__ = ["load_swissmetro", "load_dutch_train", "SWISSMETRO_FEATURES", "DUTCH_TRAIN_FEATURES",
           "GUILDERS_PER_EURO", "CHOICE_DATASETS", "load_choice_dataset"]

#: Feature names of :func:`load_swissmetro`, the layout of Biogeme's ``01logit``.
SWISSMETRO_FEATURES = ("ASC_TRAIN", "ASC_CAR", "TIME", "COST")
#: Feature names of :func:`load_dutch_train`.
DUTCH_TRAIN_FEATURES = ("price", "time", "change", "comfort")
#: The fixed conversion rate of the Dutch guilder to the euro (1999).
GUILDERS_PER_EURO = 2.20371


def _read(name: str) -> tuple[list[str], np.ndarray]:
    """Header and float table of a packaged CSV (quoted strings left as they are)."""
    path = resources.files("bayesirl.datasets") / "data" / name
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def load_swissmetro(keep_biogeme_sample: bool = True) -> ChoiceData:
    """The Swissmetro mode choices (TRAIN, SM = Swissmetro, CAR) in Biogeme's ``01logit`` layout.

    Each option has F = 4 features ``(ASC_TRAIN, ASC_CAR, TIME, COST)``, so that
    ``utility = features @ w`` with ``w = (ASC_TRAIN, ASC_CAR, B_TIME, B_COST)``:

    * TRAIN: ``(1, 0, TRAIN_TT / 100, TRAIN_CO·(GA == 0) / 100)``;
    * SM: ``(0, 0, SM_TT / 100, SM_CO·(GA == 0) / 100)`` (the reference: its constant is 0);
    * CAR: ``(0, 1, CAR_TT / 100, CAR_CO / 100)``.

    Times are in units of 100 minutes and costs in units of 100 Swiss francs; season-ticket
    holders (GA = 1) pay nothing for train and Swissmetro. TRAIN and CAR are available when
    ``TRAIN_AV``/``CAR_AV`` are 1 and the row is stated-preference (``SP != 0``), SM when
    ``SM_AV`` is 1. The person of a choice is the respondent (``ID``, renumbered 0 … I−1 in
    increasing order); each answered 9 choices.

    Args:
        keep_biogeme_sample: keep only trips with ``PURPOSE`` 1 (commuter) or 3 (business), as
            Biogeme's examples do (N = 6768 choices, 752 persons); False keeps every row with a
            recorded choice (N = 10 719). Rows with ``CHOICE = 0`` (no answer) are always
            dropped.

    Returns:
        ChoiceData with option names ``("TRAIN", "SM", "CAR")``.

    Reference values: at Biogeme's maximum-likelihood estimates (ASC_TRAIN −0.7012,
    ASC_CAR −0.1546, B_TIME −1.2779, B_COST −1.0838) the log-likelihood of the default sample is
    −5331.252 (Biogeme example ``b01a_logit``). Source: Bierlaire, Axhausen & Abay 2001.
    """
    header, rows = _read("swissmetro.csv.gz")
    t = np.asarray(rows, dtype=np.float64)
    c = {name: t[:, i] for i, name in enumerate(header)}
    keep = c["CHOICE"] != 0
    if keep_biogeme_sample:
        keep &= (c["PURPOSE"] == 1) | (c["PURPOSE"] == 3)
    c = {name: col[keep] for name, col in c.items()}
    N = int(keep.sum())
    no_ga = (c["GA"] == 0).astype(np.float64)
    sp = c["SP"] != 0
    zeros, ones = np.zeros(N), np.ones(N)
    features = np.stack([
        np.stack([ones, zeros, c["TRAIN_TT"] / 100, c["TRAIN_CO"] * no_ga / 100], axis=-1),
        np.stack([zeros, zeros, c["SM_TT"] / 100, c["SM_CO"] * no_ga / 100], axis=-1),
        np.stack([zeros, ones, c["CAR_TT"] / 100, c["CAR_CO"] / 100], axis=-1),
    ], axis=1)
    available = np.stack([(c["TRAIN_AV"] == 1) & sp, c["SM_AV"] == 1, (c["CAR_AV"] == 1) & sp],
                         axis=1)
    _, person = np.unique(c["ID"], return_inverse=True)
    choices = make_choice_sets(features, c["CHOICE"].astype(np.int64) - 1, available, person)
    description = ("Swissmetro stated-preference mode choices (Bierlaire, Axhausen & Abay 2001)"
                   + (", PURPOSE in {1, 3}" if keep_biogeme_sample else "")
                   + "; times in 100 min, costs in 100 CHF (0 for GA holders on TRAIN/SM).")
    return ChoiceData(choices, SWISSMETRO_FEATURES, ("TRAIN", "SM", "CAR"), description)


def load_dutch_train() -> ChoiceData:
    """The Dutch railways' binary choices between two train trips (K = 2, N = 2929, I = 235).

    Features ``(price, time, change, comfort)`` of each trip, scaled so that the weights are of
    order one:

    * price in euros (the file's cents of guilders / 100 / :data:`GUILDERS_PER_EURO`);
    * time in hours (minutes / 60);
    * change: the number of changes;
    * comfort: the comfort class, 0 (most comfortable), 1 or 2 (least): a positive feature
      value is *less* comfort, so its weight is expected negative, like price and time.

    The person is the respondent (``id``, renumbered 0 … 234); each made 5 to 19 choices.

    Returns:
        ChoiceData with option names ``("A", "B")``.

    Reference values: the multinomial logit maximum-likelihood estimates of the R package
    ``mlogit`` (Croissant, vignette "The random parameters (or mixed) logit model"), converted
    to these units, are price −0.3271 per euro, time −1.7206 per hour, change −0.3263,
    comfort −0.9457. Source: Ben-Akiva, Bolduc & Bradley 1993; Meijer & Rouwendal 2006.
    """
    header, rows = _read("train_data.csv.gz")
    col = {name: i for i, name in enumerate(header)}
    numeric = [h for h in header if h != "choice"]
    t = np.asarray([[row[col[h]] for h in numeric] for row in rows], dtype=np.float64)
    c = {name: t[:, i] for i, name in enumerate(numeric)}
    labels = [row[col["choice"]] for row in rows]
    unknown = sorted(set(labels) - {"choice1", "choice2"})
    if unknown:  # the packaged file is fixed; this guards against a corrupted copy
        raise ValueError(f"train_data.csv.gz: unexpected choice labels {unknown}")
    chosen = np.asarray([label == "choice2" for label in labels], np.int64)

    def option(k):
        return np.stack([c[f"price{k}"] / 100 / GUILDERS_PER_EURO, c[f"time{k}"] / 60,
                         c[f"change{k}"], c[f"comfort{k}"]], axis=-1)

    features = np.stack([option(1), option(2)], axis=1)
    _, person = np.unique(c["id"], return_inverse=True)
    choices = make_choice_sets(features, chosen, None, person)
    description = ("Dutch train trips, stated preferences (Ben-Akiva, Bolduc & Bradley 1993); "
                   "price in euros, time in hours, changes, comfort class (0 best, 2 worst).")
    return ChoiceData(choices, DUTCH_TRAIN_FEATURES, ("A", "B"), description)


#: The data sets ``bayesirl fit --choices NAME`` knows by name (their person is the respondent).
CHOICE_DATASETS = {"swissmetro": load_swissmetro, "dutch-train": load_dutch_train}


def load_choice_dataset(name: str) -> ChoiceData:
    """A shipped data set by its name in :data:`CHOICE_DATASETS` (``"swissmetro"``: Biogeme's
    sample; ``"dutch-train"``).

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in CHOICE_DATASETS:
        raise ValueError(f"name: expected one of {', '.join(CHOICE_DATASETS)}, got {name!r}")
    return CHOICE_DATASETS[name]()
