"""Sphinx configuration of the bayesirl documentation (no network access needed).

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
The API reference is generated from the package: ``autosummary`` walks every public module
of :mod:`bayesirl` and ``autodoc`` documents the names in each module's ``__all__``.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

project = "bayesirl"
author = "the bayesirl developers"
copyright = "2025, the bayesirl developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "results/*.json", "Thumbs.db", ".DS_Store"]
html_static_path = ["_static"]
html_theme = "alabaster"
html_title = "bayesirl"

autosummary_generate = True
autosummary_ignore_module_all = True  # list every submodule; autodoc still follows __all__
autodoc_default_options = {"show-inheritance": True}  # members: module pages only (template)
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
suppress_warnings = ["myst.header", "autosummary.import_cycle"]
