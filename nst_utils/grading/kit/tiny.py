"""The small stand-in network train_step is graded on, built from weights given as arrays (drawn by
standin.tiny_weights). As load_vgg_model(): (1, n_H, n_W, 3) float32 -> {VGG layer name: activations},
so the course's layer lists apply; 3x3 ReLU convolutions, few channels, 2x2 average pooling per block.
"""
import numpy as np

#: (layer name, output channels) in order.
TINY_LAYERS = (("conv1_1", 4), ("conv2_1", 6), ("conv3_1", 8), ("conv4_1", 8), ("conv4_2", 8),
               ("conv5_1", 8))


def tiny_shapes():
    """[(kernel shape, bias shape)] of the layers, in order: kernels (3, 3, c_in, c_out)."""
    channels = [3] + [c_out for _, c_out in TINY_LAYERS]
    return [((3, 3, c_in, c_out), (c_out,)) for c_in, c_out in zip(channels, channels[1:])]


def build_tiny(weights):
    """The network with ``weights``, a list [kernel, bias, kernel, bias, ...] of float32 arrays in
    the order of TINY_LAYERS (shapes as tiny_shapes()); not trainable."""
    import keras

    weights = [np.asarray(w, np.float32) for w in weights]
    expected = [s for pair in tiny_shapes() for s in pair]
    if [w.shape for w in weights] != expected:
        raise ValueError(f"tiny network weights of shapes {[w.shape for w in weights]}, expected {expected}")
    inputs = keras.Input(shape=(None, None, 3))
    x, outputs = inputs, {}
    for k, (name, c_out) in enumerate(TINY_LAYERS):
        if name.endswith("_1") and name != "conv1_1":
            x = keras.layers.AveragePooling2D(2, padding="same")(x)
        conv = keras.layers.Conv2D(c_out, 3, padding="same", activation="relu", name=name)
        x = outputs[name] = conv(x)
        conv.set_weights(weights[2 * k: 2 * k + 2])
    model = keras.Model(inputs, outputs, name="tiny_vgg")
    model.trainable = False
    return model
