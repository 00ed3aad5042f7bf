"""MDP solvers in JAX, differentiable in the reward: value iteration, soft value iteration,
policy evaluation (:mod:`bayesirl.solvers.value_iteration`), occupancy measures and feature
expectations (:mod:`bayesirl.solvers.occupancy`) and policy evaluation against a reward —
expected return, EVD (:mod:`bayesirl.solvers.evaluation`); the same solvers for one huge MDP
with its states split over several devices (:mod:`bayesirl.solvers.sharded`) and the memory a
solve needs (:mod:`bayesirl.solvers.memory`).
"""

from bayesirl.solvers._linear import DENSE_SOLVE_MAX_STATES, expected_next_values
from bayesirl.solvers.evaluation import (
    expected_return,
    expected_value_difference,
    normalized_evd,
    success_probability,
    uniform_policy,
    value_differences,
)
from bayesirl.solvers.memory import check_solver_memory, estimate_solver_memory
from bayesirl.solvers.occupancy import (
    discounted_occupancy,
    empirical_feature_counts,
    expected_feature_counts,
    state_action_occupancy,
    state_visitation,
    trajectory_feature_counts,
)
from bayesirl.solvers.policy_iteration import policy_iteration, soft_policy_iteration
from bayesirl.solvers.sharded import (
    STATE_AXIS,
    make_state_mesh,
    shard_mdp,
    sharded_call,
    sharded_policy_evaluation,
    sharded_soft_value_iteration,
    sharded_value_iteration,
)
from bayesirl.solvers.value_iteration import (
    AUTO_NEWTON_DISCOUNT,
    SOLVER_METHODS,
    TIE_RTOL,
    FiniteHorizonResult,
    SolverResult,
    finite_horizon_soft_value_iteration,
    greedy_policy,
    policy_evaluation,
    soft_value_iteration,
    value_iteration,
)

__all__ = [
    "SolverResult", "FiniteHorizonResult", "value_iteration", "soft_value_iteration",
    "finite_horizon_soft_value_iteration", "policy_evaluation", "greedy_policy",
    "expected_next_values", "DENSE_SOLVE_MAX_STATES", "TIE_RTOL",
    "policy_iteration", "soft_policy_iteration", "SOLVER_METHODS", "AUTO_NEWTON_DISCOUNT",
    "state_visitation", "discounted_occupancy", "state_action_occupancy",
    "expected_feature_counts", "trajectory_feature_counts", "empirical_feature_counts",
    "expected_return", "expected_value_difference", "success_probability",
    "normalized_evd", "value_differences", "uniform_policy",
    "STATE_AXIS", "make_state_mesh", "shard_mdp", "sharded_call", "sharded_value_iteration",
    "sharded_soft_value_iteration", "sharded_policy_evaluation",
    "estimate_solver_memory", "check_solver_memory",
]
