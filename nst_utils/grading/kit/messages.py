"""What the public tests say when a learner's function fails: the call that turns an exception into
a message with the original error text and a hint, the checks of returned values, and the swap of
earlier exercises' helpers for the reference while a function is tested.
"""
import functools
import re
import sys
from contextlib import contextmanager, suppress

import numpy as np
import tensorflow as tf

from .course_side import reference


#: The lines the public tests printed, as data: the grader reads them from a file (write_printed),
#: never from the kernel's output, which the learner's prints share.
PRINTED = []


def say(*parts):
    """print(*parts), the line also kept in PRINTED."""
    PRINTED.append(" ".join(map(str, parts)))
    print(*parts)


def write_printed(path):
    """Write PRINTED to path (kit/codec.py's results file, kind "printed") and empty it."""
    from .codec import write_results

    write_results(path, [{"printed": "\n".join(PRINTED)}])
    PRINTED.clear()


@contextmanager
def swapped(namespace, values):
    """namespace's names set to values for a while, then as they were (or removed)."""
    saved = {name: namespace[name] for name in values if name in namespace}
    namespace.update(values)
    try:
        yield
    finally:
        for name in values:
            namespace.pop(name, None)
        namespace.update(saved)


@contextmanager
def reference_helpers(target, names):
    """Make ``names`` resolve to the reference functions (course_side.reference) inside ``target``
    for a while."""
    fn = getattr(target, "python_function", target)  # a tf.function's Python function
    namespace = getattr(fn, "__globals__", None)
    helpers = {name: reference(name) for name in names}
    if namespace is None or any(getattr(h, "__globals__", None) is namespace for h in helpers.values()):
        yield  # target is itself a reference function
        return
    with swapped(namespace, helpers):
        yield


def call(target, args, function, kwargs=None):
    """target(*args, **kwargs); an exception becomes an AssertionError that gives the original error
    text and, for the mistakes learners often make, a hint."""
    try:
        return target(*args, **(kwargs or {}))
    except Exception as err:  # the learner's code can fail in any way
        text = _error_text(err)
        hint = _hint(text)
        raise AssertionError(f"{function} raised {type(err).__name__}: {text}"
                             + (f" Hint: {hint}" if hint else "")) from err


def _error_text(err, limit=400):
    """The error's own text on one line. tf.function errors wrap the original in lines of context
    and end with it, so those keep their last lines."""
    # a failed conversion repeats the whole value (a dict of tensors): keep only what is wrong
    raw = re.sub(r"convert a value \(.*\) with an unsupported type", "convert a value with an unsupported type",
                 str(err), flags=re.S)
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    prefix = f"{type(err).__name__}: "
    lines = [line[len(prefix):] if line.startswith(prefix) else line for line in lines]
    text = " ".join(lines[-3:] if len(lines) > 3 else lines)
    return text if len(text) <= limit else "..." + text[-limit:]


#: (what the error text contains, the hint), first match wins. Each is a mistake seen in the course.
HINTS = [
    ("NotImplementedError", "replace 'raise NotImplementedError()' with your code (nbgrader's placeholder)."),
    ("None", "did you leave a None placeholder between ### START CODE HERE ### and ### END CODE HERE ###?"),
    ("'T'", "a tensor has no .T: transpose it with tf.transpose(x)."),
    ("numpy_behavior", "tensors have no NumPy methods (.T, .reshape, ...): use TensorFlow functions such "
                       "as tf.transpose, tf.reshape and tf.reduce_sum."),
    ("has no attribute 'numpy'", "inside tf.function tensors have no .numpy(): use TensorFlow operations."),
    ("No gradients provided", "J does not depend on generated_image: inside the tape compute "
                              "a_G = model(generated_image) (the generated image, not the content or style "
                              "image) and the costs from that a_G."),
    ("'dict'", "you passed a whole dict of activations where one layer's tensor is expected: pick the "
               "layer, e.g. a_G[content_layer]."),
]


def _hint(text):
    return next((hint for needle, hint in HINTS if needle in text), "")


def fmt(x):
    return f"{float(x):.6g}"


def scalar(value, name, function, require_tensor=True):
    """The learner's result as a Python float, with a clear message if it is not a scalar tensor."""
    if value is None:
        raise AssertionError(f"{function} returned None: replace the None placeholders between "
                             "### START CODE HERE ### and ### END CODE HERE ###.")
    if not require_tensor and np.ndim(value) == 0 and not tf.is_tensor(value):
        return float(value)
    if not tf.is_tensor(value):
        raise AssertionError(f"{function} must return a TensorFlow tensor (use tf operations such as "
                             f"tf.reduce_sum), got {type(value).__name__}.")
    if value.shape.rank not in (0, None) and int(np.prod(value.shape)) != 1:
        raise AssertionError(f"{name} must be a scalar, got shape {tuple(value.shape)}: sum over all "
                             "entries (tf.reduce_sum without an axis).")
    return float(np.asarray(value).reshape(()))


def works_in_tf_function(target, args, eager_value, function):
    """train_step is a tf.function: the costs must trace, with no NumPy or .numpy() inside."""
    try:
        traced = tf.function(target)(*args)
    except Exception as err:  # the learner's code can fail in any way while tracing
        raise AssertionError(
            f"{function} fails inside tf.function ({type(err).__name__}: {err}). train_step runs it "
            "as a graph: use TensorFlow operations (tf.shape, tf.reshape, tf.reduce_sum), not NumPy "
            "functions or .numpy().") from None
    if not np.isclose(float(traced), eager_value, rtol=1e-4):
        raise AssertionError(f"{function} gives {float(traced)} inside tf.function but {eager_value} "
                             "eagerly: use TensorFlow operations, not Python/NumPy ones.")


# --- how a failure shows in the learner's notebook -----------------------------------------------------

#: The graded functions, in the order of the notebook's exercises: resources.GRADED_FUNCTIONS, written
#: again because the kit imports nothing of the package (tests/test_public_tests.py keeps them equal).
EXERCISES = ["compute_content_cost", "gram_matrix", "compute_layer_style_cost", "compute_style_cost",
             "total_cost", "train_step"]
#: Names of the public tests that passed in this kernel.
passed = set()


def _shown_as(err, lines):
    """err, shown in a notebook as these lines (IPython's _render_traceback_) instead of a traceback."""
    with suppress(AttributeError):  # an exception without a __dict__ keeps its traceback
        err._render_traceback_ = lambda: ["\x1b[1;31m" + lines[0] + "\x1b[0m", *lines[1:]]
    return err


def verdict_first(test):
    """A public test whose failure shows as its verdict and hint, with no traceback through this kit;
    it is still the same AssertionError for whatever runs the test."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            result = test(*args, **kwargs)
        except AssertionError as err:
            verdict, _, hint = str(err).partition(" Hint: ")
            raise _shown_as(err, [f"{test.__name__} failed: {verdict}"] + [f"Hint: {hint}"] * bool(hint))
        passed.add(test.__name__)
        return result

    return run


def _finish_first(shell, etype, value, tb, tb_offset=None):
    """IPython's handler of a cell's error: a cell that uses an exercise whose test (or an earlier
    one's) has not passed says which exercise to finish first, above the error's own line."""
    cell = (shell.user_ns.get("In") or [""])[-1]
    used = [k for k, name in enumerate(EXERCISES) if re.search(rf"\b{name}\b", cell)]
    todo = [k for k in range(max(used) + 1) if f"{EXERCISES[k]}_test" not in passed] if used else []
    if todo and not hasattr(value, "_render_traceback_"):
        k = todo[0]
        _shown_as(value, [f"This cell uses your exercises: finish Exercise {k + 1} - {EXERCISES[k]} first "
                          "(its test cell has not passed yet), then run this cell again.",
                          f"({etype.__name__}: {_error_text(value, 300)})"])
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def explain_errors_in_notebooks():
    """In a Jupyter kernel, show errors of cells that use unfinished exercises as _finish_first does."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if getattr(shell, "kernel", None) is not None:
        shell.set_custom_exc((Exception,), _finish_first)
