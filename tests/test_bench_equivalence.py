"""The speed-ups kept from the benchmark (benchmarks/step_time.py) change no result: the faster paths
compute the same costs, gradients and updates as the course's formulation, up to float rounding."""
import numpy as np
import pytest
import tensorflow as tf

from nst_utils.config import CONTENT_LAYER, STYLE_LAYERS
from nst_utils.costs import compute_style_cost
from nst_utils.engine.objective import GramTargets, gram, make_cost_with_targets
from nst_utils.engine.optimize import adam_step
from nst_utils.engine.traced import make_value_and_gradient
from nst_utils.fast import choice
from nst_utils.train import make_train_step
from nst_utils.engine.network import build_fast_vgg as build_vgg  # the engine's network
from nst_utils.vgg import VGG19_BLOCKS, conv_layer_names, keras_layer_name
from nst_utils.grading.standin import standin_conv_weights

LAYERS = [CONTENT_LAYER] + [name for name, _ in STYLE_LAYERS]
# Odd sides: the 'same' average pooling then has border windows with fewer pixels.
H, W = 29, 37


@pytest.fixture(scope="module")
def weights():
    keras_weights = standin_conv_weights(seed=3)
    return {name: keras_weights[keras_layer_name(name)] for name in conv_layer_names(VGG19_BLOCKS)}


@pytest.fixture(autouse=True)
def winograd_on_small_images(monkeypatch):
    # H x W is small, so that Winograd runs in every block: below MIN_PIXELS the default model would
    # use the direct convolution there (it is faster) and these tests would not compare Winograd.
    # Block 1 (29x37 pixels) also gets the large tiles F(6x6, 3x3), as it does on the course's images.
    monkeypatch.setattr(choice, "MIN_PIXELS", 1)
    monkeypatch.setattr(choice, "LARGE_TILE_MIN_PIXELS", 1000)


@pytest.fixture(scope="module")
def models(weights):
    # the course's layers; the input gradient as a forward convolution only; the default (that and
    # Winograd convolutions from block 2 on, tested against direct convolutions in test_winograd.py)
    return {"course": build_vgg(weights, VGG19_BLOCKS, "avg", LAYERS, fast_input_gradient=False),
            "fast-grad": build_vgg(weights, VGG19_BLOCKS, "avg", LAYERS, winograd=False),
            "default": build_vgg(weights, VGG19_BLOCKS, "avg", LAYERS)}


def images(seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-120, 130, (1, H, W, 3)).astype(np.float32) for _ in range(3)]


def test_fast_input_gradient_same_forward_and_gradients(models):
    x = tf.constant(images(0)[0])
    outs, grads = {}, {}
    for fast, model in [(False, models["course"]), (True, models["fast-grad"])]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            acts = model(x)
            # a scalar that reaches every returned layer with a different weight per element
            y = sum(tf.reduce_sum(tf.sin(a) * a) for a in acts.values())
        outs[fast], grads[fast] = acts, tape.gradient(y, x).numpy()
    for name in LAYERS:
        np.testing.assert_array_equal(outs[True][name].numpy(), outs[False][name].numpy())
    scale = np.abs(grads[False]).max()
    assert scale > 0
    np.testing.assert_allclose(grads[True], grads[False], rtol=0, atol=1e-5 * scale)


def test_fast_input_gradient_kernel_gradient_unchanged(weights):
    # The faster layer is still a correct conv layer if someone trains its weights.
    grads = {}
    for fast in (False, True):
        model = build_vgg(weights, VGG19_BLOCKS, "avg", ["conv2_1"], fast_input_gradient=fast, winograd=False)
        layer = model.get_layer("conv1_2")
        with tf.GradientTape() as tape:
            tape.watch(layer.kernel.value)
            y = tf.reduce_sum(tf.square(model(images(1)[0])["conv2_1"]))
        grads[fast] = tape.gradient(y, layer.kernel.value).numpy()
    np.testing.assert_allclose(grads[True], grads[False], rtol=0, atol=1e-5 * np.abs(grads[False]).max())


def test_gram_gradient_matches_numpy():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(30, 5)).astype(np.float32)
    M = rng.normal(size=(5, 5)).astype(np.float32)
    A_t = tf.constant(A)
    with tf.GradientTape() as tape:
        tape.watch(A_t)
        G = gram(A_t[None, None])  # activations (1, 1, 30, 5): A^T A of the (30, 5) rows
        y = tf.reduce_sum(G * M)
    np.testing.assert_allclose(G.numpy(), A.T.astype(np.float64) @ A, rtol=1e-5)
    # d/dA sum(M * A^T A) = A (M + M^T), in float64 NumPy
    np.testing.assert_allclose(tape.gradient(y, A_t).numpy(), A.astype(np.float64) @ (M + M.T), rtol=1e-5)


def engine_step(model, a_C, a_S, optimizer, shape):
    """The Adam step stylise runs: the engine's tape (traced.py) on its cost with fixed Gram targets."""
    return adam_step(make_value_and_gradient(make_cost_with_targets(model, a_C, a_S), shape), optimizer)


def run_steps(model, n=3, course=False, **options):
    """n Adam steps of the course's train_step (course=True; options: its jit_compile) or the engine's."""
    import keras

    content, style, init = images(5)
    a_C = model(content)[CONTENT_LAYER]
    a_S = model(style)
    generated = tf.Variable(init)
    if course:
        step = make_train_step(model, a_C, a_S, keras.optimizers.Adam(2.0), **options)
    else:
        step = engine_step(model, a_C, a_S, keras.optimizers.Adam(2.0), init.shape)
    costs = [[float(v) for v in step(generated)] for _ in range(n)]
    return np.array(costs), generated.numpy()


@pytest.mark.slow
def test_default_step_equals_course_step(models):
    course, course_image = run_steps(models["course"], course=True)
    default, default_image = run_steps(models["default"])
    # J, J_content, J_style of three successive images agree
    np.testing.assert_allclose(default, course, rtol=2e-5)
    assert course[2, 0] < course[0, 0]  # the steps do optimise
    # Adam moves every pixel by up to 2.0 per step whatever the gradient's size, so the rounding
    # differences of the faster convolutions (about 1e-5 relative) show most in pixels with tiny
    # gradients; 3e-3 is 0.15% of one step.
    np.testing.assert_allclose(default_image, course_image, rtol=0, atol=3e-3)


def test_fixed_style_grams_cost_equals_compute_style_cost(models):
    model = models["course"]
    _, style, generated = images(6)
    a_S, a_G = model(style), model(generated)
    expected = float(compute_style_cost(a_S, a_G, STYLE_LAYERS))

    assert float(GramTargets.of_style(a_S).style_cost(a_G)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_xla_step_equals_default_step(models):
    default, _ = run_steps(models["default"], n=2, course=True)
    xla, _ = run_steps(models["default"], n=2, course=True, jit_compile=True)
    np.testing.assert_allclose(xla, default, rtol=2e-5)


def test_fixed_style_grams_keeps_the_clear_errors(models):
    import keras

    model = models["default"]
    content, style, init = images(7)
    small_style = model(style[:, :-8, :-8, :])
    step = engine_step(model, model(content)[CONTENT_LAYER], small_style, keras.optimizers.Adam(2.0), init.shape)
    with pytest.raises(ValueError, match="Resize the style image"):
        step(tf.Variable(init))
    without_conv5 = build_vgg(weights_of(model), VGG19_BLOCKS, "avg", LAYERS[:-1])
    step = engine_step(without_conv5, model(content)[CONTENT_LAYER], model(style), keras.optimizers.Adam(2.0),
                       init.shape)
    with pytest.raises(KeyError, match="Build the model with this layer"):
        step(tf.Variable(init))


def weights_of(model):
    return {layer.name: tuple(layer.get_weights()) for layer in model.layers if layer.name.startswith("conv")}
