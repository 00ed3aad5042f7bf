"""The registry of evidence sources: every likelihood the models, fits, checks and the command
line know, by name.

Adding a likelihood is one file in ``bayesirl/likelihoods/`` that defines its
:class:`~bayesirl.likelihoods.source.EvidenceSource` as ``SOURCE``, plus its line below. The
order is the order of the sources in a model (and of their β sites).

:class:`Evidence` maps source names to their data; it is a JAX pytree, so a compiled sampler
takes it as an argument.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import jax

from bayesirl.likelihoods import (boltzmann, bradley_terry, luce, maxent, noisy_boltzmann,
                                  plackett_luce, sample_maxent)
from bayesirl.likelihoods.source import EvidenceSource

__all__ = ["Evidence", "SOURCES", "get_source", "source_names", "policy_sources", "required_sources"]

#: Every evidence source, by name.
SOURCES: dict[str, EvidenceSource] = {source.name: source for source in (
    boltzmann.SOURCE,
    noisy_boltzmann.SOURCE,
    maxent.SOURCE,
    bradley_terry.SOURCE,
    sample_maxent.SOURCE,
    plackett_luce.SOURCE,
    luce.SOURCE,
)}


def get_source(name: str) -> EvidenceSource:
    """The source named ``name``.

    Raises:
        ValueError: no such source (the message lists the known ones).
    """
    try:
        return SOURCES[name]
    except (KeyError, TypeError):
        raise ValueError(f"likelihood: expected one of {', '.join(SOURCES)}, got {name!r}") from None


def source_names(world: str | None = None) -> tuple[str, ...]:
    """Names of the registered sources, all or those a world of kind ``world`` (``"mdp"``,
    ``"trajectories"``, ``"choices"``) can build."""
    return tuple(name for name, s in SOURCES.items() if world is None or world in s.worlds)


def policy_sources(names) -> tuple[str, ...]:
    """The names among ``names`` whose observations are a Boltzmann-rational policy's actions in
    MDP states (:attr:`EvidenceSource.policy`: Q-values from a solve). Unknown names raise
    ValueError as :func:`get_source`."""
    return tuple(n for n in names if get_source(n).policy)


def required_sources(names, requires: str) -> tuple[str, ...]:
    """The names among ``names`` whose evidence is of kind ``requires`` (``"demonstrations"``,
    ``"preferences"``, ``"rankings"`` or ``"choices"``; :attr:`EvidenceSource.requires`)."""
    return tuple(n for n in names if get_source(n).requires == requires)


@jax.tree_util.register_pytree_node_class
class Evidence(Mapping):
    """The data of each evidence source of a model: ``{source name: data}``, a JAX pytree.

    Built from a mapping (``Evidence({"boltzmann": pairs})``) or keywords; the keywords of
    the former containers are accepted too: ``boltzmann=``, ``maxent=`` (demonstration pairs),
    ``preference_features=`` with ``preferences=`` (Bradley–Terry), and ``demo_counts=``,
    ``background_counts=``, ``background_log_probs=`` (sample-based MaxEnt). Sources are kept
    in the registry's order (:func:`sources`); absent ones (None) are dropped.

    Attributes (read-only, for the former containers): ``boltzmann``, ``maxent``,
    ``preferences``, ``preference_features``, ``demo_counts``, ``background_counts``,
    ``background_log_probs``, ``num_features``.
    """

    def __init__(self, sources: Mapping | None = None, /, **kwargs):
        data = dict(sources or {})
        legacy = {k: kwargs.pop(k) for k in ("preference_features", "preferences", "demo_counts",
                                             "background_counts", "background_log_probs")
                  if k in kwargs}
        for key in ("boltzmann", "maxent"):
            if key in kwargs:
                data[key] = kwargs.pop(key)
        if kwargs:
            data.update({k.replace("_", "-"): v for k, v in kwargs.items()})
        if legacy.get("preferences") is not None:
            data["bradley-terry"] = bradley_terry.PreferenceData(
                legacy.get("preference_features"), legacy["preferences"])
        if legacy.get("demo_counts") is not None:
            data["sample-maxent"] = sample_maxent.SampleMaxEntData(
                legacy["demo_counts"], legacy.get("background_counts"),
                legacy.get("background_log_probs"))
        unknown = sorted(set(data) - set(SOURCES))
        if unknown:
            raise ValueError(f"evidence: unknown sources {unknown}; known: {list(SOURCES)}")
        self._data = {name: data[name] for name in SOURCES if data.get(name) is not None}

    # ---- Mapping -----------------------------------------------------------------------------
    def __getitem__(self, name: str):
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Evidence({', '.join(self._data)})"

    def sources(self) -> tuple[str, ...]:
        """Names of the sources present, in the registry's order."""
        return tuple(self._data)

    def replace(self, **changes) -> "Evidence":
        """A new Evidence with the data of some sources replaced (keys with ``-`` written
        ``_``: ``bradley_terry=...``); None removes a source."""
        data = dict(self._data)
        for key, value in changes.items():
            data[key.replace("_", "-")] = value
        return Evidence({k: v for k, v in data.items() if v is not None})

    # ---- pytree ------------------------------------------------------------------------------
    def tree_flatten(self):
        return tuple(self._data.values()), tuple(self._data)

    @classmethod
    def tree_unflatten(cls, names, children):
        obj = object.__new__(cls)
        obj._data = dict(zip(names, children))
        return obj

    # ---- the former containers' fields -------------------------------------------------------
    @property
    def boltzmann(self):
        """Boltzmann demonstration pairs, or None."""
        return self._data.get("boltzmann")

    @property
    def maxent(self):
        """MaxEnt demonstration pairs, or None."""
        return self._data.get("maxent")

    @property
    def preferences(self):
        """The Bradley–Terry comparisons, or None."""
        bt = self._data.get("bradley-terry")
        return None if bt is None else bt.comparisons

    @property
    def preference_features(self):
        """(N, F) feature counts of the compared trajectories, or None."""
        bt = self._data.get("bradley-terry")
        return None if bt is None else bt.features

    @property
    def demo_counts(self):
        """(D, F) demonstrations' feature counts (sample-based MaxEnt), or None."""
        sm = self._data.get("sample-maxent")
        return None if sm is None else sm.demo_counts

    @property
    def background_counts(self):
        """(K, F) background feature counts (sample-based MaxEnt), or None."""
        sm = self._data.get("sample-maxent")
        return None if sm is None else sm.background_counts

    @property
    def background_log_probs(self):
        """(K,) background sampling log-probabilities (sample-based MaxEnt), or None."""
        sm = self._data.get("sample-maxent")
        return None if sm is None else sm.background_log_probs

    @property
    def num_features(self) -> int | None:
        """F read from the sources' feature-count data (None when no source carries it)."""
        for name, data in self._data.items():
            if SOURCES[name].num_features is not None:
                return int(SOURCES[name].num_features(data))
        return None
