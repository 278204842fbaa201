"""A drop-in for keras.layers.Conv2D on VGG's 3x3, stride 1, 'same' convolutions, faster on a CPU.

vgg.build_vgg builds the course's network with plain keras.layers.Conv2D unless asked for this
layer (``fast_input_gradient=True``, the default of load_vgg_model). Two changes, both giving the
same values up to float rounding:

- The gradient with respect to the input is itself a 'same' convolution of the output gradient
  with the kernel rotated by 180 degrees and its in/out channels swapped. TensorFlow's CPU kernel
  for it (Conv2DBackpropInput) is 10-70% slower than its forward Conv2D on VGG's layer shapes,
  so it is computed as a forward convolution.
- With ``winograd=True``, layers whose channel counts pass winograd.use_winograd (VGG's blocks 3
  to 5) compute both that convolution and the forward one by Winograd F(4x4, 3x3): 2.25 instead
  of 9 multiply-adds per output. The kernels' Winograd transforms are kept in variables; each
  call checks that the kernel still equals the one they were made from and remakes them if not,
  so changing the weights in any way (set_weights, load_weights, assign) stays correct.

The gradient with respect to the kernel is TensorFlow's own (Conv2DBackpropFilter); it is only
computed if someone differentiates with respect to the weights.

Tensors are NHWC float32: x (1, n_H, n_W, c_in), kernel (3, 3, c_in, c_out).
"""
import keras
import tensorflow as tf

from . import winograd


def rotated(kernel):
    """(3, 3, c_in, c_out) -> (3, 3, c_out, c_in): the kernel of the input gradient's convolution."""
    return tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])


def _input_gradient(dy, x, kernel, tiles):
    if tiles is not None:
        return winograd.winograd_conv2d(dy, tiles[1])
    if kernel.shape[2] < 16:
        # Few input channels (conv1_1: RGB): the rotated convolution would have only 3 output
        # channels, a shape where the dedicated kernel is the faster one.
        return tf.nn.conv2d_transpose(dy, kernel, tf.shape(x), 1, "SAME")
    return tf.nn.conv2d(dy, rotated(kernel), 1, "SAME")


def fast_conv2d(x, kernel, tiles=None):
    """tf.nn.conv2d(x, kernel, 1, "SAME") with the faster input gradient.

    tiles -- None (direct convolution), or (forward tiles, input-gradient tiles) from WinogradTiles
    """
    @tf.custom_gradient
    def conv(x, kernel):
        def grad(dy):
            dkernel = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(kernel),
                                                      out_backprop=dy, strides=[1, 1, 1, 1],
                                                      padding="SAME")
            return _input_gradient(dy, x, kernel, tiles), dkernel

        if tiles is not None:
            return winograd.winograd_conv2d(x, tiles[0]), grad
        return tf.nn.conv2d(x, kernel, 1, "SAME"), grad

    return conv(x, kernel)


class WinogradTiles:
    """The kernel's Winograd transforms (forward and input gradient) and the kernel they came from.

    A plain object, not a Keras layer attribute type, so that Keras neither saves these
    variables with the weights nor counts them among the layer's weights.
    """

    def __init__(self, kernel):
        self.source = tf.Variable(tf.zeros_like(kernel), trainable=False)
        self.forward = tf.Variable(winograd.transform_kernel(self.source), trainable=False)
        self.backward = tf.Variable(winograd.transform_kernel(rotated(self.source)), trainable=False)

    def read(self, kernel):
        """(forward tiles, input-gradient tiles) of this kernel, remade first if it changed."""
        def remake():
            forward = winograd.transform_kernel(kernel)
            backward = winograd.transform_kernel(rotated(kernel))
            with tf.control_dependencies([self.forward.assign(forward), self.backward.assign(backward),
                                          self.source.assign(kernel)]):
                return tf.identity(forward), tf.identity(backward)

        def cached():
            return self.forward.read_value(), self.backward.read_value()

        return tf.cond(tf.reduce_all(tf.equal(kernel, self.source)), cached, remake)


class Conv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D computed by fast_conv2d; ``winograd=True`` adds Winograd tiles where
    winograd.use_winograd says they are faster. Named like the layer it stands in for: the
    assignment notebook lists the network's layer types, and a learner should read Conv2D there."""

    def __init__(self, *args, winograd=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.winograd = winograd
        self._tiles = None

    def build(self, input_shape):
        super().build(input_shape)
        if self.winograd and winograd.use_winograd(input_shape[-1], self.filters):
            self._tiles = WinogradTiles(self.kernel)

    def get_config(self):
        return {**super().get_config(), "winograd": self.winograd}

    def convolution_op(self, inputs, kernel):
        kernel = tf.convert_to_tensor(kernel)
        # Winograd's tiling needs the image size when the graph is built; without it (Keras
        # building the model, a tf.function over any size) the direct convolution gives the same.
        use_tiles = self._tiles is not None and inputs.shape.is_fully_defined()
        return fast_conv2d(inputs, kernel, self._tiles.read(kernel) if use_tiles else None)
