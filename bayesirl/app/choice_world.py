"""The choice world: choice sets (or rankings) among options with features, from a file.

``bayesirl fit --choices FILE [--group-by FIELD]`` fits the ``choice`` likelihood
(:mod:`bayesirl.likelihoods.luce`): one reward for everyone, or with ``--group-by`` one per
person around the population's (``--random-features`` picks the weights that differ, and
``--person-scale`` the prior scale of how much they differ). The run folder holds a copy of the
choices as ``choices.json`` (person labels kept), from which ``report`` and ``compare`` read
them back.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from bayesirl.app.config import RunConfig
from bayesirl.app.errors import UsageError

__all__ = ["ChoiceWorld", "CHOICES_FILE", "choice_world", "load_choice_world",
           "LKJ_CONCENTRATION"]

#: Name of the choices copy in a run folder.
CHOICES_FILE = "choices.json"
#: η of the LKJ prior on the correlation of per-person weights (mildly towards independence).
LKJ_CONCENTRATION = 2.0


class ChoiceWorld(NamedTuple):
    """Choices among options with features, no MDP.

    Attributes:
        data: :class:`~bayesirl.data.choices.ChoiceData` (N choice sets, K options,
            F features, I persons).
        hierarchy: :class:`~bayesirl.likelihoods.luce.Hierarchy` of per-person weights, or None
            (one reward for everyone).
        group_by: the field of the input file that said who chose, or None.
    """

    data: object
    hierarchy: object
    group_by: str | None

    kind = "choices"
    mdp = None

    @property
    def num_features(self) -> int:
        """F."""
        return int(self.data.choices.features.shape[-1])

    @property
    def feature_names(self) -> list:
        """The file's F feature names."""
        return list(self.data.feature_names)

    @property
    def num_persons(self) -> int:
        """I (1 + the largest person index)."""
        return int(np.max(np.asarray(self.data.choices.person))) + 1

    @property
    def person_names(self) -> list:
        """I labels of the persons (their indices when the file gave no labels)."""
        return list(self.data.person_names) or [str(i) for i in range(self.num_persons)]

    def evidence_inputs(self):
        """The choice sets (or rankings)."""
        from bayesirl.likelihoods.source import EvidenceInputs

        return EvidenceInputs(choices=self.data.choices)

    def comparisons(self):
        """None: choices are not preferences between trajectories."""
        return None

    def save(self, folder: str) -> list[str]:
        """``choices.json`` (JSON format of :func:`~bayesirl.data.choices.save_choices`)."""
        from bayesirl.data.choices import save_choices

        d = self.data
        save_choices(os.path.join(folder, CHOICES_FILE), d.choices, d.feature_names,
                     d.option_names or None, d.person_names or None)
        return [CHOICES_FILE]

    def describe(self, config: RunConfig) -> dict:
        """``{"choices": sizes and names, "evidence": counts}``."""
        c = self.data.choices
        length = np.asarray(getattr(c, "length", np.ones(c.features.shape[0], int)))
        return {
            "choices": {"num_choice_sets": int(c.features.shape[0]),
                        "num_options": int(c.features.shape[1]),
                        "num_features": self.num_features,
                        "feature_names": self.feature_names,
                        "option_names": list(self.data.option_names),
                        "num_rankings": int(np.sum(length > 1)),
                        "num_persons": self.num_persons,
                        "group_by": self.group_by},
            "evidence": {"likelihoods": list(config.likelihood),
                         "num_choice_sets": int(c.features.shape[0]),
                         "per_person_weights": self.hierarchy is not None}}


def _hierarchy(config: RunConfig, feature_names: list, where: str):
    """The Hierarchy of ``config`` (None without ``group_by``); UsageError for unknown
    ``--random-features``."""
    if config.group_by is None:
        return None
    from bayesirl.likelihoods.luce import Hierarchy

    names = config.random_features or tuple(feature_names)
    unknown = [n for n in names if n not in feature_names]
    if unknown:
        raise UsageError(f"--random-features: {unknown[0]!r} is not a feature of {where}; its "
                         f"features are {', '.join(feature_names)}")
    return Hierarchy.checked([feature_names.index(n) for n in names], len(feature_names),
                             config.person_scale, LKJ_CONCENTRATION)


def choice_world(config: RunConfig) -> ChoiceWorld:
    """The world of ``config.choices``: a file (read with ``config.group_by`` naming who
    chose), or a shipped data set by name (:data:`bayesirl.datasets.CHOICE_DATASETS`; a file of
    that name wins).

    Raises:
        UsageError: the file is missing or invalid (``--choices: ...``; ``--group-by`` when its
            field is missing), or ``--random-features`` names an unknown feature.
    """
    from bayesirl.data.choices import load_choices
    from bayesirl.datasets import CHOICE_DATASETS, load_choice_dataset

    if config.choices in CHOICE_DATASETS and not os.path.exists(config.choices):
        if config.group_by not in (None, "person"):
            raise UsageError(f"--group-by: the data set {config.choices!r} groups its choices by "
                             f"respondent: use --group-by person, got {config.group_by!r}")
        world = ChoiceWorld(load_choice_dataset(config.choices), None, config.group_by)
        return world._replace(hierarchy=_hierarchy(config, world.feature_names,
                                                   config.choices))
    try:
        data = load_choices(config.choices, config.group_by or "person")
    except FileNotFoundError as err:
        raise UsageError(f"--choices: no such file: {err.filename or config.choices}") from None
    except IsADirectoryError:
        raise UsageError(f"--choices: {config.choices} is a folder, expected a file") from None
    except (ValueError, TypeError, OSError) as err:
        text = str(err).removeprefix("choices: ")
        flag = "--group-by" if "group_by" in text else "--choices"
        raise UsageError(f"{flag}: {text}") from None
    world = ChoiceWorld(data, None, config.group_by)
    return world._replace(hierarchy=_hierarchy(config, world.feature_names, config.choices))


def load_choice_world(path: str, config: RunConfig | None) -> ChoiceWorld:
    """The choice world saved in the run folder ``path`` (its ``choices.json``).

    Raises:
        UsageError: a missing or unreadable copy (``DIR: ...``).
    """
    from bayesirl.data.choices import load_choices

    try:
        data = load_choices(os.path.join(path, CHOICES_FILE))
    except (OSError, ValueError, TypeError) as err:
        raise UsageError(f"DIR: cannot read {path} ({err}); fit it again with "
                         f"'bayesirl fit ... --out DIR'") from None
    group_by = config.group_by if config is not None else None
    world = ChoiceWorld(data, None, group_by)
    if config is None or group_by is None:
        return world
    return world._replace(hierarchy=_hierarchy(config, world.feature_names, path))
