"""Sphinx configuration of the bayesirl documentation (no network access needed).

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
The API reference is generated from the package: :func:`write_api_stubs` writes one page per
public module of :mod:`bayesirl` into ``docs/_autosummary/`` (found with ``pkgutil``, by module
name) and ``autodoc`` documents the names in each module's ``__all__``. Packages only list their
modules, so each name is documented once, at the module that defines it. (Sphinx's own
``autosummary :recursive:`` resolves a name by attribute, so a module that shares its name with
a function its package re-exports — ``bayesirl.solvers.value_iteration`` — would get the
function's page instead of the module's.)
"""

import importlib
import inspect
import os
import pathlib
import pkgutil
import sys

from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

project = "bayesirl"
author = "the bayesirl developers"
copyright = "2025, the bayesirl developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "results/*.json", "Thumbs.db", ".DS_Store"]
html_theme = "alabaster"
html_title = "bayesirl"

autodoc_default_options = {"show-inheritance": True}  # members: module pages only (stubs)
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports = ["gymnasium"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # NamedTuple "Attributes:" as fields, not duplicate attribute entries
myst_heading_anchors = 3
# Docstrings write shapes like (S, A) and refer to names by short paths; an unresolved
# cross-reference is not a build error, an undocumented public name is (tests/test_docs.py).
nitpicky = False
suppress_warnings = ["myst.header"]

API_DIR = pathlib.Path(__file__).resolve().parent / "_autosummary"


def public_modules(package="bayesirl"):
    """Names of ``package`` and of its public modules (no ``_private`` part), sorted."""
    root = __import__(package)
    names = [package] + [info.name for info in pkgutil.walk_packages(root.__path__, package + ".")
                         if not any(part.startswith("_") for part in info.name.split("."))]
    return sorted(names)


def attribute_docs(module_name):
    """``{name: lines}`` of the ``#:`` comments on the module-level assignments of a module."""
    try:
        docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
    except PycodeError:
        return {}
    return {name: list(lines) for (namespace, name), lines in docs.items() if not namespace}


def undocumented_data(module_name):
    """``{name: lines}`` for the data in the module's ``__all__`` that ``automodule
    :members:`` skips (no ``#:`` comment in this module, e.g. a constant re-exported from a
    private module), with the ``#:`` comment of a bayesirl module holding the same value."""
    module = importlib.import_module(module_name)
    own = attribute_docs(module_name)
    found = {}
    for name in getattr(module, "__all__", ()):
        value = getattr(module, name, None)
        if name in own or callable(value) or inspect.ismodule(value):
            continue
        found[name] = []
        for other in [m for m in sys.modules if m.split(".")[0] == "bayesirl"]:
            if other != module_name and getattr(sys.modules[other], name, None) is value:
                found[name] = found[name] or attribute_docs(other).get(name, [])
    return found


def module_stub(name, modules):
    """The reST page of module ``name``: its docstring and ``__all__`` (a module), or its
    docstring and the list of its modules (a package, whose re-exports are documented where
    they are defined)."""
    children = [m for m in modules if m.rpartition(".")[0] == name]
    lines = [name, "=" * len(name), "", f".. automodule:: {name}"]
    if children:
        lines += ["", ".. rubric:: Modules", "", ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {child}" for child in children]
        return "\n".join(lines) + "\n"
    lines += ["   :members:", ""]
    for data, doc in undocumented_data(name).items():
        lines += [f".. autodata:: {name}.{data}", ""] + [f"   {line}".rstrip() for line in doc] + [""]
    return "\n".join(lines) + "\n"


def write_api_stubs(app=None):
    """Write ``_autosummary/<module>.rst`` for every public module; files whose text is
    unchanged are left alone (incremental builds), pages of removed modules are deleted."""
    modules = public_modules()
    API_DIR.mkdir(exist_ok=True)
    wanted = {f"{name}.rst": module_stub(name, modules) for name in modules}
    for path in API_DIR.glob("*.rst"):
        if path.name not in wanted:
            path.unlink()
    for filename, text in wanted.items():
        path = API_DIR / filename
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)


def setup(app):
    app.connect("builder-inited", write_api_stubs)
