"""Checks made before any work starts: the output folder, and the memory a run would need.

Everything here is cheap (no JAX compilation, no sampling), so a bad ``--out`` or an
impossible ``--num-chains`` is refused in well under a second instead of after the fit.
"""

from __future__ import annotations

import os

from bayesirl._io import clean_stale_staging
from bayesirl.app.errors import UsageError

__all__ = ["check_out", "estimate_memory", "check_memory", "available_memory",
           "MEMORY_FRACTION", "BYTES_PER_VALUE", "COPIES"]

#: A run may use at most this fraction of the memory available when it starts.
MEMORY_FRACTION = 0.5
#: float64 on the host (the draws are converted before they are written).
BYTES_PER_VALUE = 8
#: Copies of the draws alive at once: the sampler's, NumPy's, ArviZ's and netCDF's buffers.
COPIES = 4
#: Values per state-action pair a chain keeps while it solves the MDP (Q, policy, gradients).
SOLVER_VALUES_PER_PAIR = 32


def check_out(out, force: bool, flag: str = "--out") -> list[str]:
    """Refuse an output folder that cannot receive the results, before any work.

    ``out`` must be a non-empty path; if it exists it must be a folder, empty unless ``force``;
    its nearest existing ancestor must be a writable folder (the missing parents are created
    when the results are written). Stale staging folders of killed runs next to ``out`` are
    removed.

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
    parent = os.path.dirname(os.path.abspath(out))
    return clean_stale_staging(parent) if os.path.isdir(parent) else []


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
            f"about {need / 2**30:.1f} GiB, more than {MEMORY_FRACTION:.0%} of the "
            f"{available / 2**30:.1f} GiB available; lower --num-chains or --num-samples")
    return need
