"""bayesirl._io: atomic files, whole-folder replacement, stale staging folders."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from bayesirl._io import (STAGING_MARKER, atomic_path, check_unclaimed, claim_file,
                          claimed_folder, clean_stale_staging, read_json, staged_folder,
                          write_json, write_text)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "a.json"
    write_json(target, {"x": float("nan")})
    assert json.loads(target.read_text()) == {"x": None}
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError
    assert os.listdir(tmp_path) == ["a.json"] and json.loads(target.read_text()) == {"x": None}


def test_read_json_names_the_file_and_what_it_is(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"a": [1, 2]}')
    bad.write_text("{not json")
    assert read_json(good, "demos") == {"a": [1, 2]}
    with pytest.raises(ValueError, match=r"^demos: .*bad.json is not valid JSON"):
        read_json(bad, "demos")
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "missing.json", "demos")


def test_staged_folder_replaces_as_a_whole(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(FileExistsError):
        with staged_folder(out) as stage:
            (tmp_path / stage / "new.txt").write_text("new")
    assert os.listdir(out) == ["old.txt"] and sorted(os.listdir(tmp_path)) == ["run"]
    with staged_folder(out, force=True) as stage:
        (tmp_path / stage / "new.txt").write_text("new")
    assert os.listdir(out) == ["new.txt"] and sorted(os.listdir(tmp_path)) == ["run"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_staging_is_cleaned_and_a_moved_aside_run_restored(tmp_path):
    pid = _dead_pid()
    import socket

    stale = tmp_path / ".bayesirl-stage-run-x"
    stale.mkdir()
    (stale / "partial.nc").write_text("half")
    old = tmp_path / ".bayesirl-old-run-y"
    old.mkdir()
    (old / "summary.json").write_text("{}")
    for folder, kind in ((stale, "stage"), (old, "old")):
        (folder / STAGING_MARKER).write_text(json.dumps(
            {"pid": pid, "host": socket.gethostname(), "target": "run", "kind": kind}))
    live = tmp_path / ".bayesirl-stage-other-z"
    live.mkdir()
    (live / STAGING_MARKER).write_text(json.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "target": "other", "kind": "stage"}))
    removed = clean_stale_staging(tmp_path)
    assert len(removed) == 2
    assert sorted(os.listdir(tmp_path)) == [".bayesirl-stage-other-z", "run"]
    assert os.listdir(tmp_path / "run") == ["summary.json"]


def test_a_run_set_aside_by_a_killed_fit_is_named_with_how_to_restore_it(tmp_path):
    from bayesirl._io import set_aside_copy
    from bayesirl.app.errors import UsageError
    from bayesirl.app.report import ReportOptions, run_report
    from bayesirl.app.run import load_run

    old = tmp_path / ".bayesirl-old-run-y"
    old.mkdir()
    (old / STAGING_MARKER).write_text(json.dumps(
        {"pid": _dead_pid(), "host": "elsewhere", "target": "run", "kind": "old"}))
    assert set_aside_copy(tmp_path / "run") == str(old)
    assert set_aside_copy(tmp_path / "other") is None
    for call in (lambda: load_run(tmp_path / "run"),
                 lambda: run_report(str(tmp_path / "run"), ReportOptions())):
        with pytest.raises(UsageError, match=r"does not exist: a fit killed while replacing it "
                                             r"left the previous run in .*\.bayesirl-old-run-y"):
            call()
    with pytest.raises(UsageError, match="is not a folder"):
        load_run(tmp_path / "other")


# --- Failures of the atomic writers: a clear error naming the user's path, nothing left ------


def _savez_by_name(path):
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, a=np.arange(3))  # numpy appends .npz when the name lacks it


def _save_mdp(path):
    from bayesirl.data.mdp import make_mdp, save_mdp

    save_mdp(path, make_mdp(np.ones((2, 1, 2)) / 2, discount=0.5))


def _save_demonstrations(path):
    from bayesirl.data.demos import make_demonstrations, save_demonstrations

    save_demonstrations(path, make_demonstrations([([0, 1], [0])]))


def _save_trajectories(path):
    from bayesirl.data.trajectories import make_trajectories, save_trajectories

    save_trajectories(path, make_trajectories(feature_counts=np.ones((2, 3))))


#: Every writer built on atomic_path.
WRITERS = {
    "write_text": lambda path: write_text(path, "text"),
    "write_json": lambda path: write_json(path, {"a": 1}),
    "atomic_path+savez": _savez_by_name,
    "save_mdp": _save_mdp,
    "save_demonstrations": _save_demonstrations,
    "save_trajectories": _save_trajectories,
}


def _deny_mkstemp(*args, **kwargs):
    raise PermissionError(13, "Permission denied", os.path.join(kwargs["dir"], "x.tmp"))


def _deny_replace(src, dst):
    raise PermissionError(13, "Permission denied", src, dst)


#: (id, set-up of the folder d returning the target, monkeypatch, exception, reason).
#: Read-only folders are simulated by patching (chmod does not stop root, who runs CI here).
WRITE_FAILURES = [
    ("target-is-a-folder", lambda d: (d / "out").mkdir() or d / "out", None, IsADirectoryError,
     "it is a folder"),
    ("missing-folder", lambda d: d / "nope" / "out", None, FileNotFoundError,
     "the folder .*nope does not exist"),
    ("folder-is-a-file", lambda d: (d / "f").write_text("") or d / "f" / "out", None,
     NotADirectoryError, ".*f is not a folder"),
    ("read-only-folder", lambda d: d / "out", ("tempfile.mkstemp", _deny_mkstemp),
     PermissionError, "no permission to write in"),
    ("rename-refused", lambda d: d / "out", ("os.replace", _deny_replace), PermissionError,
     "no permission to write in"),
]


@pytest.mark.parametrize("writer", list(WRITERS), ids=list(WRITERS))
@pytest.mark.parametrize("target, patch, error, reason", [c[1:] for c in WRITE_FAILURES],
                         ids=[c[0] for c in WRITE_FAILURES])
def test_atomic_writers_fail_clearly_and_leave_nothing(tmp_path, monkeypatch, writer, target,
                                                        patch, error, reason):
    path = target(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    if patch is not None:
        monkeypatch.setattr(*patch)
    with pytest.raises(error, match=f"^cannot write {re.escape(str(path))}: {reason}") as info:
        WRITERS[writer](path)
    monkeypatch.undo()
    assert ".bayesirl-" not in str(info.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("writer", list(WRITERS), ids=list(WRITERS))
def test_atomic_writers_write_exactly_the_name_given(tmp_path, writer):
    WRITERS[writer](tmp_path / "out")
    assert os.listdir(tmp_path) == ["out"] and (tmp_path / "out").stat().st_size > 0


def test_a_failing_writer_leaves_no_numpy_file_behind(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out") as tmp:
            np.savez(tmp, a=np.ones(2))  # writes tmp + ".npz"
            raise RuntimeError
    assert os.listdir(tmp_path) == []


def test_errors_about_other_files_pass_through(tmp_path):
    """An input the writer fails to read is reported as such, not as a write failure."""
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        with atomic_path(tmp_path / "out") as tmp, open(tmp, "w") as f:
            f.write(open(tmp_path / "missing.txt").read())
    assert os.listdir(tmp_path) == []


#: (id, set-up of the folder d returning the target, force, monkeypatch, exception, message).
FOLDER_FAILURES = [
    ("missing-parent", lambda d: d / "nope" / "run", False, None, FileNotFoundError,
     "cannot write .*run: the folder .*nope does not exist"),
    ("target-is-a-file", lambda d: (d / "run").write_text("x") and d / "run", True, None,
     FileExistsError, ".*run exists and is not a folder"),
    ("not-empty-without-force", lambda d: ((d / "run").mkdir(), (d / "run" / "a").write_text(""))
     and d / "run", False, None, FileExistsError, ".*run is not empty"),
    ("read-only-parent", lambda d: d / "run", False,
     ("tempfile.mkdtemp", lambda **kw: _deny_mkstemp(**kw)), PermissionError,
     "cannot write .*run: no permission to write in"),
]


@pytest.mark.parametrize("target, force, patch, error, match", [c[1:] for c in FOLDER_FAILURES],
                         ids=[c[0] for c in FOLDER_FAILURES])
def test_staged_folder_fails_before_the_work_and_leaves_nothing(tmp_path, monkeypatch, target,
                                                                 force, patch, error, match):
    path = target(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    if patch is not None:
        monkeypatch.setattr(*patch)
    ran = []
    with pytest.raises(error, match="^" + match) as info:
        with staged_folder(path, force=force):
            ran.append(True)
    monkeypatch.undo()
    assert not ran, "the block ran although the folder could not be written"
    assert ".bayesirl-" not in str(info.value)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("make, error, match", [
    (lambda p: np.savez(p.with_suffix(""), a=np.ones(2)) or p.with_suffix(".npz").rename(p),
     ValueError, "is not a JSON file: it holds an .npz archive"),
    (lambda p: p.write_bytes(bytes(range(128, 256))), ValueError,
     "is not a JSON file: it holds binary data"),
    (lambda p: p.mkdir(), IsADirectoryError, "is a folder, expected a JSON file"),
], ids=["npz", "binary", "folder"])
def test_read_json_says_what_the_file_holds(tmp_path, make, error, match):
    path = tmp_path / "x.json"
    make(path)
    with pytest.raises(error, match=f"^demos: {re.escape(str(path))} {re.escape(match)}"):
        read_json(path, "demos")


def _write_claim(target, pid, started=None, host=None):
    import socket
    import time

    with open(claim_file(target), "w") as f:
        json.dump({"pid": pid, "host": host or socket.gethostname(),
                   "started": time.time() if started is None else started}, f)


def test_a_claim_refuses_a_second_writer_and_is_released_however_the_block_ends(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with claimed_folder(target):
            assert os.path.exists(claim_file(target))
            raise RuntimeError
    assert os.listdir(tmp_path) == []
    _write_claim(target, os.getppid())  # a live process
    with pytest.raises(FileExistsError, match=r"run is being written by another bayesirl "
                                              r"process \(pid \d+, started "):
        with claimed_folder(target):
            pytest.fail("the block must not run")
    assert os.path.exists(claim_file(target))  # the other process's claim is left alone


def test_claims_of_processes_that_are_gone_are_replaced(tmp_path):
    target = tmp_path / "run"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _write_claim(target, gone.pid)
    check_unclaimed(target)
    with claimed_folder(target):
        with open(claim_file(target)) as f:
            assert json.load(f)["pid"] == os.getpid()
    _write_claim(target, 1, started=0.0, host="another-host")  # a day old
    check_unclaimed(target)
    (tmp_path / claim_file(target)).write_text("")  # being written: held for a while
    with pytest.raises(FileExistsError, match="run is being written by another bayesirl "
                                              "process;"):
        check_unclaimed(target)
