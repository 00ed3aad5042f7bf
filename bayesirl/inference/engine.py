"""The MCMC engine: NUTS and random-walk Metropolis–Hastings over any NumPyro model, compiled
once per (model, settings, shapes) with the data as traced arguments.

A fit is ONE compiled program: initial points (``init_to_uniform(radius=1)`` in the
unconstrained space, NumPyro's ``initialize_model``), warm-up, the kept draws
(:func:`~bayesirl.inference.chain.run_chain`) and the map back to the model's sites
(constrained values and ``numpyro.deterministic`` sites). The model's array arguments — the
MDP, the evidence, learned-β priors — are arguments of that program, everything else (the
model function, strings, numbers given as Python scalars) is static, so a second fit of other
data with the same shapes runs the program already compiled: no recompilation, and nothing
that outlives the fit but JAX's own cache of compiled programs (one entry per shape).

Chains: ``"parallel"`` (one JAX device each, ``jax.pmap``; CPU devices are made with
``numpyro.set_host_device_count`` before JAX starts), ``"vectorized"`` (one batch, ``vmap``:
the random walk's chains then share one adaptation test per step) or ``"sequential"`` (one
after another in the same program, ``lax.map``; NUTS chains do not wait for the longest
tree of a batch). Kernels: NumPyro's functional NUTS (``numpyro.infer.hmc.hmc``; Hoffman &
Gelman 2014) and the adaptive random walk of :mod:`bayesirl.inference.random_walk`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree
from numpyro.infer import init_to_uniform
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model

from bayesirl._typing import PRNGKey
from bayesirl.inference.accept import log_uniform
from bayesirl.inference.adaptation import build_adaptation, default_target_accept_prob
from bayesirl.inference.chain import run_chain
from bayesirl.inference.proposals import num_polar_normals
from bayesirl.inference.random_walk import build_kernel, mh_init

__all__ = ["CHAIN_METHODS", "DENSE_AUTO_MAX_DIM", "NUTS_DENSE_AUTO_MAX_DIM", "KERNELS", "ChainProgram", "Draws",
           "default_chain_method", "merge_arguments", "sample_model", "sphere_blocks_of",
           "split_arguments"]

#: MCMC kernels of the engine.
KERNELS = ("nuts", "mh")
#: How chains run (see the module docstring).
CHAIN_METHODS = ("parallel", "vectorized", "sequential")
#: ``dense_covariance="auto"`` of the random walk: a dense proposal covariance when at most
#: this many unconstrained parameters move by the Gaussian step (``O(d^2)`` per step is then
#: negligible next to a likelihood evaluation), a diagonal one above. Measured: dense gave
#: R-hat 1.002 and ESS 954 on the γ = 0.999, β = 100 gridworld (4 features), but on
#: FrozenLake8x8 (64 one-hot features) R-hat 1.05 and ESS 94 against ~290 for the diagonal.
DENSE_AUTO_MAX_DIM: int = 32
#: NUTS's ``dense_mass="auto"`` (its default here): a dense mass matrix adapted in warm-up when
#: the unconstrained parameters number at most this many. A linear reward is identified only up
#: to a constant shift where every state has one feature on (colours, one-hot states), so the
#: posterior is a thin ridge along the shift with the prior's spread; a diagonal mass matrix
#: cannot align with it. Measured on the 5×5, 4-colour gridworld with 50 Boltzmann
#: demonstrations: the diagonal one gave bulk ESS 206 of 2000 draws (seed 1) or R-hat 1.011
#: (seed 0).
NUTS_DENSE_AUTO_MAX_DIM: int = DENSE_AUTO_MAX_DIM
#: Extra per-draw fields recorded by each kernel (NumPyro's names).
_FIELDS = {"nuts": ("diverging", "accept_prob", "num_steps", "potential_energy"),
           "mh": ("diverging", "accept_prob", "potential_energy")}
#: NUTS options passed to ``numpyro.infer.hmc.hmc``'s ``init_kernel``.
_NUTS_OPTIONS = ("step_size", "adapt_step_size", "adapt_mass_matrix", "dense_mass",
                 "target_accept_prob", "max_tree_depth", "find_heuristic_step_size",
                 "forward_mode_differentiation", "regularize_mass_matrix")
#: Random-walk options (see :class:`~bayesirl.inference.random_walk_kernel.RandomWalkMH`).
_MH_OPTIONS = ("step_size", "target_accept_prob", "adapt_step_size", "adapt_covariance",
               "dense_covariance", "sphere_sites", "shared_random_numbers")


# ---------------------------------------------------------------------------------------------
# Static and dynamic parts of a model's arguments
# ---------------------------------------------------------------------------------------------


class _Static(NamedTuple):
    """The hashable part of a model call: the model, the arguments' tree structure, their
    non-array leaves (in order) and which leaves are arrays."""

    model: Callable
    treedef: Any
    leaves: tuple
    is_array: tuple


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray)) or (
        isinstance(x, np.generic) and not isinstance(x, np.str_))


def _hashable(x):
    """A hashable stand-in for a static leaf (lists and dicts of options become tuples)."""
    if isinstance(x, dict):
        return ("__dict__",) + tuple(sorted((k, _hashable(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return ("__seq__", type(x).__name__) + tuple(_hashable(v) for v in x)
    return x


def _unhashable(x):
    if isinstance(x, tuple) and x and x[0] == "__dict__":
        return {k: _unhashable(v) for k, v in x[1:]}
    if isinstance(x, tuple) and len(x) >= 2 and x[0] == "__seq__":
        items = [_unhashable(v) for v in x[2:]]
        return tuple(items) if x[1] == "tuple" else items
    return x


def split_arguments(model: Callable, args: tuple, kwargs: dict) -> tuple[tuple, _Static]:
    """Split a model call into traced arrays and a hashable static part.

    Array leaves (JAX and NumPy arrays) of ``args`` and ``kwargs`` become arguments of the
    compiled program; every other leaf (strings, Python numbers, None, options dicts) is static
    and part of the compilation key.

    Returns:
        ``(dynamic, static)``: the array leaves as a tuple, and the static rest.

    Raises:
        TypeError: a static leaf that cannot be hashed (e.g. a user object without
            ``__hash__``); pass it as an array or make it hashable.
    """
    leaves, treedef = jax.tree.flatten((tuple(args), dict(kwargs)),
                                       is_leaf=lambda x: isinstance(x, dict) and not x)
    is_array = tuple(_is_array(x) for x in leaves)
    dynamic = tuple(jnp.asarray(x) for x, a in zip(leaves, is_array) if a)
    static_leaves = tuple(None if a else _hashable(x) for x, a in zip(leaves, is_array))
    static = _Static(model, treedef, static_leaves, is_array)
    try:
        hash(static)
    except TypeError as err:
        raise TypeError(f"model arguments: every non-array argument must be hashable to be "
                        f"part of the compiled program's key ({err})") from None
    return dynamic, static


def merge_arguments(dynamic: tuple, static: _Static) -> tuple[tuple, dict]:
    """The model call ``(args, kwargs)`` from the two parts of :func:`split_arguments` (inside
    a compiled program ``dynamic`` holds tracers)."""
    it = iter(dynamic)
    leaves = [next(it) if a else _unhashable(x) for x, a in zip(static.leaves, static.is_array)]
    args, kwargs = jax.tree.unflatten(static.treedef, leaves)
    return args, kwargs


# ---------------------------------------------------------------------------------------------
# One program
# ---------------------------------------------------------------------------------------------


class ChainProgram(NamedTuple):
    """The static settings of a sampling program (hashable: part of the compilation key).

    Attributes:
        kernel: one of :data:`KERNELS`.
        num_warmup: W warm-up transitions per chain.
        num_kept: D kept draws per chain.
        thinning: transitions per kept draw.
        options: sorted ``(name, value)`` kernel options.
        progress: report progress to the host (a callback in the program).
    """

    kernel: str
    num_warmup: int
    num_kept: int
    thinning: int
    options: tuple = ()
    progress: bool = False


class Draws(NamedTuple):
    """What :func:`sample_model` returns.

    Attributes:
        sites: ``{site: (C, D, ...)}`` every latent and deterministic site of the model
            (constrained values), not the observed ones.
        fields: ``{field: (C, D)}`` per-draw kernel fields (NumPyro's names:
            ``potential_energy``, ``accept_prob``, ``diverging``, ``num_steps``).
        chain_method: how the chains ran.
        seconds: wall time of the program (compilation included).
        info: kernel facts: ``num_dims`` (d), ``target_accept_prob``, ``dense_covariance``.
    """

    sites: dict
    fields: dict
    chain_method: str
    seconds: float
    info: dict


_PROGRESS: dict = {}


def _progress(chain, t):
    bar = _PROGRESS.get("bar")
    if bar is not None and int(chain) == 0:
        bar.update(int(t) - bar.n)


def _model_info(key, dynamic, static: _Static, validate_grad: bool):
    args, kwargs = merge_arguments(dynamic, static)
    info = initialize_model(key, static.model, init_strategy=init_to_uniform(radius=1.0),
                            dynamic_args=True, model_args=args, model_kwargs=kwargs,
                            validate_grad=validate_grad)
    return (info.param_info.z, info.potential_fn(*args, **kwargs),
            info.postprocess_fn(*args, **kwargs))


def _with_progress(step, program: ChainProgram, chain_index):
    """``step`` that reports its index ``t`` to the host every 1 % of the transitions."""
    if not program.progress:
        return step
    total = program.num_warmup + program.num_kept * program.thinning
    every = max(1, total // 100)

    def wrapped(carry, t):
        carry = step(carry, t)
        lax.cond((t + 1) % every == 0,
                 lambda: jax.debug.callback(_progress, chain_index, t + 1), lambda: None)
        return carry

    return wrapped


def _nuts_batch(keys, dynamic, static: _Static, program: ChainProgram, chain_ids):
    """NUTS chains, one per key (``vmap``)."""
    options = dict(program.options)

    def one(key, chain_id):
        k_init, k_run = jax.random.split(key)
        z0, potential_fn, postprocess = _model_info(k_init, dynamic, static, True)
        init_kernel, sample_kernel = hmc(potential_fn=potential_fn, algo="NUTS")
        kwargs = dict(options)
        if kwargs.get("dense_mass", "auto") == "auto":
            kwargs["dense_mass"] = int(ravel_pytree(z0)[0].shape[0]) <= NUTS_DENSE_AUTO_MAX_DIM
        state = init_kernel(z0, program.num_warmup, rng_key=k_run, **kwargs)
        step = _with_progress(lambda s, _: sample_kernel(s), program, chain_id)
        total = program.num_warmup + program.num_kept * program.thinning
        _, (z, fields) = run_chain(
            step, state, jnp.arange(total), num_warmup=program.num_warmup,
            num_kept=program.num_kept, thinning=program.thinning,
            record=lambda s: (s.z, {f: getattr(s, f) for f in _FIELDS["nuts"]}))
        return jax.vmap(postprocess)(z), fields, {}

    return jax.vmap(one)(keys, chain_ids)


def _mh_settings(z_one, options: dict):
    """(num_dims, sphere blocks, dense?, target acceptance) of the random walk."""
    d = int(ravel_pytree(z_one)[0].shape[0])
    if d == 0:
        raise ValueError("model: the random walk needs at least one continuous latent site")
    blocks = sphere_blocks_of(z_one, options.get("sphere_sites", ()))
    dense = options.get("dense_covariance", "auto")
    if dense == "auto":
        free = d - sum(size for _, size in blocks)
        dense = 0 < free <= DENSE_AUTO_MAX_DIM
    target = options.get("target_accept_prob") or default_target_accept_prob(d)
    return d, blocks, bool(dense), float(target)


def _mh_batch(keys, dynamic, static: _Static, program: ChainProgram, chain_ids):
    """A batch of random-walk chains moving in lockstep: warm-up steps adapt (one test per
    batch and step, not per chain), kept steps do not adapt at all."""
    options = dict(program.options)
    C = keys.shape[0]
    k_init, k_run = jnp.swapaxes(jax.vmap(jax.random.split)(keys), 0, 1)
    z0, potential_fn, postprocess = _model_info(k_init, dynamic, static, False)
    d, blocks, dense, target = _mh_settings(jax.tree.map(lambda x: x[0], z0), options)
    adapt = dict(adapt_step_size=bool(options.get("adapt_step_size", True)),
                 adapt_covariance=bool(options.get("adapt_covariance", True)),
                 dense_covariance=dense)
    kernel = build_kernel(program.num_warmup, target, sphere_blocks=blocks, **adapt)
    update = build_adaptation(program.num_warmup, target, sphere_blocks=blocks, **adapt)
    shared = num_polar_normals(d, blocks) if options.get("shared_random_numbers") else 0
    state = jax.vmap(lambda z, k: mh_init(z, potential_fn, k,
                                          step_size=options.get("step_size", 0.1),
                                          dense_covariance=dense, sphere_blocks=blocks))(z0, k_run)

    def transition(state, warmup: bool):
        draws = None
        if shared:
            key = jax.random.fold_in(state.rng_key[0], state.i[0])
            k_normal, k_uniform = jax.random.split(key)
            dtype = state.potential_energy.dtype
            draws = (jax.random.normal(k_normal, (C, shared), dtype),
                     log_uniform(k_uniform, (C,), dtype))
        new = jax.vmap(lambda one, dr: kernel(one, potential_fn, False, dr))(state, draws)
        if warmup and update is not None:
            new = new._replace(adapt_state=jax.vmap(update)(new.adapt_state, state.i, new.z,
                                                            new.accept_prob))
        return new

    chain0 = chain_ids[0]
    step = _with_progress(lambda s, _: transition(s, False), program, chain0)
    warm = _with_progress(lambda s, _: transition(s, True), program, chain0)
    total = program.num_warmup + program.num_kept * program.thinning
    _, (z, fields) = run_chain(
        step, state, jnp.arange(total), num_warmup=program.num_warmup,
        num_kept=program.num_kept, thinning=program.thinning, warmup_step=warm,
        record=lambda s: (s.z, {f: getattr(s, f) for f in _FIELDS["mh"]}))
    # records are (D, C, ...): chains first
    z, fields = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), (z, fields))
    sites = jax.vmap(jax.vmap(postprocess))(z)
    info = {"num_dims": jnp.int32(d), "target_accept_prob": jnp.float32(target),
            "dense_covariance": jnp.bool_(dense)}
    return sites, fields, info


_BATCH = {"nuts": _nuts_batch, "mh": _mh_batch}


@partial(jax.jit, static_argnames=("static", "program"))
def _run_vectorized(keys, dynamic, chain_ids, *, static, program):
    return _BATCH[program.kernel](keys, dynamic, static, program, chain_ids)


@partial(jax.jit, static_argnames=("static", "program"))
def _run_sequential(keys, dynamic, chain_ids, *, static, program):
    def one(inputs):
        key, chain_id = inputs
        out = _BATCH[program.kernel](key[None], dynamic, static, program, chain_id[None])
        return jax.tree.map(lambda x: x[0], out[:2]), out[2]

    (sites, fields), info = lax.map(one, (keys, chain_ids))
    return sites, fields, jax.tree.map(lambda x: x[0], info)


def _parallel_batch(keys, dynamic, chain_ids, static, program):
    return _BATCH[program.kernel](keys, dynamic, static, program, chain_ids)


_run_parallel = jax.pmap(_parallel_batch, in_axes=(0, None, 0), static_broadcasted_argnums=(3, 4))


def default_chain_method(kernel: str, num_chains: int) -> str:
    """Parallel when there is a JAX device per chain, else vectorized for the random walk
    (its steps all cost the same) and sequential for NUTS (a vectorized NUTS step waits for the
    longest tree of the batch)."""
    if num_chains == 1:
        return "sequential"
    if jax.local_device_count() >= num_chains:
        return "parallel"
    return "vectorized" if kernel == "mh" else "sequential"


def _kernel_options(kernel: str, options: dict | None) -> tuple:
    options = dict(options or {})
    allowed = _NUTS_OPTIONS if kernel == "nuts" else _MH_OPTIONS
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"kernel_kwargs: {kernel} does not take {unknown}; expected some of "
                         f"{list(allowed)}")
    if kernel == "mh" and isinstance(options.get("sphere_sites"), str):
        options["sphere_sites"] = (options["sphere_sites"],)
    if "sphere_sites" in options:
        options["sphere_sites"] = tuple(options["sphere_sites"])
    return tuple(sorted(options.items()))


def sample_model(model: Callable, args: tuple = (), kwargs: dict | None = None, *,
                 kernel: str = "nuts", rng_key: PRNGKey, num_chains: int = 4,
                 num_warmup: int = 1000, num_samples: int = 1000, thinning: int = 1,
                 chain_method: str | None = None, kernel_options: dict | None = None,
                 progress_bar: bool = False) -> Draws:
    """Run C chains of NUTS or the adaptive random walk on a NumPyro model.

    Args:
        model: a NumPyro model with continuous latent sites.
        args, kwargs: its arguments; array leaves are traced (see :func:`split_arguments`).
        kernel: ``"nuts"`` or ``"mh"``.
        rng_key: PRNG key (split into one key per chain).
        num_chains: C >= 1.
        num_warmup: W warm-up transitions per chain (adaptation; discarded).
        num_samples: D kept draws per chain.
        thinning: transitions per kept draw (the chain runs ``W + D · thinning`` transitions).
        chain_method: one of :data:`CHAIN_METHODS`, default :func:`default_chain_method`.
        kernel_options: NUTS options (``target_accept_prob``, ``max_tree_depth``,
            ``dense_mass`` (True, False or "auto", the default: dense up to
            :data:`NUTS_DENSE_AUTO_MAX_DIM` parameters), ...) or random-walk options (``step_size``,
            ``target_accept_prob``, ``dense_covariance`` (True, False or "auto"),
            ``sphere_sites``, ``shared_random_numbers``, ...).
        progress_bar: show a tqdm progress bar (chain 0's transitions).

    Returns:
        :class:`Draws`.

    Raises:
        ValueError: unknown kernel, chain method or kernel option; parallel chains without a
            device per chain.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel: expected one of {KERNELS}, got {kernel!r}")
    method = chain_method or default_chain_method(kernel, num_chains)
    if method not in CHAIN_METHODS:
        raise ValueError(f"chain_method: expected one of {CHAIN_METHODS}, got {method!r}")
    if method == "parallel" and jax.local_device_count() < num_chains:
        raise ValueError(f"chain_method: 'parallel' needs a JAX device per chain, "
                         f"{jax.local_device_count()} < {num_chains} chains")
    dynamic, static = split_arguments(model, args, kwargs or {})
    program = ChainProgram(kernel, int(num_warmup), int(num_samples), int(thinning),
                           _kernel_options(kernel, kernel_options), bool(progress_bar))
    keys = jax.random.split(rng_key, num_chains)
    chain_ids = jnp.arange(num_chains)
    start = time.perf_counter()
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_warmup + num_samples * thinning, desc=f"{kernel} (chain 0)",
                   leave=False)
        _PROGRESS["bar"] = bar
    try:
        if method == "parallel":
            sites, fields, info = _run_parallel(keys.reshape((num_chains, 1) + keys.shape[1:]),
                                                dynamic, chain_ids[:, None], static, program)
            sites, fields = jax.tree.map(lambda x: x.reshape((num_chains,) + x.shape[2:]),
                                         (sites, fields))
            info = jax.tree.map(lambda x: x[0], info)
        else:
            run = _run_vectorized if method == "vectorized" else _run_sequential
            sites, fields, info = run(keys, dynamic, chain_ids, static=static, program=program)
        sites, fields = jax.block_until_ready((sites, fields))
    finally:
        if bar is not None:
            bar.close()
            _PROGRESS.pop("bar", None)
    info = {k: (v.item() if hasattr(v, "item") else v) for k, v in dict(info).items()}
    return Draws(dict(sites), dict(fields), method, time.perf_counter() - start, info)


def sphere_blocks_of(z, sphere_sites) -> tuple[tuple[int, int], ...]:
    """Slices ``((start, F), ...)`` of ``ravel_pytree(z)`` holding the sites ``sphere_sites``.

    Args:
        z: one chain's unconstrained position, a dict of site name -> array (anything else
            has no named sites: the result is empty).
        sphere_sites: site names; names that ``z`` does not have are skipped.

    Returns:
        The slices, in the order of the flat position.
    """
    if not isinstance(z, dict) or not sphere_sites:
        return ()
    blocks, offset = [], 0
    for path, leaf in jax.tree_util.tree_flatten_with_path(z)[0]:
        size = int(np.size(leaf))
        name = getattr(path[0], "key", None)
        if name in sphere_sites and len(path) == 1:
            blocks.append((offset, size))
        offset += size
    return tuple(blocks)
