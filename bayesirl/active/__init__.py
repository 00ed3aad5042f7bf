"""Active learning: which state to demonstrate or which pair of trajectories to compare next
(:mod:`bayesirl.active.acquisitions`), and the query → answer → update loop against a
simulated expert (:mod:`bayesirl.active.loop`).
"""

from bayesirl.active.acquisitions import (
    PREFERENCE_ACQUISITIONS,
    STATE_ACQUISITIONS,
    choose_pairs,
    choose_states,
    preference_scores,
    state_scores,
)
from bayesirl.active.loop import run_active_learning, sufficiency_stop

__all__ = [
    "STATE_ACQUISITIONS", "PREFERENCE_ACQUISITIONS", "state_scores", "choose_states",
    "preference_scores", "choose_pairs", "run_active_learning", "sufficiency_stop",
]
