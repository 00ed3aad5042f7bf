"""Every public name is exported, documented, and importable from the top level."""

import inspect

import bayesirl
import bayesirl.data.envs
import bayesirl.inference



def test_all_names_exist_and_have_docstrings():
    for module in (bayesirl, bayesirl.data.envs, bayesirl.inference):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert inspect.getdoc(obj), f"{module.__name__}.{name} has no docstring"
