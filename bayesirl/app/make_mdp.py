"""``bayesirl make-mdp``: an ``mdp.npz`` from plain NumPy arrays, validated like
:func:`bayesirl.make_mdp`.

For users whose MDP is a transition tensor and a feature matrix saved with ``np.save``; the
Python equivalent is ``save_mdp("mdp.npz", make_mdp(P, phi, discount=γ, terminal_states=...))``.
"""

from __future__ import annotations

import os

import numpy as np

from bayesirl._io import atomic_path, check_output_file, file_kind, input_file
from bayesirl.app.errors import UsageError

__all__ = ["read_array", "parse_terminal", "make_mdp_file"]


def read_array(path: str, flag: str) -> np.ndarray:
    """A ``.npy`` (or single-array ``.npz``) file as a NumPy array (no pickles).

    Raises:
        UsageError: missing, a folder, unreadable or not a single array (names ``flag``, the
            file and what it seems to hold).
    """
    try:
        input_file(path, flag, "a .npy array file")
    except OSError as err:
        raise UsageError(str(err)) from None
    try:
        data = np.load(path, allow_pickle=False)
    except Exception:  # numpy raises several kinds for a foreign file
        raise UsageError(f"{flag}: {path} is not a .npy array file but {file_kind(path)} "
                         "(write one with np.save)") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            if len(data.files) != 1:
                raise UsageError(f"{flag}: {path} holds {len(data.files)} arrays; expected one")
            data = data[data.files[0]]
    return np.asarray(data)


def parse_terminal(text: str | None, num_states: int):
    """``--terminal``: comma-separated state indices, or a .npy file of indices or an (S,)
    boolean mask; None when not given."""
    if not text:
        return None
    if text.endswith((".npy", ".npz")):
        return read_array(text, "--terminal")
    try:  # a list of Python ints: make_mdp refuses those out of range (even beyond int64)
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise UsageError(f"--terminal: expected comma-separated state indices (0 … "
                         f"{num_states - 1}) or a .npy file, got {text!r}") from None


def make_mdp_file(out: str, transitions: str, features: str, discount: float, *,
                  terminal: str | None = None, initial: str | None = None,
                  reward: str | None = None, force: bool = False) -> dict:
    """Build, validate and save an MDP from array files.

    Args:
        out: the ``.npz`` to write (refused when it exists, unless ``force``).
        transitions: .npy of (S, A, S) transition probabilities ``P[s, a, s']``.
        features: .npy of (S, F) or (S, A, F) features φ.
        discount: γ in [0, 1).
        terminal: see :func:`parse_terminal`.
        initial: .npy of the (S,) initial state distribution (default uniform).
        reward: .npy of a known (S,) or (S, A) reward, stored as ``true_reward`` beside the
            MDP for your own evaluation (bayesirl's fit does not read it).
        force: replace an existing ``out``.

    Returns:
        ``{"num_states", "num_actions", "num_features", "discount", "out"}``.

    Raises:
        UsageError: bad files, shapes or values (the message names the flag).
    """
    from bayesirl.data.mdp import make_mdp

    if not out or not str(out).strip():
        raise UsageError(f"--out: expected a file name, got {out!r}")
    if not str(out).endswith(".npz"):
        raise UsageError(f"--out: expected a name ending in .npz, got {out!r}")
    try:
        check_output_file(out)
    except OSError as err:
        raise UsageError(f"--out: {err}") from None
    if os.path.exists(out) and not force:
        raise UsageError(f"--out: {out} exists; pass --force to replace it")
    P = read_array(transitions, "--transitions")
    phi = read_array(features, "--features")
    p0 = read_array(initial, "--initial") if initial else None
    terminal_states = parse_terminal(terminal, P.shape[0] if P.ndim else 0)
    flags = {"transitions": "--transitions", "features": "--features", "discount": "--discount",
             "initial_distribution": "--initial", "terminal_states": "--terminal"}
    try:
        mdp = make_mdp(P, phi, discount, p0, terminal_states)
    except (ValueError, TypeError) as err:
        name, sep, rest = str(err).partition(":")
        if sep and name in flags:
            raise UsageError(f"{flags[name]}:{rest}") from None
        raise UsageError(f"--transitions: {err}") from None
    extra = {}
    if reward:
        R = read_array(reward, "--reward")
        if R.shape not in ((mdp.num_states,), (mdp.num_states, mdp.num_actions)) or not (
                np.issubdtype(R.dtype, np.number) and np.all(np.isfinite(R))):
            raise UsageError(f"--reward: expected finite numbers of shape ({mdp.num_states},) or "
                             f"({mdp.num_states}, {mdp.num_actions}), got {R.dtype} {R.shape}")
        extra["true_reward"] = R
    arrays = {name: np.asarray(value) for name, value in mdp._asdict().items()}
    try:
        with atomic_path(out) as tmp:
            np.savez_compressed(tmp, format=np.array("bayesirl.MDP/1"), **arrays, **extra)
    except OSError as err:  # the message names out, never the temporary file
        raise UsageError(f"--out: {err}") from None
    return {"num_states": mdp.num_states, "num_actions": mdp.num_actions,
            "num_features": mdp.num_features, "discount": float(mdp.discount), "out": out}
