"""Demonstrations: N trajectories of different lengths, padded into (N, T) arrays with a mask.

A trajectory is a sequence of states s_0 … s_{L−1} and the action taken in each. When it ends
in a terminal state the action stored there is ignored (likelihoods skip terminal states).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bayesirl._deprecation import renamed_arguments
from bayesirl._io import read_json, write_json
from bayesirl._typing import Array, PRNGKey
from bayesirl._validate import as_index_array, check_policy_concrete, check_scalar, is_concrete
from bayesirl.data.mdp import MDP, uniform_policy

__all__ = [
    "Demonstrations",
    "make_demonstrations",
    "rollout",
    "sample_demonstrations",
    "policy_rollouts",
    "noisy_policies",
    "noisy_rollouts",
    "trim",
    "check_demonstrations",
    "save_demonstrations",
    "load_demonstrations",
    "state_action_counts",
]

_FORMAT = "bayesirl.demonstrations/1"
#: Tolerance on the rows of a sampled policy summing to 1 (categorical sampling renormalises).
_ROLLOUT_POLICY_ATOL = 1e-4


class Demonstrations(NamedTuple):
    """N trajectories padded to length T (a JAX pytree).

    Attributes:
        states: (N, T) int32 state indices.
        actions: (N, T) int32 action indices (0 where padded or in a final terminal state).
        mask: (N, T) bool, True for the time steps that exist.
    """

    states: Array
    actions: Array
    mask: Array

    @property
    def num_trajectories(self) -> int:
        """N, the number of trajectories."""
        return self.states.shape[0]

    @property
    def lengths(self) -> np.ndarray:
        """(N,) number of time steps of each trajectory."""
        return np.asarray(self.mask).sum(axis=1)


def make_demonstrations(trajectories, num_states: int | None = None,
                        num_actions: int | None = None) -> Demonstrations:
    """Pad a list of trajectories into :class:`Demonstrations`, validating every index.

    Args:
        trajectories: a sequence of N trajectories, each a mapping with ``"states"`` (length L)
            and ``"actions"`` (length L, or L − 1 when the last state has no action), or a pair
            ``(states, actions)``.
        num_states: S, to check state indices (optional).
        num_actions: A, to check action indices (optional).

    Returns:
        Demonstrations with T = the longest trajectory.

    Raises:
        TypeError: a trajectory is not a mapping or pair, or indices are not integers.
        ValueError: no trajectories, an empty trajectory, mismatched lengths, indices out of
            range.
    """
    if isinstance(trajectories, (str, bytes)) or not hasattr(trajectories, "__len__"):
        raise TypeError(f"trajectories: expected a list of trajectories, got {type(trajectories).__name__}")
    if len(trajectories) == 0:
        raise ValueError("trajectories: expected at least one trajectory, got none")
    upper_s = num_states if num_states is not None else np.iinfo(np.int32).max
    upper_a = num_actions if num_actions is not None else np.iinfo(np.int32).max
    parsed = []
    for n, traj in enumerate(trajectories):
        if isinstance(traj, dict):
            if "states" not in traj or "actions" not in traj:
                raise ValueError(f"trajectories[{n}]: expected keys 'states' and 'actions', got {sorted(traj)}")
            s_raw, a_raw = traj["states"], traj["actions"]
        elif isinstance(traj, (tuple, list)) and len(traj) == 2:
            s_raw, a_raw = traj
        else:
            raise TypeError(f"trajectories[{n}]: expected a dict with 'states' and 'actions' or a pair")
        s = as_index_array(s_raw, f"trajectories[{n}].states", upper_s)
        a = as_index_array(a_raw, f"trajectories[{n}].actions", upper_a)
        if s.size == 0:
            raise ValueError(f"trajectories[{n}].states: expected at least one state, got none")
        if a.size not in (s.size, s.size - 1):
            raise ValueError(
                f"trajectories[{n}].actions: expected {s.size} or {s.size - 1} actions for "
                f"{s.size} states, got {a.size}"
            )
        parsed.append((s, np.concatenate([a, np.zeros(s.size - a.size, np.int64)])))
    T = max(s.size for s, _ in parsed)
    N = len(parsed)
    states = np.zeros((N, T), np.int32)
    actions = np.zeros((N, T), np.int32)
    mask = np.zeros((N, T), bool)
    for n, (s, a) in enumerate(parsed):
        states[n, : s.size], actions[n, : s.size], mask[n, : s.size] = s, a, True
    return Demonstrations(jnp.asarray(states), jnp.asarray(actions), jnp.asarray(mask))


def check_demonstrations(mdp: MDP, demos: Demonstrations) -> None:
    """Check that ``demos`` fit ``mdp``: indices in range, every step possible under P.

    Raises:
        TypeError: ``demos`` is not a :class:`Demonstrations` (e.g. a plain list), or ``mdp``
            not an :class:`~bayesirl.data.mdp.MDP`.
        ValueError: naming the field (``demos.states`` / ``demos.actions``), trajectory and
            step of the first index out of range, the first transition with probability zero,
            or a step after a terminal state.
    """
    if not isinstance(mdp, MDP):
        raise TypeError(f"mdp: expected an MDP (from make_mdp or load_mdp), got "
                        f"{type(mdp).__name__}")
    states, actions, mask = _demonstration_arrays(demos)
    S, A = mdp.num_states, mdp.num_actions
    for field, values, upper, letter in (("states", states, S, "S"),
                                         ("actions", actions, A, "A")):
        bad = mask & ((values < 0) | (values >= upper))
        if bad.any():
            n, t = np.argwhere(bad)[0]
            raise ValueError(f"demos.{field}: trajectory {n} step {t}: {field[:-1]} "
                             f"{values[n, t]} is out of range ({letter} = {upper})")
    next_states, next_probs = np.asarray(mdp.next_states), np.asarray(mdp.next_probs)
    terminal = np.asarray(mdp.terminal)
    step = mask[:, :-1] & mask[:, 1:]
    for n, t in np.argwhere(step):
        s, a, s2 = states[n, t], actions[n, t], states[n, t + 1]
        if terminal[s]:
            raise ValueError(f"demos: trajectory {n} continues after terminal state {s} at step {t}")
        if next_probs[s, a][next_states[s, a] == s2].sum() <= 0:
            raise ValueError(
                f"demos: trajectory {n} step {t}: transition {s} -> {s2} under action {a} "
                "has probability 0 in the MDP"
            )


def _demonstration_arrays(demos) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(states, actions, mask)`` of ``demos`` as numpy arrays, with their form checked:
    integer (N, T) indices, a boolean mask whose True steps come first in each row and at
    least one step per trajectory.

    Raises:
        TypeError: not :class:`Demonstrations`, or non-integer indices / a non-boolean mask.
        ValueError: shapes that differ or are not (N, T), gaps in the mask, an empty trajectory.
    """
    if not isinstance(demos, Demonstrations):
        raise TypeError(f"demos: expected Demonstrations (from make_demonstrations or "
                        f"load_demonstrations), got {type(demos).__name__}")
    states, actions, mask = (np.asarray(x) for x in demos)
    for field, values in (("states", states), ("actions", actions)):
        if values.dtype.kind not in "iu":
            raise TypeError(f"demos.{field}: expected integer indices, got dtype {values.dtype}")
        if values.ndim != 2 or values.shape != mask.shape:
            raise ValueError(f"demos.{field}: expected shape (N, T) = {mask.shape} (the "
                             f"mask's), got {values.shape}")
    if mask.dtype != bool:
        raise TypeError(f"demos.mask: expected booleans, got dtype {mask.dtype}")
    gaps = mask[:, 1:] & ~mask[:, :-1]
    if gaps.any():
        n, t = np.argwhere(gaps)[0]
        raise ValueError(f"demos.mask: trajectory {n} has a step at {t + 1} after a gap; "
                         "expected each trajectory's steps first, then padding")
    empty = ~mask.any(axis=1)
    if empty.any():
        raise ValueError(f"demos.mask: trajectory {int(np.argmax(empty))} has no step")
    return states, actions, mask


@renamed_arguments(key="rng_key")
def rollout(rng_key: PRNGKey, mdp: MDP, policy: Array, horizon: int,
            initial_state: Array | None = None) -> Demonstrations:
    """Sample ONE trajectory of ``policy`` for ``horizon`` steps (jit/vmap-compatible).

    The trajectory stops when it enters a terminal state (that state is its last step).

    Args:
        rng_key: JAX PRNG key (``key``: deprecated alias).
        mdp: the MDP.
        policy: (S, A) or time-dependent (T, S, A) action probabilities.
        horizon: T, the maximum number of states (static).
        initial_state: () int start state; default drawn from p0.

    Returns:
        Demonstrations with N = 1 … squeezed: arrays of shape (T,). Batch with ``jax.vmap``
        over keys (see :func:`sample_demonstrations`).

    Raises:
        ValueError: ``horizon`` < 1; when concrete (not traced under jit/vmap): a policy that
            is not action probabilities, an ``initial_state`` out of range.
        TypeError: a non-integer ``horizon`` or ``initial_state``.
    """
    horizon = check_scalar(horizon, "horizon", low=1, integer=True)
    check_policy_concrete(policy, "policy", atol=_ROLLOUT_POLICY_ATOL)
    if initial_state is not None and is_concrete(initial_state):
        as_index_array(initial_state, "initial_state", mdp.num_states, ndim=0)
    k0, key = jax.random.split(rng_key)
    if initial_state is None:
        initial_state = jax.random.choice(k0, mdp.num_states, p=mdp.initial_distribution)
    log_policy = jnp.log(jnp.asarray(policy))

    def step(carry, inputs):
        s, alive = carry
        t, k = inputs
        ka, ks = jax.random.split(k)
        logits = log_policy[t] if log_policy.ndim == 3 else log_policy
        a = jax.random.categorical(ka, logits[s])
        k_idx = jax.random.categorical(ks, jnp.log(mdp.next_probs[s, a]))
        s_next = mdp.next_states[s, a, k_idx]
        still = alive & ~mdp.terminal[s]
        return (s_next, still), (s, jnp.where(mdp.terminal[s], 0, a), alive)

    keys = jax.random.split(key, horizon)
    _, (states, actions, mask) = lax.scan(
        step, (jnp.asarray(initial_state, jnp.int32), jnp.bool_(True)),
        (jnp.arange(horizon), keys),
    )
    return Demonstrations(states.astype(jnp.int32), actions.astype(jnp.int32), mask)


@renamed_arguments(key="rng_key")
def sample_demonstrations(rng_key: PRNGKey, mdp: MDP, policy: Array, num_trajectories: int,
                          horizon: int, initial_states: Array | None = None) -> Demonstrations:
    """Sample N rollouts of ``policy`` (vmapped :func:`rollout`).

    Args:
        rng_key: JAX PRNG key (``key``: deprecated alias).
        mdp: the MDP.
        policy: (S, A) or (T, S, A) action probabilities.
        num_trajectories: N >= 1.
        horizon: T >= 1, maximum length.
        initial_states: optional (N,) start states; default drawn from p0.

    Returns:
        Demonstrations of shape (N, T), trimmed to the longest trajectory.

    Raises:
        ValueError: non-positive ``num_trajectories`` or ``horizon``, or a policy of the wrong
            shape or whose rows are not probability distributions (NaN, negative, not summing
            to 1; checked when the policy is concrete, not under jit).
    """
    N = check_scalar(num_trajectories, "num_trajectories", low=1, integer=True)
    T = check_scalar(horizon, "horizon", low=1, integer=True)
    policy = jnp.asarray(policy)
    if policy.shape[-2:] != (mdp.num_states, mdp.num_actions) or policy.ndim not in (2, 3):
        raise ValueError(f"policy: expected shape (S, A) or (T, S, A) with S, A = "
                         f"{mdp.num_states}, {mdp.num_actions}; got {policy.shape}")
    check_policy_concrete(policy, "policy", atol=_ROLLOUT_POLICY_ATOL)
    keys = jax.random.split(rng_key, N)
    if initial_states is None:
        demos = jax.vmap(lambda k: rollout(k, mdp, policy, T))(keys)
    else:
        starts = jnp.asarray(as_index_array(initial_states, "initial_states", mdp.num_states))
        if starts.shape != (N,):
            raise ValueError(f"initial_states: expected shape (N,) = ({N},), got {starts.shape}")
        demos = jax.vmap(lambda k, s0: rollout(k, mdp, policy, T, s0))(keys, starts)
    return trim(demos)


def trim(demos: Demonstrations) -> Demonstrations:
    """Drop the padding steps after the longest trajectory: (N, T) -> (N, T') with T' <= T."""
    longest = int(np.asarray(demos.mask).sum(axis=1).max())
    return Demonstrations(*(x[:, :longest] for x in demos))


def policy_rollouts(rng_key: PRNGKey, mdp: MDP, policies: Array, horizon: int
                    ) -> Demonstrations:
    """One rollout of each policy (vmapped :func:`rollout`; jit-compatible, not trimmed).

    Args:
        rng_key: JAX PRNG key.
        mdp: the MDP.
        policies: (N, S, A) action probabilities.
        horizon: T, rollout length (static).

    Returns:
        Demonstrations of shape (N, T).
    """
    keys = jax.random.split(rng_key, policies.shape[0])
    return jax.vmap(lambda k, pi: rollout(k, mdp, pi, int(horizon)))(keys, policies)


def noisy_policies(mdp: MDP, policy: Array, num: int) -> Array:
    """``num`` mixtures ``(1 − ε_i) π + ε_i · uniform`` with ε_i evenly spaced over [0, 1].

    From ``policy`` itself (ε = 0) to the uniformly random policy (ε = 1): the noise ladder of
    the synthetic rankings of T-REX / D-REX (Brown et al. 2019, 2020).

    Args:
        mdp: the MDP.
        policy: (S, A) action probabilities π.
        num: N >= 1 (N = 1 gives ``policy`` only).

    Returns:
        (N, S, A) action probabilities.
    """
    policy = jnp.asarray(policy)
    eps = jnp.linspace(0.0, 1.0, num, dtype=policy.dtype)[:, None, None]
    return (1 - eps) * policy[None] + eps * uniform_policy(mdp, policy.dtype)[None]


def noisy_rollouts(rng_key: PRNGKey, mdp: MDP, policy: Array, num: int, horizon: int
                   ) -> Demonstrations:
    """One rollout of each of :func:`noisy_policies` ``(mdp, policy, num)``.

    Args:
        rng_key: JAX PRNG key.
        mdp: the MDP.
        policy: (S, A) the least noisy policy (e.g. the expert's π*).
        num: N >= 1 trajectories, from ``policy`` (first) to uniformly random (last).
        horizon: T, rollout length.

    Returns:
        Demonstrations of shape (N, T) (not trimmed).
    """
    return policy_rollouts(rng_key, mdp, noisy_policies(mdp, policy, num), horizon)


def state_action_counts(mdp: MDP, demos: Demonstrations) -> Array:
    """(S, A) number of times each action was taken in each non-terminal state."""
    valid = demos.mask & ~mdp.terminal[demos.states]
    counts = jnp.zeros((mdp.num_states, mdp.num_actions), mdp.next_probs.dtype)
    return counts.at[demos.states, demos.actions].add(valid.astype(counts.dtype))


def save_demonstrations(path: str | os.PathLike, demos: Demonstrations,
                        mdp: MDP | None = None) -> None:
    """Write ``demos`` as JSON (to a temporary name, then renamed).

    Format: ``{"format": "bayesirl.demonstrations/1", "num_states": S, "num_actions": A,
    "trajectories": [{"states": [...], "actions": [...]}, ...]}``; S and A are written when
    ``mdp`` is given.

    Only what :func:`load_demonstrations` reads back is written: ``demos`` is checked first
    (against ``mdp`` when given, as :func:`check_demonstrations`) and nothing is written when
    a check fails.

    Raises:
        TypeError: ``demos`` is not :class:`Demonstrations` or ``mdp`` not an MDP.
        ValueError: a state or action the MDP does not have (naming ``demos.states`` or
            ``demos.actions``), a transition the MDP cannot make, a negative index, or a mask
            with gaps or an empty trajectory.
        OSError: the file cannot be written (as :func:`bayesirl.save_mdp`).
    """
    if mdp is not None:
        check_demonstrations(mdp, demos)
    states, actions, mask = _demonstration_arrays(demos)
    for field, values in (("states", states), ("actions", actions)):
        if (values[mask] < 0).any():
            n, t = np.argwhere(mask & (values < 0))[0]
            raise ValueError(f"demos.{field}: trajectory {n} step {t}: negative index "
                             f"{values[n, t]}")
    trajs = []
    for n in range(states.shape[0]):
        L = int(mask[n].sum())
        trajs.append({"states": states[n, :L].tolist(), "actions": actions[n, :L].tolist()})
    doc = {"format": _FORMAT, "trajectories": trajs}
    if mdp is not None:
        doc["num_states"], doc["num_actions"] = mdp.num_states, mdp.num_actions
    write_json(path, doc, indent=None)


def load_demonstrations(path: str | os.PathLike, mdp: MDP | None = None) -> Demonstrations:
    """Read demonstrations written by :func:`save_demonstrations` (or by hand) and validate them.

    A file may be the full document or just the list of trajectories.

    Args:
        path: JSON file.
        mdp: when given, indices and transitions are checked against it
            (:func:`check_demonstrations`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: invalid JSON or content (the message names the trajectory and field).
    """
    doc = read_json(path, "demos")
    if isinstance(doc, dict):
        if "trajectories" not in doc:
            raise ValueError(f"demos: {path} has no 'trajectories' list")
        trajectories = doc["trajectories"]
    else:
        trajectories = doc
    if not isinstance(trajectories, list):
        raise ValueError(f"demos: 'trajectories' in {path} must be a list, got {type(trajectories).__name__}")
    S = mdp.num_states if mdp is not None else None
    A = mdp.num_actions if mdp is not None else None
    demos = make_demonstrations(trajectories, S, A)
    if mdp is not None:
        check_demonstrations(mdp, demos)
    return demos
