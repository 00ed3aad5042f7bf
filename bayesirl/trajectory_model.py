"""A Bayesian IRL model over trajectory features: no MDP, no solver.

The reward is linear in features, ``R(τ) = w·Φ_τ``, and every likelihood only needs the
trajectories' feature counts Φ (Bayesian REX, Brown et al., ICML 2020). Two evidence sources
share the weights w, each with its own rationality β:

* ``"bradley-terry"`` — preferences between trajectories (strict, weak with a margin, or
  rankings), :class:`~bayesirl.likelihoods.PreferenceChoice` on ``β w·(Φ_A − Φ_B)``;
* ``"sample-maxent"`` — demonstrations under the MaxEnt trajectory distribution with the
  partition function importance-sampled over background trajectories
  (:mod:`bayesirl.likelihoods.sample_maxent`; approximate, see there).

Priors are those of :func:`bayesirl.models.sample_reward_weights`; with a learned β the first
learned β is sampled jointly with the direction (:class:`bayesirl.models.ScaledSphere`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import numpyro

from bayesirl._typing import Array
from bayesirl._validate import as_index_array
from bayesirl.data.preferences import Preferences
from bayesirl.data.trajectories import Trajectories
from bayesirl.likelihoods.bradley_terry import observe_reward_differences
from bayesirl.likelihoods.sample_maxent import sample_maxent_log_likelihood
from bayesirl.models import sample_weights_and_betas

__all__ = ["TRAJECTORY_SOURCES", "TrajectoryEvidence", "trajectory_evidence", "trajectory_model"]

#: Evidence sources of :func:`trajectory_model`.
TRAJECTORY_SOURCES = ("bradley-terry", "sample-maxent")


class TrajectoryEvidence(NamedTuple):
    """Feature-count evidence for :func:`trajectory_model`; absent sources are None.

    Attributes:
        preference_features: (N, F) feature counts of the compared trajectories.
        preferences: P comparisons indexing ``preference_features``.
        demo_counts: (D, F) feature counts of the demonstrations (sample-based MaxEnt).
        background_counts: (K, F) feature counts of the background trajectories.
        background_log_probs: (K,) their log sampling probabilities ``log π_b(τ_k)``.
    """

    preference_features: Array | None = None
    preferences: Preferences | None = None
    demo_counts: Array | None = None
    background_counts: Array | None = None
    background_log_probs: Array | None = None

    @property
    def num_features(self) -> int:
        """F."""
        x = self.preference_features if self.preferences is not None else self.demo_counts
        return int(x.shape[-1])

    def sources(self) -> tuple[str, ...]:
        """Names of the sources present, in :data:`TRAJECTORY_SOURCES` order."""
        present = (self.preferences is not None, self.demo_counts is not None)
        return tuple(name for name, p in zip(TRAJECTORY_SOURCES, present) if p)


def _ids(ids, name, N) -> np.ndarray:
    idx = as_index_array(ids, name, N)
    if idx.size == 0:
        raise ValueError(f"{name}: expected at least one trajectory id, got none")
    return idx


def trajectory_evidence(trajectories: Trajectories, *, preferences: Preferences | None = None,
                        demonstrations=None, background=None, dtype=jnp.float32
                        ) -> TrajectoryEvidence:
    """Validated :class:`TrajectoryEvidence` from one trajectory set and ids into it.

    Args:
        trajectories: N trajectories (feature counts; log-probabilities for the background).
        preferences: comparisons whose ids index ``trajectories``.
        demonstrations: (D,) ids of the demonstrations (sample-based MaxEnt).
        background: (K,) ids of the background trajectories; they need ``log_probs``. Default,
            when ``demonstrations`` are given: every trajectory that is not a demonstration.
        dtype: float dtype of the arrays.

    Returns:
        :class:`TrajectoryEvidence`.

    Raises:
        ValueError: no evidence; ids out of range; a comparison referring to an unknown
            trajectory; a background without sampling log-probabilities, or ``background``
            without ``demonstrations``.
    """
    N = trajectories.num_trajectories
    if preferences is None and demonstrations is None:
        raise ValueError("preferences, demonstrations: expected at least one source of evidence")
    parts = {}
    if preferences is not None:
        for name in ("first", "second"):
            _ids(getattr(preferences, name), f"preferences.{name}", N)
        parts.update(preference_features=jnp.asarray(trajectories.feature_counts, dtype),
                     preferences=preferences)
    if demonstrations is None:
        if background is not None:
            raise ValueError("background: background trajectories need demonstrations")
    else:
        demo = _ids(demonstrations, "demonstrations", N)
        back = (np.setdiff1d(np.arange(N), demo) if background is None
                else _ids(background, "background", N))
        if back.size == 0:
            raise ValueError("background: expected at least one background trajectory, got none")
        if trajectories.log_probs is None:
            raise ValueError("trajectories: the sample-based MaxEnt likelihood needs the "
                             "sampling log-probabilities (log_probs) of the background")
        counts = trajectories.feature_counts
        parts.update(demo_counts=jnp.asarray(counts[demo], dtype),
                     background_counts=jnp.asarray(counts[back], dtype),
                     background_log_probs=jnp.asarray(trajectories.log_probs[back], dtype))
    return TrajectoryEvidence(**parts)


def trajectory_model(evidence: TrajectoryEvidence, *, prior: str = "gaussian",
                     prior_scale: float = 1.0, betas: dict | None = None, margin: float = 0.0):
    """Joint NumPyro model: shared reward weights w (F,), one likelihood per source.

    * ``bradley-terry`` — site ``"preference_labels"``:
      ``label_p ~ PreferenceChoice(β w·(Φ_first − Φ_second), margin)`` (Bradley & Terry 1952;
      Brown et al. 2019, 2020; Bıyık et al. 2019 for ``margin > 0``);
    * ``sample-maxent`` — factor ``"sample_maxent"``: ``Σ_d β w·Φ_d − D log Ẑ(w)``
      (Boularias et al. 2011).

    Args:
        evidence: :class:`TrajectoryEvidence`.
        prior, prior_scale: prior over w (:func:`~bayesirl.models.sample_reward_weights`).
        betas: ``{source: β}`` numbers or NumPyro distributions (learned); default 1.
        margin: weak-preference margin δ >= 0 (0: strict Bradley–Terry).
    """
    w, beta_values = sample_weights_and_betas(evidence.num_features, evidence.sources(), prior,
                                              prior_scale, betas)
    if evidence.preferences is not None:
        prefs, phi = evidence.preferences, evidence.preference_features
        # (Φ_first − Φ_second) @ w: one (P, F) matvec, a (C, F) x (F, P) matmul over chains
        observe_reward_differences((phi[prefs.first] - phi[prefs.second]) @ w, prefs,
                                   beta_values["bradley-terry"], margin)
    if evidence.demo_counts is not None:
        numpyro.factor("sample_maxent", sample_maxent_log_likelihood(
            w, evidence.demo_counts, evidence.background_counts, evidence.background_log_probs,
            beta_values["sample-maxent"]))
