"""Bayesian IRL on gymnasium's slippery FrozenLake with the Python API.

Simulates expert demonstrations from the environment's own reward, fits a posterior over a
tabular (one weight per state) reward, and reports credible intervals and how well the optimal
policy of the posterior-mean reward does under the true reward.

    python examples/frozenlake.py                      # FrozenLake8x8-v1, 50 demos, NUTS
    python examples/frozenlake.py --env FrozenLake-v1 --num-samples 100 --num-warmup 100
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import bayesirl as birl
from bayesirl.analysis import summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="FrozenLake8x8-v1")
    parser.add_argument("--num-demos", type=int, default=50)
    parser.add_argument("--sampler", choices=birl.METHODS, default="nuts")
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--num-warmup", type=int, default=1000)
    parser.add_argument("--num-chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    env = birl.make_environment(args.env)
    expert = birl.value_iteration(env.mdp, env.true_reward).policy
    demos = birl.sample_demonstrations(jax.random.PRNGKey(args.seed), env.mdp, expert,
                                       args.num_demos, env.max_episode_steps)
    idata = birl.fit_demonstrations(env.mdp, demos, method=args.sampler, beta=1.0,
                                    num_samples=args.num_samples, num_warmup=args.num_warmup,
                                    num_chains=args.num_chains, seed=args.seed)
    table = summary(idata, var_names=["reward_weights"])
    H, W = env.grid_shape
    mean = table["mean"].to_numpy().reshape(H, W)
    print("Posterior-mean reward per cell:")
    print(np.array2string(mean, precision=2, suppress_small=True))
    if "r_hat" in table and table["r_hat"].notna().any():
        print(f"max R-hat {table['r_hat'].max():.3f}, min bulk ESS {table['ess_bulk'].min():.0f}")

    w = jnp.asarray(mean.reshape(-1), env.mdp.features.dtype)
    learned = birl.value_iteration(env.mdp, birl.reward_from_weights(env.mdp, w)).policy
    p_expert = float(birl.success_probability(env.mdp, expert, env.success_states, env.max_episode_steps))
    p_learned = float(birl.success_probability(env.mdp, learned, env.success_states, env.max_episode_steps))
    evd = float(birl.expected_value_difference(env.mdp, env.true_reward, learned))
    print(f"P(reach goal): expert {p_expert:.3f}, learned {p_learned:.3f} "
          f"({100 * p_learned / p_expert:.1f} % of the expert); EVD {evd:.2e}")
    return p_learned / p_expert


if __name__ == "__main__":
    main()
