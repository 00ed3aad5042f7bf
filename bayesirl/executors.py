"""Many independent fits, one interface: :func:`map_fits` runs a function over a list of tasks
in this process (``"serial"``), in local worker processes (``"process"``) or on a Ray cluster
(``"ray"``), and returns the results in task order.

Simulation-based calibration, method comparisons, active-learning experiments and sweeps over
run settings are many fits that need no communication with each other. Each task is one
picklable value (a dict or a NamedTuple of settings, its seed included) and ``fn`` a top-level
function of one task, so a task computes the same numbers wherever it runs: the same seeds
give bit-identical results on every executor (nothing depends on which worker runs a task or
in which order tasks finish).

    from bayesirl.executors import map_fits

    def fit_one(task):                      # top level of an importable module or script
        ...                                 # uses task["seed"], task["num_demos"], ...
        return result

    tasks = [{"seed": s, "num_demos": d} for s in range(20) for d in (5, 10)]
    results = map_fits(fit_one, tasks, executor="process", results_dir="runs/cache")

A task that raises does not stop the others: every failure is collected with its task's
settings, and :class:`TaskFailures` lists all of them at the end (``on_error="return"`` puts a
:class:`TaskError` in the failed task's place instead). With ``results_dir`` every finished
result is written atomically under a key derived from ``fn`` and the task's settings
(:func:`task_key`), and a rerun loads those instead of computing them again (resumable).

Ray is an optional dependency (``pip install "bayesirl[distributed]"``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import multiprocessing
import os
import pickle
import sys
import time
import traceback
import warnings
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from bayesirl._io import atomic_path

__all__ = ["EXECUTORS", "TaskError", "TaskFailures", "map_fits", "task_key",
           "worker_environment", "WORKER_ENVIRONMENT", "WORKER_XLA_FLAGS"]

#: The executors :func:`map_fits` knows.
EXECUTORS = ("serial", "process", "ray")

#: Environment of each worker process (a value already set by the user is kept): one thread
#: per worker for XLA's CPU backend and the BLAS libraries, so that W workers on W cores do
#: not each start a pool of threads as wide as the machine.
WORKER_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
#: Appended to ``XLA_FLAGS`` in each worker (unless the flag is already there).
WORKER_XLA_FLAGS = ("--xla_cpu_multi_thread_eigen=false",)

_RESULT_SUFFIX = ".pkl"
_RESULT_FORMAT = "bayesirl.task-result/1"


class TaskError(NamedTuple):
    """A task that raised instead of returning a result.

    Attributes:
        index: the task's position in ``tasks``.
        task: the task itself (its settings and seed).
        error: ``"ExceptionType: message"``.
        traceback: the formatted traceback, from the process that ran the task.
    """

    index: int
    task: Any
    error: str
    traceback: str


class TaskFailures(RuntimeError):
    """Some tasks of :func:`map_fits` failed; raised once every task has finished.

    The message lists every failed task with its settings and error.

    Attributes:
        failures: the :class:`TaskError` of each failed task, in task order.
        results: every result in task order, a :class:`TaskError` in each failed place (with
            ``results_dir`` the finished results are also on disk, and a rerun resumes).
    """

    def __init__(self, failures: list[TaskError], results: list):
        self.failures = failures
        self.results = results
        lines = [f"{len(failures)} of {len(results)} tasks failed:"]
        lines += [f"  task {f.index} {_describe(f.task)}: {f.error}" for f in failures]
        super().__init__("\n".join(lines))


def _describe(task, limit: int = 300) -> str:
    text = repr(task._asdict() if hasattr(task, "_asdict") else task)
    return text if len(text) <= limit else text[:limit] + "…"


# ---- task keys and the results folder --------------------------------------------------------


def _feed(h, obj) -> None:
    """Feed a canonical byte form of ``obj`` to the hash ``h`` (type-tagged, so that 1, 1.0,
    "1" and [1] differ; dict keys sorted; arrays by dtype, shape and bytes)."""
    if isinstance(obj, dict):
        h.update(b"d%d;" % len(obj))
        for key in sorted(obj, key=repr):
            _feed(h, key)
            _feed(h, obj[key])
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):
        h.update(b"n" + type(obj).__name__.encode() + b";")
        _feed(h, obj._asdict())
    elif isinstance(obj, (list, tuple)):
        h.update(b"l%d;" % len(obj))
        for item in obj:
            _feed(h, item)
    elif obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        h.update(type(obj).__name__.encode() + b":" + repr(obj).encode() + b";")
    elif isinstance(obj, np.generic) or hasattr(obj, "__array__"):
        arr = np.asarray(obj)
        h.update(b"a" + arr.dtype.str.encode() + repr(arr.shape).encode() + b";")
        h.update(np.ascontiguousarray(arr).tobytes())
    elif hasattr(obj, "__dict__"):  # a dataclass, an argparse.Namespace
        h.update(b"o" + type(obj).__name__.encode() + b";")
        _feed(h, vars(obj))
    else:
        raise TypeError(f"tasks: cannot derive a results key from a {type(obj).__name__} "
                        f"({obj!r:.80}); expected dicts, NamedTuples, lists, numbers, strings "
                        "and arrays")


def task_key(fn: Callable, task) -> str:
    """The name under which ``results_dir`` keeps the result of ``fn(task)``.

    A SHA-256 digest of ``fn``'s qualified name and of the task's content (dict keys in any
    order; arrays by dtype, shape and values), so that the same settings give the same key in
    every run and on every machine.

    Args:
        fn: the task function.
        task: the task (dicts, NamedTuples, lists, tuples, numbers, strings, None, NumPy or
            JAX arrays, nested).

    Returns:
        24 hexadecimal characters.

    Raises:
        TypeError: the task holds a value of another type (named in the message).
    """
    h = hashlib.sha256()
    h.update(f"{getattr(fn, '__qualname__', repr(fn))};".encode())
    _feed(h, task)
    return h.hexdigest()[:24]


def _result_path(results_dir: str, key: str) -> str:
    return os.path.join(results_dir, key + _RESULT_SUFFIX)


def _load_result(path: str):
    """``(True, result)`` from a results file written by :func:`_save_result`, else
    ``(False, None)`` (absent, unreadable or of another format: the task runs again)."""
    try:
        with open(path, "rb") as f:
            doc = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
            ValueError, TypeError):
        return False, None
    if not isinstance(doc, dict) or doc.get("format") != _RESULT_FORMAT:
        return False, None
    return True, doc["result"]


def _save_result(path: str, task, result) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump({"format": _RESULT_FORMAT, "task": task, "result": result,
                     "finished": time.time()}, f, protocol=pickle.HIGHEST_PROTOCOL)


# ---- running one task ------------------------------------------------------------------------


def _jax_x64() -> bool | None:
    """This process's ``jax_enable_x64`` if JAX is imported, else None."""
    jax = sys.modules.get("jax")
    return None if jax is None else bool(jax.config.jax_enable_x64)


def _set_x64(x64: bool | None) -> None:
    if x64 is None:
        return
    import jax

    if bool(jax.config.jax_enable_x64) != x64:
        jax.config.update("jax_enable_x64", x64)


def _call(fn: Callable, index: int, task, x64: bool | None):
    """Run one task (in any process): ``(index, True, result)`` or ``(index, False,
    (error, traceback))``; the caller's float64 setting is applied first."""
    try:
        _set_x64(x64)
        return index, True, fn(task)
    except Exception as err:  # reported with the task's settings, never lost
        return index, False, (f"{type(err).__name__}: {err}", traceback.format_exc())


def _call_pickled(payload: bytes, index: int, x64: bool | None):
    """:func:`_call` of a pickled ``(fn, task)``, unpickled only once the caller's float64
    setting is applied (a float64 JAX array in a task would otherwise arrive as float32)."""
    try:
        _set_x64(x64)
        fn, task = pickle.loads(payload)
    except Exception as err:
        return index, False, (f"{type(err).__name__}: {err}", traceback.format_exc())
    return _call(fn, index, task, x64)


def _worker_init(x64: bool | None) -> None:
    _set_x64(x64)


@contextlib.contextmanager
def _worker_environment():
    """Set :data:`WORKER_ENVIRONMENT` and :data:`WORKER_XLA_FLAGS` in ``os.environ`` while
    worker processes start (they inherit it); the previous values come back afterwards."""
    saved = dict(os.environ)
    try:
        os.environ.update(worker_environment())
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def worker_environment() -> dict:
    """The environment variables a worker gets on top of this process's (see
    :data:`WORKER_ENVIRONMENT`)."""
    env = {k: v for k, v in WORKER_ENVIRONMENT.items() if k not in os.environ}
    flags = os.environ.get("XLA_FLAGS", "")
    extra = [f for f in WORKER_XLA_FLAGS if f.split("=")[0] not in flags]
    if extra:
        env["XLA_FLAGS"] = " ".join([flags, *extra]).strip()
    return env


# ---- executors -------------------------------------------------------------------------------


def _run_serial(fn, pending, x64, max_workers, address):
    for index, task in pending:
        yield _call(fn, index, task, None)


def _run_process(fn, pending, x64, max_workers, address):
    workers = min(max_workers or os.cpu_count() or 1, max(len(pending), 1))
    context = multiprocessing.get_context("spawn")  # JAX is not fork-safe
    with _worker_environment():
        pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init, initargs=(x64,))
        futures = {pool.submit(_call, fn, index, task, x64): (index, task)
                   for index, task in pending}
    with pool:
        for future in concurrent.futures.as_completed(futures):
            index, task = futures[future]
            try:
                yield future.result()
            except Exception as err:  # the worker died (killed, out of memory) or unpicklable
                yield index, False, (f"{type(err).__name__}: {err}", traceback.format_exc())


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("executor: 'ray' needs Ray, which is not installed; install it with "
                         "pip install \"bayesirl[distributed]\" (or pip install ray), or choose "
                         "executor 'serial' or 'process'") from None
    return ray


def _start_ray(ray, address, max_workers):
    """Connect to the Ray cluster at ``address`` (``"auto"``, ``"HOST:PORT"``,
    ``"ray://HOST:PORT"``) or start a local one; an existing connection is reused."""
    if ray.is_initialized():
        return
    env = worker_environment()
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    kwargs = dict(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
                  runtime_env={"env_vars": env})
    if address is None:
        kwargs["num_cpus"] = max_workers or os.cpu_count() or 1
    else:
        kwargs["address"] = address
    with warnings.catch_warnings():
        # Ray starts its processes with fork + exec: JAX's warning about forking a
        # multithreaded process does not apply (the child runs no Python before exec)
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called",
                                category=RuntimeWarning)
        ray.init(**kwargs)


def _run_ray(fn, pending, x64, max_workers, address):
    ray = _import_ray()
    _start_ray(ray, address, max_workers)
    remote = ray.remote(num_cpus=1, max_retries=0)(_call_pickled)
    refs = {remote.remote(ray.cloudpickle.dumps((fn, task)), index, x64): (index, task)
            for index, task in pending}
    waiting = list(refs)
    while waiting:
        done, waiting = ray.wait(waiting, num_returns=1)
        index, task = refs[done[0]]
        try:
            yield ray.get(done[0])
        except Exception as err:  # the worker died, or the task could not be sent
            yield index, False, (f"{type(err).__name__}: {err}", traceback.format_exc())


_EXECUTORS = {"serial": _run_serial, "process": _run_process, "ray": _run_ray}


def _check(fn, tasks, executor, address, max_workers, results_dir, on_error):
    if executor not in EXECUTORS:
        raise ValueError(f"executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    if not callable(fn):
        raise TypeError(f"fn: expected a function of one task, got {type(fn).__name__}")
    if isinstance(tasks, (str, bytes, dict)) or not isinstance(tasks, Sequence):
        raise TypeError(f"tasks: expected a list of tasks, got {type(tasks).__name__}")
    if max_workers is not None and (isinstance(max_workers, bool) or not isinstance(
            max_workers, int) or max_workers < 1):
        raise ValueError(f"max_workers: expected a positive integer or None, got "
                         f"{max_workers!r}")
    if address is not None and (executor != "ray" or not isinstance(address, str)
                                or not address.strip()):
        raise ValueError(f"address: expected a Ray cluster address ('auto' or 'HOST:PORT') "
                         f"with executor 'ray', got {address!r} with executor {executor!r}")
    if on_error not in ("raise", "return"):
        raise ValueError(f"on_error: expected 'raise' or 'return', got {on_error!r}")
    if results_dir is not None:
        results_dir = os.fspath(results_dir)
        if os.path.exists(results_dir) and not os.path.isdir(results_dir):
            raise ValueError(f"results_dir: expected a folder, got the file {results_dir}")
    if executor == "ray":
        _import_ray()


def map_fits(fn: Callable[[Any], Any], tasks: Sequence, *, executor: str = "serial",
             address: str | None = None, max_workers: int | None = None,
             results_dir: str | os.PathLike | None = None, progress: bool = True,
             on_error: str = "raise") -> list:
    """Run ``fn(task)`` for every task, on one of :data:`EXECUTORS`; results in task order.

    Executors:

    * ``"serial"``: a plain loop in this process;
    * ``"process"``: local worker processes (``concurrent.futures.ProcessPoolExecutor``,
      started with ``"spawn"``: JAX is not fork-safe), each single-threaded
      (:data:`WORKER_ENVIRONMENT`), ``max_workers`` of them (default: one per core);
    * ``"ray"``: Ray tasks of one CPU each, on the cluster at ``address`` (``"auto"``: the
      cluster started on this machine with ``ray start --head``; ``"HOST:PORT"`` or
      ``"ray://HOST:PORT"``: a remote one, where bayesirl must be installed) or, when
      ``address`` is None, on a local cluster started here with ``max_workers`` CPUs
      (default: every core). An existing ``ray.init`` connection is reused; the local
      cluster stops when this process exits.

    In worker processes, JAX's ``jax_enable_x64`` is set as in this process before each task,
    so a task computes in the same precision everywhere. ``fn`` must be picklable: a function
    defined at the top level of a module or of the script run (which must then guard its main
    code with ``if __name__ == "__main__":``), not a lambda or a nested function.

    Args:
        fn: function of one task, returning a picklable result; it must draw its randomness
            from the task's own seed only.
        tasks: the tasks (each picklable; with ``results_dir``, made of the types
            :func:`task_key` reads).
        executor: ``"serial"``, ``"process"`` or ``"ray"``.
        address: Ray cluster address (executor ``"ray"`` only); None starts a local cluster.
        max_workers: worker processes or local Ray CPUs (default: ``os.cpu_count()``); not
            used by ``"serial"``.
        results_dir: folder where each finished result is written atomically (a pickle, under
            :func:`task_key`; created if absent); a task whose result is there already is not
            run again. Only load a folder you wrote yourself: unpickling runs code.
        progress: show a tqdm progress bar that advances as tasks finish.
        on_error: ``"raise"``: once every task has finished, raise :class:`TaskFailures`
            listing every failed task; ``"return"``: put a :class:`TaskError` in each failed
            task's place.

    Returns:
        One result per task, in task order.

    Raises:
        ValueError: an unknown ``executor``; ``address`` without executor ``"ray"``; a bad
            ``max_workers``, ``on_error`` or ``results_dir``; executor ``"ray"`` without Ray
            installed (the message says how to install it).
        TypeError: ``fn`` is not callable, ``tasks`` is not a list, or (with ``results_dir``)
            a task holds a value :func:`task_key` cannot read.
        TaskFailures: some tasks raised (``on_error="raise"``); the finished results are in
            its ``results`` (and in ``results_dir``).
        OSError: ``results_dir`` cannot be created or written.
    """
    _check(fn, tasks, executor, address, max_workers, results_dir, on_error)
    tasks = list(tasks)
    results: list = [None] * len(tasks)
    pending = list(enumerate(tasks))
    paths: dict[int, str] = {}
    if results_dir is not None:
        results_dir = os.fspath(results_dir)
        os.makedirs(results_dir, exist_ok=True)
        paths = {i: _result_path(results_dir, task_key(fn, task)) for i, task in pending}
        still = []
        for index, task in pending:
            found, value = _load_result(paths[index])
            if found:
                results[index] = value
            else:
                still.append((index, task))
        pending = still
    from tqdm.auto import tqdm

    failures = []
    name = getattr(fn, "__name__", "tasks")
    with tqdm(total=len(tasks), initial=len(tasks) - len(pending), disable=not progress,
              desc=f"{name} ({executor})", unit="task") as bar:
        for index, ok, value in _EXECUTORS[executor](fn, pending, _jax_x64(), max_workers,
                                                     address):
            if ok:
                results[index] = value
                if results_dir is not None:
                    _save_result(paths[index], tasks[index], value)
            else:
                error = TaskError(index, tasks[index], *value)
                results[index] = error
                failures.append(error)
            bar.update(1)
    failures.sort(key=lambda f: f.index)
    if failures and on_error == "raise":
        raise TaskFailures(failures, results)
    return results
