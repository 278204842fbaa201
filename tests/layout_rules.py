"""The repository's layout rules, as functions of a source tree (the real one, or a copy with a
planted violation: tests/test_layout.py shows each rule catching one).

The import graph: every .py file of nst_utils/, scripts/ and benchmarks/ is a node named like its
module (nst_utils/engine/pipeline.py -> nst_utils.engine.pipeline, a package's __init__.py -> the
package). Every import statement is an arrow, wherever it stands (inside a function too), relative
imports resolved; ``from package import name`` points at package.name if that is a module.
"""
import ast
from pathlib import Path

TREES = ("nst_utils", "scripts", "benchmarks")
#: The course's modules: what a learner reads. They reach nothing behind them.
COURSE = ["nst_utils." + name for name in ("config", "images", "costs", "vgg", "train", "plotting")]
#: What stands behind the course.
BEHIND = ["nst_utils." + name for name in ("engine", "fast", "grading", "feedforward")]


def module_name(root, path):
    parts = list(Path(path).relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(root):
    """{module name: (path, ast tree)} of every .py file in TREES under root."""
    found = {}
    for tree in TREES:
        for path in sorted((Path(root) / tree).rglob("*.py")):
            found[module_name(root, path)] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return found


def _imported(node, module, is_package, known):
    """Module names one import statement of `module` points at (those in `known` only)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            stem = ".".join(base + ([node.module] if node.module else []))
        else:
            stem = node.module
        targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
    reached = set()
    for target in targets:
        while target and target not in known:  # `import a.b.c` of a name inside a module
            target = target.rpartition(".")[0]
        if target:
            reached.add(target)
    return reached


def import_graph(root):
    """{module: set of modules it imports}, every import statement counted (see this module's doc)."""
    found = sources(root)
    graph = {}
    for module, (path, tree) in found.items():
        is_package = path.name == "__init__.py"
        graph[module] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module] |= _imported(node, module, is_package, found)
        graph[module].discard(module)
    return graph


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reached_from(graph, start):
    """Every module start reaches, following the arrows (start itself left out)."""
    seen, todo = set(), [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    seen.discard(start)
    return seen


def course_reaching_behind(graph):
    """{course module: sorted modules behind the course it reaches, directly or not}, non-empty only."""
    found = {}
    for module in COURSE:
        behind = sorted(m for m in reached_from(graph, module)
                        if any(m == b or m.startswith(b + ".") for b in BEHIND))
        if behind:
            found[module] = behind
    return found


def assignments(root, predicate):
    """[(module, name)] of module-level assignments `name = ...` for which predicate(name, value node)."""
    found = []
    for module, (_, tree) in sources(root).items():
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
            for target in targets:
                names = [t for t in ast.walk(target) if isinstance(t, ast.Name)]
                found += [(module, t.id) for t in names if predicate(t.id, node.value)]
    return sorted(found)


def calls(root, function_name):
    """Sorted modules that call a function of this name (``f(...)`` or ``x.f(...)``)."""
    found = set()
    for module, (_, tree) in sources(root).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if name == function_name:
                    found.add(module)
    return sorted(found)


def functions_raising(root, text):
    """Sorted (module, function) whose raise statements' messages contain text."""
    found = set()
    for module, (_, tree) in sources(root).items():
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, ast.Raise) and node.exc is not None and text in ast.unparse(node.exc):
                        found.add((module, function.name))
    return sorted(found)


def is_optimiser_list(name, value):
    return name == "OPTIMIZERS"


def is_minimum_side(name, value):
    return "MIN" in name and "SIDE" in name and isinstance(value, ast.Constant)
