"""``method="auto"``: the sampler chosen from the problem, by a rule written down once.

The rule (first match wins; :func:`choose_sampler`, the docs' table is this list):

1. **policy-walk** — Boltzmann demonstrations only, an MDP with at most
   :data:`POLICY_WALK_MAX_STATES` states and at most :data:`POLICY_WALK_MAX_FEATURES`
   features, a unit-sphere prior, a fixed β, and hard Q or Q left to the default: the BIRL
   posterior of Ramachandran & Amir (2007), sampled exactly by PolicyWalk with a cache of
   optimal policies (10^3–10^4 × the effective samples per second of a numpy BIRL). With Q
   left to the default the model is then the hard-Q one (said in the reason).
2. **laplace-imh** — Boltzmann demonstrations only, at least :data:`LARGE_STATES` states, a
   Gaussian prior, a fixed β: warm-started MAP, Laplace, exact independence MH.
3. **mh** — hard-max Q (its likelihood is piecewise linear in the reward: NUTS diverges).
4. **mh** — a very sharp likelihood: an MDP source with ``β / (1 − γ)`` of at least
   :data:`SHARP_LIKELIHOOD` (e.g. γ = 0.999, β = 100: NUTS chains stuck apart, R-hat 4.05 after
   249 s; the random walk: R-hat 1.001 in 20 s).
5. **nuts** — everything else (smooth, moderate: NUTS gives nearly independent draws). With
   per-person weights (the ``choice`` source's ``hierarchy``: I × R latent deviations) there is
   no fallback: a random walk does not mix in hundreds of dimensions, so failed diagnostics
   are reported with the advice to run longer instead.

"Boltzmann demonstrations only" means the ``boltzmann`` source alone: PolicyWalk and the
Laplace + independence MH path sample its posterior only, so the ε-contaminated
``noisy-boltzmann`` source (its ε is one more latent) goes to rules 3–5.

When the chosen sampler's diagnostics fail, :func:`~bayesirl.inference.fit.fit_reward` retries
once with the fallback (``nuts`` → ``mh``, ``policy-walk`` → ``mh``) and says so.
"""

from __future__ import annotations

from typing import NamedTuple

from bayesirl.inference.samplers import (
    POLICY_WALK_MAX_STATES,
    SAMPLERS,
    Problem,
    problem_reasons,
)
from bayesirl.models import SPHERE_PRIORS
from bayesirl.likelihoods.registry import policy_sources

__all__ = ["LARGE_STATES", "POLICY_WALK_MAX_FEATURES", "POLICY_WALK_MAX_STATES", "RULES",
           "SHARP_LIKELIHOOD", "FLOAT64_SHARPNESS", "Choice", "choose_sampler",
           "precision_reason", "PrecisionWarning"]

#: PolicyWalk's fitted independence proposal is accepted often with a few features (Brown's
#: 4-colour gridworlds: ESS per step ~0.3); with many (FrozenLake's 64 one-hot features) it is
#: almost never accepted (0.3 %).
POLICY_WALK_MAX_FEATURES = 16
#: From this many states the warm-started Laplace + independence MH path is chosen.
LARGE_STATES = 50_000
#: ``β / (1 − γ)`` from which the likelihood counts as very sharp (rule 4).
SHARP_LIKELIHOOD = 2_000.0
#: The rule as a table: (number, sampler, condition).
RULES = (
    (1, "policy-walk", "Boltzmann demonstrations only, sphere prior, fixed β, hard or default "
                       f"Q, F ≤ {POLICY_WALK_MAX_FEATURES}, S ≤ {POLICY_WALK_MAX_STATES}"),
    (2, "laplace-imh", f"Boltzmann demonstrations only, Gaussian prior, fixed β, "
                       f"S ≥ {LARGE_STATES:,}"),
    (3, "mh", "hard-max Q"),
    (4, "mh", f"β / (1 − γ) ≥ {SHARP_LIKELIHOOD:g} (a very sharp likelihood)"),
    (5, "nuts", "everything else"),
)
#: The sampler tried once more when the first one's diagnostics fail.
FALLBACK = {"nuts": "mh", "policy-walk": "mh"}


class Choice(NamedTuple):
    """What ``method="auto"`` chose.

    Attributes:
        sampler: the sampler's name.
        q: the Q kind the model then uses (``"hard"`` when rule 1 chose it for a default Q).
        rule: the rule's number in :data:`RULES`.
        reason: one sentence, printed with the fit ("sampler: NAME, because ...").
        fallback: the sampler to retry with when the diagnostics fail, or None.
    """

    sampler: str
    q: str
    rule: int
    reason: str
    fallback: str | None


def _sharpness(problem: Problem) -> float:
    if problem.mdp is None or not policy_sources(problem.sources):
        return 0.0
    gamma = min(float(problem.discount), 1.0 - 1e-12)
    return problem.max_fixed_beta / (1.0 - gamma)


#: ``β / (1 − γ)`` from which an MDP likelihood needs float64: float32 keeps about 7 digits,
#: so Q-values of size ``|r| / (1 − γ)`` carry errors of about ``1e-7 · |r| / (1 − γ)``, and
#: β times that is noise in the log-likelihood of every demonstrated step. Measured on the 5×5
#: gridworld at γ = 0.999, β = 100 (50 demonstrations, MH, 4 chains of 5000 + 2000 × 20
#: steps): float32 gave R-hat 1.11–1.41 and bulk ESS 8–30, float64 R-hat 1.005 and ESS 1012.
FLOAT64_SHARPNESS = SHARP_LIKELIHOOD


class PrecisionWarning(UserWarning):
    """A posterior computed in float32 where float64 is needed (:func:`precision_reason`)."""


def precision_reason(problem: Problem) -> str | None:
    """Why ``problem`` should be computed in float64, or None when float32 is enough.

    Args:
        problem: the posterior.

    Returns:
        A sentence (``"β / (1 − γ) = … ≥ …: float32 Q-values …"``) when ``β / (1 − γ)`` of
        its MDP evidence is at least :data:`FLOAT64_SHARPNESS`, else None.
    """
    sharp = _sharpness(problem)
    if sharp < FLOAT64_SHARPNESS:
        return None
    return (f"β / (1 − γ) = {sharp:,.0f} ≥ {FLOAT64_SHARPNESS:,.0f}: float32 Q-values (7 "
            f"digits) would add noise of about {1e-7 * sharp:.2g} nats per unit reward to "
            f"every demonstrated step's log-likelihood")


def choose_sampler(problem: Problem, q: str | None = None) -> Choice:
    """Choose the sampler of ``problem`` by the rule in the module docstring (:data:`RULES`).

    Args:
        problem: the posterior (its ``options["q"]`` is ignored: pass ``q``).
        q: ``"soft"``, ``"hard"`` or None (not given: soft, unless rule 1 applies).

    Returns:
        :class:`Choice`.
    """
    F, S = problem.num_features, problem.num_states
    boltzmann_only = problem.sources == ("boltzmann",) and problem.mdp is not None
    hard = problem._replace(options={**problem.options, "q": "hard"})
    if (boltzmann_only and problem.prior in SPHERE_PRIORS and q in (None, "hard")
            and F <= POLICY_WALK_MAX_FEATURES
            and not problem_reasons(SAMPLERS["policy-walk"], hard)):
        why = (f"Boltzmann demonstrations only, {problem.prior} prior, fixed β = "
               f"{problem.max_fixed_beta:g}, F = {F} ≤ {POLICY_WALK_MAX_FEATURES} features, "
               f"S = {S} ≤ {POLICY_WALK_MAX_STATES} states: the exact BIRL sampler")
        if q is None:
            why += " (the hard-max Q of Ramachandran & Amir; give q soft to keep soft Q)"
        return Choice("policy-walk", "hard", 1, why, FALLBACK["policy-walk"])
    q = q or "soft"
    if (boltzmann_only and problem.prior == "gaussian" and not problem.learned_beta
            and S >= LARGE_STATES):
        return Choice("laplace-imh", q, 2,
                      f"Boltzmann demonstrations only, Gaussian prior, fixed β and S = {S:,} ≥ "
                      f"{LARGE_STATES:,} states: warm-started MAP, Laplace, independence MH",
                      None)
    if q == "hard" and policy_sources(problem.sources):
        return Choice("mh", q, 3, "hard-max Q is piecewise linear in the reward (NUTS would "
                                  "diverge); the random walk needs no gradient", None)
    sharp = _sharpness(problem)
    if sharp >= SHARP_LIKELIHOOD:
        return Choice("mh", q, 4, f"β / (1 − γ) = {problem.max_fixed_beta:g} / "
                                  f"{1 - problem.discount:.3g} = {sharp:,.0f} ≥ "
                                  f"{SHARP_LIKELIHOOD:,.0f}: a very sharp likelihood, where NUTS "
                                  f"chains stick apart", None)
    if problem.options.get("hierarchy") is not None:
        return Choice("nuts", q, 5, "per-person weights: a smooth posterior with many latent "
                                    "parameters, where only a gradient-based sampler mixes", None)
    return Choice("nuts", q, 5, "a smooth posterior of moderate sharpness"
                                + (f" (β / (1 − γ) = {sharp:,.0f})" if sharp else ""),
                  FALLBACK["nuts"])
