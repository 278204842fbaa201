"""A learner's notebook as the grader reads it: the graded functions, taken from their cells' source
and checked before any of them runs.

Only the ``def`` statements of a graded cell (tagged ``graded:<function>``) are kept, so a cell cannot
patch anything as a side effect. A graded function must be the learner's own ``def``; so that no
disguise reaches the package's reference, it may use only its arguments and locals, the functions of
its cell, the other graded functions, ``tf``, ``np``, ``keras``, ``math``, the notebook's input checks
and layer lists (in ``train_step``, also the globals the notebook defines for it) and plain builtins;
no ``import``, no ``global``, no attribute that starts with an underscore or leads to other modules'
internals (FORBIDDEN_ATTRIBUTES). The course's solutions need nothing else.
"""
import ast
import errno
import json
import os
import stat
import symtable
from dataclasses import dataclass

import nbformat

from ..resources import GRADED_FUNCTIONS

GRADED_TAG, TEST_TAG, SKIP_TAG = "graded:", "test:", "grader:skip"
MAX_NOTEBOOK_BYTES = 50 << 20
MISSING = "could not find the exercise cells (tags removed?)"

NOTEBOOK_NAMES = {"tf", "np", "keras", "math", "check_activations", "check_style_layers",
                  "STYLE_LAYERS", "CONTENT_LAYER", "CONFIG"}
TRAIN_STEP_NAMES = {"model", "a_C", "a_S", "optimizer", "alpha", "beta", "content_layer",
                    "style_layers", "generated_image"}
SAFE_BUILTINS = {"abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance", "len",
                 "list", "map", "max", "min", "pow", "print", "range", "reversed", "round", "sorted",
                 "str", "sum", "tuple", "zip", "True", "False", "None", "ValueError", "TypeError",
                 "KeyError", "AssertionError", "Exception", "NotImplementedError"}
#: Attribute names through which a function could reach other modules' internals.
FORBIDDEN_ATTRIBUTES = {"sys", "modules", "os", "gc", "inspect", "builtins", "importlib", "subprocess",
                        "system", "popen", "globals", "locals", "vars", "eval", "exec", "compile",
                        "open", "f_globals", "f_locals", "f_back", "gi_frame", "cr_frame", "tb_frame",
                        "get_objects", "getsource", "nst_utils", "costs", "grading", "public_tests",
                        "make_train_step", "make_cost_function", "load_op_library", "load_library"}


class NotebookError(ValueError):
    """The file is not a readable Jupyter notebook."""


def read_notebook(path):
    """The notebook at path (upgraded to nbformat v4 if older), or NotebookError saying what is wrong
    with the file. Only a regular file is read, never through a symbolic link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        what = "a symbolic link" if err.errno == errno.ELOOP else f"{type(err).__name__}: {err.strerror}"
        raise NotebookError(f"not read ({what}); only regular files are graded") from None
    try:
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise NotebookError("not a regular file; only regular files are graded")
            if info.st_size > MAX_NOTEBOOK_BYTES:
                raise NotebookError(f"{info.st_size >> 20} MB, over the {MAX_NOTEBOOK_BYTES >> 20} MB "
                                    "a notebook may have")
            raw = f.read(MAX_NOTEBOOK_BYTES + 1)
        if len(raw) > MAX_NOTEBOOK_BYTES:
            raise NotebookError(f"over the {MAX_NOTEBOOK_BYTES >> 20} MB a notebook may have")
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NotebookError(f"not a readable notebook ({type(err).__name__}: {err})") from None
    # v4 keeps its cells in "cells", v3 in "worksheets" (nbformat's converter upgrades it below)
    if not isinstance(data, dict) or not any(isinstance(data.get(key), list) for key in ("cells", "worksheets")):
        raise NotebookError("JSON, but not a Jupyter notebook (no list of cells)")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as err:  # noqa: BLE001 -- nbformat raises many kinds on malformed files
        raise NotebookError(f"not a valid notebook ({type(err).__name__}: {err})") from None


def tagged(cell, prefix):
    """The name after ``prefix`` in the cell's tags (e.g. 'graded:gram_matrix' -> 'gram_matrix')."""
    tags = cell.get("metadata", {}).get("tags", [])
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and tag.startswith(prefix):
            return tag[len(prefix):]
    return None


def find_cell(nb, prefix, name, cell_id=None):
    """The learner's cell tagged prefix+name, else the cell with the reference's id, else (tags and
    ids lost) the last code cell that defines ``name`` at its top level, else None."""
    found = ([c for c in nb.cells if tagged(c, prefix) == name]
             or [c for c in nb.cells if cell_id and c.get("id") == cell_id]
             or [c for c in nb.cells if c.get("cell_type") == "code" and name in _defined(c)][-1:])
    return found[0] if found else None


def _defined(cell):
    """Names of the functions a cell defines at its top level."""
    try:
        tree = ast.parse(cell.source if isinstance(cell.source, str) else "".join(cell.source))
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@dataclass
class GradedSource:
    """The code the grader will run for one graded function: source (its cell's defs only), or
    problem (why there is none to run: the function then scores 0)."""

    name: str
    source: str = ""
    problem: str = ""


def graded_source(nb, name, cell_id=None):
    """GradedSource of function ``name`` from the learner's notebook."""
    cell = find_cell(nb, GRADED_TAG, name, cell_id)
    if cell is None or cell.get("cell_type") != "code":
        return GradedSource(name, problem=f"{MISSING}: no cell tagged '{GRADED_TAG}{name}' or defining it")
    text = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        return GradedSource(name, problem=f"its graded cell has a syntax error (line {err.lineno}: {err.msg})")
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not any(d.name == name for d in defs):
        return GradedSource(name, problem=f"its graded cell does not define it with 'def {name}(...)' "
                                          "(importing or assigning the function does not count)")
    source = "\n\n".join(ast.get_source_segment(text, d, padded=False) if not d.decorator_list
                         else _with_decorators(text, d) for d in defs)
    problem = check_source(name, source, {d.name for d in defs})
    return GradedSource(name, source if not problem else "", problem)


def _with_decorators(text, node):
    lines = text.splitlines()
    first = min(dec.lineno for dec in node.decorator_list) - 1
    return "\n".join(lines[first:node.end_lineno])


def check_source(name, source, cell_functions):
    """'' if the defs in source use only what a graded function may use, else the reason."""
    tree = ast.parse(source)
    allowed = NOTEBOOK_NAMES | SAFE_BUILTINS | set(GRADED_FUNCTIONS) | set(cell_functions)
    if name == "train_step":
        allowed |= TRAIN_STEP_NAMES
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return f"{name} imports a module inside its graded cell: use tf, np and the notebook's names"
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return f"{name} declares a global or nonlocal name: graded functions only return values"
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES):
            return f"{name} uses the attribute '.{node.attr}', which a graded function has no need of"
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            return f"{name} uses the name '{node.id}', which a graded function has no need of"
    for node in tree.body:
        for decorator in node.decorator_list:
            if ast.unparse(decorator).split("(")[0] != "tf.function":
                return f"{name} has the decorator @{ast.unparse(decorator)}: only @tf.function is allowed"
    used = _global_names(symtable.symtable(source, "<graded cell>", "exec"))
    unknown = sorted(used - allowed)
    if unknown:
        return (f"{name} uses {', '.join(repr(n) for n in unknown)}, defined outside its graded cell: "
                "a graded function may use its arguments, tf, np, the notebook's input checks and "
                "layer lists, the other graded functions, and functions defined in the same cell")
    return ""


def _global_names(table):
    """Every name that some scope in the symbol table reads from the module or builtins."""
    names = set()
    for symbol in table.get_symbols():
        if table.get_type() == "module":
            if symbol.is_referenced() and not symbol.is_assigned() and not symbol.is_imported():
                names.add(symbol.get_name())
        elif symbol.is_global() and symbol.is_referenced():
            names.add(symbol.get_name())
    for child in table.get_children():
        names |= _global_names(child)
    return names
