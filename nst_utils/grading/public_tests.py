"""Public tests of the six graded exercises, called by the notebook's test cells.

Each ``*_test(target, ...)`` runs the learner's function on seeded inputs, prints the values it
computed and ``All tests passed``, or raises ``AssertionError`` with a message saying what is
wrong and what to check. The printed lines are the notebook's expected output: the grader
(``python -m nst_utils.grade``) compares them with the committed exercise notebook.

Each test isolates the function it checks: while it runs, the functions of *earlier* exercises that
the learner's function calls (e.g. ``compute_layer_style_cost`` inside ``compute_style_cost``) are the
package's reference versions, so one wrong exercise fails its own test only. (The names are swapped in
the notebook's globals for the duration of the test and restored afterwards.)

The expected values were cross-checked against an independent NumPy computation
(tests/test_public_tests.py). Values are printed with 6 significant digits so that the output does
not depend on the last bits of float32 arithmetic.
"""
from contextlib import contextmanager

import numpy as np
import tensorflow as tf

from ..config import CONTENT_LAYER, STYLE_LAYERS

PASSED = "All tests passed"

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


@contextmanager
def _reference_helpers(target, names):
    """Make ``names`` resolve to the package's reference functions inside ``target`` for a while."""
    from .. import costs

    fn = getattr(target, "python_function", target)  # a tf.function's Python function
    namespace = getattr(fn, "__globals__", None)
    if namespace is None or namespace is vars(costs):
        yield
        return
    saved = {name: namespace[name] for name in names if name in namespace}
    namespace.update({name: getattr(costs, name) for name in names})
    try:
        yield
    finally:
        for name in names:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)


def _call(target, args, function, kwargs=None):
    """target(*args, **kwargs); an exception becomes an AssertionError that says what failed."""
    try:
        return target(*args, **(kwargs or {}))
    except Exception as err:  # the learner's code can fail in any way
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        message = lines[-1] if lines else ""  # tf.function errors end with the original message
        prefix = f"{type(err).__name__}: "
        message = message[len(prefix):] if message.startswith(prefix) else message
        hint = (" Did you leave a None placeholder between ### START CODE HERE ### and "
                "### END CODE HERE ###?" if "None" in str(err) else "")
        if message and message[-1] not in ".!?":
            message += "."
        raise AssertionError(f"{function} raised {type(err).__name__}: {message}{hint}") from err


def _fmt(x):
    return f"{float(x):.6g}"


def _scalar(value, name, function, require_tensor=True):
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


def _works_in_tf_function(target, args, eager_value, function):
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


def content_cost_case():
    """Seeded activations a_C, a_G of shape (1, 4, 4, 3), as in the course's test."""
    tf.random.set_seed(1)
    a_C = tf.random.normal([1, 1, 4, 4, 3], mean=1, stddev=4)
    a_G = tf.random.normal([1, 1, 4, 4, 3], mean=1, stddev=4)
    return a_C[-1], a_G[-1]


def compute_content_cost_test(target):
    a_C, a_G = content_cost_case()
    J_content = _scalar(_call(target, (a_C, a_G), "compute_content_cost"), "J_content",
                        "compute_content_cost")
    print("J_content =", _fmt(J_content))
    J_same = _scalar(_call(target, (a_C, a_C), "compute_content_cost"), "J_content",
                     "compute_content_cost")
    assert np.isclose(J_same, 0.0, atol=1e-6), (
        f"compute_content_cost(a_C, a_C) must be 0, got {J_same}: the cost compares a_C with a_G.")
    if np.isclose(J_content, 4 * CONTENT_COST, rtol=RTOL):
        raise AssertionError(f"got {J_content:.6g}, expected {CONTENT_COST:.6g}: divide by "
                             "4 * n_H * n_W * n_C, not n_H * n_W * n_C.")
    assert np.isclose(J_content, CONTENT_COST, rtol=RTOL), (
        f"got {J_content:.6g}, expected {CONTENT_COST:.6g}. Check equation (1): the sum of the squared "
        "differences over all entries, divided by 4 * n_H * n_W * n_C.")
    _works_in_tf_function(target, (a_C, a_G), J_content, "compute_content_cost")
    print(PASSED)


def gram_matrix_case():
    tf.random.set_seed(1)
    return tf.random.normal([3, 2], mean=1, stddev=4)


def gram_matrix_test(target):
    A = gram_matrix_case()
    GA = _call(target, (A,), "gram_matrix")
    if GA is None:
        raise AssertionError("gram_matrix returned None: replace the None placeholder.")
    if not tf.is_tensor(GA):
        raise AssertionError(f"gram_matrix must return a TensorFlow tensor (tf.matmul), got "
                             f"{type(GA).__name__}.")
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


def compute_layer_style_cost_test(target):
    a_S, a_G = layer_style_cost_case()
    with _reference_helpers(target, ["gram_matrix"]):
        J = _scalar(_call(target, (a_S, a_G), "compute_layer_style_cost"), "J_style_layer",
                    "compute_layer_style_cost")
        print("J_style_layer =", _fmt(J))
        J_same = _scalar(_call(target, (a_S, a_S), "compute_layer_style_cost"), "J_style_layer",
                         "compute_layer_style_cost")
        _works_in_tf_function(target, (a_S, a_G), J, "compute_layer_style_cost")
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


def compute_style_cost_test(target):
    style, generated = style_cost_case()
    two_layers = [("conv1_1", 0.75), ("conv3_1", 0.25)]
    with _reference_helpers(target, ["compute_layer_style_cost", "gram_matrix"]):
        J = _scalar(_call(target, (style, generated), "compute_style_cost"), "J_style",
                    "compute_style_cost")
        print("J_style =", _fmt(J))
        J2 = _scalar(_call(target, (style, generated, two_layers), "compute_style_cost"), "J_style",
                     "compute_style_cost")
    print("J_style with", two_layers, "=", _fmt(J2))
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
    J_content = np.random.randn()
    J_style = np.random.randn()
    return J_content, J_style


def total_cost_test(target):
    J_content, J_style = total_cost_case()
    # a plain number is fine here: J_content and J_style of this case are NumPy floats
    J = _scalar(_call(target, (J_content, J_style), "total_cost"), "J", "total_cost", False)
    print("J =", _fmt(J))
    J11 = _scalar(_call(target, (J_content, J_style), "total_cost", {"alpha": 1, "beta": 1}), "J",
                  "total_cost", False)
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


def train_step_test(target, generated_image, model, a_C, a_S, alpha=10, beta=40,
                    content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS):
    """Check train_step against the package's costs of the same image, for any VGG weights.

    Runs one optimisation step on ``generated_image``, with the package's cost functions in place of
    the learner's, and checks the returned costs, the update, and that the cost of the updated image
    (computed by the package) is lower. The printed lines do not depend on the weights, so the
    expected output holds with real or stand-in weights.
    """
    from ..costs import compute_content_cost, compute_style_cost, total_cost

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
    with _reference_helpers(target, ["compute_content_cost", "compute_style_cost", "total_cost",
                                     "compute_layer_style_cost", "gram_matrix"]):
        out = _call(step, (generated_image,), "train_step")
        if not (isinstance(out, (tuple, list)) and len(out) == 3):
            raise AssertionError("train_step must return the three costs J, J_content, J_style, got "
                                 f"{type(out).__name__}.")
        J, J_content, J_style = (_scalar(v, n, "train_step") for v, n in
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
    print(PASSED)
