"""Post-fit hints of app/summary.py: PolicyWalk's rarely accepted independence proposals."""

import numpy as np
import pytest

from bayesirl import _arviz
from bayesirl.app.summary import POLICY_WALK_ACCEPT_HINT, policy_walk_hint


def _idata(method, accept=None, features=3):
    attrs = {"method": method}
    if accept is not None:
        attrs["independence_accept"] = accept
    draws = {"reward_weights": np.zeros((2, 5, features))}
    return _arviz.from_draws(draws, attrs=attrs)


@pytest.mark.parametrize("accept", [0.02, POLICY_WALK_ACCEPT_HINT / 2])
def test_low_independence_acceptance_gets_a_hint(accept):
    hint = policy_walk_hint(_idata("policy-walk", accept, features=64))
    assert hint is not None
    assert f"{accept:.1%}" in hint and "F = 64" in hint and "--sampler mh" in hint


@pytest.mark.parametrize("method, accept", [("policy-walk", 0.5),
                                            ("policy-walk", POLICY_WALK_ACCEPT_HINT),
                                            ("mh", 0.01), ("policy-walk", None)])
def test_no_hint_otherwise(method, accept):
    assert policy_walk_hint(_idata(method, accept)) is None
