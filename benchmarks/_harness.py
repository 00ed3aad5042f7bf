"""The timing harness shared by the benchmark scripts: BLAS pinning, best-of-N timers, JAX
ahead-of-time compilation and compile-time accounting, the ESS of a chain, the environment
record, and the header / table / footer printing.

Import it before numpy (``import _harness`` first): importing it pins numpy's BLAS to ONE
thread, since on a 2-core machine a second OpenBLAS thread can make a numpy baseline many
times slower (see shared notes).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import contextlib  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

try:  # optional: verifies (and enforces) the BLAS pinning
    import threadpoolctl  # noqa: E402
except ImportError:  # pragma: no cover - not a dependency of bayesirl
    threadpoolctl = None

__all__ = ["limit_blas_threads", "block", "time_jax", "time_numpy", "compile_jax",
           "CompileClock", "bulk_ess", "environment_info", "print_header", "print_table_header",
           "finish"]


def limit_blas_threads() -> None:
    """Enforce one BLAS thread with threadpoolctl when it is installed."""
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(1)


# ---------------------------------------------------------------------------------------------
# Timers
# ---------------------------------------------------------------------------------------------


def block(x):
    """``jax.block_until_ready(x)``."""
    import jax

    return jax.block_until_ready(x)


def time_jax(fn: Callable, args: tuple, *, repeats: int, budget_s: float,
             min_sample_s: float = 0.02):
    """Best-of-``repeats`` seconds per call of an already compiled JAX function.

    Each call is followed by ``block_until_ready`` (sequential latency, as in MCMC). Calls
    faster than ``min_sample_s`` are looped inside one sample. Repeats stop early once
    ``budget_s`` is spent (at least two timed samples are always taken, after one untimed
    warm-up call). Returns (seconds_per_call, last_output).
    """
    t0 = time.perf_counter()
    out = block(fn(*args))
    first = time.perf_counter() - t0
    inner = max(1, int(min_sample_s / max(first, 1e-9)))
    samples, spent = [], first  # the first call (page faults, allocations) is not a sample
    while len(samples) < repeats and (len(samples) < 2 or spent < budget_s):
        t0 = time.perf_counter()
        for _ in range(inner):
            out = block(fn(*args))
        dt = time.perf_counter() - t0
        spent += dt
        samples.append(dt / inner)
    return min(samples), out


def time_numpy(fn: Callable[[], object], *, repeats: int, budget_s: float):
    """Best-of-``repeats`` seconds of ``fn()`` after one untimed warm-up call."""
    t0 = time.perf_counter()
    out = fn()
    spent = time.perf_counter() - t0
    samples = []
    while len(samples) < repeats and (len(samples) < 2 or spent < budget_s):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        spent += dt
        samples.append(dt)
    return min(samples), out


def compile_jax(fn: Callable, args: tuple):
    """jit + ahead-of-time compile ``fn`` for ``args``; returns (compiled, compile_seconds)."""
    import jax

    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


class CompileClock:
    """Sums JAX's own trace / lower / XLA-compile durations (``jax.monitoring`` events).

    numpyro 0.22's ``MCMC.run(progress_bar=False)`` re-traces and recompiles its sampling loop
    on EVERY call (the loop wrapper is a fresh closure each time; fixed upstream in
    pyro-ppl/numpyro#2171), so "run twice and time the second run" does not exclude
    compilation. Instead each timed ``run`` subtracts the compile time JAX reports for it.
    """

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
              "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")

    def __init__(self):
        import jax.monitoring

        self.total = 0.0
        self._active = False
        jax.monitoring.register_event_duration_secs_listener(self._listener)

    def _listener(self, event, duration, **kwargs):
        if self._active and event in self.EVENTS:
            self.total += float(duration)

    @contextlib.contextmanager
    def measure(self):
        """``with clock.measure() as m: ...``; afterwards ``m.wall`` and ``m.compile`` (s)."""

        class _M:
            wall = compile = 0.0

        m = _M()
        self.total, self._active = 0.0, True
        t0 = time.perf_counter()
        try:
            yield m
        finally:
            m.wall = time.perf_counter() - t0
            self._active = False
            m.compile = self.total

    def close(self):
        import jax.monitoring

        with contextlib.suppress(Exception):
            jax.monitoring.unregister_event_duration_listener(self._listener)


def bulk_ess(draws) -> float:
    """Bulk ESS (``bayesirl._arviz.ess``, i.e. ``arviz.ess``) of draws shaped (chain, draw)."""
    from bayesirl import _arviz

    return float(_arviz.ess(np.asarray(draws, np.float64)))


# ---------------------------------------------------------------------------------------------
# Environment record and printing
# ---------------------------------------------------------------------------------------------


def environment_info(*, scipy: bool = False, x64: bool = False,
                     async_dispatch: bool = False) -> dict:
    """Date, versions, devices, dtype and BLAS threads; optionally the scipy version, whether
    float64 is enabled and whether CPU dispatch is asynchronous."""
    import jax
    import jax.numpy as jnp
    import numpyro

    import bayesirl  # noqa: F401

    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    if threadpoolctl is not None:
        pools = threadpoolctl.threadpool_info()
        blas = ", ".join(f"{p['internal_api']}={p['num_threads']}" for p in pools) or blas
    info = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "jaxlib": getattr(__import__("jaxlib"), "__version__", "?"),
        "numpyro": numpyro.__version__,
        "numpy": np.__version__,
    }
    if scipy:
        import scipy as _scipy

        info["scipy"] = _scipy.__version__
    info.update({
        "devices": [str(d) for d in jax.devices()],
        "backend": jax.default_backend(),
        "dtype": str(jnp.zeros(()).dtype),
    })
    if x64:
        info["x64"] = bool(jax.config.jax_enable_x64)
    info["numpy_blas_threads"] = blas
    if async_dispatch:
        info["cpu_async_dispatch"] = bool(jax.config.read("jax_cpu_enable_async_dispatch"))
    return info


def print_header(title: str, env: dict) -> None:
    """The title, then one indented line per environment entry."""
    print(title)
    for k, v in env.items():
        print(f"  {k:<19} {v}")


def print_table_header(hdr: str) -> None:
    """A table's column line and a rule as long."""
    print(hdr)
    print("-" * len(hdr))


def finish(results: dict, t_start: float, json_path: str | None, **json_kwargs) -> None:
    """Record and print the total wall time since ``t_start``; write ``results`` as JSON to
    ``json_path`` when given (``json_kwargs`` go to ``json.dump``)."""
    total = time.perf_counter() - t_start
    results["total_s"] = total
    print(f"\ntotal wall time {total:.0f} s")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, **json_kwargs)
        print(f"wrote {json_path}")
