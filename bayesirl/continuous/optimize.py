"""Full-batch Adam (optax) for the small networks of this package: behavioural cloning and the
maximum-a-posteriori starting points of NUTS chains."""

from __future__ import annotations

import jax
import optax

__all__ = ["train_full_batch"]


def train_full_batch(loss_fn, params, num_steps: int, learning_rate: float):
    """Minimise ``loss_fn(params)`` with full-batch Adam for ``num_steps`` steps.

    Args:
        loss_fn: scalar loss of a parameter pytree.
        params: initial parameter pytree (arrays).
        num_steps: Adam steps (>= 1).
        learning_rate: Adam step size.

    Returns:
        ``(params, losses)``: the final parameters and the (num_steps,) loss trace.
    """
    optimizer = optax.adam(learning_rate)

    def step(carry, _):
        p, state = carry
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), loss

    @jax.jit
    def run(p):
        (p, _), losses = jax.lax.scan(step, (p, optimizer.init(p)), None, length=num_steps)
        return p, losses

    return run(params)
