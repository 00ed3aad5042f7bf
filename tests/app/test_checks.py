"""Checks before any work: the memory a synthetic world would need, the claim on --out."""

import json
import os
import socket
import time

import pytest

from bayesirl._io import claim_file
from bayesirl.app.checks import (BYTES_PER_COMPARISON, BYTES_PER_STEP,
                                 GRIDWORLD_BYTES_PER_STATE, PREFERENCE_TRAJECTORIES, check_out,
                                 check_world_memory, claim_out, estimate_world_memory)
from bayesirl.app.errors import UsageError

GIB = 2**30


def test_world_estimate_adds_up_its_parts():
    S, F, N, P, T = 25, 4, 10, 3, 20
    grid = S * (GRIDWORLD_BYTES_PER_STATE + 12 * F) + 8 * F * F
    evidence = (N + PREFERENCE_TRAJECTORIES) * T * BYTES_PER_STEP + P * BYTES_PER_COMPARISON
    assert estimate_world_memory(num_states=S, num_features=F, num_demos=N, num_preferences=P,
                                 num_steps=T) == grid + evidence
    assert estimate_world_memory() == 0


def test_world_too_large_is_refused_naming_the_flags():
    with pytest.raises(UsageError, match=r"^--grid-size/--num-features: a 100000x100000 "
                                         r"gridworld .* more than 50% of the 8 GiB available; "
                                         r"lower --grid-size or --num-features$"):
        check_world_memory("--grid-size/--num-features", "a 100000x100000 gridworld",
                           available=8 * GIB, num_states=10**10, num_features=4)
    # beyond int64 (no overflow: Python integers)
    with pytest.raises(UsageError, match="^--num-demos: "):
        check_world_memory("--num-demos", "many demonstrations", available=8 * GIB,
                           num_demos=2**40, num_steps=2**40)
    assert check_world_memory("--num-demos", "50 demonstrations", available=8 * GIB,
                              num_demos=50, num_steps=12) == 50 * 12 * BYTES_PER_STEP


def _claim_by(target, pid):
    with open(claim_file(target), "w") as f:
        json.dump({"pid": pid, "host": socket.gethostname(), "started": time.time()}, f)


def test_out_being_written_by_another_process_is_refused(tmp_path):
    _claim_by(tmp_path / "run", os.getppid())  # a live process other than this one
    with pytest.raises(UsageError, match=r"^--out: .*run is being written by another bayesirl "
                                         rf"process \(pid {os.getppid()}, started "):
        check_out(tmp_path / "run", force=False)
    with pytest.raises(UsageError, match="^--out: .*is being written"):
        with claim_out(tmp_path / "run"):
            pass
    assert not (tmp_path / "run").exists()


def test_claim_out_holds_the_claim_for_the_block_only(tmp_path):
    target = tmp_path / "new" / "run"  # parents missing: the claim is in tmp_path
    with claim_out(target):
        assert os.path.dirname(claim_file(target)) == str(tmp_path)
        with open(claim_file(target)) as f:
            assert json.load(f)["pid"] == os.getpid()
    assert os.listdir(tmp_path) == []
    check_out(target, force=False)  # free again
