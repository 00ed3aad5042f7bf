"""The evidence-source registry: every source is complete, and adding one touches its own file
and the registry's list only (the other modules read the registry, not the names)."""

import pathlib
import re

import pytest

from bayesirl.likelihoods.registry import (
    SOURCES,
    get_source,
    policy_sources,
    required_sources,
    source_names,
)

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "bayesirl"

#: Modules allowed to name a source as a string, and why: the registry (its list and the
#: former containers' keywords), the default evidence of a world (app/config), the convenience
#: wrappers named after their evidence (fit_demonstrations, fit_trajectories), and the samplers
#: written for one source (PolicyWalk and its Q*: Boltzmann demonstrations only).
ALLOWED = {
    "registry.py": "the registry",
    "config.py": "a world's default evidence",
    "fit.py": "fit_demonstrations / fit_evidence / fit_trajectories",
    "models.py": "build_evidence's keyword inputs",
    "misfit.py": "the misfit alarm's suggestions name the likelihoods a user can switch to",
    "travel.py": "a column of the Dutch train data set is called 'choice' (not the source)",
}
#: Sources every sampler layer may name: the Boltzmann demonstrator is the reference model of
#: PolicyWalk, the auto rule, SBC's default and the CLI's default likelihood.
REFERENCE_SOURCES = {"boltzmann"}


def _files_naming(name: str) -> set[str]:
    pattern = re.compile(rf"[\"']{re.escape(name)}[\"']")
    return {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
            if pattern.search(p.read_text())}


@pytest.mark.parametrize("name", sorted(set(SOURCES) - REFERENCE_SOURCES))
def test_a_source_name_appears_in_its_file_and_the_registry_only(name):
    own = get_source(name).build.__module__.replace("bayesirl.", "").replace(".", "/") + ".py"
    files = _files_naming(name)
    outside = {f for f in files
               if not f.startswith("likelihoods/") and pathlib.Path(f).name not in ALLOWED}
    assert outside == set(), f"{name!r} is named outside the registry's allowed modules"
    likelihood_files = {f for f in files if f.startswith("likelihoods/")}
    assert likelihood_files <= {"likelihoods/registry.py", own}
    # How many places a new source of this kind is named: its file, the registry, and at most
    # the three convenience modules.
    assert len(files) <= 2 + 3


def test_every_source_is_complete():
    for name, source in SOURCES.items():
        assert source.name == name
        assert source.requires in ("demonstrations", "preferences", "rankings", "choices")
        assert source.worlds and set(source.worlds) <= {"mdp", "trajectories", "choices"}
        assert callable(source.build) and callable(source.observe)
        assert source.description
        if source.observations is not None:
            assert source.replace_observations is not None
        if source.policy:
            assert source.needs_mdp and source.requires == "demonstrations"


def test_lookups():
    assert policy_sources(SOURCES) == ("boltzmann", "noisy-boltzmann", "maxent")
    assert required_sources(SOURCES, "preferences") == ("bradley-terry",)
    assert required_sources(SOURCES, "rankings") == ("plackett-luce",)
    assert required_sources(SOURCES, "choices") == ("choice",)
    assert source_names("choices") == ("choice",)
    assert set(source_names("trajectories")) == {"bradley-terry", "sample-maxent",
                                                 "plackett-luce"}
    assert set(source_names("mdp")) == {"boltzmann", "noisy-boltzmann", "maxent",
                                        "bradley-terry", "plackett-luce"}
    with pytest.raises(ValueError, match="likelihood: expected one of"):
        get_source("nope")
    with pytest.raises(ValueError, match="likelihood: expected one of"):
        policy_sources(["boltzmann", "nope"])
