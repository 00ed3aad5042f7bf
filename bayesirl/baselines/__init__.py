"""Classic IRL and imitation-learning baselines, tabular, for comparison with the Bayesian
posteriors: the projection algorithm of apprenticeship learning and max-margin IRL
(:mod:`~bayesirl.baselines.feature_matching`), non-causal MaxEnt IRL
(:mod:`~bayesirl.baselines.maxent_noncausal`), Bayesian behavioural cloning, DAgger and SMILe
(:mod:`~bayesirl.baselines.imitation`), and tabular GAIL and AIRL
(:mod:`~bayesirl.baselines.adversarial`). Each is one function returning a NamedTuple.

``examples/compare_methods.py`` compares them all on the same worlds with the same metric.
"""

from bayesirl.baselines.adversarial import AIRLResult, GAILResult, airl, gail, js_divergence
from bayesirl.baselines.common import (
    empirical_occupancy,
    expert_feature_expectations,
    expert_labels,
    mixture_policy,
    occupancy_policy,
    with_demonstrated_starts,
)
from bayesirl.baselines.feature_matching import (
    MaxMarginResult,
    ProjectionResult,
    max_margin,
    projection,
)
from bayesirl.baselines.imitation import (
    BCPosterior,
    DAggerResult,
    SMILeResult,
    bc_credible_intervals,
    behavioural_cloning,
    dagger,
    sample_bc_policies,
    smile,
)
from bayesirl.baselines.maxent_noncausal import (
    NonCausalMaxEntResult,
    NonCausalSolution,
    maxent_noncausal,
    noncausal_backward_pass,
    noncausal_feature_expectations,
    noncausal_log_likelihood,
)

__all__ = [
    "projection", "ProjectionResult", "max_margin", "MaxMarginResult",
    "maxent_noncausal", "NonCausalMaxEntResult", "NonCausalSolution", "noncausal_backward_pass",
    "noncausal_log_likelihood", "noncausal_feature_expectations",
    "behavioural_cloning", "BCPosterior", "bc_credible_intervals", "sample_bc_policies",
    "dagger", "DAggerResult", "smile", "SMILeResult",
    "gail", "GAILResult", "airl", "AIRLResult", "js_divergence",
    "empirical_occupancy", "expert_feature_expectations", "expert_labels", "occupancy_policy",
    "mixture_policy", "with_demonstrated_starts",
]
