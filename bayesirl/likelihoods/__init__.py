"""Likelihoods of evidence about the reward, as NumPyro building blocks.

* :mod:`bayesirl.likelihoods.boltzmann` — the Boltzmann-rational demonstrator (Ramachandran &
  Amir 2007) over soft or hard Q-values;
* :mod:`bayesirl.likelihoods.noisy_boltzmann` — the ε-contaminated ("noisy-rational")
  Boltzmann demonstrator, ε learned (Zheng et al. 2014);
* :mod:`bayesirl.likelihoods.maxent` — maximum-causal-entropy trajectories (Ziebart 2008, 2010);
* :mod:`bayesirl.likelihoods.bradley_terry` — strict and weak preferences between trajectories
  (Bradley–Terry; T-REX / Bayesian REX, Brown et al. 2019, 2020; Bıyık et al. 2019);
* :mod:`bayesirl.likelihoods.sample_maxent` — MaxEnt demonstrations without dynamics
  (Boularias et al. 2011);
* :mod:`bayesirl.likelihoods.plackett_luce` — rankings of trajectories, each one observation
  (Plackett 1975; Luce 1959), e.g. D-REX noise ladders;
* :mod:`bayesirl.likelihoods.choice` — choices among K options (Luce 1959; McFadden 1974) and
  rankings (Plackett 1975).

Each module defines its :class:`~bayesirl.likelihoods.source.EvidenceSource` (``SOURCE``); the
registry of sources by name is :data:`~bayesirl.likelihoods.registry.SOURCES`.
"""

from bayesirl.likelihoods.boltzmann import (
    Q_KINDS,
    BoltzmannPolicy,
    DemonstrationPairs,
    action_log_probabilities,
    boltzmann_log_likelihood,
    boltzmann_q_values,
    demonstration_pairs,
)
from bayesirl.likelihoods.bradley_terry import (
    PreferenceChoice,
    bradley_terry_log_likelihood,
    observe_preferences,
)
from bayesirl.likelihoods.choice import (
    ChoiceDistribution,
    PlackettLuce,
    choice_log_likelihood,
    choice_log_probabilities,
    linear_utilities,
    observe_choices,
    observe_rankings,
    plackett_luce_log_likelihood,
    plackett_luce_log_probability,
)
from bayesirl.likelihoods.maxent import maxent_log_likelihood, maxent_logits
from bayesirl.likelihoods.noisy_boltzmann import (
    NoisyBoltzmannPolicy,
    noisy_action_log_probabilities,
    noisy_boltzmann_log_likelihood,
    noisy_boltzmann_log_probabilities,
    noisy_boltzmann_policy,
)
from bayesirl.likelihoods.plackett_luce import (
    RankingData,
    observe_trajectory_rankings,
    pointwise_ranking_log_likelihood,
    ranking_data,
    ranking_log_likelihood,
)
from bayesirl.likelihoods.registry import SOURCES, Evidence, get_source, source_names
from bayesirl.likelihoods.source import EvidenceInputs, EvidenceSource, ModelContext
from bayesirl.likelihoods.sharded_boltzmann import (
    sharded_boltzmann_log_likelihood,
    sharded_boltzmann_q_values,
)
from bayesirl.likelihoods.value_space import ValueSpaceReward, reward_from_values

__all__ = [
    "SOURCES", "get_source", "source_names", "Evidence", "EvidenceInputs", "EvidenceSource",
    "ModelContext",
    "ValueSpaceReward", "reward_from_values",
    "Q_KINDS", "BoltzmannPolicy", "DemonstrationPairs", "demonstration_pairs",
    "boltzmann_q_values", "boltzmann_log_likelihood", "action_log_probabilities", "maxent_logits", "maxent_log_likelihood",
    "NoisyBoltzmannPolicy", "noisy_boltzmann_log_probabilities", "noisy_boltzmann_policy",
    "noisy_boltzmann_log_likelihood", "noisy_action_log_probabilities",
    "PreferenceChoice", "bradley_terry_log_likelihood", "observe_preferences",
    "ChoiceDistribution", "PlackettLuce", "linear_utilities", "choice_log_probabilities",
    "choice_log_likelihood", "plackett_luce_log_probability", "plackett_luce_log_likelihood",
    "observe_choices", "observe_rankings",
    "RankingData", "ranking_data", "ranking_log_likelihood", "pointwise_ranking_log_likelihood",
    "observe_trajectory_rankings",
    "sharded_boltzmann_q_values", "sharded_boltzmann_log_likelihood",
]
