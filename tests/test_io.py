"""bayesirl._io: atomic files, whole-folder replacement, stale staging folders."""

import json
import os
import subprocess
import sys

import pytest

from bayesirl._io import (STAGING_MARKER, atomic_path, clean_stale_staging, read_json,
                          staged_folder, write_json)


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
