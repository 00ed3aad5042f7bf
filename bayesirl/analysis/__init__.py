"""Using a posterior: per-draw quantities and credible intervals
(:mod:`bayesirl.analysis.posterior`), high-confidence policy-loss bounds and demonstration
sufficiency (:mod:`bayesirl.analysis.bounds`), the same bounds from robust posteriors and
split evidence (:mod:`bayesirl.analysis.robust_bounds`) and sampler diagnostics
(:mod:`bayesirl.analysis.diagnostics`).
"""

from bayesirl.analysis.bounds import (
    SufficiencyVerdict,
    VaRBound,
    conditional_value_at_risk,
    demonstration_sufficiency,
    feature_count_bound,
    value_at_risk_bound,
)
from bayesirl.analysis.diagnostics import (
    Diagnostics,
    DiagnosticsWarning,
    PosteriorWarning,
    diagnose,
    summary,
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
    "Diagnostics", "DiagnosticsWarning", "PosteriorWarning", "diagnose", "summary",
    "SplitBound", "posterior_loss_bound", "posterior_losses", "split_calibrated_bound",
    "split_demonstrations",
]
