"""bayesirl: Bayesian inverse reinforcement learning on NumPyro, JAX and ArviZ.

Posteriors over reward functions from demonstrations: tabular MDPs with features
(:mod:`bayesirl.data.mdp`), JAX solvers differentiable in the reward (:mod:`bayesirl.solvers`),
demonstrations (:mod:`bayesirl.data.demos`), Boltzmann-rational likelihoods as NumPyro building
blocks (:mod:`bayesirl.likelihoods`, :mod:`bayesirl.models`), inference by NUTS, random-walk
Metropolis–Hastings or MAP (:mod:`bayesirl.inference`), environments (:mod:`bayesirl.data.envs`)
policy evaluation (:mod:`bayesirl.solvers.evaluation`), posterior-derived quantities and credible
intervals (:mod:`bayesirl.analysis.posterior`), high-confidence policy-loss bounds and demonstration
sufficiency (:mod:`bayesirl.analysis.bounds`), diagnostics (:mod:`bayesirl.analysis.diagnostics`) and active
learning (:mod:`bayesirl.active`, :mod:`bayesirl.active.loop`).
"""

# First of all: the command line's SIGINT/SIGTERM handler (see bayesirl._interrupt).
from bayesirl import _interrupt  # noqa: F401, I001

import importlib  # noqa: E402

from bayesirl._compile_cache import enable_compile_cache  # noqa: E402

# Public names and the module that defines each, imported on first use (PEP 562): a
# command imports only what it needs (`bayesirl fit` never loads matplotlib or the
# baselines), which saves about a second of start-up.
_LAZY_MODULES = {
    "bayesirl.active": (
        "PREFERENCE_ACQUISITIONS", "STATE_ACQUISITIONS", "choose_pairs", "choose_states",
        "preference_scores", "run_active_learning", "state_scores", "sufficiency_stop",
    ),
    "bayesirl.analysis": (
        "Diagnostics", "DiagnosticsWarning", "PosteriorWarning", "SufficiencyVerdict", "VaRBound",
        "add_posterior_quantities", "check_fit", "conditional_value_at_risk", "credible_intervals",
        "demonstration_sufficiency", "diagnose", "evaluation_policy", "feature_count_bound",
        "policy_losses", "value_at_risk_bound",
    ),
    "bayesirl.data": (
        "MDP", "Demonstrations", "Environment", "Preferences", "check_demonstrations",
        "from_gymnasium", "gridworld", "load_demonstrations", "load_mdp", "load_preferences",
        "make_demonstrations", "make_environment", "make_mdp", "make_preferences",
        "make_sparse_mdp", "ranking_to_comparisons", "reward_from_weights", "rollout",
        "sample_demonstrations", "save_demonstrations", "save_mdp", "save_preferences",
        "state_action_counts", "synthetic_preferences", "trajectory_returns",
        "transition_matrix",
    ),
    "bayesirl.inference": (
        "METHODS", "SAMPLERS", "RandomWalkMH", "choose_sampler", "fit", "fit_demonstrations",
        "fit_evidence", "fit_reward", "fit_trajectories",
    ),
    "bayesirl.likelihoods": (
        "BoltzmannPolicy", "DemonstrationPairs", "PreferenceChoice", "boltzmann_log_likelihood",
        "boltzmann_q_values", "bradley_terry_log_likelihood", "demonstration_pairs",
        "maxent_log_likelihood", "maxent_logits",
    ),
    "bayesirl.models": (
        "PRIORS", "SOURCES", "Evidence", "ScaledSphere", "boltzmann_irl_model", "build_evidence",
        "irl_model", "reward_model", "sample_beta", "sample_reward_weights",
    ),
    "bayesirl.solvers": (
        "FiniteHorizonResult", "SolverResult", "discounted_occupancy",
        "empirical_feature_counts", "expected_feature_counts", "expected_return",
        "expected_value_difference", "finite_horizon_soft_value_iteration", "normalized_evd",
        "uniform_policy", "greedy_policy", "policy_evaluation", "soft_value_iteration",
        "state_action_occupancy", "state_visitation", "success_probability",
        "trajectory_feature_counts", "value_iteration",
    ),
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}
#: Subpackages reachable as attributes (``bayesirl.solvers``) without importing them first.
_SUBMODULES = ("active", "analysis", "app", "baselines", "cli", "data", "inference",
               "likelihoods", "models", "solvers")


def __getattr__(name: str):
    """Import a public name (or a subpackage) of bayesirl on first access."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"bayesirl.{name}")
    else:
        raise AttributeError(f"module 'bayesirl' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "baselines",
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
    "boltzmann_irl_model", "irl_model", "reward_model", "build_evidence",
    "state_visitation", "discounted_occupancy", "state_action_occupancy",
    "expected_feature_counts", "trajectory_feature_counts", "empirical_feature_counts",
    "Preferences", "PreferenceChoice", "make_preferences", "ranking_to_comparisons",
    "bradley_terry_log_likelihood", "trajectory_returns", "synthetic_preferences",
    "save_preferences", "load_preferences",
    "METHODS", "SAMPLERS", "choose_sampler", "fit", "fit_reward", "fit_evidence",
    "fit_demonstrations", "fit_trajectories", "RandomWalkMH",
    "expected_return", "expected_value_difference", "success_probability",
    "normalized_evd", "uniform_policy",
    "add_posterior_quantities", "credible_intervals", "evaluation_policy", "policy_losses",
    "VaRBound", "SufficiencyVerdict", "value_at_risk_bound", "conditional_value_at_risk",
    "demonstration_sufficiency", "feature_count_bound",
    "Diagnostics", "DiagnosticsWarning", "PosteriorWarning", "diagnose",
    "STATE_ACQUISITIONS", "PREFERENCE_ACQUISITIONS", "state_scores", "choose_states",
    "preference_scores", "choose_pairs", "run_active_learning", "sufficiency_stop",
]

enable_compile_cache()  # JAX's persistent compilation cache; opt out: BAYESIRL_NO_COMPILE_CACHE=1
