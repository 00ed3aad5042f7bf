"""Real choice data sets shipped with bayesirl (:mod:`bayesirl.datasets.travel`).

* :func:`load_swissmetro` — Swissmetro mode choices among train, Swissmetro and car
  (Bierlaire, Axhausen & Abay 2001), in the layout of Biogeme's multinomial logit;
* :func:`load_dutch_train` — binary choices between two train trips by 235 Dutch respondents
  (Ben-Akiva, Bolduc & Bradley 1993).

``bayesirl fit --choices swissmetro`` (or ``dutch-train``) fits them by name
(:data:`CHOICE_DATASETS`). The files, their sources and licence are in the package folder ``bayesirl/datasets/data``.
"""

from bayesirl.datasets.travel import (
    CHOICE_DATASETS,
    DUTCH_TRAIN_FEATURES,
    GUILDERS_PER_EURO,
    SWISSMETRO_FEATURES,
    load_choice_dataset,
    load_dutch_train,
    load_swissmetro,
)

__all__ = ["load_swissmetro", "load_dutch_train", "SWISSMETRO_FEATURES", "DUTCH_TRAIN_FEATURES",
           "GUILDERS_PER_EURO", "CHOICE_DATASETS", "load_choice_dataset"]
