"""Inference: one entry point (:func:`fit`) for NUTS, random-walk Metropolis–Hastings and MAP."""

from bayesirl.inference.fit import METHODS, fit, fit_demonstrations, fit_evidence
from bayesirl.inference.random_walk import RandomWalkMH

__all__ = ["METHODS", "fit", "fit_evidence", "fit_demonstrations", "RandomWalkMH"]
