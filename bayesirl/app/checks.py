"""Checks made before any work starts: the output folder, and the memory a run would need.

Everything here is cheap (no JAX compilation, no sampling), so a bad ``--out`` or an
impossible ``--num-chains`` is refused in well under a second instead of after the fit.
"""

from __future__ import annotations

import contextlib
import os

from bayesirl._io import check_unclaimed, claimed_folder, clean_stale_staging
from bayesirl.app.errors import UsageError

__all__ = ["check_out", "claim_out", "estimate_memory", "check_memory", "available_memory",
           "estimate_world_memory", "check_world_memory", "MEMORY_FRACTION", "BYTES_PER_VALUE",
           "COPIES", "GRIDWORLD_BYTES_PER_STATE", "BYTES_PER_STEP", "BYTES_PER_COMPARISON"]

#: A run may use at most this fraction of the memory available when it starts.
MEMORY_FRACTION = 0.5
#: float64 on the host (the draws are converted before they are written).
BYTES_PER_VALUE = 8
#: Copies of the draws alive at once: the sampler's, NumPy's, ArviZ's and netCDF's buffers.
COPIES = 4
#: Values per state-action pair a chain keeps while it solves the MDP (Q, policy, gradients).
SOLVER_VALUES_PER_PAIR = 32
#: Bytes per cell while a gridworld is built, besides its features: colours, successor
#: indices and probabilities (4 actions × 3 successors, NumPy and JAX copies), the reward, p0.
GRIDWORLD_BYTES_PER_STATE = 512
#: Bytes per simulated time step: states, actions and mask in JAX and NumPy, the rollout's
#: random keys, the trimmed copy.
BYTES_PER_STEP = 64
#: Bytes per simulated comparison: its two trajectory indices, label and their copies.
BYTES_PER_COMPARISON = 64
#: Trajectories rolled out for simulated comparisons (at most; see synthetic_preferences).
PREFERENCE_TRAJECTORIES = 100


def check_out(out, force: bool, flag: str = "--out") -> list[str]:
    """Refuse an output folder that cannot receive the results, before any work.

    ``out`` must be a non-empty path; if it exists it must be a folder, empty unless ``force``;
    its nearest existing ancestor must be a writable folder (the missing parents are created
    when the results are written); no other running bayesirl process may be writing it
    (:func:`claim_out`). Stale staging folders of killed runs next to ``out`` are removed.

    Returns:
        The stale staging folders removed (for a note to the user).

    Raises:
        UsageError: the message starts with ``flag`` and names the problem.
    """
    if not isinstance(out, (str, os.PathLike)) or not os.fspath(out).strip():
        raise UsageError(f"{flag}: expected a folder name, got {out!r}")
    out = os.fspath(out)
    if os.path.lexists(out):
        if not os.path.isdir(out):
            raise UsageError(f"{flag}: {out} exists and is not a folder")
        if os.listdir(out) and not force:
            raise UsageError(f"{flag}: {out} is not empty; choose another folder or pass --force")
    path = os.path.dirname(os.path.abspath(out))
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise UsageError(f"{flag}: {out} would be inside {path}, which is a file, not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{flag}: cannot write in {path} (permission denied)")
    try:
        check_unclaimed(out)
    except FileExistsError as err:
        raise UsageError(f"{flag}: {err}") from None
    parent = os.path.dirname(os.path.abspath(out))
    return clean_stale_staging(parent) if os.path.isdir(parent) else []


@contextlib.contextmanager
def claim_out(out, flag: str = "--out"):
    """Claim the output folder ``out`` while the block runs (:func:`bayesirl._io.claimed_folder`),
    so that a second run into the same folder is refused at its start.

    Raises:
        UsageError: another running bayesirl process is writing ``out`` (names ``flag``).
    """
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(claimed_folder(out))
    except FileExistsError as err:
        raise UsageError(f"{flag}: {err}") from None
    with stack:
        yield


def estimate_memory(num_chains: int, num_draws: int, num_values: int, num_states: int = 0,
                    num_actions: int = 0) -> int:
    """Rough upper estimate of the bytes a run holds at once.

    ``C·M·V`` kept values (V per draw: weights, β's, sampler statistics) in :data:`COPIES`
    copies, plus :data:`SOLVER_VALUES_PER_PAIR` values per state-action pair and chain for
    chains that solve the MDP side by side.

    Args:
        num_chains: C.
        num_draws: M kept draws per chain.
        num_values: V values per draw.
        num_states, num_actions: S and A of the MDP (0 when unknown).

    Returns:
        Bytes (an estimate, not a bound).
    """
    draws = num_chains * num_draws * num_values * BYTES_PER_VALUE * COPIES
    solver = num_chains * num_states * num_actions * SOLVER_VALUES_PER_PAIR * BYTES_PER_VALUE
    return int(draws + solver)


def available_memory() -> int | None:
    """Bytes of memory available now (``MemAvailable`` on Linux), None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(num_chains: int, num_draws: int, num_values: int, num_states: int = 0,
                 num_actions: int = 0, available: int | None = None) -> int:
    """Refuse a run whose :func:`estimate_memory` exceeds :data:`MEMORY_FRACTION` of the
    available memory.

    Returns:
        The estimate in bytes.

    Raises:
        UsageError: naming ``--num-chains`` and ``--num-samples``, the estimate and the limit.
    """
    need = estimate_memory(num_chains, num_draws, num_values, num_states, num_actions)
    available = available_memory() if available is None else available
    if available is not None and need > MEMORY_FRACTION * available:
        raise UsageError(
            f"--num-chains/--num-samples: {num_chains} chains × {num_draws} draws would need "
            f"about {format_gib(need)}, more than {MEMORY_FRACTION:.0%} of the "
            f"{format_gib(available)} available; lower --num-chains or --num-samples")
    return need


def estimate_world_memory(*, num_states: int = 0, num_features: int = 0, num_demos: int = 0,
                          num_preferences: int = 0, num_steps: int = 0) -> int:
    """Rough estimate of the bytes a synthetic world needs while it is built and simulated.

    A gridworld of S cells with F colours: :data:`GRIDWORLD_BYTES_PER_STATE` per cell plus its
    one-hot features (S·F in float64 and float32) and the F×F identity they are taken from;
    N demonstrations of up to T steps: :data:`BYTES_PER_STEP` per step; P comparisons:
    :data:`BYTES_PER_COMPARISON` each plus :data:`PREFERENCE_TRAJECTORIES` rollouts.

    Args:
        num_states, num_features: S and F of a gridworld (0 when the MDP is already built).
        num_demos: N simulated demonstrations.
        num_preferences: P simulated comparisons.
        num_steps: T, the rollout length.

    Returns:
        Bytes (Python integers: no overflow however large the settings).
    """
    S, F = int(num_states), int(num_features)
    grid = S * (GRIDWORLD_BYTES_PER_STATE + 12 * F) + 8 * F * F if S else 0
    rollouts = int(num_demos) + (PREFERENCE_TRAJECTORIES if num_preferences else 0)
    evidence = rollouts * int(num_steps) * BYTES_PER_STEP + int(num_preferences) * (
        BYTES_PER_COMPARISON)
    return grid + evidence


def check_world_memory(flags: str, what: str, available: int | None = None, **sizes) -> int:
    """Refuse a synthetic world whose :func:`estimate_world_memory` (of ``sizes``) exceeds
    :data:`MEMORY_FRACTION` of the available memory, before anything is allocated.

    Args:
        flags: the flags to name (e.g. ``"--grid-size/--num-features"``).
        what: the world in words, for the message (``"a 100000x100000 gridworld"``).
        available: bytes available (default :func:`available_memory`).
        sizes: keyword arguments of :func:`estimate_world_memory`.

    Returns:
        The estimate in bytes.

    Raises:
        UsageError: naming ``flags``, the estimate and the limit.
    """
    need = estimate_world_memory(**sizes)
    available = available_memory() if available is None else available
    if available is not None and need > MEMORY_FRACTION * available:
        raise UsageError(
            f"{flags}: {what} would need about {format_gib(need)} of memory, more than "
            f"{MEMORY_FRACTION:.0%} of the {format_gib(available)} available; lower "
            f"{' or '.join(flags.split('/'))}")
    return need


def format_gib(num_bytes: int) -> str:
    """``num_bytes`` as "1.5 GiB" (messages of the memory checks)."""
    gib = num_bytes / 2**30
    return f"{gib:.3g} GiB" if gib < 1e6 else f"{gib:.2e} GiB"
