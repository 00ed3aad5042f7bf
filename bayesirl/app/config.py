"""The run configuration: every setting of a fit, typed, validated once, versioned on disk.

A :class:`RunConfig` is three specs — where the evidence comes from (:class:`WorldSpec`), the
model (:class:`ModelSpec`) and how to infer (:class:`InferenceSpec`) — built by ``bayesirl
fit`` from its arguments or by hand in a notebook; :func:`bayesirl.app.fit.run_fit` runs it and
writes it to the run folder as ``config.json`` (:meth:`RunConfig.to_json`, schema
:data:`CONFIG_FORMAT`), from which ``report`` and ``query`` read it back
(:meth:`RunConfig.from_json`; folders written by earlier releases, flat ``config.json`` or
only ``summary.json``, still load). The specs' fields can also be given flat,
``RunConfig(env="gridworld", num_demos=10, sampler="mh")``, and read flat, ``config.sampler``.

The sampler's defaults (draws, warm-up, thinning, chains) and what it supports live with the
sampler, in :data:`bayesirl.inference.samplers.SAMPLERS`; ``sampler="auto"`` (the default)
is resolved when the world is known (:meth:`RunConfig.with_sampler`).

Errors are :class:`ConfigError` (a ``ValueError``) whose one-line message starts with the
command-line flag of the setting (``--num-chains: ...``; the Python field is the flag without
dashes, ``-`` read as ``_``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from bayesirl.app.errors import UsageError
from bayesirl.data.experts import EXPERTS as _SHIPPED_EXPERTS
from bayesirl.inference.samplers import SAMPLERS as _REGISTRY
from bayesirl.inference.samplers import requirement_reasons
from bayesirl.likelihoods.registry import required_sources, source_names
from bayesirl.models import PRIORS

__all__ = [
    "CONFIG_FORMAT",
    "LEGACY_CONFIG_FORMATS",
    "BETA_PRIORS",
    "SPHERE_PRIORS",
    "Q_KINDS",
    "MH_DEFAULT_WARMUP",
    "MH_DEFAULT_THINNING",
    "NUTS_DEFAULT_WARMUP",
    "NUTS_DEFAULT_SAMPLES",
    "DEFAULT_SAMPLES",
    "DEFAULT_DATA_SEED",
    "COUNT_MAX",
    "SEED_MAX",
    "FLOAT32_MAX",
    "FLOAT32_TINY",
    "DISCOUNT_MAX_FLOAT32",
    "BETA_MAX",
    "SAMPLERS",
    "POLICY_WALK_DEFAULT_CHAINS",
    "CONTINUOUS_ENVS",
    "CONTINUOUS_METHODS",
    "DEFAULT_CONTINUOUS_METHOD",
    "ConfigError",
    "BetaSpec",
    "WorldSpec",
    "ModelSpec",
    "InferenceSpec",
    "RunConfig",
]

#: Schema of ``config.json``; bump the number when a field changes meaning.
CONFIG_FORMAT = "bayesirl.run-config/2"
#: Earlier schemas that still load (flat settings).
LEGACY_CONFIG_FORMATS = ("bayesirl.run-config/1",)
#: Priors on β: name → number of parameters (the NumPyro distribution's, in its order).
BETA_PRIORS = {"lognormal": 2, "gamma": 2, "halfnormal": 1, "exponential": 1}
#: Weight priors under which β can be learned (the likelihood depends on β·w only).
SPHERE_PRIORS = tuple(p for p in PRIORS if p.endswith("-sphere"))
#: Q-values of the Boltzmann demonstrator.
Q_KINDS = ("soft", "hard")
#: Samplers of ``--sampler``: ``auto`` and every registered one.
SAMPLERS = ("auto",) + tuple(_REGISTRY)
#: The registry's defaults, by name (the same in the Python API).
NUTS_DEFAULT_WARMUP = _REGISTRY["nuts"].defaults["num_warmup"]
NUTS_DEFAULT_SAMPLES = _REGISTRY["nuts"].defaults["num_samples"]
MH_DEFAULT_WARMUP = _REGISTRY["mh"].defaults["num_warmup"]
MH_DEFAULT_THINNING = _REGISTRY["mh"].defaults["thinning"]
DEFAULT_SAMPLES = _REGISTRY["mh"].defaults["num_samples"]
POLICY_WALK_DEFAULT_CHAINS = _REGISTRY["policy-walk"].defaults["num_chains"]
#: Continuous-state tasks with a shipped expert (:mod:`bayesirl.data.experts`): ``--env`` with
#: one of them is a continuous-state world (learned Q-functions, no MDP).
CONTINUOUS_ENVS = tuple(_SHIPPED_EXPERTS)
#: Fits of a continuous-state world (``--method``; :data:`bayesirl.continuous.FIT_METHODS`):
#: the inference settings each one reads, with their defaults (value-nuts: the settings of
#: docs/results/classic_control.txt, a few minutes at most on 2 cores).
CONTINUOUS_METHODS = {
    "variational": {"num_steps": 3000},
    "value-nuts": {"num_samples": 200, "num_warmup": 200, "num_chains": 2},
    "value-svi": {"num_samples": 500, "num_steps": 3000},
    "value-svi-lowrank": {"num_samples": 500, "num_steps": 3000},
    "cloning": {"num_steps": 2000},
}
#: The default fit of a continuous-state world: fast (seconds to a minute on 2 cores) and as
#: good as the others on the classic-control table (docs/results/classic_control.txt), where
#: value-nuts, the MCMC posterior, has R-hat above 1.01.
DEFAULT_CONTINUOUS_METHOD = "variational"
#: Seed of the synthetic world and evidence unless ``data_seed`` is given.
DEFAULT_DATA_SEED = 0

#: Simulated demonstrators of a built-in environment (``expert``): ``optimal`` (an optimal
#: action of the true reward, ties split evenly), ``boltzmann`` / ``boltzmann:B`` (Boltzmann-
#: rational over the soft Q of the true reward: the model's own β, or B) and ``noisy:EPS``
#: (optimal, but a uniformly random action with probability EPS).
EXPERTS = ("optimal", "boltzmann", "noisy")
#: The simulated demonstrator when ``expert`` is not given, by environment (others: ``"*"``).
#: The gridworld's reward is random (weights on the unit L1 sphere: of the scale the model's
#: prior expects), so the Boltzmann demonstrator at the model's β makes the run well
#: specified: the model the fit assumes is the one that made the evidence. A gymnasium
#: environment's reward is the game's (FrozenLake's is 1/3 at most), and a Boltzmann
#: demonstrator at β = 1 of it barely moves from random (FrozenLake8x8: 3 % of its episodes
#: reach the goal); its default expert is the optimal one, which a Boltzmann model does not
#: describe exactly: the misfit alarm says so.
DEFAULT_EXPERTS = {"gridworld": "boltzmann", "*": "optimal"}
#: What configs written before ``expert`` existed simulated.
LEGACY_EXPERT = "optimal"
#: The largest count a run accepts (draws, warm-up, thinning, chains, demonstrations,
#: comparisons, features, horizon, grid sides): JAX counts and indexes in int32.
COUNT_MAX = 2**31 - 1
#: The largest seed: without 64-bit JAX a PRNG key keeps 32 bits of its seed, so a larger seed
#: would silently repeat a smaller one (``PRNGKey(2**32) == PRNGKey(0)``).
SEED_MAX = 2**32 - 1
#: Real settings (β, scales, margins, prior parameters) are used in float32: their magnitude
#: must lie in [FLOAT32_TINY, FLOAT32_MAX] (or be 0), else they become inf or 0.
FLOAT32_MAX = float(np.finfo(np.float32).max)
FLOAT32_TINY = float(np.finfo(np.float32).tiny)
#: The largest fixed β. Beyond it the demonstrator is already exactly optimal in float32 (for
#: Q-values near 1, whose float32 spacing is 1.2e-7, β·ΔQ > 88 makes exp(−β·ΔQ) vanish), while
#: β·Q overflows float32 for the largest β it holds.
BETA_MAX = 1e9
#: The largest discount below 1 in float32 (1 − 2⁻²⁴); a larger γ < 1 rounds to 1.
DISCOUNT_MAX_FLOAT32 = float(np.nextafter(np.float32(1), np.float32(0)))


class ConfigError(UsageError):
    """An invalid setting; the message is one line and starts with the setting's flag."""


def _show(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _given(value) -> str:
    """``repr(value)``, shortened for an integer with very many digits."""
    text = repr(value)
    return text if len(text) <= 30 else f"{text[:12]}… ({len(text)} characters)"


def _number(value, flag: str, *, low=None, high=None, low_open=False, high_open=False,
            integer=False, none_ok=False):
    """``value`` checked as a finite (integer) number in the given range; else ConfigError.

    A real (non-integer) setting must also be representable in float32 (:data:`FLOAT32_MAX`,
    :data:`FLOAT32_TINY`), in which the model computes.
    """
    if value is None and none_ok:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not (math.isfinite(value) and (
                value.is_integer() or not integer))):
        raise ConfigError(f"{flag}: expected {kind}, got {_given(value)}")
    if (low is not None and (value < low or (low_open and value == low))) or (
            high is not None and (value > high or (high_open and value == high))):
        lo = "" if low is None else ("(" if low_open else "[") + _show(low)
        hi = "" if high is None else _show(high) + (")" if high_open else "]")
        rng = f"in {lo}, {hi}" if lo and hi else (f">{'' if low_open else '='} {_show(low)}"
                                                  if lo else
                                                  f"<{'' if high_open else '='} {_show(high)}")
        raise ConfigError(f"{flag}: expected {kind} {rng}, got {_given(value)}")
    if not integer:
        _float32(value, flag)
    return int(value) if integer else float(value)


def _float32(value, flag: str) -> None:
    """ConfigError unless ``value`` is 0 or its magnitude lies in float32's normal range."""
    if value != 0 and not FLOAT32_TINY <= abs(value) <= FLOAT32_MAX:
        raise ConfigError(f"{flag}: {value!r} is out of range: bayesirl computes in float32, "
                          f"which holds magnitudes from {FLOAT32_TINY:.3g} to "
                          f"{FLOAT32_MAX:.3g} (or 0)")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class BetaSpec:
    """The rationality β of one evidence source: fixed (``value``) or learned (``prior``).

    Attributes:
        value: β > 0 when fixed (inverse temperature, 1/reward units); None when learned.
        prior: one of :data:`BETA_PRIORS` when learned, else None.
        params: the prior's parameters (LogNormal(μ, σ), Gamma(shape, rate), HalfNormal(σ),
            Exponential(rate)).

    Raises:
        ConfigError: neither or both of value/prior, β <= 0 or β > :data:`BETA_MAX`, an
            unknown prior, the wrong number of parameters, non-finite parameters or scales
            <= 0, parameters outside float32's range.
    """

    value: float | None = 1.0
    prior: str | None = None
    params: tuple[float, ...] = ()

    def __post_init__(self):
        if (self.value is None) == (self.prior is None):
            raise ConfigError(f"--beta: give a fixed value or a prior, got {self!r}")
        if self.prior is None:
            object.__setattr__(self, "value", _number(self.value, "--beta", low=0.0,
                                                      low_open=True, high=BETA_MAX))
            return
        if self.prior not in BETA_PRIORS:
            raise ConfigError(f"--beta: expected a number > 0 or one of "
                              f"{', '.join(f'{k}:ARGS' for k in BETA_PRIORS)}, got {self.prior!r}")
        params = tuple(self.params)
        if len(params) != BETA_PRIORS[self.prior]:
            raise ConfigError(f"--beta: {self.prior} needs {BETA_PRIORS[self.prior]} "
                              f"parameter(s), got {len(params)}")
        scales = params[1:] if self.prior == "lognormal" else params
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in params) or any(
                v <= 0 for v in scales):
            raise ConfigError(f"--beta: parameters of {self.prior} must be finite and scales "
                              f"> 0, got {params}")
        for v in params:
            _float32(v, f"--beta: {self.prior} parameter")
        object.__setattr__(self, "params", tuple(float(v) for v in params))

    @property
    def learned(self) -> bool:
        """True when β has a prior (is sampled)."""
        return self.prior is not None

    @classmethod
    def parse(cls, text: str) -> "BetaSpec":
        """``"5"`` (fixed) or ``"lognormal:0,1"``, ``"gamma:2,0.5"``, ``"halfnormal:10"``,
        ``"exponential:0.1"`` (a prior). Raises :class:`ConfigError`."""
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            return cls(value=value)
        name, _, params = str(text).partition(":")
        if name not in BETA_PRIORS:
            raise ConfigError(f"--beta: expected a number > 0 or one of "
                              f"{', '.join(f'{k}:ARGS' for k in BETA_PRIORS)}, got {text!r}")
        try:
            values = tuple(float(v) for v in params.split(",")) if params else ()
        except ValueError:
            raise ConfigError(f"--beta: bad parameters in {text!r}") from None
        return cls(value=None, prior=name, params=values)

    @classmethod
    def coerce(cls, spec) -> "BetaSpec":
        """A BetaSpec from a BetaSpec, a number, a string (:meth:`parse`) or the JSON form."""
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, str):
            return cls.parse(spec)
        if isinstance(spec, dict):
            return cls(value=None, prior=spec.get("prior"), params=tuple(spec.get("params", ())))
        if isinstance(spec, (list, tuple)) and len(spec) == 2:  # summary.json before config
            return cls(value=None, prior=spec[0], params=tuple(spec[1]))
        return cls(value=spec)

    def to_json(self):
        """The number, or ``{"prior": name, "params": [...]}``."""
        return self.value if self.prior is None else {"prior": self.prior,
                                                      "params": list(self.params)}

    def __str__(self) -> str:
        if self.prior is None:
            return f"{self.value:g}"
        return f"{self.prior}:{','.join(f'{p:g}' for p in self.params)}"

    def to_model(self):
        """What :func:`bayesirl.models.reward_model` takes: the float, or the NumPyro prior."""
        if self.prior is None:
            return self.value
        import numpyro.distributions as dist

        p = self.params
        return {"lognormal": lambda: dist.LogNormal(p[0], p[1]),
                "gamma": lambda: dist.Gamma(p[0], p[1]),
                "halfnormal": lambda: dist.HalfNormal(p[0]),
                "exponential": lambda: dist.Exponential(p[0])}[self.prior]()


def _set(obj, name, value):
    object.__setattr__(obj, name, value)


def _nonempty_name(obj, names):
    for name in names:
        value = getattr(obj, name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{_flag(name)}: expected a non-empty name, got {value!r}")


def _number_text(value: float) -> str:
    """A float as the shortest text that reads back to it, without a trailing ``.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def parse_expert(text) -> tuple[str, float | None]:
    """``(kind, parameter)`` of an ``expert`` setting: ``"optimal"``, ``"boltzmann"`` (the
    model's β: parameter None), ``"boltzmann:B"`` (B > 0) or ``"noisy:EPS"`` (0 <= EPS <= 1).

    Raises:
        ConfigError: another form (names ``--expert``).
    """
    if not isinstance(text, str):
        raise ConfigError(f"--expert: expected optimal, boltzmann[:BETA] or noisy:EPS, got "
                          f"{text!r}")
    kind, sep, arg = text.strip().partition(":")
    if kind not in EXPERTS or (kind == "optimal" and sep) or (kind == "noisy" and not arg) or (
            sep and not arg):
        raise ConfigError(f"--expert: expected optimal, boltzmann[:BETA] or noisy:EPS, got "
                          f"{text!r}")
    if not arg:
        return kind, None
    try:
        value = float(arg)
    except ValueError:
        raise ConfigError(f"--expert: expected a number after '{kind}:', got {arg!r}") from None
    if kind == "boltzmann":
        return kind, _number(value, "--expert", low=0.0, low_open=True, high=BETA_MAX)
    return kind, _number(value, "--expert", low=0.0, high=1.0)


@dataclass(frozen=True)
class WorldSpec:
    """Where the evidence comes from: a built-in environment with simulated evidence (``env``),
    files over an MDP (``mdp`` with ``demos`` and/or ``preferences``), trajectory features
    without an MDP (``trajectories`` with ``preferences`` over its rows and/or ``demos_ids``),
    or choices among options with features (``choices``, optionally ``group_by`` a person).

    Attributes:
        env: built-in environment, or None.
        grid_size: gridworld H×W (``env="gridworld"`` only).
        num_features: colour features F of the gridworld.
        discount: γ (None: the environment's default; ``env`` only).
        mdp: MDP file, or None.
        demos: demonstrations file (with ``mdp``), or None.
        preferences: preferences file, or None.
        trajectories: a trajectories ``.npz`` (:mod:`bayesirl.data.trajectories`), or None.
        demos_ids: rows of ``trajectories`` that are demonstrations, or None.
        background_ids: rows of ``trajectories`` that are the sample-based MaxEnt background
            (default: every row not in ``demos_ids``), or None.
        num_demos: simulated demonstrations N (``env`` only).
        num_preferences: simulated comparisons P (``env`` only).
        data_seed: seed of the synthetic world and of the simulated evidence.
        choices: a choices file (JSON or CSV, :func:`bayesirl.data.choices.load_choices`):
            choice sets or rankings among options with features, no MDP; or None.
        group_by: the field of ``choices`` that says who chose (e.g. ``"person"``): each
            person then has reward weights of their own around the population's; None: one
            reward for everyone.
        expert: the simulated demonstrator (``env`` only; :func:`parse_expert`); None: the
            environment's default (:data:`DEFAULT_EXPERTS`: the Boltzmann demonstrator at the
            model's β for the gridworld, the optimal one for gymnasium environments);
            ``"boltzmann"`` is written out as ``"boltzmann:B"`` once the model is known.
        demos_npz: expert transitions of a continuous-state task (``.npz``, schema
            ``bayesirl.transitions/1``, :mod:`bayesirl.data.continuous`), or None.
        test_episodes: continuous-state worlds: held-out expert episodes for the test-set
            action log-probability (``env``: simulated besides ``num_demos``, default 5;
            ``demos_npz``: the file's last episodes, kept out of the fit, default 0).
        eval_episodes: continuous-state worlds with a known environment: rollouts of the
            learned policy (and of the expert and a random policy) that measure its return
            (default 10; 0: none).

    Raises:
        ConfigError: settings that do not go together or out of range (the flag named).
    """

    env: str | None = None
    grid_size: tuple[int, int] | None = None
    num_features: int | None = None
    discount: float | None = None
    mdp: str | None = None
    demos: str | None = None
    preferences: str | None = None
    trajectories: str | None = None
    demos_ids: tuple[int, ...] | None = None
    background_ids: tuple[int, ...] | None = None
    num_demos: int = 50
    num_preferences: int = 0
    data_seed: int = DEFAULT_DATA_SEED
    expert: str | None = None
    choices: str | None = None
    group_by: str | None = None
    demos_npz: str | None = None
    test_episodes: int | None = None
    eval_episodes: int | None = None

    def applicable(self) -> tuple[str, ...]:
        """Names of the settings that apply to this kind of world: those that are set, plus the
        simulated evidence's sizes and seed for a built-in environment."""
        simulated = ("num_demos", "num_preferences", "data_seed") if self.env else ()
        return tuple(f.name for f in dataclasses.fields(self)
                     if getattr(self, f.name) is not None
                     and (f.name in simulated or f.name not in ("num_demos", "num_preferences",
                                                                "data_seed")))

    def __post_init__(self):
        if self.kind == "continuous":
            self._check_continuous()
        elif self.test_episodes is not None or self.eval_episodes is not None:
            flag = "--test-episodes" if self.test_episodes is not None else "--eval-episodes"
            raise ConfigError(f"{flag} applies to continuous-state worlds (--env "
                              f"{'/'.join(CONTINUOUS_ENVS)}, or --demos-npz)")
        elif self.choices is not None:
            self._check_choices()
        elif self.group_by is not None:
            raise ConfigError("--group-by goes with --choices")
        elif self.trajectories is not None:
            self._check_trajectories()
        else:
            self._check_mdp_world()
        for name, low in (("num_demos", 0), ("num_preferences", 0), ("data_seed", 0)):
            _set(self, name, _number(getattr(self, name), _flag(name), low=low, integer=True,
                                     high=SEED_MAX if name == "data_seed" else COUNT_MAX))

    @property
    def kind(self) -> str:
        """``"continuous"``, ``"choices"``, ``"trajectories"`` (no MDP) or ``"mdp"``."""
        if self.demos_npz is not None or self.env in CONTINUOUS_ENVS:
            return "continuous"
        if self.choices is not None:
            return "choices"
        return "trajectories" if self.trajectories is not None else "mdp"

    @property
    def has_demonstrations(self) -> bool:
        """True when the world provides demonstrations."""
        return bool(self.demos) or bool(self.env and self.num_demos > 0) or (
            self.demos_ids is not None) or self.demos_npz is not None

    @property
    def has_preferences(self) -> bool:
        """True when the world provides preferences."""
        return bool(self.preferences) or bool(self.env and self.num_preferences > 0)

    def _check_mdp_world(self):
        if self.demos_ids is not None or self.background_ids is not None:
            raise ConfigError("--demos-ids/--background-ids go with --trajectories")
        if self.env and self.mdp:
            raise ConfigError("--env/--mdp: give either --env or --mdp, not both")
        if not self.env and not self.mdp:
            raise ConfigError("--env/--mdp: give --env, or --mdp with --demos and/or --preferences")
        if self.mdp and not (self.demos or self.preferences):
            raise ConfigError("--mdp needs --demos and/or --preferences")
        if self.env and self.demos:
            raise ConfigError("--demos goes with --mdp; with --env demonstrations are simulated "
                              "(--num-demos)")
        _nonempty_name(self, ("env", "mdp", "demos", "preferences"))
        gridworld = self.env == "gridworld"
        for name, default in (("grid_size", (5, 5)), ("num_features", 4)):
            if getattr(self, name) is not None and not gridworld:
                raise ConfigError(f"{_flag(name)} applies to --env gridworld only, got "
                                  f"{'--env ' + self.env if self.env else '--mdp'}")
            if getattr(self, name) is None and gridworld:
                _set(self, name, default)
        if self.discount is not None and not self.env:
            raise ConfigError("--discount applies to --env; an --mdp file holds its own γ")
        if gridworld:
            size = tuple(self.grid_size)
            if len(size) != 2:
                raise ConfigError(f"--grid-size: expected HEIGHTxWIDTH, got {self.grid_size!r}")
            _set(self, "grid_size", tuple(_number(v, "--grid-size", low=1, high=COUNT_MAX,
                                                  integer=True) for v in size))
            _set(self, "num_features", _number(self.num_features, "--num-features", low=1,
                                               high=COUNT_MAX, integer=True))
        _set(self, "discount", _number(self.discount, "--discount", low=0.0, high=1.0,
                                       high_open=True, none_ok=True))
        if self.discount is not None and np.float32(self.discount) >= 1:
            raise ConfigError(f"--discount: expected a number below 1 in float32 (at most "
                              f"{DISCOUNT_MAX_FLOAT32!r}), got {self.discount!r}, which "
                              "float32 rounds to 1")
        if self.expert is not None:
            if not self.env:
                raise ConfigError("--expert applies to --env (simulated demonstrations); "
                                  "demonstrations from files are what they are")
            kind, value = parse_expert(self.expert)
            _set(self, "expert", kind if value is None else f"{kind}:{_number_text(value)}")
        if not self.env:
            if self.num_preferences:
                raise ConfigError("--num-preferences needs --env (to label rollouts by the "
                                  "true return)")
            _set(self, "num_demos", 0)

    def _check_continuous(self):
        source = f"--env {self.env}" if self.env else "--demos-npz"
        if self.env and self.demos_npz is not None:
            raise ConfigError("--env/--demos-npz: give either --env (simulated expert "
                              "demonstrations) or --demos-npz (your own), not both")
        others = [f"--{n.replace('_', '-')}" for n in ("mdp", "demos", "preferences",
                                                       "trajectories", "choices")
                  if getattr(self, n) is not None]
        if others:
            raise ConfigError(f"{others[0]} does not apply to {source} (a continuous-state "
                              "world: expert transitions, no MDP)")
        for name in ("grid_size", "num_features", "demos_ids", "background_ids", "group_by"):
            if getattr(self, name) is not None:
                raise ConfigError(f"{_flag(name)} does not apply to {source} (a "
                                  "continuous-state world)")
        if self.num_preferences:
            raise ConfigError(f"--num-preferences does not apply to {source}: continuous-state "
                              "worlds learn from demonstrations only")
        _nonempty_name(self, ("demos_npz",))
        if self.expert is not None:
            if not self.env:
                raise ConfigError("--expert applies to --env (simulated demonstrations); "
                                  "demonstrations from files are what they are")
            kind, value = parse_expert(self.expert)
            if kind == "boltzmann" and value is None:
                raise ConfigError("--expert: a continuous-state expert's Boltzmann policy "
                                  "needs its inverse temperature on the expert's action "
                                  "scores: boltzmann:KAPPA, e.g. boltzmann:5")
            _set(self, "expert", kind if value is None else f"{kind}:{_number_text(value)}")
        elif self.env:
            _set(self, "expert", "optimal")
        _set(self, "discount", 0.95 if self.discount is None else _number(
            self.discount, "--discount", low=0.0, high=1.0, high_open=True))
        if self.env and _number(self.num_demos, "--num-demos", low=0, high=COUNT_MAX,
                                integer=True) < 1:
            raise ConfigError(f"--num-demos: {source} needs at least one simulated expert "
                              f"episode, got {self.num_demos}")
        test = 5 if self.env else 0
        _set(self, "test_episodes", _number(test if self.test_episodes is None
                                            else self.test_episodes, "--test-episodes", low=0,
                                            high=COUNT_MAX, integer=True))
        _set(self, "eval_episodes", _number(10 if self.eval_episodes is None
                                            else self.eval_episodes, "--eval-episodes", low=0,
                                            high=COUNT_MAX, integer=True))
        if not self.env:
            _set(self, "num_demos", 0)

    def _check_choices(self):
        others = [f"--{n}" for n in ("env", "mdp", "demos", "preferences", "trajectories")
                  if getattr(self, n)]
        if others:
            raise ConfigError(f"--choices: goes without an MDP or trajectories; drop "
                              f"{', '.join(others)}")
        for name in ("grid_size", "num_features", "discount", "expert", "demos_ids",
                     "background_ids"):
            if getattr(self, name) is not None:
                raise ConfigError(f"{_flag(name)} does not apply to --choices")
        _nonempty_name(self, ("choices", "group_by"))
        if self.num_preferences:
            raise ConfigError("--num-preferences needs --env (to label rollouts by the "
                              "true return)")
        _set(self, "num_demos", 0)

    def _check_trajectories(self):
        others = [f"--{n}" for n in ("env", "mdp", "demos") if getattr(self, n)]
        if others:
            raise ConfigError(f"--trajectories: goes without an MDP; drop {', '.join(others)} "
                              "(demonstrations are rows of the npz: --demos-ids)")
        for name in ("grid_size", "num_features", "discount", "expert"):
            if getattr(self, name) is not None:
                raise ConfigError(f"{_flag(name)} applies to --env, not --trajectories")
        _nonempty_name(self, ("trajectories", "preferences"))
        if self.preferences is None and self.demos_ids is None:
            raise ConfigError("--trajectories needs --preferences and/or --demos-ids")
        if self.background_ids is not None and self.demos_ids is None:
            raise ConfigError("--background-ids needs --demos-ids")
        for name in ("demos_ids", "background_ids"):
            ids = getattr(self, name)
            if ids is None:
                continue
            ids = (ids,) if isinstance(ids, int) else tuple(ids)
            if not ids:
                raise ConfigError(f"{_flag(name)}: expected at least one trajectory id, got none")
            _set(self, name, tuple(_number(i, _flag(name), low=0, high=COUNT_MAX, integer=True)
                                    for i in ids))
        if self.num_preferences:
            raise ConfigError("--num-preferences needs --env (to label rollouts by the "
                              "true return)")
        _set(self, "num_demos", 0)


@dataclass(frozen=True)
class ModelSpec:
    """The model: evidence sources (likelihoods), their rationality β's, the prior.

    Attributes:
        likelihood: evidence sources (names of :data:`bayesirl.likelihoods.registry.SOURCES`);
            None: the world's default (Boltzmann — or sample-MaxEnt without an MDP — with
            demonstrations, plus Bradley–Terry with preferences).
        betas: ``{source: BetaSpec}``; a key ``None`` in the given mapping applies to every
            source without its own.
        horizon: finite horizon T of the maxent likelihood (None: discounted).
        margin: indifference margin δ >= 0 of weak preferences (``--margin``; None: 1 when the
            preferences include 'equal' answers, else 0, resolved with the evidence).
        q: soft or hard Q of the Boltzmann demonstrator (None: soft, or hard with PolicyWalk).
        prior: prior over reward weights (None: gaussian; with PolicyWalk l2-sphere).
        prior_scale: scale of the Gaussian / Laplace prior.
        random_features: with ``group_by`` (choices of many people), the names of the features
            whose weights differ between people (None: all of them); the others are shared.
        person_scale: with ``group_by``, the scale of the HalfNormal prior on each population
            standard deviation of the varying weights (utility per feature unit); None: the
            same as ``prior_scale`` (people may differ by as much as the weights may be).
        hidden_units: continuous-state worlds: hidden units of the Q-network's one tanh layer
            (None: 8 for CartPole-v1, as Bajgar et al. 2024, else 16).

    Raises:
        ConfigError: out of range (the flag named).
    """

    likelihood: tuple[str, ...] | None = None
    betas: dict = field(default_factory=dict)
    horizon: int | None = None
    margin: float | None = None
    q: str | None = None
    prior: str | None = None
    prior_scale: float = 1.0
    random_features: tuple[str, ...] | None = None
    person_scale: float | None = None
    hidden_units: int | None = None

    def __post_init__(self):
        _set(self, "hidden_units", _number(self.hidden_units, "--hidden-units", low=1,
                                           high=COUNT_MAX, integer=True, none_ok=True))
        if self.likelihood is not None:
            names = (self.likelihood,) if isinstance(self.likelihood, str) else tuple(
                self.likelihood)
            _set(self, "likelihood", names)
        _set(self, "horizon", _number(self.horizon, "--horizon", low=1, high=COUNT_MAX, integer=True,
                                      none_ok=True))
        _set(self, "margin", _number(self.margin, "--margin", low=0.0, none_ok=True))
        _set(self, "prior_scale", _number(self.prior_scale, "--prior-scale", low=0.0,
                                          low_open=True))
        _set(self, "person_scale", _number(self.person_scale, "--person-scale", low=0.0,
                                           low_open=True, none_ok=True))
        if self.person_scale is not None:
            _float32(self.person_scale, "--person-scale")
        if self.random_features is not None:
            names = ((self.random_features,) if isinstance(self.random_features, str)
                     else tuple(self.random_features))
            if not names or not all(isinstance(n, str) and n.strip() for n in names):
                raise ConfigError(f"--random-features: expected a comma-separated list of "
                                  f"feature names, got {self.random_features!r}")
            if len(set(names)) != len(names):
                raise ConfigError(f"--random-features: a feature is repeated in "
                                  f"{','.join(names)!r}")
            _set(self, "random_features", names)
        for name, flag, choices in (("q", "--q", Q_KINDS), ("prior", "--prior", PRIORS)):
            value = getattr(self, name)
            if value is not None and value not in choices:
                raise ConfigError(f"{flag}: expected one of {', '.join(choices)}, got {value!r}")

    def model_betas(self) -> dict:
        """``{source: float or NumPyro distribution}`` for :func:`bayesirl.models.reward_model`."""
        return {src: spec.to_model() for src, spec in self.betas.items()}


@dataclass(frozen=True)
class InferenceSpec:
    """How to infer: the sampler and its run lengths (None: the sampler's defaults).

    Attributes:
        sampler: ``"auto"`` or a sampler of :data:`bayesirl.inference.samplers.SAMPLERS`.
        num_samples: kept draws per chain.
        num_warmup: warm-up iterations per chain.
        thinning: keep every ``thinning``-th draw.
        num_chains: C chains (MAP: random restarts).
        seed: seed of inference (chains, initial points, MAP restarts).
        method: continuous-state worlds: the fit, one of :data:`CONTINUOUS_METHODS` (None:
            :data:`DEFAULT_CONTINUOUS_METHOD`, set when the world is known).
        num_steps: continuous-state worlds: optimiser (Adam) steps of ``variational``,
            ``value-svi*`` and ``cloning`` (None: the method's default).

    Raises:
        ConfigError: an unknown sampler or method, counts out of range (the flag named).
    """

    sampler: str = "auto"
    num_samples: int | None = None
    num_warmup: int | None = None
    thinning: int | None = None
    num_chains: int | None = None
    seed: int = 0
    method: str | None = None
    num_steps: int | None = None

    def __post_init__(self):
        if self.method is not None and self.method not in CONTINUOUS_METHODS:
            raise ConfigError(f"--method: expected one of {', '.join(CONTINUOUS_METHODS)}, "
                              f"got {self.method!r}")
        _set(self, "num_steps", _number(self.num_steps, "--num-steps", low=1, high=COUNT_MAX,
                                        integer=True, none_ok=True))
        sampler = self.sampler
        for s in _REGISTRY.values():
            if sampler in s.aliases:
                sampler = s.name
        if sampler not in SAMPLERS:
            raise ConfigError(f"--sampler: expected one of {', '.join(SAMPLERS)}, got "
                              f"{self.sampler!r}")
        _set(self, "sampler", sampler)
        for name, low in (("num_samples", 1), ("num_warmup", 0), ("thinning", 1),
                          ("num_chains", 1)):
            _set(self, name, _number(getattr(self, name), _flag(name), low=low, high=COUNT_MAX,
                                     integer=True, none_ok=True))
        _set(self, "seed", _number(self.seed, "--seed", low=0, high=SEED_MAX, integer=True))
        if sampler != "auto":
            defaults = _REGISTRY[sampler].defaults
            for name in ("num_samples", "num_warmup", "thinning", "num_chains"):
                if getattr(self, name) is None:
                    _set(self, name, defaults[name])


_SPECS = {"world": WorldSpec, "model": ModelSpec, "inference": InferenceSpec}
#: Model settings of per-person weights (written to config.json only with ``group_by``).
PERSON_SETTINGS = ("random_features", "person_scale")
#: Model and inference settings of continuous-state worlds (written to config.json only when
#: set).
CONTINUOUS_SETTINGS = ("hidden_units", "method", "num_steps")
SPEC_FIELDS = {name: {f.name for f in dataclasses.fields(cls)} for name, cls in _SPECS.items()}
#: Flat names of earlier releases.
RENAMED_SETTINGS = {"delta": "margin"}


class RunConfig:
    """Every setting of one ``bayesirl fit`` run: ``RunConfig(world, model, inference)``,
    validated and completed on construction (also from flat fields, see the module docstring).

    Completed defaults: ``model.likelihood`` (from the world's evidence), ``model.betas`` (one
    :class:`BetaSpec` per likelihood), and for an explicit sampler its run lengths and the
    settings it implies (PolicyWalk: hard Q, an L2-sphere prior). The sampler's requirements
    are checked against the model (:func:`bayesirl.inference.samplers.requirement_reasons`).

    Attributes:
        world: :class:`WorldSpec`.
        model: :class:`ModelSpec`.
        inference: :class:`InferenceSpec`.

    Raises:
        ConfigError: a setting out of range, unknown, or inconsistent with another (the
            message names the flag).
    """

    __slots__ = ("world", "model", "inference")

    def __init__(self, world: WorldSpec | None = None, model: ModelSpec | None = None,
                 inference: InferenceSpec | None = None, **flat):
        parts = {"world": {}, "model": {}, "inference": {}}
        for key, value in flat.items():
            key = RENAMED_SETTINGS.get(key, key)
            spec = next((s for s, names in SPEC_FIELDS.items() if key in names), None)
            if spec is None:
                raise ConfigError(f"config: unknown setting {key!r}")
            parts[spec][key] = value
        given = {"world": world, "model": model, "inference": inference}
        for spec, value in given.items():
            if value is not None and parts[spec]:
                raise ConfigError(f"config: give {spec} as a spec or as fields, not both")
        world = world or WorldSpec(**parts["world"])
        inference = inference or InferenceSpec(**parts["inference"])
        model = model or ModelSpec(**parts["model"])
        if world.kind == "continuous":
            model, inference = _complete_continuous(world, model, inference)
        else:
            _refuse_continuous_settings(model, inference)
            model = self._complete_model(world, model, inference)
            world = self._complete_world(world, model)
        object.__setattr__(self, "world", world)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "inference", inference)
        if inference.sampler != "auto":
            self._check_sampler()

    # ---- completion and checks --------------------------------------------------------------

    @staticmethod
    def _complete_model(world: WorldSpec, model: ModelSpec, inference: InferenceSpec):
        pw = inference.sampler == "policy-walk"
        changes = {}
        if model.prior is None:
            changes["prior"] = "l2-sphere" if pw else "gaussian"
        if model.q is None and inference.sampler != "auto":
            changes["q"] = "hard" if pw else "soft"
        likelihood = _resolve_likelihood(world, model.likelihood)
        changes["likelihood"] = likelihood
        prior = changes.get("prior", model.prior)
        changes["betas"] = _resolve_betas(model.betas, likelihood, prior)
        if model.horizon is not None and "maxent" not in likelihood:
            raise ConfigError("--horizon applies to --likelihood maxent only")
        if world.group_by is None:
            if model.random_features is not None:
                raise ConfigError("--random-features goes with --group-by (per-person weights)")
            if model.person_scale is not None:
                raise ConfigError("--person-scale goes with --group-by (per-person weights)")
        elif model.person_scale is None:
            changes["person_scale"] = model.prior_scale
        return dataclasses.replace(model, **changes)

    @staticmethod
    def _complete_world(world: WorldSpec, model: "ModelSpec") -> WorldSpec:
        """The simulated expert resolved against the model (None: the environment's default,
        :data:`DEFAULT_EXPERTS`): ``boltzmann`` becomes
        ``boltzmann:B`` with B the demonstration source's fixed β (a learned β: its prior's
        mean); no expert is recorded when nothing is simulated."""
        if not world.env or world.num_demos == 0:
            return dataclasses.replace(world, expert=None) if world.expert else world
        expert = world.expert or DEFAULT_EXPERTS.get(world.env, DEFAULT_EXPERTS["*"])
        if expert == "boltzmann":
            demo_sources = required_sources(model.likelihood, "demonstrations")
            spec = model.betas.get(demo_sources[0]) if demo_sources else None
            beta = 1.0 if spec is None else spec.value if not spec.learned else float(
                spec.to_model().mean)
            expert = f"boltzmann:{_number_text(beta)}"
        return dataclasses.replace(world, expert=expert) if expert != world.expert else world

    def _check_sampler(self):
        name = self.inference.sampler
        sampler = _REGISTRY[name]
        reasons = requirement_reasons(
            sampler.requirements, sources=self.model.likelihood, prior=self.model.prior,
            q=self.model.q or "soft", learned_beta=any(b.learned for b in self.model.betas.values()),
            has_mdp=self.world.kind == "mdp")
        if reasons:
            flag = _FLAGS.get(reasons[0][0], "--sampler")
            if flag == "--trajectories" and self.world.kind == "choices":
                flag = "--choices"
            raise ConfigError(f"{flag}: --sampler {name} cannot sample this posterior: "
                              f"{'; '.join(phrase for _, phrase in reasons)}")
        if self.world.group_by is not None and name in ("map", "laplace", "laplace-imh"):
            raise ConfigError(f"--sampler: {name} is not offered with --group-by: the joint mode "
                              "of a hierarchical model lies away from its posterior mass (the "
                              "person scales come out far too large); use nuts (the default) "
                              "or svi as the fast option")
        if name == "policy-walk" and self.inference.num_warmup < 4:
            raise ConfigError(f"--num-warmup: --sampler policy-walk adapts its proposal during "
                              f"warm-up: expected >= 4, got {self.inference.num_warmup}")

    # ---- flat access ------------------------------------------------------------------------

    def __getattr__(self, name):
        name = RENAMED_SETTINGS.get(name, name)
        for spec, names in SPEC_FIELDS.items():
            if name in names:
                return getattr(object.__getattribute__(self, spec), name)
        raise AttributeError(f"RunConfig has no setting {name!r}")

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __eq__(self, other):
        return isinstance(other, RunConfig) and (self.world, self.model, self.inference) == (
            other.world, other.model, other.inference)

    def __hash__(self):
        return hash((self.world, self.model.likelihood, self.inference))

    def __repr__(self):
        return f"RunConfig(world={self.world!r}, model={self.model!r}, inference={self.inference!r})"

    def replace(self, **flat) -> "RunConfig":
        """A new config with some flat fields changed (validated again)."""
        parts = {spec: {} for spec in _SPECS}
        for key, value in flat.items():
            key = RENAMED_SETTINGS.get(key, key)
            spec = next((s for s, names in SPEC_FIELDS.items() if key in names), None)
            if spec is None:
                raise ConfigError(f"config: unknown setting {key!r}")
            parts[spec][key] = value
        if parts["model"] and "expert" not in parts["world"] and self.world.expert and (
                self.world.expert == self._complete_world(
                    dataclasses.replace(self.world, expert=None), self.model).expert):
            parts["world"]["expert"] = None  # the default expert follows the new model's β
        if ("prior_scale" in parts["model"] and "person_scale" not in parts["model"]
                and self.model.person_scale == self.model.prior_scale):
            parts["model"]["person_scale"] = None  # the default follows the new prior scale
        return RunConfig(
            world=dataclasses.replace(self.world, **parts["world"]),
            model=dataclasses.replace(self.model, **parts["model"]),
            inference=dataclasses.replace(self.inference, **parts["inference"]))

    def with_sampler(self, sampler: str, q: str | None = None) -> "RunConfig":
        """The config with ``sampler="auto"`` resolved to ``sampler`` (and the Q kind it
        implies); the run lengths left unset become the sampler's defaults."""
        model = self.model if q is None else dataclasses.replace(self.model, q=q)
        inference = dataclasses.replace(self.inference, sampler=sampler)
        return RunConfig(world=self.world, model=model, inference=inference)

    def model_betas(self) -> dict:
        """``{source: float or NumPyro distribution}`` for :func:`bayesirl.models.reward_model`."""
        return self.model.model_betas()

    # ---- serialisation ----------------------------------------------------------------------

    def to_json(self) -> dict:
        """A JSON-ready dict with ``"format": CONFIG_FORMAT`` and one object per spec."""
        doc = {"format": CONFIG_FORMAT}
        for spec in _SPECS:
            obj = getattr(self, spec)
            part = {}
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                if spec == "world" and f.name not in obj.applicable():
                    continue  # settings of another kind of world are not written
                if spec == "model" and f.name in PERSON_SETTINGS and self.world.group_by is None:
                    continue  # per-person settings are written for grouped choices only
                if f.name in CONTINUOUS_SETTINGS and value is None:
                    continue  # settings of continuous-state worlds are written for those only
                if f.name == "betas":
                    value = {src: b.to_json() for src, b in value.items()}
                elif isinstance(value, tuple):
                    value = list(value)
                part[f.name] = value
            doc[spec] = part
        return doc

    def flat_json(self) -> dict:
        """Every setting in one flat dict (for summaries)."""
        doc = self.to_json()
        return {k: v for spec in _SPECS for k, v in doc[spec].items()}

    @classmethod
    def from_json(cls, doc: dict) -> "RunConfig":
        """Rebuild a config written by :meth:`to_json` (validated again); a flat
        ``bayesirl.run-config/1`` document of earlier releases loads too.

        Raises:
            ConfigError: another format or version, unknown fields, invalid settings.
        """
        fmt = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        if fmt in LEGACY_CONFIG_FORMATS:
            return cls._from_flat_doc(doc)
        if fmt != CONFIG_FORMAT:
            raise ConfigError(f"config: expected format {CONFIG_FORMAT!r}, got {fmt!r}")
        unknown = set(doc) - set(_SPECS) - {"format"}
        if unknown:
            raise ConfigError(f"config: unknown settings {sorted(unknown)}")
        specs = {}
        for spec, cls_ in _SPECS.items():
            part = dict(doc.get(spec) or {})
            bad = set(part) - SPEC_FIELDS[spec]
            if bad:
                raise ConfigError(f"config: unknown {spec} settings {sorted(bad)}")
            if spec == "world" and part.get("env") and "expert" not in part:
                part["expert"] = LEGACY_EXPERT  # written before the setting existed
            specs[spec] = cls_(**_from_json_values(part))
        return cls(**specs)

    @classmethod
    def _from_flat_doc(cls, doc: dict) -> "RunConfig":
        names = set().union(*SPEC_FIELDS.values()) | set(RENAMED_SETTINGS)
        unknown = set(doc) - names - {"format"}
        if unknown:
            raise ConfigError(f"config: unknown settings {sorted(unknown)}")
        kwargs = _from_json_values({k: v for k, v in doc.items() if k != "format"})
        if kwargs.get("env") != "gridworld" and kwargs.get("env"):
            kwargs.pop("grid_size", None)  # earlier releases saved gridworld settings everywhere
            kwargs.pop("num_features", None)
        if kwargs.get("mdp") or kwargs.get("trajectories"):
            for name in ("grid_size", "num_features", "discount"):
                kwargs.pop(name, None)
        if kwargs.get("env"):
            kwargs.setdefault("expert", LEGACY_EXPERT)
        return cls(**kwargs)

    @classmethod
    def from_legacy_settings(cls, settings: dict) -> "RunConfig":
        """Rebuild the config of a run folder written before ``config.json`` existed, from the
        ``"settings"`` of its ``summary.json`` (the seed then also seeded the data)."""
        names = set().union(*SPEC_FIELDS.values())
        kwargs = {k: v for k, v in settings.items() if k in names and k != "betas"}
        kwargs["margin"] = settings.get("delta")
        kwargs["data_seed"] = settings.get("seed", 0)
        if settings.get("num_demos") is None:
            kwargs.pop("num_demos", None)
        if kwargs.get("likelihood") is not None:
            kwargs["likelihood"] = tuple(kwargs["likelihood"])
        if kwargs.get("env") != "gridworld":
            kwargs.pop("grid_size", None)
            kwargs.pop("num_features", None)
        if not kwargs.get("env"):
            kwargs.pop("discount", None)
        else:
            kwargs["expert"] = LEGACY_EXPERT
        kwargs["betas"] = {k: BetaSpec.coerce(v) for k, v in (settings.get("betas") or {}).items()}
        return cls(**kwargs)


def _from_json_values(part: dict) -> dict:
    part = {RENAMED_SETTINGS.get(k, k): v for k, v in part.items()}
    if "betas" in part:
        part["betas"] = {k: BetaSpec.coerce(v) for k, v in (part.get("betas") or {}).items()}
    for name in ("likelihood", "grid_size", "demos_ids", "background_ids", "random_features"):
        if part.get(name) is not None:
            part[name] = tuple(part[name])
    return part


#: The flag of each model argument a sampler requirement names.
_FLAGS = {"mdp": "--trajectories", "likelihoods": "--likelihood", "prior": "--prior", "q": "--q",
          "beta": "--beta"}


def _resolve_likelihood(world: WorldSpec, names) -> tuple[str, ...]:
    has_demos, has_prefs = world.has_demonstrations, world.has_preferences
    allowed = source_names(world.kind)
    if names is None and world.kind == "choices":
        names = required_sources(allowed, "choices")
    if names is None:
        demo_source = "sample-maxent" if world.kind == "trajectories" else "boltzmann"
        names = ((demo_source,) if has_demos else ()) + (("bradley-terry",) if has_prefs else ())
    bad = [n for n in names if n not in allowed]
    if bad:
        run = {"trajectories": " for --trajectories", "choices": " for --choices"}.get(
            world.kind, "")
        raise ConfigError(f"--likelihood: expected a comma-separated list of "
                          f"{', '.join(allowed)}{run}, got {','.join(map(str, names))!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--likelihood: a likelihood is repeated in {','.join(names)!r}")
    if not names:
        raise ConfigError("--num-demos/--num-preferences: no evidence: give demonstrations "
                          "(--num-demos > 0 or --demos) or preferences (--num-preferences "
                          "> 0 or --preferences)")
    needs_demos = required_sources(names, "demonstrations")
    if needs_demos and not has_demos:
        raise ConfigError(f"--likelihood {','.join(sorted(needs_demos))} needs "
                          "demonstrations (--num-demos > 0 or --demos)")
    needs_prefs = required_sources(names, "preferences")
    if needs_prefs and not has_prefs:
        raise ConfigError(f"--likelihood {','.join(sorted(needs_prefs))} needs preferences "
                          "(--num-preferences > 0 or --preferences)")
    return names


def _resolve_betas(given, likelihood, prior) -> dict:
    given = dict(given or {})
    for source in given:
        if source is not None and source not in likelihood:
            raise ConfigError(f"--beta {source}=...: {source} is not among --likelihood "
                              f"{','.join(likelihood)}")
    default = BetaSpec.coerce(given.get(None, 1.0))
    betas = {src: BetaSpec.coerce(given[src]) if src in given else default for src in likelihood}
    learned = [s for s, b in betas.items() if b.learned]
    if learned and len(learned) == len(likelihood) and prior not in SPHERE_PRIORS:
        raise ConfigError("--beta: a prior on β needs --prior l1-sphere or l2-sphere "
                          "(the likelihood depends on β·w only)")
    return betas


#: Inference settings a continuous-state fit may read (the others are refused).
_CONTINUOUS_INFERENCE = ("num_samples", "num_warmup", "num_chains", "num_steps")


def _refuse_continuous_settings(model: ModelSpec, inference: InferenceSpec) -> None:
    """ConfigError when a setting of continuous-state worlds is given for another world."""
    for name, value in (("method", inference.method), ("num_steps", inference.num_steps),
                        ("hidden_units", model.hidden_units)):
        if value is not None:
            raise ConfigError(f"{_flag(name)} applies to continuous-state worlds (--env "
                              f"{'/'.join(CONTINUOUS_ENVS)}, or --demos-npz)")


def _complete_continuous(world: WorldSpec, model: ModelSpec, inference: InferenceSpec):
    """The model and inference settings of a continuous-state world, checked and completed:
    the fit (``method``), β (fixed; default 3, Bajgar et al. 2024), soft or hard state value
    (``q``), the reward prior's scale σ_r (``prior_scale``), the Q-network's width; settings
    that do not apply are refused naming their flag."""
    source = f"--env {world.env}" if world.env else "--demos-npz"
    method = inference.method or DEFAULT_CONTINUOUS_METHOD
    for name in ("likelihood", "horizon", "margin", "prior", "random_features",
                 "person_scale"):
        if getattr(model, name) is not None:
            raise ConfigError(f"{_flag(name)} does not apply to {source}: a continuous-state "
                              "fit has the Boltzmann likelihood of the expert's actions and a "
                              "Normal(0, σ²) prior on the implied rewards (σ: --prior-scale)")
    if inference.sampler != "auto":
        raise ConfigError(f"--sampler does not apply to {source}; choose the fit with --method "
                          f"({', '.join(CONTINUOUS_METHODS)})")
    if inference.thinning is not None:
        raise ConfigError(f"--thinning does not apply to {source}")
    for name in _CONTINUOUS_INFERENCE:
        if getattr(inference, name) is not None and name not in CONTINUOUS_METHODS[method]:
            users = [m for m, names in CONTINUOUS_METHODS.items() if name in names]
            raise ConfigError(f"{_flag(name)} does not apply to --method {method}; it goes "
                              f"with --method {' or '.join(users)}")
    given = dict(model.betas or {})
    bad = [k for k in given if k not in (None, "boltzmann")]
    if bad:
        raise ConfigError(f"--beta {bad[0]}=...: {source} has one likelihood, the expert's "
                          "actions (boltzmann)")
    beta = BetaSpec.coerce(given.get("boltzmann", given.get(None, 3.0)))
    if beta.learned:
        raise ConfigError(f"--beta: {source} takes a fixed β (e.g. --beta 3), got {beta}")
    if method == "cloning":
        for name, unused in (("beta", bool(given)), ("q", model.q is not None),
                             ("prior_scale", model.prior_scale != 1.0),
                             ("discount", world.discount != 0.95)):
            if unused:
                raise ConfigError(f"{_flag(name)} does not apply to --method cloning: "
                                  "behavioural cloning fits a policy, not a reward")
    width = model.hidden_units or (8 if world.env == "CartPole-v1" else 16)
    if method == "cloning":
        model = dataclasses.replace(model, betas={}, hidden_units=width)
    else:
        model = dataclasses.replace(model, betas={"boltzmann": beta}, q=model.q or "soft",
                                    hidden_units=width)
    lengths = {name: default if getattr(inference, name) is None else getattr(inference, name)
               for name, default in CONTINUOUS_METHODS[method].items()}
    return model, dataclasses.replace(inference, method=method, **lengths)
