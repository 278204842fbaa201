"""Hidden cases: inputs no notebook shows, drawn when grading starts, for each graded function.

The same seed gives the same inputs in two processes that never share anything else:

- in the clean-room kernel, ``run_hidden`` calls the learner's function on them and displays only
  what it returned (as JSON, mime type HIDDEN_MIME);
- in the grader, ``expected`` computes the package's reference results, which never enter the kernel,
  and ``compare`` says whether the learner's results match.

Values are float32 tensors as in the course; shapes, layer weights, alpha, beta and the learning rate
vary with the seed, so that a function that returns published numbers, ignores an argument or only
works for the course's sizes fails here. train_step runs on grading.standin.tiny_vgg, so grading needs
no VGG19 weights.
"""
import numpy as np

HIDDEN_MIME = "application/vnd.nst-hidden+json"
#: Functions whose earlier-exercise helpers are the package's reference while they are tested (as in
#: the public tests): one wrong exercise fails only its own test.
REFERENCE_HELPERS = {
    "compute_layer_style_cost": ["gram_matrix"],
    "compute_style_cost": ["compute_layer_style_cost", "gram_matrix"],
    "train_step": ["compute_content_cost", "compute_style_cost", "total_cost",
                   "compute_layer_style_cost", "gram_matrix"],
}
RTOL = 1e-4
TRAIN_STEP_RTOL = 1e-3
#: train_step's updated image may differ from the reference in this share of its values at most
#: (Adam's first step moves each pixel by about +-learning_rate, whichever way its gradient points:
#: a gradient within float rounding of zero can go either way).
IMAGE_MISMATCH_SHARE = 0.01
#: Pixel units; a step of the right size in the wrong direction is 2 * learning_rate >= 1 away.
IMAGE_TOLERANCE = 0.1
NUMBER_OF_CASES = 3


def _activations(rng, shape):
    import tensorflow as tf

    return tf.constant(rng.normal(rng.uniform(-2, 2), rng.uniform(1, 5), shape).astype(np.float32))


def _shape(rng):
    return (1, int(rng.integers(2, 8)), int(rng.integers(2, 8)), int(rng.integers(2, 10)))


def _style_layers(rng):
    from ..config import STYLE_LAYERS

    names = [name for name, _ in STYLE_LAYERS]
    chosen = sorted(rng.choice(len(names), size=int(rng.integers(2, len(names) + 1)), replace=False))
    return [(names[i], float(np.round(rng.uniform(0.05, 1.0), 3))) for i in chosen]


def cases(name, seed):
    """[(args, kwargs)] of the hidden cases of function ``name`` for ``seed``."""
    import tensorflow as tf

    from ..config import CONTENT_LAYER, STYLE_LAYERS

    rng = np.random.default_rng(seed)
    out = []
    for k in range(NUMBER_OF_CASES):
        if name in ("compute_content_cost", "compute_layer_style_cost"):
            shape = _shape(rng)
            out.append(((_activations(rng, shape), _activations(rng, shape)), {}))
        elif name == "gram_matrix":
            shape = (int(rng.integers(2, 10)), int(rng.integers(3, 30)))
            out.append(((_activations(rng, shape),), {}))
        elif name == "compute_style_cost":
            layers = [n for n, _ in STYLE_LAYERS] + [CONTENT_LAYER]
            shapes = {n: _shape(rng) for n in layers}
            acts = [{n: _activations(rng, s) for n, s in shapes.items()} for _ in range(2)]
            out.append((tuple(acts) + ((_style_layers(rng),) if k else ()), {}))
        elif name == "total_cost":
            J_content, J_style = (tf.constant(np.float32(rng.uniform(0, 1e3))) for _ in range(2))
            weights = ({} if k == 0 else
                       {"alpha": float(rng.integers(1, 50)), "beta": float(rng.integers(1, 100))})
            out.append(((J_content, J_style), weights))
        elif name == "train_step":
            return [((), train_step_case(rng))]
        else:
            raise ValueError(f"no hidden cases for {name!r}")
    return out


def train_step_case(rng):
    """The set-up of a hidden train_step case: the notebook's globals and the start image."""
    import keras

    from ..config import CONTENT_LAYER
    from .standin import tiny_vgg

    model = tiny_vgg(int(rng.integers(2**31)))
    size = (1, int(rng.integers(12, 24)), int(rng.integers(12, 24)), 3)
    content, style, start = (rng.normal(0, 60, size).astype(np.float32) for _ in range(3))
    style_layers = _style_layers(rng)
    return {"model": model, "content_layer": CONTENT_LAYER, "style_layers": style_layers,
            "a_C": model(content)[CONTENT_LAYER], "a_S": model(style), "start": start,
            "alpha": float(rng.integers(1, 30)), "beta": float(rng.integers(10, 80)),
            "optimizer": keras.optimizers.Adam(float(np.round(rng.uniform(0.5, 3.0), 2)))}


def _plain(value):
    """A JSON-able copy of what a function returned (numbers as nested lists of floats)."""
    if isinstance(value, (tuple, list)):
        return {"sequence": [_plain(v) for v in value]}
    if value is None:
        return {"none": True}
    try:
        array = np.asarray(value, dtype=np.float64)
    except Exception as err:  # noqa: BLE001 -- anything a learner returns
        return {"unusable": f"{type(value).__name__} ({type(err).__name__})"}
    return {"value": array.tolist(), "shape": list(array.shape)}


def _steps(step, start, count=2):
    import tensorflow as tf

    image = tf.Variable(start)
    costs = [[float(v) for v in step(image)] for _ in range(count)]
    return {"costs": costs, "image": image.numpy().astype(np.float64).tolist()}


def run_hidden(name, function, namespace, seed, show=True):
    """In the clean-room kernel: call the learner's ``function`` on the hidden cases and display the
    results. namespace -- the notebook's globals (earlier exercises' helpers are set to the
    package's reference while it runs, and train_step's globals to the case's)."""
    from IPython.display import display

    from .messages import reference_helpers

    results = []
    with reference_helpers(function, REFERENCE_HELPERS.get(name, [])):
        for args, kwargs in cases(name, seed):
            try:
                if name == "train_step":
                    results.append(_run_train_step(function, namespace, kwargs))
                else:
                    results.append(_plain(function(*args, **kwargs)))
            except Exception as err:  # noqa: BLE001 -- the learner's code can fail in any way
                results.append({"raised": f"{type(err).__name__}: {str(err)[-300:]}"})
    if show:  # nbgrader's test cells (nbgrader_checks.py) take the results as returned
        display({HIDDEN_MIME: {"function": name, "results": results}}, raw=True)
    return results


def _run_train_step(function, namespace, case):
    import tensorflow as tf

    keys = ("model", "content_layer", "style_layers", "a_C", "a_S", "alpha", "beta", "optimizer")
    saved = {k: namespace[k] for k in keys if k in namespace}
    namespace.update({k: case[k] for k in keys})
    try:
        # A fresh trace, so that the learner's tf.function reads this case's globals.
        step = tf.function(getattr(function, "python_function", function))
        return _steps(step, case["start"])
    finally:
        for k in keys:
            namespace.pop(k, None)
        namespace.update(saved)


def expected(name, seed):
    """In the grader: the reference results of the hidden cases, as run_hidden reports them."""
    from .. import costs

    if name == "train_step":
        from ..train import make_train_step

        (_, case), = cases(name, seed)
        step = make_train_step(case["model"], case["a_C"], case["a_S"], case["optimizer"], case["alpha"],
                               case["beta"], case["content_layer"], case["style_layers"])
        return [_steps(step, case["start"])]
    reference = getattr(costs, name)
    return [_plain(reference(*args, **kwargs)) for args, kwargs in cases(name, seed)]


def compare(name, got, want):
    """'' if the learner's hidden results match the reference's, else what differs."""
    if not isinstance(got, list) or len(got) != len(want):
        return "the hidden cases did not run to the end"
    for k, (g, w) in enumerate(zip(got, want), 1):
        what = f"hidden case {k} of {len(want)}"
        if not isinstance(g, dict):
            return f"{what}: no result"
        if "raised" in g:
            return f"{what}: raised {g['raised']}"
        reason = _compare_train_step(g, w) if name == "train_step" else _compare_value(g, w)
        if reason:
            return f"{what}: {reason}"
    return ""


def _compare_value(got, want):
    if "value" not in got:
        kind = "None" if "none" in got else got.get("unusable", "a tuple or list")
        return f"returned {kind}, expected a tensor of shape {tuple(want['shape'])}"
    g, w = np.asarray(got["value"]), np.asarray(want["value"])
    if g.size == 1 and w.size == 1:
        g, w = g.reshape(()), w.reshape(())
    if g.shape != w.shape:
        return f"returned shape {g.shape}, expected {w.shape}"
    if not np.allclose(g, w, rtol=RTOL, atol=RTOL * max(1.0, float(np.abs(w).max(initial=0)))):
        return f"returned {_short(g)}, expected {_short(w)}"
    return ""


def _compare_train_step(got, want):
    costs, image = got.get("costs"), got.get("image")
    if costs is None or image is None:
        return "train_step did not return three costs"
    for step, (g, w) in enumerate(zip(costs, want["costs"]), 1):
        if len(g) != 3 or not np.allclose(g, w, rtol=TRAIN_STEP_RTOL):
            return (f"step {step} returned (J, J_content, J_style) = {_short(np.asarray(g))}, "
                    f"expected {_short(np.asarray(w))}")
    g, w = np.asarray(image), np.asarray(want["image"])
    if g.shape != w.shape:
        return "the generated image changed shape"
    share = float(np.mean(np.abs(g - w) > IMAGE_TOLERANCE))
    if share > IMAGE_MISMATCH_SHARE:
        return f"after two steps the image differs from the reference step's in {share:.0%} of its values"
    return ""


def _short(array):
    with np.printoptions(precision=6, threshold=6, edgeitems=2):
        return " ".join(str(np.asarray(array)).split())
