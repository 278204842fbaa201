"""Winograd F(4x4, 3x3) convolution (nst_utils.fast.winograd) and the VGG layers that use it."""
import os

import numpy as np
import pytest
import tensorflow as tf

from nst_utils.fast import choice, native, winograd
from nst_utils.engine.network import build_fast_vgg as build_vgg  # the engine's network
from nst_utils.vgg import FILTERS, VGG19_BLOCKS, conv_layer_names, keras_layer_name
from nst_utils.grading.standin import standin_conv_weights


def numpy_conv2d_same(x, kernel):
    """3x3, stride 1, 'same' cross-correlation in float64, written out: the reference."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    n, h, w, _ = x.shape
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    out = np.zeros((n, h, w, kernel.shape[3]))
    for r in range(3):
        for s in range(3):
            out += padded[:, r:r + h, s:s + w, :] @ kernel[r, s]
    return out


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("tile", [4, 6])
@pytest.mark.parametrize("shape", [(1, 8, 8, 3, 5), (1, 29, 37, 16, 24), (2, 13, 6, 7, 9), (1, 1, 1, 4, 4),
                                   (1, 19, 25, 64, 32), (1, 38, 50, 131, 70)])
def test_equals_a_direct_convolution(monkeypatch, shape, tile, fused):
    # Sides that are not multiples of the output tile (4x4 or 6x6), a batch of 2, a single pixel;
    # with the compiled ops, the layer as one op (fused) and as three.
    monkeypatch.setattr(choice, "FUSED_MAX_KERNEL_TILE_VALUES", 10**12 if fused else 0)
    n, h, w, c_in, c_out = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(0, 50, (n, h, w, c_in)).astype(np.float32)
    kernel = rng.normal(0, 0.1, (3, 3, c_in, c_out)).astype(np.float32)

    out = winograd.winograd_conv2d(tf.constant(x), kernel, tile).numpy()

    expected = numpy_conv2d_same(x, kernel)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=3e-5 * np.abs(expected).max())


@pytest.mark.parametrize("tile", [4, 6])
@pytest.mark.parametrize("shape", [(1, 9, 14, 5), (2, 13, 6, 70), (1, 38, 50, 131)])
def test_compiled_transforms_equal_the_tensorflow_ones(shape, tile):
    # The compiled ops (native.py) and the TensorFlow ops they replace compute the same transforms;
    # channel counts around the compiled ops' 64-channel chunks, sides that are not multiples of 4.
    ops = native.ops()
    if ops is None:
        assert os.environ.get("CI") != "true", f"CI must build the compiled transforms: {native.why_not()}"
        pytest.skip(f"compiled transforms unavailable: {native.why_not()}")
    x = tf.constant(np.random.default_rng(1).normal(0, 50, shape).astype(np.float32))
    tiles = winograd._input_tiles(x, tile)
    assert_close(ops.nst_winograd_input(x, tile=tile).numpy(), tiles.numpy(), 1e-6)
    out = winograd._output_from_tiles(tiles, shape[:3])
    no_bias = np.zeros([0], np.float32)
    assert_close(ops.nst_winograd_output(tiles, no_bias, height=shape[1], width=shape[2], tile=tile).numpy(),
                 out.numpy(), 1e-6)


@pytest.mark.parametrize("tile", [4, 6])
def test_tensorflow_transforms_when_nothing_compiles(monkeypatch, tile):
    # Without a compiler (or with NST_NATIVE=0) the convolution is the same, in TensorFlow's ops.
    monkeypatch.setattr(native, "ops", lambda: None)
    monkeypatch.setattr(choice, "PLAIN_WINOGRAD", True)
    rng = np.random.default_rng(2)
    x = rng.normal(0, 50, (1, 11, 17, 6)).astype(np.float32)
    kernel = rng.normal(0, 0.1, (3, 3, 6, 10)).astype(np.float32)
    out = winograd.winograd_conv2d(tf.constant(x), kernel, tile)
    expected = numpy_conv2d_same(x, kernel)
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=3e-5 * np.abs(expected).max())


@pytest.mark.parametrize("ops", ["compiled", "fused", "tensorflow", "direct"])
@pytest.mark.parametrize("tile", [4, 6])
def test_input_gradient_is_the_rotated_kernels_convolution(monkeypatch, tile, ops):
    # input_gradient=True is the 'same' convolution with the kernel rotated by 180 degrees and its
    # channels swapped: the input gradient of the forward convolution (compiled ops: three or one).
    monkeypatch.setattr(choice, "FUSED_MAX_KERNEL_TILE_VALUES", 10**12 if ops == "fused" else 0)
    if ops in ("tensorflow", "direct"):
        monkeypatch.setattr(native, "ops", lambda: None)
        monkeypatch.setattr(choice, "PLAIN_WINOGRAD", ops == "tensorflow")
    rng = np.random.default_rng(3)
    dy = rng.normal(0, 1, (1, 10, 13, 37)).astype(np.float32)
    kernel = rng.normal(0, 0.1, (3, 3, 21, 37)).astype(np.float32)
    out = winograd.winograd_conv2d(tf.constant(dy), kernel, tile, input_gradient=True).numpy()
    expected = numpy_conv2d_same(dy, np.transpose(kernel[::-1, ::-1], (0, 1, 3, 2)))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=3e-5 * np.abs(expected).max())


@pytest.mark.parametrize("ops", ["compiled", "fused", "tensorflow", "direct"])
@pytest.mark.parametrize("tile", [4, 6])
def test_a_layer_with_bias_and_relu_in_one_pass(monkeypatch, tile, ops):
    # fast.conv.Conv2D hands a ReLU layer's bias and activation to the output transform; its
    # output and its gradients (input, kernel, bias) are keras.layers.Conv2D's.
    import keras

    from nst_utils.fast.conv import Conv2D

    monkeypatch.setattr(choice, "FUSED_MAX_KERNEL_TILE_VALUES", 10**12 if ops == "fused" else 0)
    monkeypatch.setattr(choice, "MIN_PIXELS", 1)
    monkeypatch.setattr(choice, "LARGE_TILE_MIN_PIXELS", 1 if tile == 6 else 10**12)
    if ops in ("tensorflow", "direct"):
        monkeypatch.setattr(native, "ops", lambda: None)
        monkeypatch.setattr(choice, "PLAIN_WINOGRAD", ops == "tensorflow")
    rng = np.random.default_rng(tile)
    x = tf.constant(rng.normal(0, 1, (1, 14, 19, 64)).astype(np.float32))
    weights = tf.constant(rng.normal(0, 1, (1, 14, 19, 70)).astype(np.float32))
    fast, plain = (cls(70, 3, padding="same", activation="relu", **kw)
                   for cls, kw in ((Conv2D, {"winograd": True}), (keras.layers.Conv2D, {})))
    for layer in (fast, plain):
        layer.build(x.shape)
    fast.kernel.assign(rng.normal(0, 0.05, (3, 3, 64, 70)).astype(np.float32))
    fast.bias.assign(rng.normal(0, 0.5, (70,)).astype(np.float32))  # about half the outputs below 0
    plain.set_weights(fast.get_weights())
    assert fast._tile(x.shape) == tile
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        outputs = [layer(x) for layer in (fast, plain)]
        costs = [tf.reduce_sum(weights * y) for y in outputs]
    assert_close(outputs[0].numpy(), outputs[1].numpy(), 3e-5)
    for ours, theirs in zip(tape.gradient(costs[0], [x, fast.kernel, fast.bias]),
                            tape.gradient(costs[1], [x, plain.kernel, plain.bias])):
        assert_close(np.asarray(ours), np.asarray(theirs), 3e-5)


@pytest.mark.parametrize("tile", [4, 6])
@pytest.mark.parametrize("shape", [(1, 5, 3), (7, 13, 37), (300, 64, 64), (35, 131, 70), (192, 40, 33),
                                   (193, 33, 40)])
def test_compiled_products_are_the_winograd_products(shape, tile):
    # The compiled product (its own matrix product, the kernel's transform made inside) against
    # float64: rows around its 6-row blocks and 252-row chunks, on both sides of 192 rows (up to
    # there the kernel's transform is made in cache, panel by panel), channels around its
    # 16/32-channel panels (a narrower last panel).
    ops = native.ops()
    if ops is None:
        assert os.environ.get("CI") != "true", f"CI must build the compiled transforms: {native.why_not()}"
        pytest.skip(f"compiled transforms unavailable: {native.why_not()}")
    rows, c_in, c_out = shape
    rng = np.random.default_rng(rows)
    tiles = rng.normal(0, 10, ((tile + 2) ** 2, rows, c_in)).astype(np.float32)
    kernel = rng.normal(0, 0.1, (3, 3, c_in, c_out)).astype(np.float32)
    # The input gradient's kernel comes with its channels swapped, (3, 3, c_out, c_in), and is read so.
    swapped = np.ascontiguousarray(np.transpose(kernel, (0, 1, 3, 2)))
    for kron in (winograd._KRON[tile].kernel, winograd._KRON[tile].kernel_flipped):
        expected = tiles.astype(np.float64) @ (kron.astype(np.float64) @ kernel.reshape(9, -1)).reshape(-1, c_in, c_out)
        assert_close(ops.nst_winograd_products(tiles, kernel, kron).numpy(), expected, 2e-6)
        assert_close(ops.nst_winograd_products(tiles, swapped, kron, swap_channels=True).numpy(), expected, 2e-6)


def test_the_plain_path_is_the_direct_convolution_where_chosen(monkeypatch):
    # Without the compiled ops, where Winograd in TensorFlow's ops is the slower path
    # (choice.PLAIN_WINOGRAD), a Winograd layer runs TensorFlow's direct convolution: no tiles.
    monkeypatch.setattr(native, "ops", lambda: None)
    kernel = np.random.default_rng(4).normal(0, 0.1, (3, 3, 8, 8)).astype(np.float32)
    spec = tf.TensorSpec([1, 12, 16, 8], tf.float32)
    kinds = {}
    for plain_winograd in (True, False):
        monkeypatch.setattr(choice, "PLAIN_WINOGRAD", plain_winograd)
        graph = tf.function(lambda x: winograd.winograd_conv2d(x, kernel, 4)).get_concrete_function(spec).graph
        kinds[plain_winograd] = {op.type for op in graph.get_operations()}
        for function in graph.as_graph_def().library.function:
            kinds[plain_winograd] |= {node.op for node in function.node_def}
    assert "SpaceToBatchND" in kinds[True] and "Conv2D" not in kinds[True]
    assert "Conv2D" in kinds[False] and "SpaceToBatchND" not in kinds[False]


@pytest.mark.parametrize("ops", ["compiled", "tensorflow", "direct"])
@pytest.mark.parametrize("shape", [(1, 0, 5, 8), (1, 5, 0, 8), (0, 5, 5, 8), (1, 5, 5, 0)])
def test_empty_sizes_are_a_value_error_on_every_path(monkeypatch, ops, shape):
    # before any op runs: on main an empty image killed the process (SIGFPE) on the compiled path
    # and gave a wrong shape on TensorFlow's
    if ops == "compiled" and native.ops() is None:
        pytest.skip(f"compiled ops unavailable: {native.why_not()}")
    if ops != "compiled":
        monkeypatch.setattr(native, "ops", lambda: None)
        monkeypatch.setattr(choice, "PLAIN_WINOGRAD", ops == "tensorflow")
    kernel = np.zeros((3, 3, shape[3], 4), np.float32)
    for input_gradient in (False, True):
        with pytest.raises(ValueError, match="empty or negative size"):
            winograd.winograd_conv2d(tf.zeros(shape), kernel, 4, input_gradient=input_gradient)
    with pytest.raises(ValueError, match="kernel has an empty"):
        winograd.winograd_conv2d(tf.zeros((1, 5, 5, 8)), np.zeros((3, 3, 8, 0), np.float32), 4)


def test_the_compiled_ops_refuse_empty_and_negative_sizes():
    # The raw ops answer an error, never a crash (run in this process: a SIGFPE would kill pytest).
    ops = native.ops()
    if ops is None:
        assert os.environ.get("CI") != "true", f"CI must build the compiled transforms: {native.why_not()}"
        pytest.skip(f"compiled transforms unavailable: {native.why_not()}")
    kron, none = winograd._KRON[4].kernel, np.zeros([0], np.float32)
    calls = [
        lambda: ops.nst_winograd_input(np.zeros((1, 0, 5, 8), np.float32)),
        lambda: ops.nst_winograd_input(np.zeros((0, 4, 4, 8), np.float32)),
        lambda: ops.nst_winograd_input(np.zeros((1, 4, 4, 8), np.float32), tile=0),
        lambda: ops.nst_winograd_output(np.zeros((36, 2, 8), np.float32), none, height=-3, width=4),
        lambda: ops.nst_winograd_output(np.zeros((36, 2, 8), np.float32), none, height=0, width=4),
        lambda: ops.nst_winograd_output(np.zeros((36, 0, 8), np.float32), none, height=4, width=4),
        lambda: ops.nst_winograd_conv(np.zeros((1, 0, 5, 8), np.float32), np.zeros((3, 3, 8, 8), np.float32), kron,
                                      none),
        lambda: ops.nst_winograd_conv(np.zeros((1, 4, 5, 8), np.float32), np.zeros((3, 3, 8, 0), np.float32), kron,
                                      none),
        lambda: ops.nst_winograd_products(np.zeros((36, 300, 0), np.float32), np.zeros((3, 3, 0, 8), np.float32),
                                          kron),
        lambda: ops.nst_winograd_products(np.zeros((36, 3, 8), np.float32), np.zeros((3, 3, 8, 0), np.float32),
                                          kron),
    ]
    for call in calls:
        with pytest.raises(tf.errors.InvalidArgumentError, match="empty dimension|must be positive|must be 4 or 6"):
            call()


def test_needs_a_static_shape():
    spec = tf.TensorSpec([1, None, None, 4], tf.float32)
    kernel = np.zeros((3, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match="static input shape"):
        tf.function(lambda x: winograd.winograd_conv2d(x, kernel)).get_concrete_function(spec)


def test_vgg19_uses_winograd_after_conv1_1():
    assert [name for name, c_in, c_out in vgg19_convs() if choice.use_winograd(c_in, c_out)] == \
        conv_layer_names(VGG19_BLOCKS)[1:]
    # on small images, not where the picture is smaller than about 20x20 (block 5 at 200x150: 10x13)
    assert choice.use_winograd(512, 512, 19 * 25) and not choice.use_winograd(512, 512, 10 * 13)


def test_large_tiles_where_they_pay():
    # F(6x6, 3x3) in blocks 1-3 of the course's 400x300 images, F(4x4, 3x3) in blocks 4-5 (512
    # channels: their kernel transforms would be 7.1 times the kernel); at 200x150 F(6x6, 3x3) in
    # blocks 1-2, F(4x4, 3x3) in blocks 3-4 and the direct convolution in block 5 (10x13 pixels).
    def tiles(width, height):
        out, size = {}, (height, width)
        for name, c_in, c_out in vgg19_convs():
            block = int(name[4])
            h, w = (-(-side // 2 ** (block - 1)) for side in size)
            out[name] = choice.winograd_tile(c_in, c_out, h * w)
        return out
    course = tiles(400, 300)
    assert course["conv1_1"] is None
    assert {course[n] for n in ("conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_4")} == {6}
    assert {course[n] for n in ("conv4_1", "conv4_4", "conv5_1")} == {4}
    small = tiles(200, 150)
    assert (small["conv2_2"], small["conv3_1"], small["conv4_2"], small["conv5_1"]) == (6, 4, 4, None)


def vgg19_convs():
    c_in, convs = 3, []
    for name in conv_layer_names(VGG19_BLOCKS):
        c_out = FILTERS[int(name[4]) - 1]
        convs.append((name, c_in, c_out))
        c_in = c_out
    return convs


LAYERS = ["conv2_2", "conv3_1", "conv4_2", "conv5_1"]


@pytest.fixture
def winograd_on_small_images(monkeypatch):
    # The tests' images are small, so that Winograd runs in every block: below MIN_PIXELS build_vgg
    # would use the direct convolution there (it is faster), and these tests would test nothing.
    # Blocks 1-2 (37x45 and 19x23 pixels) get the large tiles F(6x6, 3x3), the rest F(4x4, 3x3).
    monkeypatch.setattr(choice, "MIN_PIXELS", 1)
    monkeypatch.setattr(choice, "LARGE_TILE_MIN_PIXELS", 400)


@pytest.fixture(scope="module")
def weights():
    keras_weights = standin_conv_weights(seed=5)
    return {name: keras_weights[keras_layer_name(name)] for name in conv_layer_names(VGG19_BLOCKS)}


def activations_and_input_gradient(model, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        acts = model(x)
        y = sum(tf.reduce_sum(tf.sin(a) * a) for a in acts.values())
    return {k: v.numpy() for k, v in acts.items()}, tape.gradient(y, x).numpy()


def image(seed, shape=(1, 37, 45, 3)):
    return np.random.default_rng(seed).uniform(-120, 130, shape).astype(np.float32)


def assert_close(actual, expected, relative):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=relative * np.abs(expected).max())


@pytest.mark.usefixtures("winograd_on_small_images")
def test_vgg_layers_same_activations_and_gradient(weights):
    direct = build_vgg(weights, VGG19_BLOCKS, "avg", LAYERS, winograd=False)
    fast = build_vgg(weights, VGG19_BLOCKS, "avg", LAYERS)
    assert [layer.name for layer in fast.layers if getattr(layer, "_use_winograd", False)] == \
        conv_layer_names(VGG19_BLOCKS)[1:13]
    acts_d, grad_d = activations_and_input_gradient(direct, image(0))
    acts_w, grad_w = activations_and_input_gradient(fast, image(0))
    for name in LAYERS:
        assert_close(acts_w[name], acts_d[name], 1e-5)
    # The input gradient passes back through 12 Winograd layers (conv1_2..conv5_1), each adding its
    # ~1e-5 rounding, and this test's loss sum(sin(a) a) magnifies an activation's error by about
    # |a|: 1.4e-4 of the largest value measured with F(4x4, 3x3) alone, 2.5e-4 with F(6x6, 3x3) in
    # blocks 1-2 (twice the rounding), against ~1e-6 for two direct convolutions.
    assert_close(grad_w, grad_d, 4e-4)
    # inside a tf.function, where model_nn's step runs
    acts_f = tf.function(fast)(tf.constant(image(0)))
    for name in LAYERS:
        assert_close(acts_f[name].numpy(), acts_d[name], 1e-5)


@pytest.mark.usefixtures("winograd_on_small_images")
def test_changed_weights_are_used(weights):
    # The Winograd kernels are a cache of the kernel: any change of the weights must reach them.
    fast = build_vgg(weights, VGG19_BLOCKS, "avg", ["conv3_2"])
    other = standin_conv_weights(seed=6)
    step = tf.function(lambda x: fast(x)["conv3_2"])
    step(tf.constant(image(1)))                      # traced and cached with the first weights

    fast.get_layer("conv3_2").set_weights(list(other["block3_conv2"]))
    fast.get_layer("conv3_1").kernel.assign(other["block3_conv1"][0])
    expected_weights = dict(weights, conv3_1=(other["block3_conv1"][0], weights["conv3_1"][1]),
                            conv3_2=other["block3_conv2"])
    expected = build_vgg(expected_weights, VGG19_BLOCKS, "avg", ["conv3_2"], winograd=False)(image(1))["conv3_2"]
    for out in (fast(image(1))["conv3_2"], step(tf.constant(image(1)))):
        assert_close(out.numpy(), expected.numpy(), 1e-5)


@pytest.mark.usefixtures("winograd_on_small_images")
def test_kernel_gradient_is_the_convolutions(weights):
    # Someone who fine-tunes the weights gets TensorFlow's own kernel gradient.
    grads = {}
    for use in (False, True):
        model = build_vgg(weights, VGG19_BLOCKS, "avg", ["conv3_2"], winograd=use)
        kernel = model.get_layer("conv3_1").kernel
        with tf.GradientTape() as tape:
            tape.watch(kernel.value)
            y = tf.reduce_sum(tf.square(model(image(2))["conv3_2"]))
        grads[use] = tape.gradient(y, kernel.value).numpy()
    assert_close(grads[True], grads[False], 1e-4)


@pytest.mark.usefixtures("winograd_on_small_images")
def test_unknown_shapes_fall_back_to_the_direct_convolution(weights):
    fast = build_vgg(weights, VGG19_BLOCKS, "avg", ["conv3_1"])
    spec = tf.TensorSpec([1, None, None, 3], tf.float32)
    out = tf.function(lambda x: fast(x)["conv3_1"], input_signature=[spec])(tf.constant(image(3)))
    expected = build_vgg(weights, VGG19_BLOCKS, "avg", ["conv3_1"], winograd=False)(image(3))["conv3_1"]
    assert_close(out.numpy(), expected.numpy(), 1e-5)


@pytest.mark.usefixtures("winograd_on_small_images")
def test_winograd_kernels_are_not_saved_with_the_weights(weights, tmp_path):
    fast = build_vgg(weights, VGG19_BLOCKS, "avg", ["conv3_1"])
    direct = build_vgg(weights, VGG19_BLOCKS, "avg", ["conv3_1"], winograd=False)
    assert len(fast.weights) == len(direct.weights)
    fast.save_weights(tmp_path / "w.weights.h5")
    direct.load_weights(tmp_path / "w.weights.h5")


@pytest.mark.usefixtures("winograd_on_small_images")
def test_load_fast_vgg_model_chooses_the_convolutions(standin_weights):
    from nst_utils.engine.network import load_fast_vgg_model

    direct = load_fast_vgg_model(standin_weights, layers=["conv4_2"], winograd=False)
    assert not any(getattr(layer, "_use_winograd", False) for layer in direct.layers)
    fast = load_fast_vgg_model(standin_weights, layers=["conv4_2"])
    assert fast.get_layer("conv4_2")._use_winograd
    assert_close(fast(image(4))["conv4_2"].numpy(), direct(image(4))["conv4_2"].numpy(), 1e-5)


def test_one_op_for_the_layers_with_small_kernels():
    # The compiled ops run a layer as one op where its kernel's transform is small (it is read again
    # for every band of tiles): blocks 1 and 2 with F(6x6, 3x3), the layers with the most tiles.
    fused = [name for name, c_in, c_out in vgg19_convs()
             if choice.use_winograd(c_in, c_out) and choice.winograd_fused(6, c_in, c_out)]
    assert fused == ["conv1_2", "conv2_1", "conv2_2"]
    assert not choice.winograd_fused(6, 128, 256) and not choice.winograd_fused(4, 256, 256)
