"""The tabular Markov decision process (MDP) type, its validated constructors and storage.

An :class:`MDP` stores transition probabilities in a padded sparse form ("ELL"): for each
state-action pair the indices of its K successor states and their probabilities. One Bellman
backup is then a gather ``(next_probs * V[next_states]).sum(-1)``: O(S·A·K) work and memory,
so the same code runs from a 4-state toy to 10^5-state MDPs. Dense ``(S, A, S)`` transition
tensors are accepted by :func:`make_mdp` and recovered by :func:`transition_matrix`.

Conventions (Puterman 1994; Ramachandran & Amir 2007):

* reward ``R(s) = w·φ(s)`` (state features, shape S×F) or ``R(s, a) = w·φ(s, a)``
  (state-action features, shape S×A×F);
* ``Q(s, a) = R(s, a) + γ Σ_s' P[s, a, s'] V(s')``;
* a *terminal* state is absorbing and ends the episode on entry: the agent receives its reward
  there once and nothing after, i.e. ``Q(s, a) = R(s, a)`` for terminal ``s``. Forward passes
  keep probability mass that reaches a terminal state there.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesirl._io import atomic_path, file_kind, input_file
from bayesirl._typing import Array, ArrayLike
from bayesirl._validate import (
    PROBABILITY_ATOL,
    as_float_array,
    as_index_array,
    check_probability_vector,
    check_scalar,
    check_shape,
)

__all__ = [
    "MDP",
    "IdentityFeatures",
    "make_mdp",
    "make_sparse_mdp",
    "transition_matrix",
    "reward_from_weights",
    "state_action_reward",
    "uniform_policy",
    "save_mdp",
    "load_mdp",
]

# PROBABILITY_ATOL (imported above, shared with the policy checks): tolerance on transition
# and initial probabilities summing to 1.
#: From this many states on, :func:`make_sparse_mdp` with ``features=None`` uses the implicit
#: :class:`IdentityFeatures` instead of a dense ``np.eye(S)`` (16 MiB in float32 at S = 2048).
IMPLICIT_IDENTITY_MIN_STATES = 2048


@jax.tree_util.register_static
class IdentityFeatures:
    """The (S, S) identity feature map φ(s) = e_s (one reward weight per state), not stored.

    :func:`make_sparse_mdp` with ``features=None`` uses it so that per-state rewards cost O(S)
    memory (a dense identity is 7 TiB at 10^6 states). It behaves like the matrix where
    features are used: ``φ @ w`` is ``w``, ``x @ φ`` is ``x``, and ``shape``, ``ndim``,
    ``dtype`` are those of ``jnp.eye(S)``. Indexing and ``np.asarray`` materialise the dense
    matrix (small S only). A static pytree node: S and the dtype are part of the jit cache key.

    Args:
        num_states: S >= 1.
        dtype: float dtype of the (virtual) entries.
    """

    ndim = 2

    def __init__(self, num_states: int, dtype):
        self.num_states = int(num_states)
        self.dtype = jnp.dtype(dtype)

    @property
    def shape(self) -> tuple[int, int]:
        """(S, S)."""
        return (self.num_states, self.num_states)

    def __repr__(self) -> str:
        return f"IdentityFeatures(num_states={self.num_states}, dtype={self.dtype})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, IdentityFeatures) and other.num_states == self.num_states
                and other.dtype == self.dtype)

    def __hash__(self) -> int:
        return hash((IdentityFeatures, self.num_states, str(self.dtype)))

    def __matmul__(self, weights):
        return jnp.asarray(weights)

    def __rmatmul__(self, x):
        return jnp.asarray(x)

    def astype(self, dtype) -> "IdentityFeatures":
        return IdentityFeatures(self.num_states, dtype)

    def dense(self) -> Array:
        """The (S, S) identity matrix (memory O(S²))."""
        return jnp.eye(self.num_states, dtype=self.dtype)

    def __jax_array__(self):
        return self.dense()

    def __array__(self, dtype=None, copy=None):
        return np.eye(self.num_states, dtype=dtype or self.dtype)

    def __getitem__(self, index):
        return self.dense()[index]


class MDP(NamedTuple):
    """A finite MDP with linear-reward features, stored as a JAX pytree.

    Build it with :func:`make_mdp` (dense transitions) or :func:`make_sparse_mdp`
    (successor lists), which validate their input; the fields below are then trusted by the
    jitted solvers.

    Attributes:
        next_states: (S, A, K) int32, successor state indices of each state-action pair.
        next_probs: (S, A, K) float, their transition probabilities; each (s, a) row sums to 1.
            Padding entries have probability 0.
        features: (S, F) state features or (S, A, F) state-action features φ, or an
            :class:`IdentityFeatures` (implicit (S, S) identity: per-state rewards).
        discount: () float, the discount factor γ in [0, 1).
        initial_distribution: (S,) float, the initial state distribution p0.
        terminal: (S,) bool, absorbing states that end an episode on entry.
    """

    next_states: Array
    next_probs: Array
    features: Array
    discount: Array
    initial_distribution: Array
    terminal: Array

    @property
    def num_states(self) -> int:
        """S, the number of states."""
        return self.next_states.shape[0]

    @property
    def num_actions(self) -> int:
        """A, the number of actions."""
        return self.next_states.shape[1]

    @property
    def num_features(self) -> int:
        """F, the number of features (length of the reward weights)."""
        return self.features.shape[-1]

    @property
    def state_action_features(self) -> bool:
        """True when the features (and so the reward) depend on the action: shape (S, A, F)."""
        return self.features.ndim == 3


def _check_features(features, num_states: int, num_actions: int, implicit: bool = False):
    if features is None:
        if implicit and num_states >= IMPLICIT_IDENTITY_MIN_STATES:
            return IdentityFeatures(num_states, jnp.zeros(()).dtype)
        return np.eye(num_states)
    if isinstance(features, IdentityFeatures):
        if features.num_states != num_states:
            raise ValueError(f"features: expected IdentityFeatures with S = {num_states}, "
                             f"got {features.num_states}")
        return features
    phi = as_float_array(features, "features", ndim=(2, 3))
    if phi.shape[0] != num_states:
        raise ValueError(
            f"features: expected shape (S, F) or (S, A, F) with S = {num_states}, got {phi.shape}"
        )
    if phi.ndim == 3 and phi.shape[1] != num_actions:
        raise ValueError(
            f"features: expected shape (S, A, F) with A = {num_actions}, got {phi.shape}"
        )
    if phi.shape[-1] == 0:
        raise ValueError("features: expected at least one feature, got F = 0")
    return phi


def _check_common(num_states, features, discount, initial_distribution, terminal_states,
                  num_actions, implicit=False):
    phi = _check_features(features, num_states, num_actions, implicit)
    gamma = check_scalar(discount, "discount", low=0.0, high=1.0, high_open=True)
    if initial_distribution is None:
        p0 = np.full(num_states, 1.0 / num_states)
    else:
        p0 = as_float_array(initial_distribution, "initial_distribution", ndim=1)
        check_shape(p0, (num_states,), "initial_distribution")
        check_probability_vector(p0, "initial_distribution", PROBABILITY_ATOL)
    terminal = np.zeros(num_states, dtype=bool)
    if terminal_states is not None:
        raw = np.asarray(terminal_states)
        if raw.dtype == bool:
            check_shape(raw, (num_states,), "terminal_states")
            terminal = raw.copy()
        else:
            idx = as_index_array(terminal_states, "terminal_states", num_states)
            terminal[idx] = True
    if terminal.all():
        raise ValueError("terminal_states: every state is terminal; at least one must not be")
    return phi, gamma, p0, terminal


def _finish(next_states, next_probs, phi, gamma, p0, terminal, dtype) -> MDP:
    dtype = jnp.dtype(dtype) if dtype is not None else jnp.zeros(()).dtype
    if np.asarray(gamma, dtype) >= 1:  # e.g. 0.99999999 in float32: value iteration diverges
        largest = float(np.nextafter(np.asarray(1, dtype), np.asarray(0, dtype)))
        raise ValueError(f"discount: expected a number below 1 in {dtype} (at most "
                         f"{largest!r}), got {gamma!r}, which {dtype} rounds to 1")
    features = (phi.astype(dtype) if isinstance(phi, IdentityFeatures)
                else jnp.asarray(phi, dtype=dtype))
    return MDP(
        next_states=jnp.asarray(next_states, dtype=jnp.int32),
        next_probs=jnp.asarray(next_probs, dtype=dtype),
        features=features,
        discount=jnp.asarray(gamma, dtype=dtype),
        initial_distribution=jnp.asarray(p0, dtype=dtype),
        terminal=jnp.asarray(terminal, dtype=bool),
    )


def make_mdp(
    transitions: ArrayLike,
    features: ArrayLike | None = None,
    discount: float = 0.95,
    initial_distribution: ArrayLike | None = None,
    terminal_states: ArrayLike | None = None,
    *,
    dtype=None,
) -> MDP:
    """Build a validated :class:`MDP` from a dense transition tensor.

    Args:
        transitions: (S, A, S) transition probabilities ``P[s, a, s']``; each row sums to 1.
        features: (S, F) or (S, A, F) features φ; default the identity (S, S), i.e. one
            reward weight per state (a tabular reward).
        discount: discount factor γ, 0 <= γ < 1.
        initial_distribution: (S,) initial state distribution; default uniform.
        terminal_states: indices of absorbing terminal states, or an (S,) boolean mask.
        dtype: float dtype of the stored arrays; default JAX's default float (float32, or
            float64 when ``jax_enable_x64`` is on).

    Returns:
        The MDP, with K = the largest number of successors of any state-action pair.

    Raises:
        TypeError: non-numeric input.
        ValueError: wrong shapes, NaN/inf, negative probabilities, rows that do not sum to 1
            (tolerance ``PROBABILITY_ATOL``), γ outside [0, 1) (or rounding to 1 in
            ``dtype``), terminal index out of range.
    """
    P = as_float_array(transitions, "transitions", ndim=3)
    S, A, S2 = P.shape
    if S == 0 or A == 0 or S != S2:
        raise ValueError(f"transitions: expected shape (S, A, S) with S, A >= 1, got {P.shape}")
    check_probability_vector(P, "transitions", PROBABILITY_ATOL)
    phi, gamma, p0, terminal = _check_common(
        S, features, discount, initial_distribution, terminal_states, A
    )
    nonzero = P > 0
    K = max(int(nonzero.sum(axis=-1).max()), 1)
    # Successors with positive probability first (stable order), padded with index 0, prob 0.
    order = np.argsort(~nonzero, axis=-1, kind="stable")[..., :K]
    next_states = order
    next_probs = np.take_along_axis(P, order, axis=-1)
    next_probs = np.where(np.take_along_axis(nonzero, order, axis=-1), next_probs, 0.0)
    next_states = np.where(next_probs > 0, next_states, 0)
    return _finish(next_states, next_probs, phi, gamma, p0, terminal, dtype)


def make_sparse_mdp(
    next_states: ArrayLike,
    next_probs: ArrayLike,
    features: ArrayLike | None = None,
    discount: float = 0.95,
    initial_distribution: ArrayLike | None = None,
    terminal_states: ArrayLike | None = None,
    *,
    dtype=None,
) -> MDP:
    """Build a validated :class:`MDP` from successor lists, for large sparse MDPs.

    Args:
        next_states: (S, A, K) integer successor indices in [0, S).
        next_probs: (S, A, K) their probabilities; each (s, a) row sums to 1. Repeated
            successors are allowed (their probabilities add up).
        features: (S, F) or (S, A, F) features φ, or an :class:`IdentityFeatures`; default
            (None) the identity — one reward weight per state — stored densely below
            ``IMPLICIT_IDENTITY_MIN_STATES`` states and as the implicit
            :class:`IdentityFeatures` (O(1) memory) from there on, so 10^6 states work.
        discount, initial_distribution, terminal_states, dtype: as in :func:`make_mdp`.

    Returns:
        The MDP.

    Raises:
        TypeError / ValueError: as in :func:`make_mdp`; also when ``next_states`` and
        ``next_probs`` differ in shape or an index is out of range.
    """
    probs = as_float_array(next_probs, "next_probs", ndim=3)
    S, A, K = probs.shape
    if S == 0 or A == 0 or K == 0:
        raise ValueError(f"next_probs: expected shape (S, A, K) with S, A, K >= 1, got {probs.shape}")
    idx = as_index_array(next_states, "next_states", S, ndim=3)
    if idx.shape != probs.shape:
        raise ValueError(
            f"next_states: expected the shape of next_probs {probs.shape}, got {idx.shape}"
        )
    check_probability_vector(probs, "next_probs", PROBABILITY_ATOL)
    phi, gamma, p0, terminal = _check_common(
        S, features, discount, initial_distribution, terminal_states, A, implicit=True
    )
    return _finish(idx, probs, phi, gamma, p0, terminal, dtype)


def transition_matrix(mdp: MDP) -> Array:
    """The dense (S, A, S) transition tensor of ``mdp`` (memory O(S²·A): small MDPs only)."""
    S, A, _ = mdp.next_states.shape
    P = jnp.zeros((S, A, S), dtype=mdp.next_probs.dtype)
    s_idx = jnp.arange(S)[:, None, None]
    a_idx = jnp.arange(A)[None, :, None]
    return P.at[s_idx, a_idx, mdp.next_states].add(mdp.next_probs)


def reward_from_weights(mdp: MDP, weights: Array) -> Array:
    """Linear reward ``R = φ w``.

    Args:
        mdp: the MDP (features (S, F) or (S, A, F)).
        weights: (F,) reward weights.

    Returns:
        (S,) state reward or (S, A) state-action reward (with :class:`IdentityFeatures`,
        the weights themselves). jit- and vmap-compatible.
    """
    return mdp.features @ weights


def state_action_reward(mdp: MDP, reward: Array) -> Array:
    """A state or state-action reward as an (S, A) state-action reward.

    Args:
        mdp: the MDP.
        reward: (S,) state reward (the same for every action) or (S, A) state-action reward.

    Returns:
        (S, A) reward (a broadcast view of a state reward; an (S, A) reward as given).
        jit- and vmap-compatible.

    Raises:
        ValueError: if ``reward`` has neither shape.
    """
    reward = jnp.asarray(reward)
    S, A = mdp.num_states, mdp.num_actions
    if reward.shape == (S,):
        return jnp.broadcast_to(reward[:, None], (S, A))
    if reward.shape == (S, A):
        return reward
    raise ValueError(f"reward: expected shape (S,) = ({S},) or (S, A) = ({S}, {A}), got "
                     f"{reward.shape}")


def uniform_policy(mdp: MDP, dtype=None) -> Array:
    """(S, A) the policy that picks every action with probability 1/A.

    The baseline of the normalised EVD (Trinh, Chen & Brown 2024) and the noisy end of
    :func:`~bayesirl.data.demos.noisy_policies`.

    Args:
        mdp: the MDP.
        dtype: floating dtype; default that of ``mdp.features``.
    """
    dtype = mdp.features.dtype if dtype is None else dtype
    return jnp.full((mdp.num_states, mdp.num_actions), 1.0 / mdp.num_actions, dtype)


def save_mdp(path: str | os.PathLike, mdp: MDP) -> None:
    """Save ``mdp`` to a ``.npz`` file (written to a temporary name, then renamed).

    The file is written at ``path`` exactly (no ``.npz`` is appended when it lacks one).

    Raises:
        TypeError: ``mdp`` is not an :class:`MDP`.
        IsADirectoryError: ``path`` is a folder (nothing is written).
        OSError: the file cannot be written, e.g. its folder does not exist
            (``FileNotFoundError``) or is read-only (``PermissionError``); nothing is left
            behind and the message names ``path``.
    """
    if not isinstance(mdp, MDP):
        raise TypeError(f"mdp: expected an MDP (from make_mdp or load_mdp), got "
                        f"{type(mdp).__name__}")
    fields = mdp._asdict()
    identity = isinstance(mdp.features, IdentityFeatures)
    if identity:  # stored as a flag, not as an (S, S) matrix
        fields["features"] = np.zeros((mdp.num_states, 0), mdp.features.dtype)
    arrays = {name: np.asarray(value) for name, value in fields.items()}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, format=np.array("bayesirl.MDP/1"),
                            identity_features=np.array(identity), **arrays)


def load_mdp(path: str | os.PathLike, *, dtype=None) -> MDP:
    """Load and re-validate an MDP written by :func:`save_mdp`.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        IsADirectoryError: if ``path`` is a folder.
        ValueError: if the file is not a bayesirl MDP (e.g. a JSON file: the message says what
            it seems to hold) or its content is invalid.
    """
    path = input_file(path, "mdp", "an .npz file written by save_mdp")
    head = f"{path} is not an MDP file written by bayesirl"
    try:
        data = np.load(path, allow_pickle=False)
    except Exception:  # numpy raises several kinds (pickle, zip, header) for a foreign file
        raise ValueError(f"{head}: not a .npz archive but {file_kind(path)} (make one with "
                         "bayesirl.make_mdp + save_mdp, or 'bayesirl make-mdp')") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{head}: a single .npy array, not a .npz archive (use "
                         "'bayesirl make-mdp --transitions T.npy --features F.npy ...')")
    with data:
        missing = [k for k in MDP._fields if k not in data.files]
        if missing:
            raise ValueError(f"{head}: no {', '.join(missing)} (it has "
                             f"{', '.join(data.files) or 'nothing'}; use 'bayesirl make-mdp' "
                             "for plain arrays)")
        try:
            fields = {k: data[k] for k in MDP._fields}
            identity = "identity_features" in data.files and bool(data["identity_features"])
        except Exception as err:  # a damaged member
            raise ValueError(f"{head}: unreadable array ({err})") from None
    if identity:
        fields["features"] = IdentityFeatures(fields["next_states"].shape[0],
                                              fields["next_probs"].dtype)
    return make_sparse_mdp(
        fields["next_states"],
        fields["next_probs"],
        fields["features"],
        float(fields["discount"]),
        fields["initial_distribution"],
        fields["terminal"].astype(bool),
        dtype=dtype,
    )
