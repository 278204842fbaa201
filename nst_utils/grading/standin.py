"""Stand-in VGG weights (random, He-scaled), for places where the genuine file cannot be had: the
grader's tiny network and the benchmarks make them for themselves.
"""
import numpy as np

from ..vgg import FILTERS, VGG19_BLOCKS


def standin_conv_weights(seed=0, blocks=VGG19_BLOCKS):
    """{keras layer name: (kernel, bias)}; He-scaled so activations keep a sensible size."""
    rng = np.random.default_rng(seed)
    weights, c_in = {}, 3
    for b, n in enumerate(blocks, 1):
        for i in range(1, n + 1):
            c_out = FILTERS[b - 1]
            kernel = rng.normal(0.0, np.sqrt(2.0 / (9 * c_in)), (3, 3, c_in, c_out)).astype(np.float32)
            bias = rng.normal(0.0, 0.01, (c_out,)).astype(np.float32)
            weights[f"block{b}_conv{i}"] = (kernel, bias)
            c_in = c_out
    return weights


#: The tiny network's layers: VGG's names, so that the course's layer lists apply, with few channels.
TINY_LAYERS = (("conv1_1", 4), ("conv2_1", 6), ("conv3_1", 8), ("conv4_1", 8), ("conv4_2", 8),
               ("conv5_1", 8))


def tiny_vgg(seed):
    """A small seeded stand-in for the activations model, for grading train_step without VGG19.

    Same interface as load_vgg_model(): (1, n_H, n_W, 3) float32 normalised RGB -> {layer name:
    activations}, with conv1_1, conv2_1, conv3_1, conv4_1, conv4_2 and conv5_1 (3x3 ReLU convolutions,
    2x2 average pooling before each block), He-scaled random weights drawn from ``seed``. A train_step
    that uses the model it is given behaves the same on it as on VGG19.
    """
    import keras

    rng = np.random.default_rng(seed)
    inputs = keras.Input(shape=(None, None, 3))
    x, outputs, c_in = inputs, {}, 3
    for name, c_out in TINY_LAYERS:
        if name.endswith("_1") and name != "conv1_1":
            x = keras.layers.AveragePooling2D(2, padding="same")(x)
        conv = keras.layers.Conv2D(c_out, 3, padding="same", activation="relu", name=name)
        x = outputs[name] = conv(x)
        kernel = rng.normal(0.0, np.sqrt(2.0 / (9 * c_in)), (3, 3, c_in, c_out)).astype(np.float32)
        conv.set_weights([kernel, rng.normal(0.0, 0.1, (c_out,)).astype(np.float32)])
        c_in = c_out
    model = keras.Model(inputs, outputs, name="tiny_vgg")
    model.trainable = False
    return model


#: The globals the notebook defines for train_step (section 4), as train_step_globals makes them.
TRAIN_STEP_GLOBALS = ("alpha", "beta", "content_layer", "style_layers", "model", "a_C", "a_S",
                      "generated_image", "optimizer")


def train_step_globals(seed=0):
    """{name: value} of the notebook's train_step globals on tiny_vgg(seed): the course's alpha,
    beta, layers and Adam(2.0), targets and start image drawn from ``seed`` (24x32 pixels).

    Used where train_step is tested without VGG19: the grader's clean room and the nbgrader
    version's test cell.
    """
    import keras
    import tensorflow as tf

    from ..config import CONTENT_LAYER, STYLE_LAYERS

    model = tiny_vgg(seed=seed)
    images = np.random.default_rng(seed).normal(0, 60, (3, 1, 24, 32, 3)).astype(np.float32)
    return {"alpha": 10, "beta": 40, "content_layer": CONTENT_LAYER, "style_layers": STYLE_LAYERS,
            "model": model, "a_C": model(images[0])[CONTENT_LAYER], "a_S": model(images[1]),
            "generated_image": tf.Variable(images[2]),
            "optimizer": keras.optimizers.Adam(learning_rate=2.0)}
