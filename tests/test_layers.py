"""The package's import graph (read with ``ast``, nothing imported): no import cycle between
modules and no private name (``_x``) imported from another module of the package.

A package's ``__init__`` re-exporting its modules is not a cycle; a private helper *module*
(``bayesirl._validate``) is meant to be shared, a private *name* is not.
"""

import ast
import pathlib

import bayesirl

ROOT = pathlib.Path(bayesirl.__file__).parent


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = ("bayesirl",) + path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        mods[name] = path
    return mods


def _imports(mods):
    """(module -> set of imported package modules, list of private cross-module imports)."""
    graph, private = {m: set() for m in mods}, []
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = mod.split(".")
                    parts = parts[: len(parts) - node.level + (1 if is_pkg else 0)]
                    base = ".".join(parts + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.append((full if full in mods else base, alias.name))
            elif isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            for target, name in targets:
                if target not in mods or target == mod or mod.startswith(target + "."):
                    continue
                graph[mod].add(target)
                if (name and name.startswith("_") and not name.startswith("__")
                        and not target.endswith("." + name) and not is_pkg):
                    private.append(f"{mod} imports {target}.{name}")
    return graph, private


def _cycles(graph, nodes):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root] & nodes)))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph[child] & nodes))))
                elif child in on:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    sccs.append(sorted(comp))
    return sccs


def test_no_import_cycle_between_modules():
    mods = _modules()
    graph, _ = _imports(mods)
    nodes = {m for m, p in mods.items() if p.name != "__init__.py"}
    assert _cycles(graph, nodes) == []


def test_no_private_name_crosses_a_module_boundary():
    _, private = _imports(_modules())
    assert private == []


def test_the_checker_sees_a_cycle_and_a_private_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph, set(graph)) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}, {"a", "b"}) == []


DESIGN = ROOT.parent / "docs" / "design.md"


def _layer_table() -> dict[str, int]:
    """``{top-level package or module: layer}`` from the table of docs/design.md."""
    import re

    layers = {}
    for line in DESIGN.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            for name in re.findall(r"`([A-Za-z_]+)/?`", cells[1]):
                layers[name] = int(cells[0])
    return layers


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_design_layer_table_covers_every_package():
    layers = _layer_table()
    tops = {_top(m) for m in _modules() if m != "bayesirl"}
    assert tops - set(layers) == set(), "packages missing from docs/design.md's table"
    assert set(layers) - tops == set(), "names in docs/design.md's table that do not exist"


def test_imports_follow_the_design_layer_order():
    """A module imports only from its own layer and the layers below (docs/design.md)."""
    layers = _layer_table()
    graph, _ = _imports(_modules())
    upward = [f"{mod} (layer {layers[_top(mod)]}) imports {dst} (layer {layers[_top(dst)]})"
              for mod, targets in graph.items() if mod != "bayesirl"
              for dst in targets if dst != "bayesirl"
              and layers[_top(dst)] > layers[_top(mod)]]
    assert upward == []
