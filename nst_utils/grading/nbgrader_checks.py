"""What the autograder test cells of the nbgrader version call, in the learner's own kernel.

``nbgrader autograde`` runs the learner's notebook and the test cells in one kernel, so these checks
stop honest mistakes and plain copies of the package's solutions, not a learner who patches this
module from another cell (``python -m nst_utils.grade`` is the hardened grader).
- ``grade_hidden``: the function is the learner's own ``def`` (submission.check_source's rule), then
  the hidden cases of hidden.py on a seed drawn now, compared with the package's reference.
- ``standin_globals``: train_step's globals on the stand-in network for the duration of its test.
"""
import inspect
import linecache
import secrets

import nbformat

from . import hidden
from .kit.messages import swapped
from .standin import train_step_globals
from .submission import GRADED_TAG, graded_source


def own_function_problem(name, function):
    """'' if ``function`` is the learner's own ``def name`` from a notebook cell, else why not."""
    from .. import costs, train

    fn = getattr(function, "python_function", function)  # a tf.function's Python function
    if not inspect.isfunction(fn):
        return f"{name} is not a function written with 'def {name}(...)'"
    references = [v for module in (costs, train) for v in vars(module).values() if inspect.isfunction(v)]
    if any(fn is ref for ref in references) or fn.__module__ != "__main__":
        return (f"{name} is {fn.__module__}.{fn.__qualname__}, not your own code: write it with "
                f"'def {name}(...)' in its cell")
    # IPython keeps each cell's source in linecache under the code's file name: the cell is
    # checked as the grader checks a graded cell (its defs only, the names they may use).
    cell = "".join(linecache.getlines(fn.__code__.co_filename))
    if not cell.strip():
        return f"the source of {name} cannot be read: define it with 'def {name}(...)' in a notebook cell"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell, metadata={"tags": [GRADED_TAG + name]})])
    return graded_source(nb, name).problem


def grade_hidden(name, function, namespace, seed=None):
    """Raise AssertionError unless ``function`` is the learner's own and passes the hidden cases
    (seed: by default drawn now, so no file holds it)."""
    problem = own_function_problem(name, function)
    if problem:
        raise AssertionError(problem)
    seed = secrets.randbits(31) if seed is None else seed
    got = hidden.run_hidden(name, function, namespace, seed)
    reason = hidden.compare(name, got, hidden.expected(name, seed))
    if reason:
        raise AssertionError(f"{name}, {reason} (seed {seed})")
    print(f"{name}: {len(got)} hidden case(s) passed (seed {seed})")


def standin_globals(namespace, seed=0):
    """The notebook's train_step globals (model, a_C, a_S, generated_image, optimizer, ...) set to
    standin.train_step_globals(seed) inside the ``with``, and restored (or removed) after it."""
    return swapped(namespace, train_step_globals(seed))
