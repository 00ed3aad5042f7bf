"""The maximum-causal-entropy (MaxEnt) likelihood of trajectories (Ziebart et al. 2008; Ziebart 2010).

``π_t(a|s) = exp(Q_t(s, a) − V_t(s))`` with (Q, V) the soft values of ``β·R``: time-dependent for
a finite horizon T (Ziebart 2010, Alg. 9.1), stationary for the discounted infinite horizon.
The log-likelihood of a trajectory is ``Σ_t log π_t(a_t | s_t)``; the transition probabilities
do not depend on the reward and are left out.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from bayesirl._typing import Array
from bayesirl._validate import check_concrete
from bayesirl.data.demos import Demonstrations
from bayesirl.data.mdp import MDP
from bayesirl.likelihoods.source import EvidenceInputs, EvidenceSource, ModelContext
from bayesirl.solvers.value_iteration import finite_horizon_soft_value_iteration, soft_value_iteration

__all__ = ["SOURCE", "maxent_logits", "maxent_log_likelihood"]


def maxent_logits(mdp: MDP, reward: Array, beta=1.0, horizon: int | None = None,
                  discount: float | None = 1.0, **solver_kwargs) -> Array:
    """Log-probabilities of the maximum-causal-entropy (MaxEnt) policy for ONE reward.

    ``π(a|s) = exp(Q(s, a) − V(s))`` with (Q, V) the soft values of ``β·R`` (Ziebart et al.
    2008; Ziebart 2010, Alg. 9.1): time-dependent ``π_t`` for a finite horizon T, stationary for
    the discounted infinite horizon. β is the rationality (the soft-max temperature is 1/β).

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        beta: rationality β > 0.
        horizon: T for the finite-horizon model, None for discounted.
        discount: γ of the finite-horizon model; default 1.0, the undiscounted model of
            Ziebart et al. (2008); None uses the MDP's γ. The discounted model always uses the
            MDP's γ.
        **solver_kwargs: for :func:`~bayesirl.solvers.soft_value_iteration`.

    Returns:
        (T, S, A) or (S, A) log-policy. Differentiable in ``reward`` and ``beta``.

    Raises:
        ValueError: when concrete (not traced): ``beta`` <= 0, NaN or inf, or a ``reward`` with
            NaN/inf (from the solver); a bad ``horizon`` or ``discount``.
    """
    check_concrete(beta, "beta", low=0.0, low_open=True)
    if horizon is None:
        q = soft_value_iteration(mdp, beta * reward, **solver_kwargs).q_values
    else:
        q = finite_horizon_soft_value_iteration(mdp, beta * reward, horizon,
                                                discount=discount).q_values
    return jax.nn.log_softmax(q, axis=-1)


def maxent_log_likelihood(mdp: MDP, reward: Array, demos: Demonstrations, beta=1.0,
                          horizon: int | None = None, discount: float | None = 1.0,
                          **solver_kwargs) -> Array:
    """MaxEnt log-likelihood of each trajectory: ``Σ_t log π_t(a_t | s_t)`` (Ziebart 2010).

    Steps in terminal states (no action) and padding are skipped; the transition probabilities
    do not depend on the reward and are left out. With a finite horizon T the time index is the
    step within the trajectory, so trajectories must start at t = 0 and be at most T long.

    Args:
        mdp: the MDP.
        reward: (S,) or (S, A) reward.
        demos: N trajectories (T_demo <= horizon when a horizon is given).
        beta: rationality β.
        horizon: T, or None for the discounted model.
        discount: γ of the finite-horizon model (see :func:`maxent_logits`).

    Returns:
        (N,) log-likelihoods (nats).

    Raises:
        ValueError: trajectories longer than the horizon.
    """
    if horizon is not None and demos.states.shape[1] > horizon:
        raise ValueError(f"demos: trajectories of {demos.states.shape[1]} steps are longer "
                         f"than the horizon {horizon}")
    log_pi = maxent_logits(mdp, reward, beta, horizon, discount, **solver_kwargs)
    T = demos.states.shape[1]
    if horizon is None:
        lp = log_pi[demos.states, demos.actions]
    else:
        lp = log_pi[jnp.arange(T)[None, :], demos.states, demos.actions]
    valid = demos.mask & ~mdp.terminal[demos.states]
    return jnp.sum(jnp.where(valid, lp, 0.0), axis=1)


# ---------------------------------------------------------------------------------------------
# The evidence source
# ---------------------------------------------------------------------------------------------


def _build_maxent(inputs: EvidenceInputs, options: dict):
    """Demonstration pairs (with their time steps), no longer than the finite horizon."""
    from bayesirl.likelihoods.boltzmann import SOURCE as BOLTZMANN

    pairs = BOLTZMANN.build(inputs, options)
    horizon = options.get("maxent_horizon")
    if horizon is not None and inputs.demonstrations.states.shape[1] > horizon:
        raise ValueError(f"maxent_horizon: demonstrations have "
                         f"{inputs.demonstrations.states.shape[1]} steps, more than the horizon "
                         f"{horizon}")
    return pairs


def _observe_maxent(context: ModelContext, pairs, beta, options) -> None:
    """``a_i | s_i, t_i ~ π_t(· | s_i)``, the MaxEnt policy of β R (finite horizon or
    discounted), at the observed site ``"maxent_actions"``, plate ``"maxent_pairs"``."""
    import numpyro

    from bayesirl.likelihoods.boltzmann import BoltzmannPolicy

    horizon = options.get("maxent_horizon")
    log_pi = maxent_logits(context.mdp, context.reward, beta, horizon,
                           **dict(options.get("solver_kwargs") or {}))
    logits = log_pi[pairs.states] if horizon is None else log_pi[pairs.times, pairs.states]
    with numpyro.plate("maxent_pairs", pairs.states.shape[0]):
        numpyro.sample("maxent_actions", BoltzmannPolicy(logits, 1.0), obs=pairs.actions)


#: Maximum-causal-entropy trajectories as an evidence source (Ziebart 2008, 2010).
SOURCE = EvidenceSource(
    name="maxent", site="maxent_actions", dim="maxent_pair", needs_mdp=True,
    policy=True, requires="demonstrations",
    worlds=("mdp",),
    build=_build_maxent, observe=_observe_maxent,
    observations=lambda pairs: pairs.actions,
    replace_observations=lambda pairs, actions: pairs._replace(actions=actions),
    constants=lambda pairs: {"maxent_states": pairs.states, "maxent_times": pairs.times},
    options=("maxent_horizon", "solver_kwargs"),
    description="maximum-causal-entropy trajectories, finite horizon or discounted "
                "(Ziebart 2008, 2010)")
