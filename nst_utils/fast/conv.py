"""A drop-in for keras.layers.Conv2D on VGG's 3x3, stride 1, 'same' convolutions, faster on a CPU
(engine/network.py passes conv_layer()'s class as vgg.build_vgg's ``conv``). Same values up to
float rounding:

- The input gradient is a 'same' convolution of the output gradient with the kernel rotated by 180
  degrees and its channels swapped, computed as a forward convolution: TensorFlow's CPU kernel for
  it (Conv2DBackpropInput) is 10-70% slower than its forward Conv2D on VGG's shapes.
- With ``winograd=True``, layers that pass choice.use_winograd compute both by Winograd, with the
  tile choice.winograd_tile picks; the kernel's transform is made in every call (nothing cached:
  changed weights are always used), and the bias and ReLU come in the output transform's pass.

The kernel gradient is TensorFlow's own (Conv2DBackpropFilter), computed only if asked for.
Tensors are NHWC float32: x (1, n_H, n_W, c_in), kernel (3, 3, c_in, c_out).
"""
import functools

import keras
import tensorflow as tf

from . import choice, winograd
from .winograd import rotated


def conv_layer(fast_input_gradient=None, winograd=None):
    """The conv layer class for vgg.build_vgg's ``conv``: keras.layers.Conv2D, or with
    fast_input_gradient this module's Conv2D (same values up to float rounding, a faster step on
    a CPU); winograd computes every conv but conv1_1 by Winograd F(6x6, 3x3) or F(4x4, 3x3).
    None: decided by the device (choice.cpu_fast_paths_default), on for a CPU, off with a GPU."""
    if fast_input_gradient is None or winograd is None:
        on = choice.cpu_fast_paths_default()
        fast_input_gradient = on if fast_input_gradient is None else fast_input_gradient
        winograd = on if winograd is None else winograd
    if not fast_input_gradient:
        return keras.layers.Conv2D
    return functools.partial(Conv2D, winograd=winograd)


def _input_gradient(dy, x, kernel, tile):
    if tile:
        return winograd.winograd_conv2d(dy, kernel, tile, input_gradient=True)
    if kernel.shape[2] < 16:
        # Few input channels (conv1_1: RGB): the rotated convolution would have only 3 output
        # channels, a shape where the dedicated kernel is the faster one.
        return tf.nn.conv2d_transpose(dy, kernel, tf.shape(x), 1, "SAME")
    return tf.nn.conv2d(dy, rotated(kernel), 1, "SAME")


def _kernel_gradient(dy, x, kernel):
    # TensorFlow's own; pruned from the graph when nothing differentiates with respect to the weights
    return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(kernel), out_backprop=dy,
                                           strides=[1, 1, 1, 1], padding="SAME")


def fast_conv2d(x, kernel, tile=None, bias=None, relu=False):
    """tf.nn.conv2d(x, kernel, 1, "SAME") with the faster input gradient; by Winograd F(m x m, 3x3)
    (forward and input gradient) with output tiles m = tile (4 or 6) if x has a static shape.
    bias (c_out,) and relu: + bias, then max(0, .), as a Keras layer's bias and activation; with
    Winograd in the output transform's pass (winograd.winograd_conv2d)."""
    tile = tile if x.shape.is_fully_defined() else None
    if tile and (bias is not None or relu):
        return _winograd_layer(x, kernel, tf.zeros([0]) if bias is None else bias, tile, relu)
    if bias is not None or relu:
        # TensorFlow's graph optimiser fuses these with its own convolution
        y = fast_conv2d(x, kernel)
        y = y + bias if bias is not None else y
        return tf.nn.relu(y) if relu else y

    @tf.custom_gradient
    def conv(x, kernel):
        def grad(dy):
            return _input_gradient(dy, x, kernel, tile), _kernel_gradient(dy, x, kernel)

        if tile:
            return winograd.winograd_conv2d(x, kernel, tile), grad
        return tf.nn.conv2d(x, kernel, 1, "SAME"), grad

    return conv(x, kernel)


def _winograd_layer(x, kernel, bias, tile, relu):
    """A conv layer's max(0, conv(x) + bias) (relu) or conv(x) + bias by Winograd; bias (c_out,) or
    (0,) for none."""
    @tf.custom_gradient
    def layer(x, kernel, bias):
        y = winograd.winograd_conv2d(x, kernel, tile, bias=bias, relu=relu)

        def grad(dy):
            dz = tf.raw_ops.ReluGrad(gradients=dy, features=y) if relu else dy
            dbias = tf.reduce_sum(dz, [0, 1, 2]) if bias.shape[0] else tf.zeros([0])
            return _input_gradient(dz, x, kernel, tile), _kernel_gradient(dz, x, kernel), dbias

        return y, grad

    return layer(x, kernel, bias)


class Conv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D computed by fast_conv2d; ``winograd=True`` adds Winograd tiles where
    choice.use_winograd says they are faster. Named like the layer it stands in for: the
    assignment notebook lists the network's layer types, and a learner should read Conv2D there."""

    def __init__(self, *args, winograd=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.winograd = winograd
        self._use_winograd = False

    def build(self, input_shape):
        super().build(input_shape)
        self._use_winograd = self.winograd and choice.use_winograd(input_shape[-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "winograd": self.winograd}

    def _tile(self, shape):
        # Winograd's tiling needs the image size when the graph is built; without it (Keras
        # building the model, a tf.function over any size) the direct convolution gives the same.
        return (choice.winograd_tile(shape[-1], self.filters, shape[1] * shape[2])
                if self._use_winograd and shape.is_fully_defined() else None)

    def call(self, inputs):
        # With Winograd, the bias and a ReLU go into the convolution's own last pass over memory.
        tile = self._tile(inputs.shape)
        if tile and self.activation is keras.activations.relu:
            bias = tf.convert_to_tensor(self.bias) if self.use_bias else None
            return fast_conv2d(inputs, tf.convert_to_tensor(self.kernel), tile, bias, relu=True)
        return super().call(inputs)

    def convolution_op(self, inputs, kernel):
        return fast_conv2d(inputs, tf.convert_to_tensor(kernel), self._tile(inputs.shape))
