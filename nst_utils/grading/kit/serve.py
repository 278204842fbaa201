"""The kernel's side of the hidden cases: call the learner's function on the inputs the grader sent
and write what it returned, as data (codec.py); the expected values and the seed stay in the grader.
Also builds train_step's notebook globals from arrays, on the stand-in network of tiny.py.
"""
import keras
import numpy as np
import tensorflow as tf

from . import codec
from .course_side import CONTENT_LAYER
from .messages import reference_helpers, swapped
from .tiny import build_tiny

#: The earlier exercises whose reference stands in for the learner's while a function is tested (as
#: in the public tests): one wrong exercise fails only its own test. Each list holds only exercises
#: graded before the key, so a kernel never holds the reference of the exercise it is testing.
REFERENCE_HELPERS = {
    "compute_layer_style_cost": ["gram_matrix"],
    "compute_style_cost": ["compute_layer_style_cost", "gram_matrix"],
    "train_step": ["compute_content_cost", "compute_style_cost", "total_cost",
                   "compute_layer_style_cost", "gram_matrix"],
}
#: The notebook's globals that train_step reads.
TRAIN_STEP_KEYS = ("model", "content_layer", "style_layers", "a_C", "a_S", "alpha", "beta", "optimizer")
STEPS = 2


def train_step_setting(arrays):
    """{name: value} of train_step's notebook globals, from a case sent by the grader: tiny network
    ``weights``, ``content``/``style``/``start`` images (1, n_H, n_W, 3) float32, ``style_layers``,
    ``alpha``, ``beta`` and ``learning_rate`` (of a new Adam); ``generated_image`` is a tf.Variable
    holding ``start``."""
    model = build_tiny(arrays["weights"])
    content_layer = arrays.get("content_layer", CONTENT_LAYER)
    return {"model": model, "content_layer": content_layer,
            "style_layers": [tuple(pair) for pair in arrays["style_layers"]],
            "a_C": model(arrays["content"])[content_layer], "a_S": model(arrays["style"]),
            "alpha": arrays["alpha"], "beta": arrays["beta"],
            "optimizer": keras.optimizers.Adam(arrays["learning_rate"]),
            "generated_image": tf.Variable(arrays["start"])}


def train_step_globals(path):
    """train_step_setting of the (only) case in the grader's file at path."""
    (_, arrays), = codec.read_cases(path)
    return train_step_setting(arrays)


def run_cases(name, function, namespace, cases_path, results_path):
    """Call ``function`` (the learner's ``name``) on the cases in cases_path and write the results to
    results_path. namespace -- the notebook's globals (train_step's are set to each case's)."""
    cases = codec.read_cases(cases_path, (lambda array: array) if name == "train_step" else tf.constant)
    results = []
    with reference_helpers(function, REFERENCE_HELPERS.get(name, [])):
        for args, kwargs in cases:
            try:
                if name == "train_step":
                    results.append(_run_train_step(function, namespace, kwargs))
                else:
                    results.append(_plain(function(*args, **kwargs)))
            except Exception as err:  # noqa: BLE001 -- the learner's code can fail in any way
                results.append({"raised": f"{type(err).__name__}: {str(err)[-300:]}"})
    codec.write_results(results_path, results)
    print(f"{name}: {len(results)} hidden case(s) run")
    return results


def _plain(value):
    """What a function returned, as codec's result: numbers as a float64 array."""
    if isinstance(value, (tuple, list)):
        return {"sequence": True}
    if value is None:
        return {"none": True}
    try:
        return {"value": np.asarray(value, dtype=np.float64)}
    except Exception as err:  # noqa: BLE001 -- anything a learner returns
        return {"unusable": f"{type(value).__name__} ({type(err).__name__})"}


def _run_train_step(function, namespace, arrays):
    setting = train_step_setting(arrays)
    with swapped(namespace, {k: setting[k] for k in TRAIN_STEP_KEYS}):
        # A fresh trace, so that the learner's tf.function reads this case's globals.
        return steps(tf.function(getattr(function, "python_function", function)), arrays["start"])


def steps(step, start, count=STEPS):
    """codec's "steps" result: the (count, 3) costs step returned from ``start``, and the image after them."""
    image = tf.Variable(start)
    costs = [[float(v) for v in step(image)] for _ in range(count)]
    return {"steps": True, "costs": np.asarray(costs, np.float64), "image": image.numpy().astype(np.float64)}
