"""The notebook's public tests (nst_utils.public_tests): expected literals, and what learners see.

The expected literals are recomputed here with float64 NumPy from the seeded inputs, independently of
nst_utils.costs. Each test then checks that the reference passes and that typical mistakes fail with a
message that points at the mistake.
"""
import re

import numpy as np
import pytest
import tensorflow as tf

from nst_utils import CONTENT_LAYER, STYLE_LAYERS, costs
from nst_utils import public_tests as pt


# --- independent NumPy versions of the formulas ------------------------------------------------------
def np_content(a_C, a_G):
    a_C, a_G = np.asarray(a_C, np.float64), np.asarray(a_G, np.float64)
    _, h, w, c = a_G.shape
    return ((a_C - a_G) ** 2).sum() / (4 * h * w * c)


def np_unroll(a):
    a = np.asarray(a, np.float64)
    _, h, w, c = a.shape
    # explicit loops: row k is channel k at every position, in row-major position order
    return np.array([[a[0, i, j, k] for i in range(h) for j in range(w)] for k in range(c)])


def np_layer_style(a_S, a_G, unroll=np_unroll):
    S, G = unroll(a_S), unroll(a_G)
    n_C, n_HW = S.shape
    return ((S @ S.T - G @ G.T) ** 2).sum() / (4 * n_C ** 2 * n_HW ** 2)


def test_expected_literals_match_numpy():
    a_C, a_G = pt.content_cost_case()
    assert np.isclose(np_content(a_C, a_G), pt.CONTENT_COST, rtol=1e-6)

    A = np.asarray(pt.gram_matrix_case(), np.float64)
    assert np.allclose(A @ A.T, pt.GRAM, rtol=1e-6)

    a_S, a_G = pt.layer_style_cost_case()
    assert np.isclose(np_layer_style(a_S, a_G), pt.LAYER_STYLE_COST, rtol=1e-6)
    bare = lambda a: np.asarray(a, np.float64).reshape(a.shape[-1], -1)  # the bug the test detects
    assert np.isclose(np_layer_style(a_S, a_G, bare), pt.LAYER_STYLE_COST_BARE_RESHAPE, rtol=1e-5)

    style, generated = pt.style_cost_case()
    default = sum(0.2 * np_layer_style(style[n], generated[n])
                  for n in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"))
    assert np.isclose(default, pt.STYLE_COST, rtol=1e-6)
    two = 0.75 * np_layer_style(style["conv1_1"], generated["conv1_1"]) + \
        0.25 * np_layer_style(style["conv3_1"], generated["conv3_1"])
    assert np.isclose(two, pt.STYLE_COST_TWO_LAYERS, rtol=1e-6)

    J_content, J_style = pt.total_cost_case()
    assert np.isclose(10 * J_content + 40 * J_style, pt.TOTAL_COST, rtol=1e-6)
    assert np.isclose(J_content + J_style, pt.TOTAL_COST_ALPHA1_BETA1, rtol=1e-6)
    # the course's published values
    assert np.isclose(pt.CONTENT_COST, 7.0568767) and np.isclose(pt.TOTAL_COST, 35.34667875478276)


# --- the reference passes -------------------------------------------------------------------------------
@pytest.mark.parametrize("test, function", [
    (pt.compute_content_cost_test, costs.compute_content_cost),
    (pt.gram_matrix_test, costs.gram_matrix),
    (pt.compute_layer_style_cost_test, costs.compute_layer_style_cost),
    (pt.compute_style_cost_test, costs.compute_style_cost),
    (pt.total_cost_test, costs.total_cost),
])
def test_reference_passes(test, function, capsys):
    test(function)
    out = capsys.readouterr().out
    assert out.rstrip().endswith(pt.PASSED)


def test_printed_values(capsys):
    pt.compute_content_cost_test(costs.compute_content_cost)
    pt.compute_layer_style_cost_test(costs.compute_layer_style_cost)
    pt.total_cost_test(costs.total_cost)
    out = capsys.readouterr().out
    assert "J_content = 7.05688\n" in out
    assert "J_style_layer = 14.0178\n" in out
    assert "J = 35.3467\n" in out


# --- typical mistakes --------------------------------------------------------------------------------
def bare_reshape_layer_cost(a_S, a_G):
    _, n_H, n_W, n_C = a_G.shape
    GS = costs.gram_matrix(tf.reshape(a_S, [n_C, n_H * n_W]))
    GG = costs.gram_matrix(tf.reshape(a_G, [n_C, n_H * n_W]))
    return tf.reduce_sum(tf.square(GS - GG)) / (4.0 * n_C ** 2 * (n_H * n_W) ** 2)


def test_bare_reshape_gets_the_specific_hint():
    with pytest.raises(AssertionError, match=r"got 2\.92.*expected 14\.0178: did you reshape a_S "
                                             r"directly to \(n_C, n_H\*n_W\)\?.*transpose"):
        pt.compute_layer_style_cost_test(bare_reshape_layer_cost)


@pytest.mark.parametrize("test, wrong, message", [
    (pt.compute_content_cost_test,
     lambda a_C, a_G: tf.reduce_sum(tf.square(a_C - a_G)) / tf.cast(tf.size(a_G), tf.float32),
     r"divide by 4 \* n_H \* n_W \* n_C"),
    (pt.compute_content_cost_test, lambda a_C, a_G: tf.reduce_sum(a_C - a_G), r"must be 0|expected 7\.05688"),
    (pt.compute_content_cost_test, lambda a_C, a_G: None, "returned None"),
    (pt.compute_content_cost_test,
     lambda a_C, a_G: tf.constant(np.sum((a_C.numpy() - a_G.numpy()) ** 2) / 192.0),
     "fails inside tf.function"),
    (pt.gram_matrix_test, lambda A: tf.matmul(A, A, transpose_a=True), r"not A\^T A"),
    (pt.compute_style_cost_test,
     lambda s, g, layers=costs.STYLE_LAYERS: sum(costs.compute_layer_style_cost(s[n], g[n])
                                                 for n, _ in layers),
     "multiply each layer's cost by its coefficient"),
    (pt.compute_style_cost_test,
     lambda s, g, layers=costs.STYLE_LAYERS: sum(0.2 * costs.compute_layer_style_cost(s[n], g[n])
                                                 for n in s),
     "content layer"),
    (pt.compute_style_cost_test,
     lambda s, g, layers=costs.STYLE_LAYERS: costs.compute_style_cost(s, g),
     "use the style_layers argument"),
    (pt.total_cost_test, lambda Jc, Js, alpha=10, beta=40: tf.constant(alpha * Js + beta * Jc),
     "alpha weights the content cost"),
    (pt.total_cost_test, lambda Jc, Js, alpha=10, beta=40: tf.constant(10 * Jc + 40 * Js),
     "use the alpha and beta arguments"),
    (pt.total_cost_test, lambda Jc, Js, alpha=10, beta=40: tf.constant(alpha * Jc) + None,
     "None placeholder"),
])
def test_mistakes_fail_with_a_helpful_message(test, wrong, message):
    with pytest.raises(AssertionError, match=message):
        test(wrong)


@pytest.mark.parametrize("test, wrong, original, hint", [
    (pt.gram_matrix_test, lambda A: tf.matmul(A, A.T), "no attribute 'T'", r"Hint: .*tf\.transpose"),
    (pt.compute_layer_style_cost_test, lambda a_S, a_G: tf.reduce_sum(a_S.reshape(3, -1)),
     "no attribute 'reshape'", r"Hint: tensors have no NumPy methods.*tf\.reshape"),
    (pt.compute_content_cost_test, lambda a_C, a_G: costs.compute_content_cost({"conv4_2": a_C}, a_G),
     "unsupported type \\(<class 'dict'>\\)", r"Hint: .*whole dict of activations.*a_G\[content_layer\]"),
])
def test_errors_show_the_original_text_and_a_hint(test, wrong, original, hint):
    with pytest.raises(AssertionError) as info:
        test(wrong)
    message = str(info.value)
    assert re.search(original, message) and re.search(hint, message), message
    assert "experimental_enable_numpy_behavior" not in message.split("Hint:")[1]
    assert "dtype=float32" not in message  # not the whole value repeated


def test_numpy_gram_is_refused_with_what_to_use():
    with pytest.raises(AssertionError, match=r"got ndarray: use tf\.matmul and tf\.transpose, not NumPy"):
        pt.gram_matrix_test(lambda A: np.asarray(A) @ np.asarray(A).T)


def test_style_cost_test_isolates_the_layer_cost():
    """A wrong compute_layer_style_cost in the caller's globals must not fail compute_style_cost's test."""
    namespace = {"compute_layer_style_cost": bare_reshape_layer_cost, "STYLE_LAYERS": costs.STYLE_LAYERS}
    exec(
        "def compute_style_cost(style_activations, generated_activations, style_layers=STYLE_LAYERS):\n"
        "    J = 0.0\n"
        "    for name, coeff in style_layers:\n"
        "        J += coeff * compute_layer_style_cost(style_activations[name], generated_activations[name])\n"
        "    return tf.convert_to_tensor(J)\n",
        {**namespace, "tf": tf}, namespace)
    fn = namespace["compute_style_cost"]
    pt.compute_style_cost_test(fn)
    assert fn.__globals__["compute_layer_style_cost"] is bare_reshape_layer_cost  # restored


# --- train_step, on a small image with the session's VGG19 weights ----------------------------------------
@pytest.fixture(scope="module")
def nst_setup():
    from nst_utils import (CONTENT_LAYER, STYLE_LAYERS, generate_noise_image, load_image,
                           load_vgg_model, reshape_and_normalize_image)
    from nst_utils.config import CONFIG

    model = load_vgg_model(layers=[CONTENT_LAYER] + [n for n, _ in STYLE_LAYERS])
    content = reshape_and_normalize_image(load_image(CONFIG.CONTENT_IMAGE, size=(64, 48)))
    style = reshape_and_normalize_image(load_image(CONFIG.STYLE_IMAGE, size=(64, 48)))
    a_C = model(content)[CONTENT_LAYER]
    a_S = model(style)
    return model, a_C, a_S, generate_noise_image(content, 0.6, seed=0)


def _learner_train_step(model, a_C, a_S, optimizer, body, apply="optimizer.apply_gradients([(grad, generated_image)])"):
    """A notebook-style train_step (globals model, a_C, ...) with the given tape body."""
    namespace = {"tf": tf, "model": model, "a_C": a_C, "a_S": a_S, "optimizer": optimizer,
                 "a_C_image": np.zeros((1, 48, 64, 3), np.float32),  # stands for the content image
                 "alpha": 10, "beta": 40, "content_layer": CONTENT_LAYER, "style_layers": STYLE_LAYERS,
                 "compute_content_cost": costs.compute_content_cost,
                 "compute_style_cost": costs.compute_style_cost, "total_cost": costs.total_cost}
    source = ("@tf.function\n"
              "def train_step(generated_image):\n"
              "    with tf.GradientTape() as tape:\n"
              + "".join(f"        {line}\n" for line in body) +
              "    grad = tape.gradient(J, generated_image)\n"
              f"    {apply}\n"
              "    return J, J_content, J_style\n")
    exec(source, namespace)
    return namespace["train_step"]


RIGHT_BODY = ["a_G = model(generated_image)",
              "J_content = compute_content_cost(a_C, a_G[content_layer])",
              "J_style = compute_style_cost(a_S, a_G, style_layers)",
              "J = total_cost(J_content, J_style, alpha=alpha, beta=beta)"]


@pytest.mark.parametrize("body, message", [
    (RIGHT_BODY, None),
    (RIGHT_BODY[:3] + ["J = total_cost(J_content, J_style, alpha=alpha, beta=1)"], "J = .* but the image's J"),
    (RIGHT_BODY[:1] + ["J_content = compute_content_cost(a_C, a_G['conv4_1'])"] + RIGHT_BODY[2:],
     "J_content = .* but the image's J_content"),
    (["a_G = None", "J_content = None", "J_style = None", "J = None"], "train_step raised .*None placeholder"),
    (["a_G = model(tf.constant(a_C_image))"] + RIGHT_BODY[1:],
     r"No gradients provided.* Hint: J does not depend on generated_image.*a_G = model\(generated_image\)"),
])
def test_train_step_test(nst_setup, body, message, capsys):
    import keras

    model, a_C, a_S, image = nst_setup
    optimizer = keras.optimizers.Adam(2.0)
    step = _learner_train_step(model, a_C, a_S, optimizer, body)
    generated_image = tf.Variable(image)
    if message is None:
        pt.train_step_test(step, generated_image, model, a_C, a_S)
        assert capsys.readouterr().out.rstrip().endswith(pt.PASSED)
    else:
        with pytest.raises(AssertionError, match=message):
            pt.train_step_test(step, generated_image, model, a_C, a_S)


def test_train_step_test_needs_the_update(nst_setup):
    model, a_C, a_S, image = nst_setup
    namespace = {"tf": tf, "model": model, "a_C": a_C, "a_S": a_S, "costs": costs}
    exec("@tf.function\n"
         "def train_step(generated_image):\n"
         "    a_G = model(generated_image)\n"
         "    J_content = costs.compute_content_cost(a_C, a_G['conv4_2'])\n"
         "    J_style = costs.compute_style_cost(a_S, a_G)\n"
         "    return costs.total_cost(J_content, J_style), J_content, J_style\n", namespace)
    with pytest.raises(AssertionError, match="generated_image did not change"):
        pt.train_step_test(namespace["train_step"], tf.Variable(image), model, a_C, a_S)


def test_train_step_test_needs_descent(nst_setup):
    import keras

    model, a_C, a_S, image = nst_setup
    step = _learner_train_step(model, a_C, a_S, keras.optimizers.Adam(2.0), RIGHT_BODY,
                               apply="optimizer.apply_gradients([(-grad, generated_image)])")
    with pytest.raises(AssertionError, match="the cost went up after one step"):
        pt.train_step_test(step, tf.Variable(image), model, a_C, a_S)


# --- how a failure shows in a notebook -------------------------------------------------------------------


def test_a_failing_test_shows_its_verdict_and_hint_first_with_no_traceback():
    """IPython shows an exception's _render_traceback_() lines instead of its traceback."""
    def compute_content_cost(a_C, a_G):
        return None + a_C

    with pytest.raises(AssertionError) as err:
        pt.compute_content_cost_test(compute_content_cost)
    lines = err.value._render_traceback_()
    assert "compute_content_cost_test failed: compute_content_cost raised ValueError" in lines[0]
    assert lines[1].startswith("Hint: did you leave a None placeholder") and len(lines) == 2
    assert "Traceback" not in "".join(lines) and "messages.py" not in "".join(lines)
    assert "Hint:" in str(err.value)  # the exception itself, as the grader reads it, is unchanged


def test_a_cell_using_an_unfinished_exercise_says_which_to_finish_first(monkeypatch):
    from nst_utils.grading.kit import messages

    shown = []

    class Shell:
        user_ns = {"In": ["", "J = total_cost(compute_content_cost(a_C, a_G), 1.0)\nfloat(J)"]}

        def showtraceback(self, exc_tuple, tb_offset=None):
            shown.append(exc_tuple[1])

    monkeypatch.setattr(messages, "passed", {"compute_content_cost_test"})
    error = TypeError("float() argument must be a string or a real number, not 'NoneType'")
    messages._finish_first(Shell(), TypeError, error, None)
    lines = shown[0]._render_traceback_()
    assert "finish Exercise 2 - gram_matrix first" in lines[0] and "NoneType" in lines[1]
    # a cell that uses no exercise keeps its ordinary traceback
    Shell.user_ns = {"In": ["", "open('nowhere.png')"]}
    messages._finish_first(Shell(), OSError, OSError("nowhere.png"), None)
    assert not hasattr(shown[1], "_render_traceback_")


def test_the_kits_list_of_exercises_is_the_packages():
    """The kit imports nothing of the package, so it writes the graded functions' names again."""
    from nst_utils.grading.kit import messages
    from nst_utils.resources import GRADED_FUNCTIONS

    assert list(messages.EXERCISES) == list(GRADED_FUNCTIONS)
