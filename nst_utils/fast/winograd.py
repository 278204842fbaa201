"""Winograd F(4x4, 3x3) and F(6x6, 3x3) convolutions: VGG's 3x3, stride 1, 'same' convolutions with
fewer multiplications (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).

F(m x m, 3x3) computes each m x m block of outputs from an (m + 2)^2 input tile: input tiles and
kernel are moved to a transformed domain, multiplied there (one matrix product per tile position,
contracting the input channels) and moved back: 2.25 (m = 4) or 1.78 (m = 6) multiplications per
output instead of 9. Results equal tf.nn.conv2d up to float rounding.

The transforms and products run as compiled ops where native.py has them, else as TensorFlow's ops
where that beats its direct convolution, which runs otherwise (choice.plain_winograd).
"""
import collections

import numpy as np
import tensorflow as tf

from . import choice, native
from .choice import OUT_TILE

# F(4, 3) with interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray 2016, section 4.2).
_A_T4 = np.array([[1, 1, 1, 1, 1, 0],
                  [0, 1, -1, 2, -2, 0],
                  [0, 1, 1, 4, 4, 0],
                  [0, 1, -1, 8, -8, 1]], dtype=np.float64)
_G4 = np.array([[1 / 4, 0, 0],
                [-1 / 6, -1 / 6, -1 / 6],
                [-1 / 6, 1 / 6, -1 / 6],
                [1 / 24, 1 / 12, 1 / 6],
                [1 / 24, -1 / 12, 1 / 6],
                [0, 0, 1]], dtype=np.float64)
_B_T4 = np.array([[4, 0, -5, 0, 1, 0],
                  [0, -4, -4, 1, 1, 0],
                  [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0],
                  [0, 4, 0, -5, 0, 1]], dtype=np.float64)
# F(6, 3) with points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity (the same Cook-Toom construction).
_A_T6 = np.array([[1, 1, 1, 1, 1, 1, 1, 0],
                  [0, 1, -1, 2, -2, 1 / 2, -1 / 2, 0],
                  [0, 1, 1, 4, 4, 1 / 4, 1 / 4, 0],
                  [0, 1, -1, 8, -8, 1 / 8, -1 / 8, 0],
                  [0, 1, 1, 16, 16, 1 / 16, 1 / 16, 0],
                  [0, 1, -1, 32, -32, 1 / 32, -1 / 32, 1]], dtype=np.float64)
_G6 = np.array([[1, 0, 0],
                [-2 / 9, -2 / 9, -2 / 9],
                [-2 / 9, 2 / 9, -2 / 9],
                [1 / 90, 1 / 45, 2 / 45],
                [1 / 90, -1 / 45, 2 / 45],
                [32 / 45, 16 / 45, 8 / 45],
                [32 / 45, -16 / 45, 8 / 45],
                [0, 0, 1]], dtype=np.float64)
_B_T6 = np.array([[1, 0, -21 / 4, 0, 21 / 4, 0, -1, 0],
                  [0, 1, 1, -17 / 4, -17 / 4, 1, 1, 0],
                  [0, -1, 1, 17 / 4, -17 / 4, -1, 1, 0],
                  [0, 1 / 2, 1 / 4, -5 / 2, -5 / 4, 2, 1, 0],
                  [0, -1 / 2, 1 / 4, 5 / 2, -5 / 4, -2, 1, 0],
                  [0, 2, 4, -5 / 2, -5, 1 / 2, 1, 0],
                  [0, -2, 4, 5 / 2, -5, -1 / 2, 1, 0],
                  [0, -1, 0, 21 / 4, 0, -21 / 4, 0, 1]], dtype=np.float64)
#: (A^T, G, B^T) by output tile side m
MATRICES = {4: (_A_T4, _G4, _B_T4), 6: (_A_T6, _G6, _B_T6)}


#: The 2-D transforms as matrices over a tile flattened row-major, kron(X, X) vec(T) = vec(X T X^T):
#: input tile -> Winograd domain (n^2, n^2), Winograd domain -> outputs (m^2, n^2), 3x3 kernel ->
#: Winograd domain (n^2, 9), and the same for the kernel rotated by 180 degrees.
_Kron = collections.namedtuple("_Kron", "input output kernel kernel_flipped")


def _kron(tile):
    a_t, g, b_t = MATRICES[tile]
    kernel = np.kron(g, g).astype(np.float32)
    return _Kron(np.kron(b_t, b_t).astype(np.float32), np.kron(a_t, a_t).astype(np.float32), kernel,
                 kernel[:, ::-1].copy())


_KRON = {tile: _kron(tile) for tile in MATRICES}


def tile_of(kernel_tiles):
    """The output tile side m of kernel tiles (n^2, C_in, C_out) made by transform_kernel."""
    return {(m + 2) ** 2: m for m in MATRICES}[kernel_tiles.shape[0]]


def transform_kernel(kernel, flip=False, tile=OUT_TILE):
    """G g G^T of kernel (3, 3, C_in, C_out) for each channel pair -> (n^2, C_in, C_out), n = tile + 2,
    one matrix per tile position, row-major. flip: of the kernel rotated by 180 degrees (with
    matmul(..., transpose_b=True) these tiles compute the input gradient)."""
    kernel = tf.convert_to_tensor(kernel, tf.float32)
    _, _, c_in, c_out = kernel.shape
    kron_g = _KRON[tile].kernel_flipped if flip else _KRON[tile].kernel
    tiles = tf.matmul(kron_g, tf.reshape(kernel, [9, c_in * c_out]))
    return tf.reshape(tiles, [(tile + 2) ** 2, c_in, c_out])


def _input_tiles(x, tile=OUT_TILE):
    """(N, H, W, C) -> (n^2, P, C): B^T d B of every n x n input tile d, n = m + 2 for the output
    tile side m = tile, P = N ceil(H/m) ceil(W/m) tiles.

    Tiles start every m pixels and overlap by 2. space_to_batch puts the m^2 pixel phases of the m x m
    blocks first, so each tile position is a plain slice of it (positions m and m + 1 are phases 0
    and 1 of the next block) and no transpose is needed: TensorFlow has no fast strided slice on a CPU.
    """
    n, h, w, c = x.shape
    m, size = tile, tile + 2
    tiles_h, tiles_w = -(-h // m), -(-w // m)
    # 'same' padding of 1, then up to one whole block more than the tiles use (the overlap)
    x = tf.pad(x, [[0, 0], [1, m * (tiles_h + 1) - h - 1], [1, m * (tiles_w + 1) - w - 1], [0, 0]])
    phases = tf.reshape(tf.space_to_batch_nd(x, [m, m], [[0, 0], [0, 0]]), [m, m, n, tiles_h + 1, tiles_w + 1, c])
    rows = tf.concat([phases[:, :, :, :tiles_h], phases[:2, :, :, 1:]], 0)          # (n, m, N, th, tw+1, c)
    tiles = tf.concat([rows[:, :, :, :, :tiles_w], rows[:, :2, :, :, 1:]], 1)      # (n, n, N, th, tw, c)
    tiles = tf.matmul(_KRON[tile].input, tf.reshape(tiles, [size * size, -1]))
    return tf.reshape(tiles, [size * size, n * tiles_h * tiles_w, c])


def _output_from_tiles(products, shape):
    """(n^2, P, C_out) -> (N, H, W, C_out): A^T M A of every tile, the m x m blocks put in place."""
    n, h, w = shape
    m = tile_of(products)
    tiles_h, tiles_w = -(-h // m), -(-w // m)
    out = tf.matmul(_KRON[m].output, tf.reshape(products, [(m + 2) ** 2, -1]))
    out = tf.reshape(out, [m * m * n, tiles_h, tiles_w, -1])
    out = tf.batch_to_space(out, [m, m], [[0, 0], [0, 0]])
    return out[:, :h, :w]


def rotated(kernel):
    """(3, 3, c_in, c_out) -> (3, 3, c_out, c_in): the kernel of the input gradient's convolution."""
    return tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])


def winograd_conv2d(x, kernel, tile=OUT_TILE, input_gradient=False, bias=None, relu=False):
    """tf.nn.conv2d(x, kernel, 1, "SAME") for a 3x3 kernel, by Winograd F(m x m, 3x3), m = tile.

    x (N, H, W, C_in) float32, static shape; kernel (3, 3, C_in, C_out) -> (N, H, W, C_out).
    input_gradient: x is the output's gradient (N, H, W, C_out) and the result the input's (the
    convolution with the kernel rotated and its channels swapped). bias (C_out,) or None and relu
    (after the bias) come in the output transform's pass. No gradient of its own with the compiled
    ops (fast.conv.fast_conv2d gives it). ValueError for a non-static or empty shape.
    """
    if not x.shape.is_fully_defined():
        raise ValueError(f"winograd_conv2d needs a static input shape, got {x.shape}")
    kernel = tf.convert_to_tensor(kernel, tf.float32)
    native.require_sizes("winograd_conv2d", x=x.shape, kernel=kernel.shape)
    # Decided here, outside the traced function, so that an XLA step gets its own trace.
    compiled = not native.in_xla() and native.ops() is not None
    bias = tf.zeros([0]) if bias is None else tf.convert_to_tensor(bias, tf.float32)
    if not compiled and not choice.plain_winograd():
        return _direct_conv2d(x, kernel, bias, input_gradient, relu)
    return _winograd_conv2d(x, kernel, bias, tile, input_gradient, relu, compiled)


def _direct_conv2d(x, kernel, bias, input_gradient, relu):
    """What winograd_conv2d computes, by TensorFlow's direct convolution: the plain path where
    Winograd in TensorFlow's ops is the slower one (choice.PLAIN_WINOGRAD)."""
    y = tf.nn.conv2d(x, rotated(kernel) if input_gradient else kernel, 1, "SAME")
    y = y + bias if bias.shape[0] else y
    return tf.nn.relu(y) if relu else y


@tf.function
def _winograd_conv2d(x, kernel, bias, tile, input_gradient, relu, compiled):
    n, h, w = x.shape[:3]
    ops = native.ops() if compiled else None
    # The kernel's transform is made after the layer's tiles: only one layer's is in memory at a time.
    if not ops:
        tiles = _input_tiles(x, tile)
        with tf.control_dependencies([tiles]):
            kernel_tiles = transform_kernel(kernel, input_gradient, tile)
        y = _output_from_tiles(tf.matmul(tiles, kernel_tiles, transpose_b=input_gradient), (n, h, w))
        y = y + bias if bias.shape[0] else y
        return tf.nn.relu(y) if relu else y

    # The compiled ops make the kernel's transform themselves. The input gradient's take kron(G, G)
    # of the kernel rotated by 180 degrees, and read the kernel with its channels swapped.
    kron = _KRON[tile].kernel_flipped if input_gradient else _KRON[tile].kernel
    c_in, c_out = kernel.shape[2:]
    if choice.winograd_fused(tile, c_in, c_out):
        return ops.nst_winograd_conv(x, kernel, kron, bias, tile=tile, swap_channels=input_gradient, relu=relu)
    tiles = ops.nst_winograd_input(x, tile=tile)
    with tf.control_dependencies([tiles]):
        products = ops.nst_winograd_products(tiles, kernel, kron, swap_channels=input_gradient)
    return ops.nst_winograd_output(products, bias, height=h, width=w, tile=tile, relu=relu)


# Traced once per layer shape, on purpose: many shapes are not a retracing problem.
_winograd_conv2d._omit_frequent_tracing_warning = True
