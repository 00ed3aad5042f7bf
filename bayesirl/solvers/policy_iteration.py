"""Solvers that do not care about γ: policy iteration and soft policy iteration (Newton's method
on the hard or soft Bellman equation).

Value iteration needs about log(tol)/log γ sweeps — 4600 at γ = 0.999 — while Newton's method
on ``V = T(V)`` converges in a handful of linear solves whatever γ is (policy iteration is
Newton's method for the hard max: Puterman & Brumelle 1979; for the soft max each step
evaluates the softmax policy with its entropy bonus: soft policy iteration, Haarnoja et al.
2018, Rust 1987's Newton–Kantorovich steps). Both are ``method="newton"`` of
:func:`~bayesirl.solvers.value_iteration.value_iteration` and
:func:`~bayesirl.solvers.value_iteration.soft_value_iteration`, with the same implicit
gradients (``jax.custom_jvp`` + ``lax.custom_linear_solve``), warm starts and ``converged``
flag; the default ``method="auto"`` already uses them when γ > ``AUTO_NEWTON_DISCOUNT``.
"""

from __future__ import annotations

from bayesirl._typing import Array
from bayesirl.data.mdp import MDP
from bayesirl.solvers.value_iteration import SolverResult, soft_value_iteration, value_iteration

__all__ = ["policy_iteration", "soft_policy_iteration"]


def policy_iteration(mdp: MDP, reward: Array, *, init_values: Array | None = None,
                     atol: float | None = None, rtol: float | None = None,
                     max_iterations: int = 10_000) -> SolverResult:
    """Optimal values by policy iteration (Howard 1960; Puterman 1994, §6.4).

    Each step evaluates the greedy policy of the current values exactly (dense LU when
    S <= ``DENSE_SOLVE_MAX_STATES``, else GMRES), then one value-iteration sweep checks the
    tolerance. :func:`value_iteration` with ``method="newton"``.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        init_values: (S,) warm start (values of a nearby reward); default zeros.
        atol, rtol, max_iterations: as in :func:`value_iteration`.

    Returns:
        :class:`SolverResult`; ``iterations`` counts policy-iteration steps plus final sweeps.

    Differentiable in ``reward`` (implicit function theorem, exact where the greedy policy is
    unique). Raises ``ValueError`` for wrong shapes.
    """
    return value_iteration(mdp, reward, init_values=init_values, atol=atol, rtol=rtol,
                           max_iterations=max_iterations, method="newton")


def soft_policy_iteration(mdp: MDP, reward: Array, *, temperature: float = 1.0,
                          init_values: Array | None = None, atol: float | None = None,
                          rtol: float | None = None, max_iterations: int = 10_000
                          ) -> SolverResult:
    """Soft-optimal values by soft policy iteration = Newton's method on the soft Bellman
    equation ``V = τ logsumexp((R + γ P V)/τ)``.

    Each step solves ``(I − γ P_π) Δ = T(V) − V`` with ``π = softmax(Q/τ)``, which equals
    evaluating π with the entropy bonus ``−τ Σ_a π log π`` (Haarnoja et al. 2018): monotone
    from the second step and quadratically convergent. :func:`soft_value_iteration` with
    ``method="newton"``.

    Args:
        mdp, reward, temperature, init_values, atol, rtol, max_iterations: as in
            :func:`soft_value_iteration`.

    Returns:
        :class:`SolverResult` with the soft-optimal policy.

    Raises:
        ValueError: bad ``temperature`` or shapes.
    """
    return soft_value_iteration(mdp, reward, temperature=temperature, init_values=init_values,
                                atol=atol, rtol=rtol, max_iterations=max_iterations,
                                method="newton")
