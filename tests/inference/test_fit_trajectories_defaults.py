"""fit_trajectories picks the polar MH kernel for the L2-sphere prior above 32 features, and
leaves the kernel (and an explicit ``kernel_kwargs``) alone otherwise. ``fit`` is replaced by a
recorder: no sampling, no compilation."""

import numpy as np
import pytest

import bayesirl.inference.fit_trajectories as ft
from bayesirl.data.preferences import make_preferences
from bayesirl.data.trajectories import make_trajectories


class _Called(Exception):
    pass


def _kernel_kwargs(monkeypatch, F, **kwargs):
    seen = {}

    def recorder(*args, **kw):
        seen.update(kw)
        raise _Called

    monkeypatch.setattr(ft, "fit", recorder)
    phi = np.random.default_rng(0).standard_normal((3, F))
    prefs = make_preferences(3, [(0, 1, 0), (1, 2, 1)])
    with pytest.raises(_Called):
        ft.fit_trajectories(make_trajectories(feature_counts=phi), preferences=prefs, **kwargs)
    return seen.get("kernel_kwargs")


def test_polar_kernel_above_32_features(monkeypatch):
    got = _kernel_kwargs(monkeypatch, 64, method="mh", prior="l2-sphere")
    assert got == ft.SPHERE_MH_DEFAULTS
    got = _kernel_kwargs(monkeypatch, 64, method="mh", prior="l2-sphere",
                         kernel_kwargs={"shared_random_numbers": False, "step_size": 0.2})
    assert got == {"sphere_sites": ("reward_weights_raw",), "shared_random_numbers": False,
                   "step_size": 0.2}


@pytest.mark.parametrize("F, method, prior", [(32, "mh", "l2-sphere"), (64, "nuts", "l2-sphere"),
                                              (64, "mh", "gaussian"), (64, "mh", "l1-sphere")])
def test_other_settings_keep_fits_kernel(monkeypatch, F, method, prior):
    assert _kernel_kwargs(monkeypatch, F, method=method, prior=prior) is None
