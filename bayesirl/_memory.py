"""How much memory there is: the host's available memory and a JAX device's memory limit.

A low-level helper (no bayesirl imports) shared by the solvers' memory checks
(:mod:`bayesirl.solvers.memory`) and the application's run checks.
"""

from __future__ import annotations

import os

__all__ = ["available_memory", "device_memory_limit", "format_bytes"]


def available_memory() -> int | None:
    """Bytes of host memory available now (``MemAvailable`` on Linux), None when unknown."""
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


def device_memory_limit(device) -> int | None:
    """Bytes a JAX accelerator may allocate (``memory_stats()["bytes_limit"]``), None for the
    host CPU (whose arrays live in host memory: see :func:`available_memory`) or when the
    backend does not say."""
    if getattr(device, "platform", "cpu") == "cpu":
        return None
    try:
        stats = device.memory_stats() or {}
    except Exception:  # backends without memory statistics raise various errors
        return None
    limit = stats.get("bytes_limit")
    return int(limit) if limit else None


def format_bytes(n: int | float) -> str:
    """``n`` bytes as a short human-readable string (``"1.2 GiB"``)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover
