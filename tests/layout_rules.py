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


_PARSED = {}  # path -> (modification time, size, ast tree): each rule reads the same files


def sources(root):
    """{module name: (path, ast tree)} of every .py file in TREES under root."""
    found = {}
    for tree in TREES:
        for path in sorted((Path(root) / tree).rglob("*.py")):
            stat = path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            if _PARSED.get(path, (None,))[:2] != key:
                _PARSED[path] = (*key, ast.parse(path.read_text(encoding="utf-8")))
            found[module_name(root, path)] = (path, _PARSED[path][2])
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


def _imported_names(module, is_package, tree):
    """{name bound by an import statement of module: the module or object it names, fully qualified}."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                    alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            stem = node.module
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                stem = ".".join(base[:len(base) - (node.level - 1)] + ([node.module] if node.module else []))
            for alias in node.names:
                names[alias.asname or alias.name] = f"{stem}.{alias.name}"
    return names


def _target(call, module, names, defined):
    """The fully qualified name a call refers to (f(...), a.f(...), a.b.f(...)), or None."""
    parts, func = [], call.func
    while isinstance(func, ast.Attribute):
        parts.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    head = names.get(func.id) or (f"{module}.{func.id}" if func.id in defined else None)
    return ".".join([head] + parts) if head else None


def _is_gram_product(call):
    """A matmul of a matrix with itself: matmul(a, a, transpose_a=True) or matmul(a, transpose(a))."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in ("matmul", "einsum") or len(call.args) < 2:
        return False
    first, second = (ast.dump(a) for a in call.args[:2])
    inner = call.args[1]
    transposed = isinstance(inner, ast.Call) and inner.args and ast.dump(inner.args[0]) == first and \
        isinstance(inner.func, ast.Attribute) and inner.func.attr == "transpose"
    return first == second or bool(transposed)


def _functions(root, prefixes=("",)):
    """((module, top-level function or Class.method), its FunctionDef) of the modules whose names
    start with one of prefixes."""
    for module, (_, tree) in sources(root).items():
        if not module.startswith(tuple(prefixes)):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield (module, node.name), node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        yield (module, f"{node.name}.{item.name}"), item


def function_calls(root, prefixes=("",)):
    """{(module, top-level function or Class.method): set of fully qualified names it calls} for the
    modules whose names start with one of prefixes; "<gram product>" stands for a matmul of a matrix
    with itself. Calls in nested functions count for the function around them."""
    found, found_sources = {}, sources(root)
    for (module, name), function in _functions(root, prefixes):
        path, tree = found_sources[module]
        names = _imported_names(module, path.name == "__init__.py", tree)
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        calls = found.setdefault((module, name), set())
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            target = _target(call, module, names, defined)
            calls |= {target} if target else set()
            calls |= {"<gram product>"} if _is_gram_product(call) else set()
    return found


def callers(root, targets, prefixes=("",)):
    """Sorted (module, function) that call any of targets (fully qualified names)."""
    return sorted(key for key, calls in function_calls(root, prefixes).items() if calls & set(targets))


def course_cost_functions(root):
    """The course's functions that build J(G) (nst_utils.train): those calling total_cost, and those
    calling them, and so on."""
    calls = function_calls(root, ("nst_utils.train",))
    builders = {"nst_utils.costs.total_cost"}
    while True:
        more = {f"{m}.{f}" for (m, f), c in calls.items() if c & builders} - builders
        if not more:
            return sorted(builders - {"nst_utils.costs.total_cost"})
        builders |= more


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


def is_optimiser_list(name, value):
    """A literal tuple, list or set of strings that holds both optimisers' names."""
    if not isinstance(value, (ast.Tuple, ast.List, ast.Set)):
        return False
    strings = {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return {"adam", "lbfgs"} <= strings


def _compares_with(test, number):
    return any(isinstance(n, ast.Compare) and any(isinstance(c, ast.Constant) and c.value == number
                                                    for c in [n.left, *n.comparators])
               for n in ast.walk(test))


def image_shape_checks(root):
    """Sorted (module, function) that raise when a shape fails a test of 4 dimensions and 3 channels
    (the literal 3 or CONFIG.COLOR_CHANNELS): a check of a normalised image (1, n_H, n_W, 3)."""
    found = set()
    for (module, name), function in _functions(root):
        for node in ast.walk(function):
            if isinstance(node, ast.If) and any(isinstance(n, ast.Raise) for n in ast.walk(node)) and \
                    _compares_with(node.test, 4) and (_compares_with(node.test, 3) or
                                                     "COLOR_CHANNELS" in ast.unparse(node.test)):
                found.add((module, name))
    return sorted(found)


def side_limits(root):
    """Sorted modules that hold a limit on image sides: every comparison of min(...) or max(...)
    with a whole number above 1 (written there) or a module-level name (held where it is assigned,
    or the module it is imported from). fast/ is left out: its limits are on a layer's channels."""
    found = set()
    for module, (path, tree) in sources(root).items():
        if module.startswith("nst_utils.fast"):
            continue
        names = _imported_names(module, path.name == "__init__.py", tree)
        assigned = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                    if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            if not any(isinstance(o, ast.Call) and isinstance(o.func, ast.Name) and o.func.id in ("min", "max")
                       for o in operands):
                continue
            for o in operands:
                if isinstance(o, ast.Constant) and isinstance(o.value, int) and o.value > 1:
                    found.add(module)
                elif isinstance(o, ast.Name) and o.id in assigned:
                    found.add(module)
                elif isinstance(o, ast.Name) and o.id in names:
                    found.add(names[o.id].rpartition(".")[0])
    return sorted(found)
