"""Evidence sources: what a likelihood needs to take part in every model, fit and check.

An :class:`EvidenceSource` is one kind of evidence about the reward (Boltzmann demonstrations,
MaxEnt trajectories, Bradley–Terry preferences, ...). It holds, in one place:

* ``build`` — its data check: the world's raw evidence (:class:`EvidenceInputs`) in, the
  validated data pytree the likelihood reads out (ValueError naming the input otherwise);
* ``observe`` — its likelihood inside the NumPyro model (:func:`bayesirl.models.reward_model`),
  as an observed site named ``site`` (or a ``numpyro.factor`` when there is nothing to
  resample), so that NumPyro's ``Predictive`` simulates it (simulation-based calibration,
  posterior predictive) and ``numpyro.infer.log_likelihood`` gives its pointwise
  log-likelihood (the ArviZ ``log_likelihood`` group, PSIS-LOO);
* ``observations`` / ``replace_observations`` / ``constants`` — its observed values, the same
  data with other (or no) observations, and the covariates stored in ArviZ's
  ``constant_data``;
* ``name`` — its name on the command line and in configurations, ``options`` — the model
  options it reads (``q``, ``maxent_horizon``, ``margin``, ``solver_kwargs``).

The registry of sources, and :class:`~bayesirl.likelihoods.registry.Evidence` (source names
to their data, a JAX pytree a compiled sampler takes as an argument), are in
:mod:`bayesirl.likelihoods.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bayesirl._typing import Array

__all__ = ["EvidenceInputs", "EvidenceSource", "ModelContext"]


class EvidenceInputs(NamedTuple):
    """The raw evidence of a world, before a source builds its data from it.

    Attributes:
        mdp: the MDP (S states, A actions, F features), or None without one.
        demonstrations: N demonstrations in the MDP (:class:`~bayesirl.data.demos.Demonstrations`).
        preference_trajectories: the trajectories compared (MDP world), as Demonstrations.
        preference_features: (N, F) feature counts of the compared trajectories (trajectory
            world), or None.
        preferences: P comparisons (:class:`~bayesirl.data.preferences.Preferences`).
        trajectories: a :class:`~bayesirl.data.trajectories.Trajectories` set (no MDP).
        demonstration_ids: (D,) rows of ``trajectories`` that are demonstrations.
        background_ids: (K,) rows of ``trajectories`` that are the background sample.
        rankings: R rankings (:class:`~bayesirl.data.rankings.TrajectoryRankings`, or R lists
            of indices best first) of the rows of ``trajectories`` (trajectory world) or of
            ``ranking_trajectories`` (MDP world).
        ranking_trajectories: the trajectories ranked (MDP world), as Demonstrations.
        choices: N choice sets or rankings among options with features
            (:class:`~bayesirl.data.choices.ChoiceSets` or
            :class:`~bayesirl.data.choices.Rankings`; the choice world).
    """

    mdp: Any = None
    demonstrations: Any = None
    preference_trajectories: Any = None
    preference_features: Any = None
    preferences: Any = None
    trajectories: Any = None
    demonstration_ids: Any = None
    background_ids: Any = None
    rankings: Any = None
    ranking_trajectories: Any = None
    choices: Any = None


class ModelContext(NamedTuple):
    """What a source's likelihood sees inside the model.

    Attributes:
        weights: (F,) reward weights w (a sample).
        mdp: the MDP, or None.
        reward: (S,) or (S, A) reward ``φ w`` of the MDP, or None without an MDP.
    """

    weights: Array
    mdp: Any
    reward: Any


def _no_constants(data) -> dict:
    return {}


@dataclass(frozen=True)
class EvidenceSource:
    """One kind of evidence and everything the library needs to use it.

    Attributes:
        name: its name on the command line and in configurations (``--likelihood NAME``).
        site: the model site of its observations (an observed sample site, or a factor).
        dim: the ArviZ dim of its observations (e.g. ``"boltzmann_pair"``).
        needs_mdp: True when its likelihood solves the MDP.
        worlds: the kinds of world whose evidence it can be built from (``"mdp"``: an MDP with
            demonstrations / compared trajectories; ``"trajectories"``: trajectory features;
            ``"choices"``: choice sets among options with features).
        build: ``build(inputs: EvidenceInputs, options: dict) -> data``; raises ValueError
            (naming the input) when the evidence is missing or invalid.
        observe: ``observe(context: ModelContext, data, beta, options)``, inside a NumPyro
            model: adds the site ``site``.
        observations: ``data -> (P,)`` observed values, or None when the site is a factor with
            nothing to resample.
        replace_observations: ``(data, values) -> data`` with ``values`` (None: to be sampled)
            as its observations.
        constants: ``data -> {name: (P,) array}`` covariates for ArviZ's ``constant_data``.
        options: names of the model options its likelihood reads.
        description: one line for ``--help`` and the docs (with the source paper).
        num_features: optional ``data -> F`` for sources whose data carry feature counts (a
            model without an MDP reads F from them).
        policy: True when its observations are a Boltzmann-rational policy's actions in MDP
            states (Q-values from a solve: the q kind, the sharpness β / (1 − γ), solver hints
            and the action-frequency check apply to it).
        requires: what a run needs for it: ``"demonstrations"``, ``"preferences"``,
            ``"rankings"`` or ``"choices"``.
    """

    name: str
    site: str
    dim: str
    needs_mdp: bool
    worlds: tuple[str, ...]
    build: Callable[[EvidenceInputs, dict], Any]
    observe: Callable[[ModelContext, Any, Any, dict], None]
    observations: Callable[[Any], Any] | None = None
    replace_observations: Callable[[Any, Any], Any] | None = None
    constants: Callable[[Any], dict] = field(default=_no_constants)
    options: tuple[str, ...] = ()
    description: str = ""
    num_features: Callable[[Any], int] | None = None
    policy: bool = False
    requires: str = "demonstrations"

    def num_observations(self, data) -> int:
        """Number of observations (the site's plate size) of ``data``."""
        if self.observations is None:
            return 0
        return int(self.observations(data).shape[0])
