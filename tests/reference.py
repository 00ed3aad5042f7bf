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


def rollouts(rng, mdp, policy, num_trajectories, horizon):
    """N rollouts of an (S, A) policy, a numpy loop with the semantics of
    ``bayesirl.data.demos.rollout``: start from p0, at most ``horizon`` states, stop on entering
    a terminal state (its last step, action 0). Returns ``[(states, actions), ...]`` for
    ``make_demonstrations`` (no JAX compilation: cheap test data)."""
    next_states, next_probs = np.asarray(mdp.next_states), np.asarray(mdp.next_probs, float)
    p0, terminal = np.asarray(mdp.initial_distribution, float), np.asarray(mdp.terminal)
    pi = np.asarray(policy, float)
    out = []
    for _ in range(num_trajectories):
        s, states, actions = rng.choice(p0.size, p=p0 / p0.sum()), [], []
        for _ in range(horizon):
            states.append(int(s))
            if terminal[s]:
                actions.append(0)
                break
            a = rng.choice(pi.shape[1], p=pi[s] / pi[s].sum())
            actions.append(int(a))
            k = rng.choice(next_states.shape[2], p=next_probs[s, a] / next_probs[s, a].sum())
            s = next_states[s, a, k]
        out.append((states, actions))
    return out
