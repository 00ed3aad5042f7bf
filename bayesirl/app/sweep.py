"""The sweep job: a grid over run settings, each point a normal run folder written by
:func:`~bayesirl.app.fit.run_fit`, plus one summary table of every run's key numbers.

A sweep is a TOML file with two tables: ``[base]``, the settings every run shares, and
``[grid]``, a list of values per varied setting (every combination runs). Keys are the
settings of :class:`~bayesirl.app.config.RunConfig` (the ``bayesirl fit`` flags without the
leading dashes; ``num-demos`` and ``num_demos`` both work)::

    [base]
    env = "gridworld"
    grid_size = [5, 5]
    sampler = "mh"
    num_chains = 2

    [grid]
    num_demos = [5, 20]
    seed = [0, 1]

:func:`run_sweep` writes ``OUT/<point>/`` (one run folder per point, named from its grid
values, e.g. ``num_demos=5,seed=0``) and ``OUT/sweep.csv`` / ``OUT/sweep.json``. The points run
through :func:`bayesirl.executors.map_fits`, one fit per task; a point whose folder already
holds a finished run is not run again (resumable). Each fit runs its chains in its own process
on one device, so a point gives the same draws whichever executor runs it.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import time
import tomllib
from typing import NamedTuple

from bayesirl._io import write_json, write_text
from bayesirl.app.checks import (MEMORY_FRACTION, available_memory, estimate_memory,
                                 format_gib)
from bayesirl.app.config import (DEFAULT_SAMPLES, RENAMED_SETTINGS, SPEC_FIELDS, ConfigError,
                                 RunConfig)
from bayesirl.app.errors import UsageError
from bayesirl.app.run import CONFIG_FILE, POSTERIOR_FILE, SUMMARY_FILE

__all__ = ["SweepPoint", "SweepPlan", "SweepResult", "read_sweep", "run_sweep", "run_point",
           "estimate_sweep_memory", "TABLE_COLUMNS", "TABLE_CSV", "TABLE_JSON"]

#: Files of the summary table in the sweep's output folder.
TABLE_CSV, TABLE_JSON = "sweep.csv", "sweep.json"
#: Columns of the table after the grid's own: the sampler that ran, the worst R-hat and bulk
#: ESS over the sampled sites, the EVD of the learned policy under the true reward (synthetic
#: worlds only), the fit's wall time in seconds, and whether it ran now, was already finished
#: (``skipped``) or failed.
TABLE_COLUMNS = ("sampler", "max_r_hat", "min_ess_bulk", "evd", "wall_s", "status")
_TABLES = ("base", "grid")
#: Chains assumed for the memory check when a point leaves ``num_chains`` to its sampler.
_DEFAULT_CHAINS = 4


class SweepPoint(NamedTuple):
    """One run of a sweep.

    Attributes:
        name: its folder name under the sweep's output folder (``key=value`` pairs of its
            grid values, joined by commas).
        values: its grid values ``{key: value}`` (in the grid's order).
        config: its validated :class:`~bayesirl.app.config.RunConfig`.
    """

    name: str
    values: dict
    config: RunConfig


class SweepPlan(NamedTuple):
    """A read and validated sweep file.

    Attributes:
        path: the TOML file.
        base: the ``[base]`` settings (keys normalised to ``RunConfig`` field names).
        grid: the ``[grid]`` lists.
        points: one :class:`SweepPoint` per combination of the grid's values.
    """

    path: str
    base: dict
    grid: dict
    points: list


class SweepResult(NamedTuple):
    """What :func:`run_sweep` produced.

    Attributes:
        out: the sweep's output folder.
        rows: one dict per point, in grid order: ``name``, the grid values, then
            :data:`TABLE_COLUMNS` (and ``error`` for a failed point).
        table: the table as printed (text).
    """

    out: str
    rows: list
    table: str


def _names() -> set:
    return set().union(*SPEC_FIELDS.values()) | set(RENAMED_SETTINGS)


def _key(path: str, table: str, key: str) -> str:
    name = key.replace("-", "_")
    if name not in _names():
        raise UsageError(f"{path}: [{table}] {key}: unknown setting; expected one of "
                         f"{', '.join(sorted(_names() - set(RENAMED_SETTINGS)))}")
    return RENAMED_SETTINGS.get(name, name)


def _value(value):
    """A TOML value as a ``RunConfig`` field: arrays become tuples (``grid_size``)."""
    return tuple(value) if isinstance(value, list) else value


def _point_name(values: dict) -> str:
    parts = []
    for key, value in values.items():
        text = "x".join(map(str, value)) if isinstance(value, tuple) else str(value)
        parts.append(f"{key}={text}")
    name = ",".join(parts) or "run"
    return "".join(c if c.isalnum() or c in "=,.-_+x" else "_" for c in name)


def read_sweep(path: str | os.PathLike) -> SweepPlan:
    """Read and validate a sweep file; every point's configuration is checked here, before
    anything runs.

    Args:
        path: a TOML file with a ``[base]`` table (optional) and a ``[grid]`` table of
            non-empty lists.

    Returns:
        :class:`SweepPlan`.

    Raises:
        UsageError: one line starting with the file name, naming the table and key at fault
            (a missing file, invalid TOML, an unknown table or setting, a grid value that is
            not a non-empty list, a key in both tables, or a setting ``RunConfig`` refuses).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"CONFIG: no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"CONFIG: {path} is a folder; expected a TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: invalid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot read it: {err}") from None
    unknown = [k for k in doc if k not in _TABLES or not isinstance(doc[k], dict)]
    if unknown:
        raise UsageError(f"{path}: {unknown[0]}: expected only the tables [base] and [grid], "
                         f"got {unknown[0]!r}")
    if not doc.get("grid"):
        raise UsageError(f"{path}: [grid]: expected a table of settings with lists of values "
                         "(e.g. seed = [0, 1]), got none")
    base = {_key(path, "base", k): _value(v) for k, v in doc.get("base", {}).items()}
    grid = {}
    for key, values in doc["grid"].items():
        name = _key(path, "grid", key)
        if not isinstance(values, list) or not values:
            raise UsageError(f"{path}: [grid] {key}: expected a non-empty list of values, got "
                             f"{values!r}")
        if name in base:
            raise UsageError(f"{path}: [grid] {key}: also set in [base]; set it in one table")
        grid[name] = [_value(v) for v in values]
    points, names = [], {}
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        name = _point_name(values)
        if name in names:
            raise UsageError(f"{path}: [grid]: the points {names[name]} and {values} share the "
                             f"folder name {name!r}; make the values distinct")
        names[name] = values
        points.append(SweepPoint(name, values, _config(path, base, values)))
    return SweepPlan(path, base, grid, points)


def _config(path: str, base: dict, values: dict) -> RunConfig:
    settings = {**base, **values}
    try:
        return RunConfig(**settings)
    except ConfigError as err:
        text = str(err)
        flag = text.split(":", 1)[0].removeprefix("--").replace("-", "_")
        if flag in values:
            where = f"[grid] {flag} = {values[flag]!r}"
        elif flag in base:
            where = f"[base] {flag}"
        else:
            where = "[base]/[grid] " + ", ".join(f"{k} = {v!r}" for k, v in values.items())
        raise UsageError(f"{path}: {where}: {text}") from None
    except TypeError as err:  # a value of a type the spec cannot take
        raise UsageError(f"{path}: [base]/[grid]: {err}") from None


# ---- memory ----------------------------------------------------------------------------------


def estimate_sweep_memory(plan: SweepPlan, concurrent: int) -> int:
    """Bytes the ``concurrent`` largest points of ``plan`` need at once (each point's
    :func:`~bayesirl.app.checks.estimate_memory`; a point that leaves its run lengths to the
    sampler is counted with 4 chains of ``DEFAULT_SAMPLES`` draws).

    Returns:
        Bytes (an estimate, not a bound).
    """
    needs = []
    for point in plan.points:
        c = point.config
        S = 0
        if c.env == "gridworld":
            rows, cols = c.grid_size or (5, 5)
            S = rows * cols
        needs.append(estimate_memory(c.num_chains or _DEFAULT_CHAINS,
                                     c.num_samples or DEFAULT_SAMPLES,
                                     2 * (c.num_features or 4) + 8, S, 4 if S else 0))
    return int(sum(sorted(needs, reverse=True)[:max(1, concurrent)]))


def _check_memory(plan: SweepPlan, concurrent: int, available: int | None) -> None:
    need = estimate_sweep_memory(plan, concurrent)
    available = available_memory() if available is None else available
    if available is not None and need > MEMORY_FRACTION * available:
        what = f"{concurrent} fits at once" if concurrent > 1 else "its largest fit"
        head = "--max-workers" if concurrent > 1 else f"{plan.path}: num_chains/num_samples"
        lower = "--max-workers, or " if concurrent > 1 else ""
        raise UsageError(
            f"{head}: the sweep would need about {format_gib(need)} for {what}, more than "
            f"{MEMORY_FRACTION:.0%} of the {format_gib(available)} available; lower {lower}"
            "num_chains or num_samples in the sweep file")


# ---- running ---------------------------------------------------------------------------------


def _finished(folder: str) -> bool:
    return all(os.path.isfile(os.path.join(folder, f))
               for f in (CONFIG_FILE, SUMMARY_FILE, POSTERIOR_FILE))


def _row(summary: dict) -> dict:
    diag = summary.get("diagnostics") or {}
    evaluation = summary.get("evaluation") or {}
    sampler = summary.get("sampler")
    return {"sampler": sampler.get("name") if isinstance(sampler, dict) else sampler,
            "max_r_hat": diag.get("max_r_hat"), "min_ess_bulk": diag.get("min_ess_bulk"),
            "evd": evaluation.get("expected_value_difference"),
            "wall_s": (summary.get("timings") or {}).get("total_s")}


def run_point(task: dict) -> dict:
    """Run one point of a sweep (a :func:`~bayesirl.executors.map_fits` task): the fit of
    ``task["config"]`` (a ``RunConfig.to_json()`` document) into ``task["out"]``.

    Returns:
        The point's table columns (:data:`TABLE_COLUMNS` but ``status``).

    Raises:
        UsageError: ``task["out"]`` is not empty, or another setting is refused.
    """
    from bayesirl.app.fit import run_fit

    import jax

    x64 = bool(jax.config.jax_enable_x64)
    messages = []
    try:
        result = run_fit(RunConfig.from_json(task["config"]), task["out"],
                         echo=messages.append)
    finally:  # a fit may switch to float64; the next point starts as this one did
        jax.config.update("jax_enable_x64", x64)
    return _row(result.summary)


def _format(rows: list, keys: list) -> str:
    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    columns = ["name", *keys, *TABLE_COLUMNS]
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _csv(rows: list, keys: list) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["name", *keys, *TABLE_COLUMNS, "error"],
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("x".join(map(str, v)) if isinstance(v, tuple) else v)
                         for k, v in row.items()})
    return buffer.getvalue()


def run_sweep(plan: SweepPlan | str | os.PathLike, out: str | os.PathLike, *,
              executor: str = "serial", address: str | None = None,
              max_workers: int | None = None, progress: bool = True,
              available: int | None = None) -> SweepResult:
    """Run every point of a sweep into ``out/<point>/`` and write the summary table.

    Points whose folder already holds a finished run (``config.json``, ``summary.json`` and
    ``posterior.nc``) are read, not run again. A point that fails does not stop the others: its
    row has ``status`` ``failed`` and its ``error``; rerunning the sweep runs it again.

    Args:
        plan: a :class:`SweepPlan` or the path of a sweep file (:func:`read_sweep`).
        out: the sweep's output folder (created if absent).
        executor, address, max_workers: as :func:`bayesirl.executors.map_fits`.
        progress: show a progress bar as points finish.
        available: bytes of memory available (default: measured now), for the memory check.

    Returns:
        :class:`SweepResult`; the table is also in ``out/sweep.csv`` and ``out/sweep.json``.

    Raises:
        UsageError: a bad sweep file (see :func:`read_sweep`), an ``out`` that is a file, or a
            sweep whose concurrent fits would not fit in memory (names ``--max-workers``, or
            ``num_chains/num_samples`` when the fits run one at a time); nothing has run.
        ValueError: a bad ``executor``, ``address`` or ``max_workers`` (see ``map_fits``).
    """
    from bayesirl.executors import TaskError, map_fits

    if not isinstance(plan, SweepPlan):
        plan = read_sweep(plan)
    out = os.fspath(out)
    if os.path.lexists(out) and not os.path.isdir(out):
        raise UsageError(f"--out: {out} exists and is not a folder")
    concurrent = 1 if executor == "serial" else (max_workers or os.cpu_count() or 1)
    _check_memory(plan, min(concurrent, len(plan.points)), available)
    os.makedirs(out, exist_ok=True)
    rows, tasks, where = [], [], []
    for point in plan.points:
        folder = os.path.join(out, point.name)
        row = {"name": point.name, **point.values}
        if _finished(folder):
            with open(os.path.join(folder, SUMMARY_FILE), encoding="utf-8") as f:
                row.update(_row(json.load(f)), status="skipped")
        else:
            tasks.append({"config": point.config.to_json(), "out": folder})
            where.append(len(rows))
        rows.append(row)
    start = time.perf_counter()
    results = map_fits(run_point, tasks, executor=executor, address=address,
                       max_workers=max_workers, progress=progress, on_error="return")
    for index, result in zip(where, results):
        if isinstance(result, TaskError):
            rows[index].update(status="failed", error=result.error)
        else:
            rows[index].update(result, status="ran")
    keys = list(plan.grid)
    write_text(os.path.join(out, TABLE_CSV), _csv(rows, keys))
    write_json(os.path.join(out, TABLE_JSON),
               {"sweep": os.path.abspath(plan.path), "executor": executor,
                "wall_time_s": time.perf_counter() - start, "grid": list(plan.grid),
                "rows": rows})
    return SweepResult(out, rows, _format(rows, keys))
