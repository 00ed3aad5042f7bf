"""The chain driver shared by the package's own samplers: warm-up, thinning and statistics.

A sampler provides one pure transition ``step(carry, input) -> carry`` (its state, its
adaptation and its statistics in ``carry``; ``input`` the step's randomness, e.g. a PRNG key);
:func:`run_chain` runs ``num_warmup`` transitions, then ``num_kept × thinning`` more, recording
``record(carry)`` after every ``thinning``-th one — two ``lax.scan``\\ s, one compiled program.
:class:`ChainStats` are the running statistics every sampler reports (acceptance, the best
draw seen, the Q* solver's work), reset when the warm-up ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from bayesirl._typing import Array
from bayesirl._validate import check_scalar

__all__ = ["ChainStats", "check_chain_lengths", "run_chain", "stats_init", "stats_reset",
           "stats_update"]


def check_chain_lengths(num_steps, burn_in, thinning) -> tuple[int, int, int, int]:
    """Validated ``(num_steps, burn_in, thinning, num_kept)`` with
    ``num_kept = (num_steps − burn_in) // thinning``.

    Raises:
        ValueError / TypeError: non-positive ``num_steps``/``thinning``, negative ``burn_in``,
            or no draw kept (``num_steps − burn_in < thinning``).
    """
    num_steps = check_scalar(num_steps, "num_steps", low=1, integer=True)
    burn_in = check_scalar(burn_in, "burn_in", low=0, integer=True)
    thinning = check_scalar(thinning, "thinning", low=1, integer=True)
    num_kept = (num_steps - burn_in) // thinning
    if num_kept < 1:
        raise ValueError(f"num_steps: expected num_steps − burn_in >= thinning = {thinning}, got "
                         f"num_steps = {num_steps}, burn_in = {burn_in}")
    return num_steps, burn_in, thinning, num_kept


def run_chain(step: Callable[[Any, Any], Any], carry: Any, inputs: Any, *, num_warmup: int,
              num_kept: int, thinning: int, record: Callable[[Any], Any],
              on_warmup_end: Callable[[Any], Any] | None = None,
              warmup_step: Callable[[Any, Any], Any] | None = None):
    """Run a chain: ``num_warmup`` transitions, then ``num_kept`` records, one every
    ``thinning`` transitions.

    Args:
        step: ``step(carry, input) -> carry``, one transition (pure, traceable).
        carry: the starting carry (state, adaptation, statistics: any pytree).
        inputs: per-transition inputs, a pytree whose leaves have a leading axis of length
            ``num_warmup + num_kept · thinning`` (e.g. PRNG keys), or None (``step`` then gets
            None and keeps its randomness in the carry).
        num_warmup: W >= 0 transitions before the first record (static).
        num_kept: D >= 1 records (static).
        thinning: transitions per record, >= 1 (static).
        record: ``record(carry) -> pytree`` stored after each ``thinning``-th kept transition.
        on_warmup_end: optional ``carry -> carry`` applied once after the warm-up (e.g.
            :func:`stats_reset`).
        warmup_step: optional transition used during the warm-up instead of ``step`` (e.g.
            one that adapts the proposal; ``step`` then needs no test of the phase).

    Returns:
        ``(carry, records)``: the final carry and the records stacked along a new leading
        axis of length D.
    """
    def body(c, x):
        return step(c, x), None

    def warm_body(c, x):
        return (warmup_step or step)(c, x), None

    def part(start, length):
        if inputs is None:
            return None
        return jax.tree.map(lambda x: lax.slice_in_dim(x, start, start + length), inputs)

    if num_warmup:
        carry, _ = lax.scan(warm_body, carry, part(0, num_warmup), length=num_warmup)
    if on_warmup_end is not None:
        carry = on_warmup_end(carry)
    kept = part(num_warmup, num_kept * thinning)
    if kept is not None:
        kept = jax.tree.map(lambda x: x.reshape((num_kept, thinning) + x.shape[1:]), kept)

    def keep(c, x):
        c, _ = lax.scan(body, c, x, length=thinning)
        return c, record(c)

    return lax.scan(keep, carry, kept, length=num_kept)


class ChainStats(NamedTuple):
    """Running statistics of one or more chains (leading axis C where the chains differ).

    Attributes:
        accept_sum: (...) summed acceptance probability since the last reset.
        steps: () int32 transitions since the last reset.
        best_log_density: (...) largest log density seen since the last reset (−∞ before).
        best: pytree, the chain's snapshot (e.g. weights and policy) at that log density.
        solver: pytree of Q* solver statistics folded over every transition, warm-up
            included (e.g. largest number of rounds, all converged, exact solves).
    """

    accept_sum: Array
    steps: Array
    best_log_density: Array
    best: Any
    solver: Any


def stats_init(log_density: Array, best: Any, solver: Any) -> ChainStats:
    """Statistics before any transition: ``best`` is the starting snapshot with log density
    −∞ (so the first kept state replaces it), nothing accepted yet.

    Args:
        log_density: (...) log densities of the chains (for the shape and dtype: (C,) or ()).
        best: pytree snapshot of the starting state, e.g. weights (C, F).
        solver: pytree of initial solver statistics.
    """
    log_density = jnp.asarray(log_density)
    return ChainStats(jnp.zeros_like(log_density), jnp.int32(0),
                      jnp.full_like(log_density, -jnp.inf), best, solver)


def stats_reset(stats: ChainStats) -> ChainStats:
    """Forget acceptance and the best draw (at the end of the warm-up); keep the solver's."""
    return stats._replace(accept_sum=jnp.zeros_like(stats.accept_sum), steps=jnp.int32(0),
                          best_log_density=jnp.full_like(stats.best_log_density, -jnp.inf))


def stats_update(stats: ChainStats, accept_prob: Array, log_density: Array, snapshot: Any,
                 solver: Any, combine: Callable[[Any, Any], Any]) -> ChainStats:
    """Statistics after one transition.

    Args:
        stats: the statistics so far.
        accept_prob: (...) acceptance probability of the transition.
        log_density: (...) log density of the chain's state after it.
        snapshot: pytree to keep when ``log_density`` is the best so far.
        solver: the transition's solver statistics, folded by ``combine(old, new)``.
        combine: e.g. ``lambda a, b: (max(a[0], b[0]), a[1] & b[1])``.

    Returns:
        The updated :class:`ChainStats`.
    """
    better = log_density > stats.best_log_density

    def keep(new, old):
        mask = better.reshape(better.shape + (1,) * (jnp.ndim(old) - better.ndim))
        return jnp.where(mask, new, old)

    return ChainStats(stats.accept_sum + accept_prob, stats.steps + 1,
                      jnp.where(better, log_density, stats.best_log_density),
                      jax.tree.map(keep, snapshot, stats.best), combine(stats.solver, solver))
