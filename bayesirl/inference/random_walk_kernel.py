"""Adaptive random-walk Metropolis–Hastings as a NumPyro ``MCMCKernel``.

:class:`RandomWalkMH` wraps the pure kernel of :mod:`bayesirl.inference.random_walk`
(algorithm and references in its module docstring) so that it runs under
:class:`numpyro.infer.MCMC` for any NumPyro model (or a bare potential function), with
``chain_method`` ``"sequential"``, ``"parallel"`` and ``"vectorized"``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax, random, vmap
from jax.flatten_util import ravel_pytree
from numpyro.infer.mcmc import MCMCKernel
from numpyro.infer.util import ParamInfo, init_to_uniform, initialize_model
from numpyro.util import identity, is_prng_key

from bayesirl.inference.engine import DENSE_AUTO_MAX_DIM, sphere_blocks_of
from bayesirl.inference.proposals import num_polar_normals
from bayesirl.inference.random_walk import MHState, build_kernel, mh_init
from bayesirl.inference.adaptation import (
    build_adaptation,
    check_step_size,
    check_target_accept_prob,
    default_target_accept_prob,
)

__all__ = ["DENSE_AUTO_MAX_DIM", "RandomWalkMH", "sphere_blocks_of"]

def _batched_sample_fn(kernel, update, get_potential_fn, num_warmup: int,
                       shared_draws: int = 0):
    """``sample(state, args, kwargs)`` for a batch of C chains that move in lockstep.

    ``kernel`` is :func:`~bayesirl.inference.random_walk.build_kernel`'s transition, called
    with ``warmup=False`` (no adaptation inside), and ``update`` the matching
    :func:`~bayesirl.inference.adaptation.build_adaptation` (or None). Every chain
    of a batch has made the same number of transitions (``state.i`` is equal across chains),
    so whether to adapt is decided ONCE per batch by a scalar ``lax.cond`` on ``state.i[0]``
    around the vmapped adaptation update. Under ``vmap`` the per-chain ``lax.cond`` would
    become a select that runs the adaptation (Welford updates, Cholesky) at every retained
    step too. The potential is traced once, and the chains are the same as with ``vmap`` of
    the per-chain kernel.

    ``shared_draws = m > 0``: the ``(C, m)`` standard normals and ``(C,)`` uniforms of a step
    come from ONE key, ``fold_in(rng_key[0], i)`` (one threefry call over the batch instead
    of C per-chain splits; ~35 % less random-number time at C = 1024). Each chain is still an
    exact MH chain with independent randomness; the per-chain keys are left unchanged.
    """

    def sample(state, args, kwargs):
        potential_fn = get_potential_fn(args, kwargs)
        draws = None
        if shared_draws:
            key = random.fold_in(state.rng_key[0], state.i[0])
            key_normal, key_uniform = random.split(key)
            C = state.i.shape[0]
            dtype = state.potential_energy.dtype
            draws = (random.normal(key_normal, (C, shared_draws), dtype),
                     jnp.log(random.uniform(key_uniform, (C,), dtype)))
        new = vmap(lambda one, d: kernel(one, potential_fn, False, d))(state, draws)
        if update is None:
            return new
        adapt = lax.cond(state.i[0] < num_warmup,
                         lambda a: vmap(update)(a, state.i, new.z, new.accept_prob),
                         identity, new.adapt_state)
        return new._replace(adapt_state=adapt)

    return sample


class RandomWalkMH(MCMCKernel):
    """Adaptive Gaussian random-walk Metropolis–Hastings kernel for :class:`numpyro.infer.MCMC`.

    Gradient-free: only the potential energy is evaluated, once per iteration. Works with
    ``chain_method`` ``"sequential"``, ``"parallel"`` and ``"vectorized"`` (for vectorized
    chains :meth:`init` receives a batch of keys and ``vmap``-s the single-chain init and
    transition). See the module docstring for the algorithm and its references
    (Metropolis et al. 1953; Hastings 1970; Haario et al. 2001; Roberts, Gelman & Gilks
    1997; Andrieu & Thoms 2008). In IRL this is the PolicyWalk-style sampler of
    Ramachandran & Amir (2007) — but any NumPyro model with continuous latents works.

    The kernel keeps state (the compiled transition, ``postprocess_fn``) from its last
    :meth:`init`; build a new kernel for each :class:`~numpyro.infer.MCMC` object.

    Args:
        model: a NumPyro model (Python callable with ``numpyro.sample`` statements).
        potential_fn: alternatively, a function from an unconstrained pytree to the scalar
            potential energy (negative log density); then ``init_params`` must be passed to
            ``MCMC.run`` (with a leading axis ``C`` for several chains).
        step_size: initial proposal step size (> 0), in units of the unconstrained
            parameters while the proposal scale is the identity. With
            ``adapt_step_size=False`` it is used unchanged throughout.
        target_accept_prob: target acceptance probability in (0, 1) for the step-size
            adaptation; ``None`` picks :func:`default_target_accept_prob` of the number
            ``d`` of unconstrained scalars (0.44 for d = 1 ... 0.234 for d >= 5).
        adapt_step_size: adapt the step size during warm-up.
        adapt_covariance: adapt the proposal covariance during warm-up (needs
            ``num_warmup >= MIN_WARMUP_FOR_COVARIANCE``).
        dense_covariance: dense instead of diagonal proposal covariance (``O(d^2)`` memory
            and ``O(d^2)`` work per step); ``"auto"``: dense when at most
            :data:`DENSE_AUTO_MAX_DIM` parameters move by the Gaussian step (the default of
            :func:`~bayesirl.inference.fit.fit`).
        sphere_sites: names of latent sites moved by sphere-native polar proposals
            (:func:`~bayesirl.inference.proposals.polar_proposal`: a PolicyWalk step of the
            direction, a log-scale step of the length, with its Hastings correction) instead
            of the Gaussian step — for latents whose target depends (almost) only on their
            direction, such as ``reward_weights_raw`` of the sphere priors, where a Gaussian
            walk drifts along the length and its angular step shrinks as the length grows.
            Absent names are skipped.
        shared_random_numbers: with ``chain_method="vectorized"``, draw the random numbers of
            all C chains of a step in one call from one key (faster: ~35 % less
            random-number time at C = 1024, where random numbers are half of a cheap
            likelihood's step); each chain is still an exact MH chain, but no longer the
            same chain as a sequential run with the same per-chain key. Ignored otherwise.
        init_strategy: NumPyro init strategy for the model's latent sites
            (default :func:`numpyro.infer.init_to_uniform`).

    Raises:
        ValueError: if both or neither of ``model`` and ``potential_fn`` are given
            (message names ``model``/``potential_fn``), ``step_size`` is not a finite number
            > 0, ``target_accept_prob`` is not in (0, 1), or ``dense_covariance`` is not
            True, False or ``"auto"``.

    Example::

        kernel = RandomWalkMH(model)
        mcmc = MCMC(kernel, num_warmup=2000, num_samples=2000, num_chains=4,
                    chain_method="vectorized")
        mcmc.run(jax.random.key(0), data)
        mcmc.print_summary()
    """

    sample_field = "z"

    def __init__(
        self,
        model=None,
        potential_fn=None,
        *,
        step_size: float = 0.1,
        target_accept_prob: float | None = None,
        adapt_step_size: bool = True,
        adapt_covariance: bool = True,
        dense_covariance: bool | str = False,
        sphere_sites=(),
        shared_random_numbers: bool = False,
        init_strategy=init_to_uniform,
    ):
        if model is None and potential_fn is None:
            raise ValueError("model, potential_fn: expected exactly one of them, got neither")
        if model is not None and potential_fn is not None:
            raise ValueError("model, potential_fn: expected exactly one of them, got both")
        if model is not None and not callable(model):
            raise ValueError(f"model: expected a callable NumPyro model, got {model!r}")
        if potential_fn is not None and not callable(potential_fn):
            raise ValueError(f"potential_fn: expected a callable, got {potential_fn!r}")
        check_step_size(step_size)
        if target_accept_prob is not None:
            check_target_accept_prob(target_accept_prob)
        self._model = model
        self._potential_fn = potential_fn
        self._step_size = step_size
        self._target_accept_prob = target_accept_prob
        self._adapt_step_size = bool(adapt_step_size)
        self._adapt_covariance = bool(adapt_covariance)
        if dense_covariance != "auto" and not isinstance(dense_covariance, bool | np.bool_):
            raise ValueError(f"dense_covariance: expected True, False or 'auto', got "
                             f"{dense_covariance!r}")
        if isinstance(sphere_sites, str):
            sphere_sites = (sphere_sites,)
        self._dense_covariance = dense_covariance
        self._sphere_sites = tuple(sphere_sites)
        self._sphere_blocks = ()
        self._init_strategy = init_strategy
        self._shared_random_numbers = bool(shared_random_numbers)
        # Set by init().
        self._potential_fn_gen = None
        self._postprocess_fn = None
        self._sample_fn = None
        self._resolved_target_accept_prob = target_accept_prob
        self._num_dims = None

    # ---- properties used by MCMC / ArviZ ---------------------------------------------
    @property
    def model(self):
        """The NumPyro model, or ``None`` when built from ``potential_fn``."""
        return self._model

    @property
    def default_fields(self) -> tuple[str, ...]:
        """Fields collected by default.

        ``("z", "diverging", "accept_prob", "potential_energy")``; ArviZ turns the last two
        into ``acceptance_rate`` and ``lp`` (= -potential_energy).
        """
        return ("z", "diverging", "accept_prob", "potential_energy")

    @property
    def target_accept_prob(self) -> float | None:
        """The target acceptance probability in use (resolved from ``d`` after :meth:`init`)."""
        return self._resolved_target_accept_prob

    @property
    def dense_covariance(self) -> bool:
        """Whether the proposal covariance is dense (``"auto"`` resolved after :meth:`init`)."""
        if self._dense_covariance != "auto":
            return bool(self._dense_covariance)
        if self._num_dims is None:
            return False
        free = self._num_dims - sum(size for _, size in self._sphere_blocks)
        return 0 < free <= DENSE_AUTO_MAX_DIM

    @property
    def sphere_blocks(self) -> tuple[tuple[int, int], ...]:
        """Flat slices moved by polar proposals (known after :meth:`init`)."""
        return self._sphere_blocks

    @property
    def num_dims(self) -> int | None:
        """Number ``d`` of unconstrained scalar parameters (known after :meth:`init`)."""
        return self._num_dims

    def get_diagnostics_str(self, state: MHState) -> str:
        """Progress-bar text: mean acceptance probability and current step size."""
        return "acc. prob={:.2f}, step size={:.2e}".format(
            float(np.mean(state.mean_accept_prob)), float(np.mean(state.adapt_state.step_size))
        )

    def postprocess_fn(self, args, kwargs):
        """Function mapping unconstrained samples to constrained sites (plus deterministics).

        Args:
            args: model positional arguments (tuple).
            kwargs: model keyword arguments (dict).

        Returns:
            A callable ``z -> dict`` for models, the identity for a bare ``potential_fn``.
        """
        if self._postprocess_fn is None:
            return identity
        return self._postprocess_fn(*args, **(kwargs or {}))

    def _get_potential_fn(self, model_args, model_kwargs):
        if self._potential_fn_gen is not None:
            return self._potential_fn_gen(*model_args, **(model_kwargs or {}))
        return self._potential_fn

    def _initial_position(self, rng_key, init_params, model_args, model_kwargs):
        """The unconstrained initial position: ``init_params`` (a ``ParamInfo``'s ``z``), or
        one found by NumPyro's ``initialize_model`` (which also sets the potential and
        postprocessing functions of the model)."""
        if self._model is not None:
            model_info = initialize_model(
                rng_key,
                self._model,
                init_strategy=self._init_strategy,
                dynamic_args=True,
                model_args=model_args,
                model_kwargs=model_kwargs,
                validate_grad=False,
            )
            if init_params is None:
                init_params = model_info.param_info.z
            self._potential_fn_gen = model_info.potential_fn
            self._postprocess_fn = model_info.postprocess_fn
        elif init_params is None:
            raise ValueError(
                "init_params: a valid initial position must be given with potential_fn"
            )
        if isinstance(init_params, ParamInfo):
            init_params = init_params.z
        return init_params

    def _resolve_target(self, init_params, vectorized: bool) -> float:
        """Record the number of unconstrained dimensions d and return the target acceptance
        probability (the given one, or :func:`default_target_accept_prob` of d)."""
        z_one = jax.tree.map(lambda x: x[0], init_params) if vectorized else init_params
        d = int(ravel_pytree(z_one)[0].shape[0])
        if d == 0:
            raise ValueError("init_params: expected at least one unconstrained parameter")
        self._num_dims = d
        self._sphere_blocks = sphere_blocks_of(z_one, self._sphere_sites)
        target = self._target_accept_prob
        if target is None:
            target = default_target_accept_prob(d)
        self._resolved_target_accept_prob = float(target)
        return self._resolved_target_accept_prob

    # ---- MCMCKernel API ---------------------------------------------------------------
    def init(self, rng_key, num_warmup, init_params=None, model_args=(), model_kwargs=None):
        """Initialise the chain(s) and build the transition function.

        Args:
            rng_key: one PRNG key (single chain) or a batch of ``C`` keys (vectorized
                chains: shape ``(C, 2)`` for raw ``uint32`` keys, ``(C,)`` for typed keys).
            num_warmup: number of warm-up iterations ``W`` >= 0 (adaptation happens only
                during them).
            init_params: optional initial unconstrained position (pytree; leading axis
                ``C`` for vectorized chains). Required with ``potential_fn``. A NumPyro
                ``ParamInfo`` is accepted (its ``z`` is used).
            model_args: positional arguments of the model.
            model_kwargs: keyword arguments of the model.

        Returns:
            An :class:`MHState` (leaves with a leading ``C`` axis when vectorized).

        Raises:
            ValueError: if ``init_params`` is missing with ``potential_fn``, the position
                has no unconstrained parameters, or ``num_warmup < 0``.
            RuntimeError: (from NumPyro) if no valid initial parameters are found.
        """
        model_kwargs = {} if model_kwargs is None else model_kwargs
        vectorized = not is_prng_key(rng_key)
        if vectorized:
            rng_key, key_init_model = jnp.swapaxes(vmap(random.split)(rng_key), 0, 1)
        else:
            rng_key, key_init_model = random.split(rng_key)

        init_params = self._initial_position(key_init_model, init_params, model_args,
                                             model_kwargs)
        target = self._resolve_target(init_params, vectorized)
        blocks = self._sphere_blocks
        dense = self.dense_covariance
        kernel = build_kernel(
            num_warmup,
            target,
            adapt_step_size=self._adapt_step_size,
            adapt_covariance=self._adapt_covariance,
            dense_covariance=dense,
            sphere_blocks=blocks,
        )
        potential_fn = self._get_potential_fn(model_args, model_kwargs)
        step_size = self._step_size

        def init_one(z, key):
            return mh_init(z, potential_fn, key, step_size=step_size, dense_covariance=dense,
                           sphere_blocks=blocks)

        def sample_one(state, args, kwargs):
            return kernel(state, self._get_potential_fn(args, kwargs))

        if vectorized:
            state = vmap(init_one)(init_params, rng_key)
            shared = num_polar_normals(self._num_dims, blocks) if self._shared_random_numbers else 0
            update = build_adaptation(num_warmup, target, adapt_step_size=self._adapt_step_size,
                                      adapt_covariance=self._adapt_covariance,
                                      dense_covariance=dense, sphere_blocks=blocks)
            self._sample_fn = _batched_sample_fn(kernel, update, self._get_potential_fn,
                                                 num_warmup, shared)
        else:
            state = init_one(init_params, rng_key)
            self._sample_fn = sample_one
        return state

    def sample(self, state: MHState, model_args, model_kwargs) -> MHState:
        """One adaptive RW-MH transition from ``state`` (see :func:`build_kernel`).

        Args:
            state: current :class:`MHState` (batched when vectorized).
            model_args: positional model arguments.
            model_kwargs: keyword model arguments.

        Returns:
            The next :class:`MHState`.

        Raises:
            RuntimeError: if :meth:`init` has not been called.
        """
        if self._sample_fn is None:
            raise RuntimeError("RandomWalkMH.sample: call init() before sample()")
        return self._sample_fn(state, model_args, model_kwargs)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_sample_fn"] = None
        return state
