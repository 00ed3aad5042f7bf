"""JAX's persistent compilation cache: on by default in the chosen folder, off on request."""

import os
import subprocess
import sys

import pytest

SNIPPET = ("import jax, bayesirl; print(jax.config.jax_compilation_cache_dir or 'OFF')")


@pytest.mark.parametrize("opt_out", ["", "1"])
def test_cache_folder_and_opt_out(tmp_path, opt_out):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env.update(BAYESIRL_NO_COMPILE_CACHE=opt_out, BAYESIRL_COMPILE_CACHE_DIR=str(tmp_path / "c"),
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=env, capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()[-1]
    if opt_out:
        assert out == "OFF" and not (tmp_path / "c").exists()
    else:
        assert out == str(tmp_path / "c") and (tmp_path / "c").is_dir()
