"""Public tests of the six graded exercises, called by the notebook's test cells.

Each ``*_test(target, ...)`` runs the learner's function on seeded inputs, prints the values it
computed and ``All tests passed``, or raises ``AssertionError`` saying what is wrong and what to
check. The printed lines are the notebook's expected output (the grader compares them). While a test
runs, the earlier exercises the function calls are the reference's (messages.reference_helpers), so
one wrong exercise fails its own test only. Values are printed with 6 significant digits, so that the
output does not depend on the last bits of float32 arithmetic; tests/test_public_tests.py checks the
expected values against an independent NumPy computation.
"""
import keras
import numpy as np
import tensorflow as tf

from .course_side import CONTENT_LAYER, STYLE_LAYERS, reference
from .messages import (call, explain_errors_in_notebooks, fmt, reference_helpers, scalar, swapped, verdict_first,
                       works_in_tf_function)
from .serve import REFERENCE_HELPERS
from .tiny import build_tiny, tiny_shapes
from .messages import say as print  # noqa: A001 -- what a test prints is also its verdict (messages.PRINTED)

PASSED = "All tests passed"

explain_errors_in_notebooks()  # a failing test shows its verdict first, not a traceback through this kit

# Expected values on the seeded cases (see tests/test_public_tests.py for the NumPy cross-check).
CONTENT_COST = 7.0568767
GRAM = np.array([[63.1888, -26.721275, -7.7320204],
                 [-26.721275, 12.76758, -2.5158243],
                 [-7.7320204, -2.5158243, 23.752384]], dtype=np.float32)
LAYER_STYLE_COST = 14.0178057
#: What a bare ``tf.reshape(a, [n_C, n_H*n_W])`` (no transpose) gives on the same case.
LAYER_STYLE_COST_BARE_RESHAPE = 2.9203954
STYLE_COST = 58.4496141           # default STYLE_LAYERS (0.2 each)
STYLE_COST_TWO_LAYERS = 15.1829573  # [("conv1_1", 0.75), ("conv3_1", 0.25)]
TOTAL_COST = 35.34668
TOTAL_COST_ALPHA1_BETA1 = 2.2251383  # alpha=1, beta=1 on the same case

RTOL = 1e-5


def _returned(target, args, function, name, kwargs=None, tensor=True):
    """The learner's target(*args, **kwargs) as a float (messages.call, messages.scalar)."""
    return scalar(call(target, args, function, kwargs), name, function, tensor)


def content_cost_case():
    """Seeded activations a_C, a_G of shape (1, 4, 4, 3), as in the course's test."""
    tf.random.set_seed(1)
    a_C = tf.random.normal([1, 1, 4, 4, 3], mean=1, stddev=4)
    a_G = tf.random.normal([1, 1, 4, 4, 3], mean=1, stddev=4)
    return a_C[-1], a_G[-1]


@verdict_first
def compute_content_cost_test(target):
    a_C, a_G = content_cost_case()
    J_content = _returned(target, (a_C, a_G), "compute_content_cost", "J_content")
    print("J_content =", fmt(J_content))
    J_same = _returned(target, (a_C, a_C), "compute_content_cost", "J_content")
    assert np.isclose(J_same, 0.0, atol=1e-6), (
        f"compute_content_cost(a_C, a_C) must be 0, got {J_same}: the cost compares a_C with a_G.")
    if np.isclose(J_content, 4 * CONTENT_COST, rtol=RTOL):
        raise AssertionError(f"got {J_content:.6g}, expected {CONTENT_COST:.6g}: divide by "
                             "4 * n_H * n_W * n_C, not n_H * n_W * n_C.")
    assert np.isclose(J_content, CONTENT_COST, rtol=RTOL), (
        f"got {J_content:.6g}, expected {CONTENT_COST:.6g}. Check equation (1): the sum of the squared "
        "differences over all entries, divided by 4 * n_H * n_W * n_C.")
    works_in_tf_function(target, (a_C, a_G), J_content, "compute_content_cost")
    print(PASSED)


def gram_matrix_case():
    tf.random.set_seed(1)
    return tf.random.normal([3, 2], mean=1, stddev=4)


@verdict_first
def gram_matrix_test(target):
    A = gram_matrix_case()
    GA = call(target, (A,), "gram_matrix")
    if GA is None:
        raise AssertionError("gram_matrix returned None: replace the None placeholder.")
    if not tf.is_tensor(GA):
        raise AssertionError(f"gram_matrix must return a TensorFlow tensor, got {type(GA).__name__}: use "
                             "tf.matmul and tf.transpose, not NumPy (np.dot, @ on .numpy() values).")
    GA = np.asarray(GA)
    with np.printoptions(precision=4, suppress=True):
        print("GA =\n" + str(GA))
    assert GA.shape == (3, 3), (
        f"GA has shape {GA.shape}, expected (3, 3) = (n_C, n_C) for A of shape (3, 2): compute "
        "A A^T (tf.matmul(A, tf.transpose(A))), not A^T A.")
    assert np.allclose(GA, GRAM, rtol=RTOL, atol=1e-4), (
        f"GA is wrong, expected\n{GRAM}\nGA = A A^T: entry (i, j) is the dot product of rows i and j.")
    print(PASSED)


def layer_style_cost_case():
    tf.random.set_seed(1)
    a_S = tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    a_G = tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    return a_S, a_G


@verdict_first
def compute_layer_style_cost_test(target):
    a_S, a_G = layer_style_cost_case()
    with reference_helpers(target, ["gram_matrix"]):
        J = _returned(target, (a_S, a_G), "compute_layer_style_cost", "J_style_layer")
        print("J_style_layer =", fmt(J))
        J_same = _returned(target, (a_S, a_S), "compute_layer_style_cost", "J_style_layer")
        works_in_tf_function(target, (a_S, a_G), J, "compute_layer_style_cost")
    assert np.isclose(J_same, 0.0, atol=1e-5), (
        f"compute_layer_style_cost(a_S, a_S) must be 0, got {J_same}.")
    if np.isclose(J, LAYER_STYLE_COST_BARE_RESHAPE, rtol=1e-4):
        raise AssertionError(
            f"got {J:.6g}, expected {LAYER_STYLE_COST:.6g}: did you reshape a_S directly to "
            "(n_C, n_H*n_W)? That mixes channels and pixels. Reshape to (n_H*n_W, n_C) and "
            "transpose.")
    assert np.isclose(J, LAYER_STYLE_COST, rtol=RTOL), (
        f"got {J:.6g}, expected {LAYER_STYLE_COST:.6g}. Check equation (2): unroll a_S and a_G to "
        "(n_C, n_H*n_W) (reshape to (n_H*n_W, n_C), then transpose), take their Gram matrices and "
        "divide the sum of squared differences by 4 * n_C**2 * (n_H*n_W)**2.")
    print(PASSED)


#: Activation shapes of the seeded style-cost case: small stand-ins for VGG19's layers.
STYLE_CASE_SHAPES = {"conv1_1": (1, 4, 4, 3), "conv2_1": (1, 2, 2, 4), "conv3_1": (1, 2, 2, 5),
                     "conv4_1": (1, 1, 1, 6), "conv4_2": (1, 1, 1, 6), "conv5_1": (1, 1, 1, 6)}


def style_cost_case():
    """{layer: a_S}, {layer: a_G}; includes the content layer conv4_2, which the style cost must skip."""
    tf.random.set_seed(2)
    style, generated = {}, {}
    for name, shape in STYLE_CASE_SHAPES.items():
        style[name] = tf.random.normal(shape, mean=1, stddev=4)
        generated[name] = tf.random.normal(shape, mean=1, stddev=4)
    return style, generated


@verdict_first
def compute_style_cost_test(target):
    style, generated = style_cost_case()
    two_layers = [("conv1_1", 0.75), ("conv3_1", 0.25)]
    with reference_helpers(target, ["compute_layer_style_cost", "gram_matrix"]):
        J = _returned(target, (style, generated), "compute_style_cost", "J_style")
        print("J_style =", fmt(J))
        J2 = _returned(target, (style, generated, two_layers), "compute_style_cost", "J_style")
    print("J_style with", two_layers, "=", fmt(J2))
    if np.isclose(J, 5 * STYLE_COST, rtol=1e-4):
        raise AssertionError(f"got {J:.6g}, expected {STYLE_COST:.6g}: multiply each layer's cost by "
                             "its coefficient lambda^[l] from style_layers.")
    assert np.isclose(J, STYLE_COST, rtol=RTOL), (
        f"got {J:.6g}, expected {STYLE_COST:.6g} with the default STYLE_LAYERS. Sum "
        "coeff * compute_layer_style_cost(style_activations[name], generated_activations[name]) over "
        "the (name, coeff) pairs of style_layers only (the dicts also hold the content layer).")
    assert np.isclose(J2, STYLE_COST_TWO_LAYERS, rtol=RTOL), (
        f"got {J2:.6g}, expected {STYLE_COST_TWO_LAYERS:.6g} for style_layers={two_layers}: use the "
        "style_layers argument, not the global STYLE_LAYERS.")
    print(PASSED)


def total_cost_case():
    np.random.seed(3)
    return np.random.randn(), np.random.randn()  # J_content, J_style


@verdict_first
def total_cost_test(target):
    J_content, J_style = total_cost_case()
    # a plain number is fine here: J_content and J_style of this case are NumPy floats
    J = _returned(target, (J_content, J_style), "total_cost", "J", tensor=False)
    print("J =", fmt(J))
    J11 = _returned(target, (J_content, J_style), "total_cost", "J", {"alpha": 1, "beta": 1}, tensor=False)
    if np.isclose(J, 10 * J_style + 40 * J_content, rtol=RTOL):
        raise AssertionError("alpha weights the content cost and beta the style cost: "
                             "J = alpha * J_content + beta * J_style.")
    assert np.isclose(J, TOTAL_COST, rtol=RTOL), (
        f"got {J:.6g}, expected {TOTAL_COST:.6g}: J = alpha * J_content + beta * J_style "
        "with the default alpha=10, beta=40.")
    assert np.isclose(J11, TOTAL_COST_ALPHA1_BETA1, rtol=RTOL), (
        f"total_cost(J_content, J_style, alpha=1, beta=1) gave {J11:.6g}, expected "
        f"{TOTAL_COST_ALPHA1_BETA1:.6g}: use the alpha and beta arguments, not fixed numbers.")
    print(PASSED)


@verdict_first
def train_step_test(target, generated_image, model, a_C, a_S, alpha=10, beta=40,
                    content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS):
    """One step on ``generated_image`` (the reference's costs in place of the learner's): checks the
    returned costs, the update and that the cost went down; then prints the cost before and after one
    step on a small network of fixed weights, so the printed lines hold whatever VGG weights the
    notebook has."""
    compute_content_cost, compute_style_cost, total_cost = (
        reference(name) for name in ("compute_content_cost", "compute_style_cost", "total_cost"))

    if not isinstance(generated_image, tf.Variable):
        raise AssertionError("generated_image must be a tf.Variable (the optimizer updates it in place): "
                             "generated_image = tf.Variable(generated_image).")

    def reference_costs(image):
        a_G = model(image)
        J_content = float(compute_content_cost(a_C, a_G[content_layer]))
        J_style = float(compute_style_cost(a_S, a_G, style_layers))
        return float(total_cost(J_content, J_style, alpha, beta)), J_content, J_style

    before = generated_image.numpy()
    J_ref, J_content_ref, J_style_ref = reference_costs(generated_image)

    # A fresh trace, so that the reference costs are the ones compiled into the graph.
    python_function = getattr(target, "python_function", None)
    step = tf.function(python_function) if python_function is not None else target
    with reference_helpers(target, REFERENCE_HELPERS["train_step"]):
        out = call(step, (generated_image,), "train_step")
        if not (isinstance(out, (tuple, list)) and len(out) == 3):
            raise AssertionError("train_step must return the three costs J, J_content, J_style, got "
                                 f"{type(out).__name__}.")
        J, J_content, J_style = (scalar(v, n, "train_step") for v, n in
                                 zip(out, ("J", "J_content", "J_style")))
    after = generated_image.numpy()
    for got, want, name, hint in (
            (J_content, J_content_ref, "J_content", "compute_content_cost(a_C, a_G[content_layer])"),
            (J_style, J_style_ref, "J_style", "compute_style_cost(a_S, a_G, style_layers)"),
            (J, J_ref, "J", "total_cost(J_content, J_style, alpha=alpha, beta=beta)")):
        assert np.isclose(got, want, rtol=1e-3), (
            f"{name} = {got:.6g} but the image's {name} is {want:.6g}: inside the tape, compute "
            f"a_G = model(generated_image), then {hint}.")
    print("train_step returns J, J_content, J_style of the current image")
    assert not np.array_equal(before, after), (
        "generated_image did not change: compute grad = tape.gradient(J, generated_image) and apply it "
        "with optimizer.apply_gradients([(grad, generated_image)]).")
    print("the optimizer updated generated_image")
    J_next = reference_costs(generated_image)[0]
    assert J_next < J_ref, (
        f"the cost went up after one step ({J_ref:.6g} -> {J_next:.6g}): apply the gradient of J (not of "
        "J_content or J_style alone) with respect to generated_image.")
    print("the cost decreased after one step")
    J_start, J_stepped = _steps_on_a_small_network(target, python_function, content_layer, style_layers)
    print(f"J on the test's small network: {J_start:.4g}, after one step: {J_stepped:.4g}")
    print(PASSED)


def _steps_on_a_small_network(target, python_function, content_layer, style_layers, steps=2):
    """[J] that the learner's train_step returns in `steps` calls on a small network of fixed weights
    and fixed images (kit/tiny.py) with a new Adam(2.0), whatever VGG the notebook loaded: numbers a
    learner can compare. The step's globals model, a_C, a_S and optimizer are swapped meanwhile."""
    rng = np.random.default_rng(3)
    weights = [rng.standard_normal(shape).astype(np.float32) * np.sqrt(2 / np.prod(shape[:-1])) if len(shape) > 1
               else np.zeros(shape, np.float32) for pair in tiny_shapes() for shape in pair]
    small = build_tiny(weights)
    content, style, start = (rng.uniform(-60, 60, (1, 32, 40, 3)).astype(np.float32) for _ in range(3))
    image, optimizer = tf.Variable(start), keras.optimizers.Adam(2.0)
    optimizer.build([image])
    values = {"model": small, "a_C": small(content)[content_layer], "a_S": small(style), "optimizer": optimizer}
    step = tf.function(python_function) if python_function is not None else target
    namespace = getattr(python_function or target, "__globals__", {})
    with swapped(namespace, values), reference_helpers(target, REFERENCE_HELPERS["train_step"]):
        return [float(step(image)[0]) for _ in range(steps)]
