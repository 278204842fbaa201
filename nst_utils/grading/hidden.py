"""Hidden cases: inputs no notebook shows, drawn when grading starts, for each graded function.

The grader draws them from a seed of its own and computes the expected results in its own process
(``expected``); neither enters a kernel, which gets only the inputs as arrays (kit/codec.py) and
writes back what the learner's function returned, judged here (``compare``). Values are float32 as
in the course; shapes, layer weights, alpha, beta and the learning rate vary with the seed, so that a
function that returns published numbers, ignores an argument or only works for the course's sizes
fails. train_step runs on the stand-in network of kit/tiny.py, so no VGG19 weights are needed.
"""
import builtins
import tempfile
from pathlib import Path

import numpy as np

from ..config import CONTENT_LAYER, STYLE_LAYERS
from .kit import codec

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
    return rng.normal(rng.uniform(-2, 2), rng.uniform(1, 5), shape).astype(np.float32)


def _shape(rng):
    return (1, int(rng.integers(2, 8)), int(rng.integers(2, 8)), int(rng.integers(2, 10)))


def _style_layers(rng):
    names = [name for name, _ in STYLE_LAYERS]
    chosen = sorted(rng.choice(len(names), size=int(rng.integers(2, len(names) + 1)), replace=False))
    return [(names[i], float(np.round(rng.uniform(0.05, 1.0), 3))) for i in chosen]


def cases(name, seed):
    """[(args, kwargs)] of the hidden cases of function ``name`` for ``seed``: NumPy arrays and plain
    numbers only (codec's). train_step has one case, its setting as kwargs (serve.train_step_setting)."""
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
            J_content, J_style = (np.float32(rng.uniform(0, 1e3)) for _ in range(2))
            weights = ({} if k == 0 else
                       {"alpha": float(rng.integers(1, 50)), "beta": float(rng.integers(1, 100))})
            out.append(((np.asarray(J_content), np.asarray(J_style)), weights))
        elif name == "train_step":
            return [((), train_step_case(rng))]
        else:
            raise ValueError(f"no hidden cases for {name!r}")
    return out


def train_step_case(rng):
    """The setting of a hidden train_step case: tiny network weights, images, layers, alpha, beta and
    the learning rate."""
    from .standin import tiny_weights

    weights = tiny_weights(int(rng.integers(2**31)))
    size = (1, int(rng.integers(12, 24)), int(rng.integers(12, 24)), 3)
    content, style, start = (rng.normal(0, 60, size).astype(np.float32) for _ in range(3))
    return {"weights": weights, "content": content, "style": style, "start": start,
            "style_layers": _style_layers(rng), "alpha": float(rng.integers(1, 30)),
            "beta": float(rng.integers(10, 80)), "learning_rate": float(np.round(rng.uniform(0.5, 3.0), 2))}


def expected(name, seed):
    """In the grader: the reference results of the hidden cases, as the kernel reports the learner's."""
    import tensorflow as tf

    from .. import costs

    if name == "train_step":
        from ..train import make_train_step
        from .kit.serve import steps, train_step_setting

        (_, arrays), = cases(name, seed)
        g = train_step_setting(arrays)
        step = make_train_step(g["model"], g["a_C"], g["a_S"], g["optimizer"], g["alpha"], g["beta"],
                               g["content_layer"], g["style_layers"])
        return [steps(step, arrays["start"])]
    reference = getattr(costs, name)
    def tensor(value):  # as the kernel converts what it reads (kit/serve.py)
        if isinstance(value, np.ndarray):
            return tf.constant(value)
        if isinstance(value, dict):
            return {k: tensor(v) for k, v in value.items()}
        return value

    return [{"value": np.asarray(reference(*(tensor(a) for a in args), **kwargs), np.float64)}
            for args, kwargs in cases(name, seed)]


def run_hidden(name, function, namespace, seed):
    """The learner's results on the hidden cases, run in this process through the kernel's code path
    (for nbgrader's test cells, which run in the learner's own kernel: nbgrader_checks.py)."""
    from .kit.serve import run_cases

    with tempfile.TemporaryDirectory(prefix="nst-hidden-") as folder:
        cases_path, results_path = Path(folder) / "cases.npz", Path(folder) / "results.npz"
        codec.write_cases(cases_path, cases(name, seed))
        run_cases(name, function, namespace, str(cases_path), str(results_path))
        return codec.read_results(results_path, NUMBER_OF_CASES)


def compare(name, got, want):
    """'' if the learner's hidden results match the reference's, else what differs, in words that
    quote neither a hidden input nor an expected value (nor text the learner's code wrote)."""
    if not isinstance(got, list) or len(got) != len(want):
        return "the hidden cases did not run to the end"
    for k, (g, w) in enumerate(zip(got, want), 1):
        what = f"hidden case {k} of {len(want)}"
        if not isinstance(g, dict):
            return f"{what}: no result"
        if "raised" in g:
            return f"{what}: raised {_exception_name(g['raised'])}"
        reason = _compare_train_step(g, w) if name == "train_step" else _compare_value(g, w)
        if reason:
            return f"{what}: {reason}"
    return ""


def _exception_name(text):
    """The name of a built-in exception at the start of text ("ValueError: ..."), else "an error"."""
    name = str(text).split(":", 1)[0].strip()
    found = getattr(builtins, name, None)
    is_builtin = isinstance(found, type) and issubclass(found, BaseException)
    return name if name.isidentifier() and is_builtin else "an error"


def _compare_value(got, want):
    w = np.asarray(want["value"])
    if "value" not in got:
        kind = ("None" if "none" in got else "a tuple or list" if "sequence" in got
                else "something that is not an array of numbers")
        return f"returned {kind}, expected a tensor"
    g = np.asarray(got["value"])
    if g.size == 1 and w.size == 1:
        g, w = g.reshape(()), w.reshape(())
    if g.shape != w.shape:
        return "returned a tensor of the wrong shape"
    if not np.allclose(g, w, rtol=RTOL, atol=RTOL * max(1.0, float(np.abs(w).max(initial=0)))):
        return "returned values that differ from the reference's"
    return ""


def _compare_train_step(got, want):
    if "costs" not in got:
        return "train_step did not return three costs"
    g_costs, w_costs = np.asarray(got["costs"]), np.asarray(want["costs"])
    if g_costs.shape != w_costs.shape:
        return "train_step did not return the three costs J, J_content, J_style at each step"
    for step, (g, w) in enumerate(zip(g_costs, w_costs), 1):
        if not np.allclose(g, w, rtol=TRAIN_STEP_RTOL):
            differ = [n for n, a, b in zip(("J", "J_content", "J_style"), g, w)
                      if not np.isclose(a, b, rtol=TRAIN_STEP_RTOL)]
            return f"step {step}: {', '.join(differ)} differ from the reference step's"
    g, w = np.asarray(got["image"]), np.asarray(want["image"])
    if g.shape != w.shape:
        return "the generated image changed shape"
    share = float(np.mean(np.abs(g - w) > IMAGE_TOLERANCE))
    if share > IMAGE_MISMATCH_SHARE:
        return f"after two steps the image differs from the reference step's in {share:.0%} of its values"
    return ""
