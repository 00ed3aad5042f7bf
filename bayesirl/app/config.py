"""The run configuration: every setting of a fit, typed, validated once, versioned on disk.

A :class:`RunConfig` is what ``bayesirl fit`` builds from its arguments and what a notebook
builds by hand; :func:`bayesirl.app.fit.run_fit` runs it, and writes it to the run folder as
``config.json`` (:meth:`RunConfig.to_json`, schema :data:`CONFIG_FORMAT`), from which ``report``
and ``query`` read it back (:meth:`RunConfig.from_json`) without re-parsing CLI strings.

The rationality β of each evidence source is a :class:`BetaSpec` — a fixed number or a prior —
turned into what :func:`bayesirl.models.irl_model` takes by :meth:`BetaSpec.to_model`, the one
place that builds the NumPyro distribution.

Errors are :class:`ConfigError` (a ``ValueError``) whose one-line message starts with the
command-line flag of the setting (``--num-chains: ...``; the Python field is the flag without
dashes, ``-`` read as ``_``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from bayesirl.app.errors import UsageError
from bayesirl.inference import METHODS
from bayesirl.models import PRIORS, SOURCES
from bayesirl.trajectory_model import TRAJECTORY_SOURCES

__all__ = [
    "CONFIG_FORMAT",
    "BETA_PRIORS",
    "SPHERE_PRIORS",
    "Q_KINDS",
    "MH_DEFAULT_WARMUP",
    "MH_DEFAULT_THINNING",
    "NUTS_DEFAULT_WARMUP",
    "NUTS_DEFAULT_SAMPLES",
    "DEFAULT_SAMPLES",
    "DEFAULT_DATA_SEED",
    "SAMPLERS",
    "POLICY_WALK_DEFAULT_CHAINS",
    "ConfigError",
    "BetaSpec",
    "RunConfig",
]

#: Schema of ``config.json``; bump the number when a field changes meaning.
CONFIG_FORMAT = "bayesirl.run-config/1"
#: Priors on β: name → number of parameters (the NumPyro distribution's, in its order).
BETA_PRIORS = {"lognormal": 2, "gamma": 2, "halfnormal": 1, "exponential": 1}
#: Weight priors under which β can be learned (the likelihood depends on β·w only).
SPHERE_PRIORS = tuple(p for p in PRIORS if p.endswith("-sphere"))
#: Q-values of the Boltzmann demonstrator.
Q_KINDS = ("soft", "hard")
#: Random-walk MH needs O(F) more steps than NUTS per effective draw: its defaults.
MH_DEFAULT_WARMUP = 20_000
#: Default thinning of random-walk MH (every 150th draw is kept). On FrozenLake8x8 (64 one-hot
#: features, 50 demonstrations, 4 chains of 1000 kept draws; max R-hat / min bulk ESS):
#: thinning 30 gave 1.023 / 279; 100 gave 1.010 / 982; 120 gave 1.008 / 1182 (seed 0) and
#: ESS 1014 (seed 1); 150 gave 1.008 / 1271 (seed 1): the margin for >= 1000 (issue 10).
MH_DEFAULT_THINNING = 150
#: NUTS warm-up and kept draws per chain. On FrozenLake8x8 (64 features) NUTS draws are
#: nearly independent: 4 chains of 500 after 500 warm-up gave R-hat 1.008, bulk ESS 2749 and
#: tail ESS 1120 (1000 / 1000: R-hat 1.005, ESS 5566 / 2316, twice the time; issue 10).
NUTS_DEFAULT_WARMUP = 500
NUTS_DEFAULT_SAMPLES = 500
#: Kept draws per chain of the other samplers.
DEFAULT_SAMPLES = 1000
#: Seed of the synthetic world and evidence unless ``data_seed`` is given.
DEFAULT_DATA_SEED = 0
#: Samplers of ``--sampler``: :data:`bayesirl.inference.METHODS` plus ``"policy-walk"``, the
#: fast exact BIRL sampler (:func:`bayesirl.inference.fit_policy_walk.fit_policy_walk`: hard
#: Q, a sphere prior, a fixed β, Boltzmann demonstrations only; it implies ``--q hard`` and
#: ``--prior l2-sphere``).
SAMPLERS = METHODS + ("policy-walk",)
#: Default chains of ``policy-walk`` (4 for the others): its chains share one cache of optimal
#: policies and run as one batch, so 64 cost little more than 4 once the cache is warm.
POLICY_WALK_DEFAULT_CHAINS = 64


class ConfigError(UsageError):
    """An invalid setting; the message is one line and starts with the setting's flag."""


def _number(value, flag: str, *, low=None, high=None, low_open=False, high_open=False,
            integer=False, none_ok=False):
    """``value`` checked as a finite (integer) number in the given range; else ConfigError."""
    if value is None and none_ok:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            integer and not float(value).is_integer()) or not math.isfinite(value):
        raise ConfigError(f"{flag}: expected {kind}, got {value!r}")
    if (low is not None and (value < low or (low_open and value == low))) or (
            high is not None and (value > high or (high_open and value == high))):
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        rng = f"in {lo}, {hi}" if lo and hi else (f">{'' if low_open else '='} {low:g}" if lo
                                                  else f"<{'' if high_open else '='} {high:g}")
        raise ConfigError(f"{flag}: expected {kind} {rng}, got {value!r}")
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class BetaSpec:
    """The rationality β of one evidence source: fixed (``value``) or learned (``prior``).

    Attributes:
        value: β > 0 when fixed (inverse temperature, 1/reward units); None when learned.
        prior: one of :data:`BETA_PRIORS` when learned, else None.
        params: the prior's parameters (LogNormal(μ, σ), Gamma(shape, rate), HalfNormal(σ),
            Exponential(rate)).

    Raises:
        ConfigError: neither or both of value/prior, β <= 0, an unknown prior, the wrong
            number of parameters, non-finite parameters or scales <= 0.
    """

    value: float | None = 1.0
    prior: str | None = None
    params: tuple[float, ...] = ()

    def __post_init__(self):
        if (self.value is None) == (self.prior is None):
            raise ConfigError(f"--beta: give a fixed value or a prior, got {self!r}")
        if self.prior is None:
            object.__setattr__(self, "value", _number(self.value, "--beta", low=0.0,
                                                      low_open=True))
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
            return cls(value=float(text))
        except ValueError:
            pass
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
        """What :func:`bayesirl.models.irl_model` takes: the float, or the NumPyro prior."""
        if self.prior is None:
            return self.value
        import numpyro.distributions as dist

        p = self.params
        return {"lognormal": lambda: dist.LogNormal(p[0], p[1]),
                "gamma": lambda: dist.Gamma(p[0], p[1]),
                "halfnormal": lambda: dist.HalfNormal(p[0]),
                "exponential": lambda: dist.Exponential(p[0])}[self.prior]()


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one ``bayesirl fit`` run; validated and completed on construction.

    Evidence comes either from a built-in environment (``env``: demonstrations and/or
    preferences are simulated with ``data_seed``), from files (``mdp`` with ``demos`` and/or
    ``preferences``), or without an MDP from trajectory features (``trajectories`` with
    ``preferences`` over its rows and/or ``demos_ids``; likelihoods from
    :data:`bayesirl.trajectory_model.TRAJECTORY_SOURCES`, run by
    :func:`bayesirl.app.trajectory_fit.run_trajectory_fit`). Defaults that depend on other settings are filled in, so a constructed
    config is complete: ``likelihood`` (Boltzmann when there are demonstrations, plus
    Bradley–Terry with preferences), ``betas`` (one :class:`BetaSpec` per likelihood; a key
    ``None`` in the given mapping applies to every source without its own), ``num_samples``,
    ``num_warmup`` and ``thinning`` (by sampler: :data:`NUTS_DEFAULT_SAMPLES`,
    :data:`NUTS_DEFAULT_WARMUP`; :data:`MH_DEFAULT_WARMUP`, :data:`MH_DEFAULT_THINNING`). ``margin`` stays None ("1 when the preferences include
    'equal' answers, else 0") until the evidence is known; :func:`bayesirl.app.fit.run_fit`
    records the value it used.

    Attributes:
        env: built-in environment, or None.
        grid_size: gridworld H×W.
        num_features: number of colour features F of the gridworld.
        discount: γ (None: the environment's default).
        mdp: MDP file (path as given), or None.
        demos: demonstrations file (path as given), or None.
        preferences: preferences file (path as given), or None.
        trajectories: a trajectories ``.npz`` (:mod:`bayesirl.data.trajectories`), or None.
        demos_ids: rows of ``trajectories`` that are demonstrations, or None.
        background_ids: rows of ``trajectories`` that are the background of the sample-based
            MaxEnt likelihood (default: every row not in ``demos_ids``), or None.
        num_demos: simulated demonstrations N (``env`` only).
        num_preferences: simulated comparisons P (``env`` only).
        likelihood: evidence models, from :data:`bayesirl.models.SOURCES`.
        betas: ``{source: BetaSpec}``.
        horizon: finite horizon T of the maxent likelihood (None: discounted).
        margin: indifference margin δ >= 0 of weak preferences (``--delta``).
        q: soft or hard Q-values of the Boltzmann demonstrator (None: soft; policy-walk: hard).
        prior: prior over reward weights (None: gaussian; policy-walk: l2-sphere).
        prior_scale: scale of the prior over reward weights.
        sampler: inference method, from :data:`SAMPLERS`.
        num_samples: kept draws per chain (None: 500 for NUTS, 1000 otherwise).
        num_warmup: warm-up iterations per chain (None: 500 NUTS, 20000 MH, 1000 otherwise).
        thinning: keep every ``thinning``-th draw.
        num_chains: C chains (MAP: random restarts; None: 4, policy-walk
            :data:`POLICY_WALK_DEFAULT_CHAINS`).
        seed: seed of inference (chains, initial points, MAP restarts).
        data_seed: seed of the synthetic world and of the simulated evidence.

    Raises:
        ConfigError: any setting out of range or inconsistent with another (the message names
            the flag).
    """

    env: str | None = None
    grid_size: tuple[int, int] = (5, 5)
    num_features: int = 4
    discount: float | None = None
    mdp: str | None = None
    demos: str | None = None
    preferences: str | None = None
    trajectories: str | None = None
    demos_ids: tuple[int, ...] | None = None
    background_ids: tuple[int, ...] | None = None
    num_demos: int = 50
    num_preferences: int = 0
    likelihood: tuple[str, ...] | None = None
    betas: dict = field(default_factory=dict)
    horizon: int | None = None
    margin: float | None = None
    q: str | None = None
    prior: str | None = None
    prior_scale: float = 1.0
    sampler: str = "nuts"
    num_samples: int | None = None
    num_warmup: int | None = None
    thinning: int | None = None
    num_chains: int | None = None
    seed: int = 0
    data_seed: int = DEFAULT_DATA_SEED

    def __post_init__(self):
        pw = self.sampler == "policy-walk"
        for name, default in (("q", "hard" if pw else "soft"),
                              ("prior", "l2-sphere" if pw else "gaussian"),
                              ("num_chains", POLICY_WALK_DEFAULT_CHAINS if pw else 4)):
            if getattr(self, name) is None:
                self._set(name, default)
        if self.num_samples is None:
            self._set("num_samples", NUTS_DEFAULT_SAMPLES if self.sampler == "nuts"
                      else DEFAULT_SAMPLES)
        self._check_sources()
        self._check_numbers()
        likelihood = self._resolve_likelihood()
        self._set("likelihood", likelihood)
        self._set("betas", self._resolve_betas(likelihood))
        if self.horizon is not None and "maxent" not in likelihood:
            raise ConfigError("--horizon applies to --likelihood maxent only")
        mh = self.sampler == "mh"
        if self.num_warmup is None:
            self._set("num_warmup", MH_DEFAULT_WARMUP if mh else
                      NUTS_DEFAULT_WARMUP if self.sampler == "nuts" else 1000)
        if self.thinning is None:
            self._set("thinning", MH_DEFAULT_THINNING if mh else 1)
        _number(self.num_warmup, "--num-warmup", low=0, integer=True)
        _number(self.thinning, "--thinning", low=1, integer=True)
        if pw:
            self._check_policy_walk()

    def _check_policy_walk(self):
        """The settings ``--sampler policy-walk`` supports (else ConfigError)."""
        why = "samples the hard-Q BIRL posterior with a fixed β on a sphere"
        if self.trajectories is not None or self.likelihood != ("boltzmann",):
            raise ConfigError(f"--sampler policy-walk: {why}: needs Boltzmann demonstrations "
                              f"only (--likelihood boltzmann, an --env or --mdp), got "
                              f"--likelihood {','.join(self.likelihood)}")
        if self.q != "hard":
            raise ConfigError(f"--q: --sampler policy-walk {why}: expected hard (the default "
                              f"with it), got {self.q!r}")
        if self.prior not in SPHERE_PRIORS:
            raise ConfigError(f"--prior: --sampler policy-walk {why}: expected one of "
                              f"{', '.join(SPHERE_PRIORS)} (default l2-sphere), got {self.prior!r}")
        if self.betas["boltzmann"].learned:
            raise ConfigError(f"--beta: --sampler policy-walk {why}: expected a number, got a "
                              "prior (learn β with --sampler nuts or mh)")
        if self.num_warmup < 4:
            raise ConfigError(f"--num-warmup: --sampler policy-walk adapts its proposal during "
                              f"warm-up: expected >= 4, got {self.num_warmup}")

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    def _check_sources(self):
        if self.trajectories is not None:
            return self._check_trajectory_sources()
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
        for name in ("env", "mdp", "demos", "preferences"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"--{name}: expected a non-empty name, got {value!r}")
        if not self.env:
            if self.num_preferences:
                raise ConfigError("--num-preferences needs --env (to label rollouts by the "
                                  "true return)")
            self._set("num_demos", 0)

    def _check_trajectory_sources(self):
        others = [f"--{n}" for n in ("env", "mdp", "demos") if getattr(self, n)]
        if others:
            raise ConfigError(f"--trajectories: goes without an MDP; drop {', '.join(others)} "
                              "(demonstrations are rows of the npz: --demos-ids)")
        for name in ("trajectories", "preferences"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"--{name}: expected a non-empty name, got {value!r}")
        if self.preferences is None and self.demos_ids is None:
            raise ConfigError("--trajectories needs --preferences and/or --demos-ids")
        if self.background_ids is not None and self.demos_ids is None:
            raise ConfigError("--background-ids needs --demos-ids")
        for name in ("demos_ids", "background_ids"):
            ids = getattr(self, name)
            if ids is None:
                continue
            ids = (ids,) if isinstance(ids, int) else tuple(ids)
            flag = "--" + name.replace("_", "-")
            if not ids:
                raise ConfigError(f"{flag}: expected at least one trajectory id, got none")
            self._set(name, tuple(_number(i, flag, low=0, integer=True) for i in ids))
        if self.num_preferences:
            raise ConfigError("--num-preferences needs --env (to label rollouts by the "
                              "true return)")
        self._set("num_demos", 0)

    def _check_numbers(self):
        self._set("grid_size", tuple(self.grid_size))
        if len(self.grid_size) != 2:
            raise ConfigError(f"--grid-size: expected HEIGHTxWIDTH, got {self.grid_size!r}")
        self._set("grid_size", tuple(_number(v, "--grid-size", low=1, integer=True)
                                     for v in self.grid_size))
        for name, low in (("num_features", 1), ("num_demos", 0), ("num_preferences", 0),
                          ("num_samples", 1), ("num_chains", 1), ("seed", 0), ("data_seed", 0)):
            flag = "--" + name.replace("_", "-")
            self._set(name, _number(getattr(self, name), flag, low=low, integer=True))
        self._set("discount", _number(self.discount, "--discount", low=0.0, high=1.0,
                                      high_open=True, none_ok=True))
        self._set("horizon", _number(self.horizon, "--horizon", low=1, integer=True,
                                     none_ok=True))
        self._set("margin", _number(self.margin, "--delta", low=0.0, none_ok=True))
        self._set("prior_scale", _number(self.prior_scale, "--prior-scale", low=0.0,
                                         low_open=True))
        for name, flag, choices in (("q", "--q", Q_KINDS), ("prior", "--prior", PRIORS),
                                    ("sampler", "--sampler", SAMPLERS)):
            if getattr(self, name) not in choices:
                raise ConfigError(f"{flag}: expected one of {', '.join(choices)}, got "
                                  f"{getattr(self, name)!r}")

    def _resolve_likelihood(self) -> tuple[str, ...]:
        has_demos = bool(self.demos) or bool(self.env and self.num_demos > 0) or (
            self.demos_ids is not None)
        has_prefs = bool(self.preferences) or bool(self.env and self.num_preferences > 0)
        names = self.likelihood
        if names is None:
            demo_source = "sample-maxent" if self.trajectories else "boltzmann"
            names = ((demo_source,) if has_demos else ()) + (("bradley-terry",) if has_prefs
                                                             else ())
        names = (names,) if isinstance(names, str) else tuple(names)
        allowed = TRAJECTORY_SOURCES if self.trajectories else SOURCES
        bad = [n for n in names if n not in allowed]
        if bad:
            run = " for --trajectories" if self.trajectories else ""
            raise ConfigError(f"--likelihood: expected a comma-separated list of "
                              f"{', '.join(allowed)}{run}, got {','.join(map(str, names))!r}")
        if len(set(names)) != len(names):
            raise ConfigError(f"--likelihood: a likelihood is repeated in {','.join(names)!r}")
        if not names:
            raise ConfigError("--num-demos/--num-preferences: no evidence: give demonstrations "
                              "(--num-demos > 0 or --demos) or preferences (--num-preferences "
                              "> 0 or --preferences)")
        needs_demos = {"boltzmann", "maxent", "sample-maxent"} & set(names)
        if needs_demos and not has_demos:
            raise ConfigError(f"--likelihood {','.join(sorted(needs_demos))} needs "
                              "demonstrations (--num-demos > 0 or --demos)")
        if "bradley-terry" in names and not has_prefs:
            raise ConfigError("--likelihood bradley-terry needs preferences "
                              "(--num-preferences > 0 or --preferences)")
        return names

    def _resolve_betas(self, likelihood) -> dict:
        given = dict(self.betas or {})
        for source in given:
            if source is not None and source not in likelihood:
                raise ConfigError(f"--beta {source}=...: {source} is not among --likelihood "
                                  f"{','.join(likelihood)}")
        default = BetaSpec.coerce(given.get(None, 1.0))
        betas = {src: BetaSpec.coerce(given[src]) if src in given else default
                 for src in likelihood}
        learned = [s for s, b in betas.items() if b.learned]
        if learned and len(learned) == len(likelihood) and self.prior not in SPHERE_PRIORS:
            raise ConfigError("--beta: a prior on β needs --prior l1-sphere or l2-sphere "
                              "(the likelihood depends on β·w only)")
        return betas

    # ---- serialisation ------------------------------------------------------------------

    def to_json(self) -> dict:
        """A JSON-ready dict with ``"format": CONFIG_FORMAT``."""
        doc = {"format": CONFIG_FORMAT}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "betas":
                value = {src: spec.to_json() for src, spec in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            doc[f.name] = value
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> "RunConfig":
        """Rebuild a config written by :meth:`to_json` (validated again).

        Raises:
            ConfigError: another format or version, unknown fields, invalid settings.
        """
        if not isinstance(doc, dict) or doc.get("format") != CONFIG_FORMAT:
            got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise ConfigError(f"config: expected format {CONFIG_FORMAT!r}, got {got!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(doc) - names - {"format"}
        if unknown:
            raise ConfigError(f"config: unknown settings {sorted(unknown)}")
        kwargs = {k: v for k, v in doc.items() if k in names}
        kwargs["betas"] = {k: BetaSpec.coerce(v) for k, v in (kwargs.get("betas") or {}).items()}
        if kwargs.get("likelihood") is not None:
            kwargs["likelihood"] = tuple(kwargs["likelihood"])
        return cls(**kwargs)

    @classmethod
    def from_legacy_settings(cls, settings: dict) -> "RunConfig":
        """Rebuild the config of a run folder written before ``config.json`` existed, from the
        ``"settings"`` of its ``summary.json`` (the seed then also seeded the data)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in settings.items() if k in names and k != "betas"}
        kwargs["margin"] = settings.get("delta")
        kwargs["data_seed"] = settings.get("seed", 0)
        if settings.get("num_demos") is None:
            kwargs.pop("num_demos", None)
        if kwargs.get("likelihood") is not None:
            kwargs["likelihood"] = tuple(kwargs["likelihood"])
        kwargs["betas"] = {k: BetaSpec.coerce(v) for k, v in (settings.get("betas") or {}).items()}
        return cls(**kwargs)

    def model_betas(self) -> dict:
        """``{source: float or NumPyro distribution}`` for :func:`bayesirl.models.irl_model`."""
        return {src: spec.to_model() for src, spec in self.betas.items()}
