"""The image transformation network of Johnson et al. 2016 ("Perceptual losses for real-time style
transfer and super-resolution"), scaled down to run on a CPU (VGG, the loss network, is vgg.py and
engine/network.py).

    input (1, H, W, 3) -> 9x9 conv -> 3x3 conv stride 2 -> 3x3 conv stride 2    (downsampling)
          -> n_residual residual blocks at H/4 x W/4                            (the "painting")
          -> 2x (nearest-neighbour upsampling + 3x3 conv) -> 9x9 conv -> output (1, H, W, 3)

Every conv but the last is followed by instance normalisation (Ulyanov et al. 2016) and a ReLU.
Input and output are the package's normalised images: RGB, pixel units, CONFIG.MEANS subtracted,
shape (batch, H, W, 3), float32, with H and W multiples of 4 (two stride-2 convolutions).
"""
import numpy as np
import tensorflow as tf
import keras

from ..config import CONFIG

#: Default size: channels of the three resolutions and number of residual blocks. Johnson et al.
#: use (32, 64, 128) and 5 blocks; a quarter of the multiply-adds keeps 400x300 inference well under
#: a second on two CPU cores and lets a 30-minute CPU training run converge visibly.
DEFAULT_CHANNELS = (16, 32, 64)
DEFAULT_RESIDUAL_BLOCKS = 3


class ReflectConv2D(keras.layers.Layer):
    """Convolution over a reflection-padded input ('same' output size for stride 1).

    Zero padding makes the borders darker than the inside for instance normalisation and the style
    cost, which the network then learns to paint as a frame; reflecting avoids that.
    """

    def __init__(self, filters, kernel_size, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.pad = kernel_size // 2
        self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="valid")

    def call(self, x):
        p = self.pad
        return self.conv(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT"))


class InstanceNorm(keras.layers.Layer):
    """(x - mean) / sqrt(var + eps) * gamma + beta, mean and var per image and channel over H, W.

    Normalising each image on its own (not over the batch) removes the content image's contrast
    from the features, which is what lets a small network stylise (Ulyanov et al. 2016); it also
    makes training with a batch of one and inference behave the same.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        n_C = input_shape[-1]
        self.gamma = self.add_weight(name="gamma", shape=(n_C,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(n_C,), initializer="zeros")

    def call(self, x):
        mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + self.epsilon) * self.gamma + self.beta


def _conv_norm_relu(x, filters, kernel_size, strides, name):
    x = ReflectConv2D(filters, kernel_size, strides, name=f"{name}_conv")(x)
    x = InstanceNorm(name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _residual_block(x, filters, name):
    """x + conv-norm-relu-conv-norm(x): the blocks learn a change of the features, not the features."""
    y = _conv_norm_relu(x, filters, 3, 1, f"{name}_a")
    y = ReflectConv2D(filters, 3, name=f"{name}_b_conv")(y)
    y = InstanceNorm(name=f"{name}_b_norm")(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def build_transform_net(channels=DEFAULT_CHANNELS, residual_blocks=DEFAULT_RESIDUAL_BLOCKS, seed=None):
    """The image transformation network, keras.Model: normalised image (batch, H, W, 3), H and W
    multiples of 4 -> normalised image (batch, H, W, 3), pixels in [0, 255] once CONFIG.MEANS is
    added. channels: (c1, c2, c3) at full, half and quarter resolution; seed: of the initial weights."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    c1, c2, c3 = (int(c) for c in channels)
    means = tf.constant(CONFIG.MEANS)
    inputs = keras.Input(shape=(None, None, 3), name="image")
    # Pixel units (about +-128) -> about +-1, the scale the default initialisers expect.
    x = keras.layers.Rescaling(1.0 / 127.5, name="scale_in")(inputs)
    x = _conv_norm_relu(x, c1, 9, 1, "down1")
    x = _conv_norm_relu(x, c2, 3, 2, "down2")
    x = _conv_norm_relu(x, c3, 3, 2, "down3")
    for i in range(1, residual_blocks + 1):
        x = _residual_block(x, c3, f"res{i}")
    # Nearest-neighbour upsampling then a conv, rather than a strided transposed conv, avoids the
    # checkerboard pattern of overlapping transposed kernels (Odena et al. 2016).
    x = keras.layers.UpSampling2D(2, interpolation="nearest", name="up1_resize")(x)
    x = _conv_norm_relu(x, c2, 3, 1, "up1")
    x = keras.layers.UpSampling2D(2, interpolation="nearest", name="up2_resize")(x)
    x = _conv_norm_relu(x, c1, 3, 1, "up2")
    x = ReflectConv2D(3, 9, name="out_conv")(x)
    # tanh keeps every output pixel in [0, 255] (no clipping needed, gradients everywhere); then the
    # package's normalisation: RGB minus the ImageNet means.
    outputs = keras.layers.Lambda(lambda t: 127.5 * (tf.tanh(t) + 1.0) - means, name="to_normalised")(x)
    model = keras.Model(inputs, outputs, name="transform_net")
    # The architecture, for weights.save_transform_net.
    model.transform_channels, model.transform_residual_blocks = (c1, c2, c3), int(residual_blocks)
    return model


def weights_dict(model):
    """{'layer/variable': array} of all the model's weights (the .npz format of save_transform_net)."""
    out = {}
    for layer in model.layers:
        for w in layer.weights:
            out[_key(layer, w)] = np.asarray(w.numpy())
    return out


def _key(layer, variable):
    # Keras 3 names variables 'kernel', Keras 2 'scope/kernel:0': keep the last part only.
    return f"{layer.name}/{variable.name.split('/')[-1].split(':')[0]}"


def set_weights_dict(model, arrays):
    """Assign arrays from weights_dict(...) by name; raise if any name or shape does not match."""
    expected = weights_dict(model)
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise ValueError(f"weights do not fit this network: missing {missing[:5]}, unexpected {extra[:5]}")
    for layer in model.layers:
        for w in layer.weights:
            value = arrays[_key(layer, w)]
            if tuple(value.shape) != tuple(w.shape):
                raise ValueError(f"{_key(layer, w)}: shape {value.shape}, network has {tuple(w.shape)}")
            w.assign(value)
