"""Interrupts of the command line: at any moment (imports and compilation included) one line,
exit status 130, and never a written, replaced or missing run; during the folder swap the
renames are undone."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from bayesirl import _interrupt, _io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIT = ["-m", "bayesirl.cli", "fit", "--env", "gridworld", "--grid-size", "3x3",
       "--num-features", "2", "--num-demos", "5", "--sampler", "map", "--quiet"]
#: Seconds after start at which SIGINT is sent: during Python's imports of NumPy and JAX (the
#: whole command takes 10 s or more, so each lands before the run can be written).
DELAYS_S = (0.5, 1.0, 2.5)
#: A bare interpreter that gives the command SIGINT's default disposition (a test worker may
#: ignore SIGINT, and an ignored signal stays ignored across exec) and then becomes it; no
#: Python code runs between fork and exec (JAX warns about forks of its threads).
_WITH_DEFAULT_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                        "os.execv(sys.argv[1], sys.argv[1:])")


def _snapshot(folder) -> dict:
    snapshot = {}
    for d, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                snapshot[os.path.relpath(os.path.join(d, name), folder)] = f.read()
    return snapshot


@pytest.mark.parametrize("argv, orig, expected", [
    (["/venv/bin/bayesirl", "fit"], ["/venv/bin/python", "/venv/bin/bayesirl", "fit"], True),
    (["-m", "fit"], ["python", "-m", "bayesirl.cli", "fit"], True),
    (["-m"], ["python", "-m", "bayesirl.cli.__main__"], True),
    (["ipykernel_launcher.py"], ["python", "-m", "ipykernel_launcher"], False),
    (["-c"], ["python", "-c", "import bayesirl"], False),
    (["/x/pytest"], ["python", "-m", "pytest"], False),
])
def test_only_the_command_line_installs_the_handler(argv, orig, expected):
    assert _interrupt.is_command_line(argv, orig) is expected


def test_a_library_import_keeps_the_users_handlers():
    # this process imported bayesirl as a library (pytest): Python's defaults are in place
    assert not _interrupt.installed()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_interrupt_during_the_swap_undoes_it(tmp_path):
    """SIGINT between the renames (in-process, Python's default handler): the previous run
    comes back byte for byte, the new one is not in place, no hidden folder is left."""
    target = tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("previous run")
    before = _snapshot(target)
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 2:  # old run moved aside, new run put in place: now the signal
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_io.os, "replace", replace_then_interrupt)
            with _io.staged_folder(target, force=True) as staging:
                with open(os.path.join(staging, "new.txt"), "w") as f:
                    f.write("new run")
    assert _snapshot(target) == before
    assert sorted(os.listdir(tmp_path)) == ["run"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_sigint_at_any_moment_writes_nothing_and_keeps_the_old_run(tmp_path):
    """A real command (subprocess), interrupted while it imports and compiles, on top of an
    earlier run with --force: exit 130, one line, the earlier run byte-identical."""
    old = tmp_path / "run"
    old.mkdir()
    (old / "summary.json").write_text('{"earlier": true}')
    before = _snapshot(old)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get(
        "PYTHONPATH")])))
    for delay in DELAYS_S:
        fresh = tmp_path / f"fresh-{delay}"
        for out, force in ((old, ["--force"]), (fresh, [])):
            proc = subprocess.Popen(
                [sys.executable, "-S", "-E", "-c", _WITH_DEFAULT_SIGINT, sys.executable, *FIT,
                 "--out", str(out), *force], cwd=tmp_path, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(delay)
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=300)
            assert proc.returncode == 130, (delay, proc.returncode, stderr[-2000:])
            assert stderr.strip().splitlines() == [_interrupt.MESSAGE], (delay, stderr[-2000:])
            assert stdout == ""
        assert _snapshot(old) == before, delay
        assert not fresh.exists(), delay
        assert sorted(os.listdir(tmp_path)) == ["run"], (delay, os.listdir(tmp_path))
    shutil.rmtree(old)
