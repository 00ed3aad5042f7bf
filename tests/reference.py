"""Plain numpy reference implementations (loops, no JAX) for tests."""

import numpy as np
from scipy.special import logsumexp


def value_iteration(P, R, gamma, terminal, soft=False, temperature=1.0, iters=5000):
    """Reference (soft) value iteration with terminal states' continuation zero.

    P (S, A, S), R (S,) or (S, A). Terminal: Q = R; soft V = τ log mean exp(Q/τ)."""
    S, A, _ = P.shape
    R = np.broadcast_to(R[:, None], (S, A)) if R.ndim == 1 else R
    term = np.zeros(S, bool)
    term[list(terminal)] = True
    V = np.zeros(S)
    for _ in range(iters):
        Q = np.empty((S, A))
        for s in range(S):
            for a in range(A):
                cont = 0.0 if term[s] else gamma * sum(P[s, a, t] * V[t] for t in range(S))
                Q[s, a] = R[s, a] + cont
        if soft:
            V = temperature * logsumexp(Q / temperature, axis=1) - term * temperature * np.log(A)
        else:
            V = Q.max(axis=1)
    return V, Q


def policy_evaluation(P, R, pi, gamma, terminal):
    S, A, _ = P.shape
    R = np.broadcast_to(R[:, None], (S, A)) if R.ndim == 1 else R
    term = np.zeros(S, bool)
    term[list(terminal)] = True
    P_pi = np.einsum("sa,sat->st", pi, P) * (~term)[:, None]
    r_pi = (pi * R).sum(1)
    return np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)


def finite_horizon_soft(P, R, gamma, terminal, T, temperature=1.0):
    """Reference finite-horizon soft VI: Q_{T-1} = R, Q_t = R + γ P V_{t+1}, V_T = 0."""
    S, A, _ = P.shape
    R = np.broadcast_to(R[:, None], (S, A)) if R.ndim == 1 else R
    term = np.zeros(S, bool)
    term[list(terminal)] = True
    V = np.zeros((T + 1, S))
    Q = np.zeros((T, S, A))
    for t in reversed(range(T)):
        for s in range(S):
            for a in range(A):
                Q[t, s, a] = R[s, a] + (0.0 if term[s] else gamma * P[s, a] @ V[t + 1])
        V[t] = temperature * logsumexp(Q[t] / temperature, axis=1) - term * temperature * np.log(A)
    return V, Q
