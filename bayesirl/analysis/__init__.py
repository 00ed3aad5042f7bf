"""Using a posterior: per-draw quantities and credible intervals
(:mod:`bayesirl.analysis.posterior`), high-confidence policy-loss bounds and demonstration
sufficiency (:mod:`bayesirl.analysis.bounds`), the same bounds from robust posteriors and
split evidence (:mod:`bayesirl.analysis.robust_bounds`), whether such bounds hold over many
worlds (:mod:`bayesirl.analysis.coverage`), sampler diagnostics
(:mod:`bayesirl.analysis.diagnostics`) and the misfit alarm (:mod:`bayesirl.analysis.misfit`).
"""

from bayesirl.analysis.bounds import (
    SufficiencyVerdict,
    VaRBound,
    conditional_value_at_risk,
    demonstration_sufficiency,
    feature_count_bound,
    value_at_risk_bound,
)
from bayesirl.analysis.coverage import (
    BoundCheck,
    CoverageSummary,
    candidate_losses,
    check_bound,
    check_policy_bound,
    summarise_bound_checks,
)
from bayesirl.analysis.diagnostics import (
    Diagnostics,
    DiagnosticsWarning,
    PosteriorWarning,
    diagnose,
    summary,
)
from bayesirl.analysis.misfit import (
    MisfitCheck,
    MisfitReport,
    check_fit,
)
from bayesirl.analysis.robust_bounds import (
    SplitBound,
    posterior_loss_bound,
    posterior_losses,
    split_calibrated_bound,
    split_demonstrations,
)
from bayesirl.analysis.posterior import (
    add_posterior_quantities,
    credible_intervals,
    evaluation_policy,
    policy_losses,
)

__all__ = [
    "add_posterior_quantities", "credible_intervals", "evaluation_policy", "policy_losses",
    "VaRBound", "SufficiencyVerdict", "value_at_risk_bound", "conditional_value_at_risk",
    "demonstration_sufficiency", "feature_count_bound",
    "BoundCheck", "CoverageSummary", "check_bound", "check_policy_bound", "candidate_losses",
    "summarise_bound_checks",
    "Diagnostics", "DiagnosticsWarning", "PosteriorWarning", "diagnose", "summary",
    "MisfitCheck", "MisfitReport", "check_fit",
    "SplitBound", "posterior_loss_bound", "posterior_losses", "split_calibrated_bound",
    "split_demonstrations",
]
