"""``bayesirl make-mdp``: arguments → :func:`~bayesirl.app.make_mdp.make_mdp_file` → one line.

    bayesirl make-mdp --transitions T.npy --features F.npy --discount 0.95 --terminal 15 \\
        --out mdp.npz
"""

from __future__ import annotations

from bayesirl.cli import types as t

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "make-mdp"


def add_parser(sub) -> None:
    """Add ``make-mdp`` to the ``bayesirl`` subparsers."""
    p = sub.add_parser("make-mdp", help="an mdp.npz for 'fit --mdp' from plain .npy arrays",
                       description="Validate plain arrays like bayesirl.make_mdp and save them "
                                   "as an MDP file for 'bayesirl fit --mdp' (see 'Your own "
                                   "data' in the README).")
    p.add_argument("--transitions", required=True, metavar="T.npy",
                   help="(S, A, S) transition probabilities P[s, a, s'] (rows sum to 1)")
    p.add_argument("--features", required=True, metavar="F.npy",
                   help="(S, F) or (S, A, F) features φ (the reward is φ·w)")
    p.add_argument("--discount", required=True, type=t.discount, help="γ in [0, 1)")
    p.add_argument("--terminal", default=None, metavar="S1,S2|FILE.npy",
                   help="absorbing terminal states: indices, or a .npy of indices or an (S,) "
                        "boolean mask")
    p.add_argument("--initial", default=None, metavar="P0.npy",
                   help="(S,) initial state distribution (default uniform)")
    p.add_argument("--reward", default=None, metavar="R.npy",
                   help="a known (S,) or (S, A) reward, kept in the file as true_reward (not "
                        "used by fit)")
    p.add_argument("--out", required=True, help="the .npz to write")
    p.add_argument("--force", action="store_true", help="replace an existing --out")


def run(args) -> int:
    """Run ``bayesirl make-mdp``; 0 on success."""
    from bayesirl.app.make_mdp import make_mdp_file

    info = make_mdp_file(args.out, args.transitions, args.features, args.discount,
                         terminal=args.terminal, initial=args.initial, reward=args.reward,
                         force=args.force)
    print(f"Wrote {info['out']}: S = {info['num_states']}, A = {info['num_actions']}, "
          f"F = {info['num_features']}, γ = {info['discount']:g}")
    return 0
