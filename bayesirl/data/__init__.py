"""The data layer: MDPs, demonstrations, preferences and environments (no solver, no likelihood).

Everything here is a validated, immutable pytree (NamedTuple) plus its file format:
:class:`MDP` (:mod:`bayesirl.data.mdp`), :class:`Demonstrations` (:mod:`bayesirl.data.demos`),
:class:`Preferences` (:mod:`bayesirl.data.preferences`), :class:`ChoiceSets` and
:class:`Rankings` of options (:mod:`bayesirl.data.choices`), :class:`TrajectoryRankings`
(:mod:`bayesirl.data.rankings`) and the built-in environments
(:mod:`bayesirl.data.envs`).
"""

from bayesirl.data.choices import (
    ChoiceData,
    ChoiceSets,
    Rankings,
    load_choices,
    make_choice_sets,
    make_rankings,
    save_choices,
)
from bayesirl.data.demos import (
    Demonstrations,
    check_demonstrations,
    load_demonstrations,
    make_demonstrations,
    noisy_policies,
    noisy_rollouts,
    policy_rollouts,
    rollout,
    sample_demonstrations,
    save_demonstrations,
    state_action_counts,
)
from bayesirl.data.envs import Environment, from_gymnasium, gridworld, make_environment
from bayesirl.data.mdp import (
    MDP,
    load_mdp,
    make_mdp,
    make_sparse_mdp,
    reward_from_weights,
    save_mdp,
    state_action_reward,
    transition_matrix,
    uniform_policy,
)
from bayesirl.data.preferences import (
    LABELS,
    Preferences,
    load_preferences,
    make_preferences,
    ranking_to_comparisons,
    save_preferences,
    synthetic_preferences,
    trajectory_returns,
)
from bayesirl.data.rankings import (
    TrajectoryRankings,
    load_rankings,
    make_trajectory_rankings,
    save_rankings,
)
from bayesirl.data.sparse_build import pad_states, sparse_mdp_from_chunks

__all__ = [
    "MDP", "make_mdp", "make_sparse_mdp", "transition_matrix", "reward_from_weights",
    "save_mdp", "load_mdp", "uniform_policy", "state_action_reward",
    "policy_rollouts", "noisy_policies", "noisy_rollouts",
    "Demonstrations", "make_demonstrations", "rollout", "sample_demonstrations",
    "check_demonstrations", "save_demonstrations", "load_demonstrations", "state_action_counts",
    "LABELS", "Preferences", "make_preferences", "ranking_to_comparisons", "trajectory_returns",
    "synthetic_preferences", "save_preferences", "load_preferences",
    "Environment", "make_environment", "gridworld", "from_gymnasium",
    "ChoiceSets", "Rankings", "ChoiceData", "make_choice_sets", "make_rankings", "save_choices",
    "load_choices",
    "TrajectoryRankings", "make_trajectory_rankings", "save_rankings", "load_rankings",
    "sparse_mdp_from_chunks", "pad_states",
]
