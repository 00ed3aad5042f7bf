"""bayesirl: Bayesian inverse reinforcement learning on NumPyro, JAX and ArviZ.

Posteriors over reward functions from demonstrations: tabular MDPs with features
(:mod:`bayesirl.mdp`), JAX solvers differentiable in the reward (:mod:`bayesirl.solvers`),
demonstrations (:mod:`bayesirl.demos`), Boltzmann-rational likelihoods as NumPyro building
blocks (:mod:`bayesirl.likelihoods`, :mod:`bayesirl.models`), inference by NUTS, random-walk
Metropolis–Hastings or MAP (:mod:`bayesirl.inference`), environments (:mod:`bayesirl.envs`)
policy evaluation (:mod:`bayesirl.evaluation`), posterior-derived quantities and credible
intervals (:mod:`bayesirl.posterior`), high-confidence policy-loss bounds and demonstration
sufficiency (:mod:`bayesirl.bounds`), diagnostics (:mod:`bayesirl.diagnostics`) and active
learning (:mod:`bayesirl.active`, :mod:`bayesirl.active_loop`).
"""

from bayesirl.active import (
    PREFERENCE_ACQUISITIONS,
    STATE_ACQUISITIONS,
    choose_pairs,
    choose_states,
    preference_scores,
    state_scores,
)
from bayesirl.active_loop import run_active_learning, sufficiency_stop
from bayesirl.bounds import (
    SufficiencyVerdict,
    VaRBound,
    conditional_value_at_risk,
    demonstration_sufficiency,
    feature_count_bound,
    value_at_risk_bound,
)
from bayesirl.demos import (
    Demonstrations,
    check_demonstrations,
    load_demonstrations,
    make_demonstrations,
    rollout,
    sample_demonstrations,
    save_demonstrations,
    state_action_counts,
)
from bayesirl.diagnostics import Diagnostics, PosteriorWarning, diagnose
from bayesirl.envs import Environment, from_gymnasium, gridworld, make_environment
from bayesirl.evaluation import expected_return, expected_value_difference, success_probability
from bayesirl.inference import METHODS, RandomWalkMH, fit, fit_demonstrations, fit_evidence
from bayesirl.likelihoods import (
    BoltzmannPolicy,
    DemonstrationPairs,
    boltzmann_log_likelihood,
    boltzmann_q_values,
    demonstration_pairs,
    maxent_log_likelihood,
    maxent_logits,
)
from bayesirl.mdp import (
    MDP,
    load_mdp,
    make_mdp,
    make_sparse_mdp,
    reward_from_weights,
    save_mdp,
    transition_matrix,
)
from bayesirl.models import (
    PRIORS,
    SOURCES,
    Evidence,
    ScaledSphere,
    boltzmann_irl_model,
    irl_model,
    sample_beta,
    sample_reward_weights,
)
from bayesirl.occupancy import (
    discounted_occupancy,
    empirical_feature_counts,
    expected_feature_counts,
    state_action_occupancy,
    state_visitation,
    trajectory_feature_counts,
)
from bayesirl.posterior import (
    add_posterior_quantities,
    credible_intervals,
    evaluation_policy,
    policy_losses,
)
from bayesirl.preferences import (
    PreferenceChoice,
    Preferences,
    bradley_terry_log_likelihood,
    load_preferences,
    make_preferences,
    ranking_to_comparisons,
    save_preferences,
    synthetic_preferences,
    trajectory_returns,
)
from bayesirl.solvers import (
    FiniteHorizonResult,
    SolverResult,
    finite_horizon_soft_value_iteration,
    greedy_policy,
    policy_evaluation,
    soft_value_iteration,
    value_iteration,
)

__version__ = "0.1.0"

__all__ = [
    "MDP", "make_mdp", "make_sparse_mdp", "transition_matrix", "reward_from_weights",
    "save_mdp", "load_mdp",
    "Environment", "make_environment", "gridworld", "from_gymnasium",
    "Demonstrations", "make_demonstrations", "rollout", "sample_demonstrations",
    "check_demonstrations", "save_demonstrations", "load_demonstrations", "state_action_counts",
    "SolverResult", "FiniteHorizonResult", "value_iteration", "soft_value_iteration",
    "finite_horizon_soft_value_iteration", "policy_evaluation", "greedy_policy",
    "BoltzmannPolicy", "DemonstrationPairs", "demonstration_pairs", "boltzmann_q_values",
    "boltzmann_log_likelihood", "maxent_logits", "maxent_log_likelihood",
    "PRIORS", "SOURCES", "Evidence", "ScaledSphere", "sample_reward_weights", "sample_beta",
    "boltzmann_irl_model", "irl_model",
    "state_visitation", "discounted_occupancy", "state_action_occupancy",
    "expected_feature_counts", "trajectory_feature_counts", "empirical_feature_counts",
    "Preferences", "PreferenceChoice", "make_preferences", "ranking_to_comparisons",
    "bradley_terry_log_likelihood", "trajectory_returns", "synthetic_preferences",
    "save_preferences", "load_preferences",
    "METHODS", "fit", "fit_evidence", "fit_demonstrations", "RandomWalkMH",
    "expected_return", "expected_value_difference", "success_probability",
    "add_posterior_quantities", "credible_intervals", "evaluation_policy", "policy_losses",
    "VaRBound", "SufficiencyVerdict", "value_at_risk_bound", "conditional_value_at_risk",
    "demonstration_sufficiency", "feature_count_bound",
    "Diagnostics", "PosteriorWarning", "diagnose",
    "STATE_ACQUISITIONS", "PREFERENCE_ACQUISITIONS", "state_scores", "choose_states",
    "preference_scores", "choose_pairs", "run_active_learning", "sufficiency_stop",
]
