"""Every public name is exported, importable, documented, and array arguments name their shapes.

Every public module of the package (no ``_private`` path component) is imported and each name
of its ``__all__`` is fetched; each public function and class must have a docstring, and a
function or class whose signature takes arrays (annotated ``Array``/``ArrayLike``) must state
shapes in the vocabulary of :mod:`bayesirl._typing` (e.g. ``(S, A)``, ``(M, F)``) or say
"shape".
"""

import importlib
import inspect
import pkgutil
import re

import pytest

import bayesirl

#: Optional dependencies whose absence may make a module unimportable.
OPTIONAL = ("gymnasium", "matplotlib", "equinox", "optax")
#: A shape in the docstring: "(S, A)", "(M,)", "(N, T)", "(...)", "()" or the word "shape".
SHAPE = re.compile(r"\((?:\)|\.\.\.|…|[SAKFDTNMCPRBWd](?:[ ,)]|\w*,))|shape|scalar")


def _public_modules():
    names = ["bayesirl"]
    for info in pkgutil.walk_packages(bayesirl.__path__, "bayesirl."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as err:  # an optional dependency missing
        if any(dep in str(err) for dep in OPTIONAL):
            pytest.skip(f"{name}: {err}")
        raise


def _public_objects():
    for name in _public_modules():
        module = _import(name)
        for attr in getattr(module, "__all__", ()):
            yield module, attr, getattr(module, attr)


def _takes_arrays(obj) -> bool:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return any("Array" in str(p.annotation) for p in sig.parameters.values())


def test_every_public_module_exports_names_that_exist():
    for name in _public_modules():
        module = _import(name)
        missing = [a for a in getattr(module, "__all__", ()) if not hasattr(module, a)]
        assert not missing, f"{name}.__all__ names missing attributes: {missing}"


def test_public_functions_and_classes_have_docstrings():
    undocumented = [f"{m.__name__}.{a}" for m, a, obj in _public_objects()
                    if (inspect.isfunction(obj) or inspect.isclass(obj))
                    and not inspect.getdoc(obj)]
    assert undocumented == []


def test_functions_taking_arrays_state_their_shapes():
    shapeless = [f"{m.__name__}.{a}" for m, a, obj in _public_objects()
                 if (inspect.isfunction(obj) or inspect.isclass(obj)) and _takes_arrays(obj)
                 and not SHAPE.search(inspect.getdoc(obj) or "")]
    assert shapeless == []


def test_top_level_names_are_importable():
    for name in bayesirl.__all__:
        assert getattr(bayesirl, name) is not None
