"""Winograd F(4x4, 3x3) convolution: VGG's 3x3, stride 1, 'same' convolutions with fewer multiplications.

A direct 3x3 convolution spends 9 multiply-adds per output pixel and channel pair. Winograd's minimal
filtering algorithm (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) computes
each 4x4 block of outputs from a 6x6 block of inputs with 36 multiply-adds, 2.25 per output: the input
tiles and the kernel are moved to a transformed domain, multiplied there (36 matrix products, one per
position in the 6x6 tile, each contracting the input channels), and moved back.

The matrix products carry almost all the work and run at the speed of TensorFlow's matmul; the
transforms are a few memory-bound passes (space_to_batch, slices, one small matmul each). The result
equals tf.nn.conv2d(x, kernel, 1, "SAME") up to float rounding (relative error about 1e-5 of the
largest output in float32, against about 1e-6 for a direct convolution summed in another order).

The transforms run as compiled ops when native.py can build them (one pass over memory each) and
as TensorFlow ops otherwise (same values, slower). fast.conv.Conv2D uses this for the layers where
it is faster on a CPU (see choice.use_winograd).
"""
import numpy as np
import tensorflow as tf

from . import native
from .choice import IN_TILE, OUT_TILE

# F(4, 3) with interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray 2016, section 4.2).
_A_T = np.array([[1, 1, 1, 1, 1, 0],
                 [0, 1, -1, 2, -2, 0],
                 [0, 1, 1, 4, 4, 0],
                 [0, 1, -1, 8, -8, 1]], dtype=np.float64)
_G = np.array([[1 / 4, 0, 0],
               [-1 / 6, -1 / 6, -1 / 6],
               [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6],
               [1 / 24, -1 / 12, 1 / 6],
               [0, 0, 1]], dtype=np.float64)
_B_T = np.array([[4, 0, -5, 0, 1, 0],
                 [0, -4, -4, 1, 1, 0],
                 [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0],
                 [0, 2, -1, -2, 1, 0],
                 [0, 4, 0, -5, 0, 1]], dtype=np.float64)

# The 2-D transforms as matrices over a tile flattened row-major: kron(X, X) vec(T) = vec(X T X^T).
_KRON_B_T = np.kron(_B_T, _B_T).astype(np.float32)        # (36, 36): 6x6 input tile -> Winograd domain
_KRON_A_T = np.kron(_A_T, _A_T).astype(np.float32)        # (16, 36): Winograd domain -> 4x4 outputs
_KRON_G = np.kron(_G, _G).astype(np.float32)              # (36, 9): 3x3 kernel -> Winograd domain
_KRON_G_FLIPPED = _KRON_G[:, ::-1].copy()                   # the same for the kernel rotated by 180 degrees


def transform_kernel(kernel, flip=False):
    """Kernel in the Winograd domain: G g G^T for each channel pair, one matmul over all pairs.

    Arguments:
    kernel -- (3, 3, C_in, C_out) float32, as tf.nn.conv2d takes it
    flip -- transform the kernel rotated by 180 degrees in space (channels stay as they are): with
            matmul(..., transpose_b=True) these tiles compute the convolution's input gradient

    Returns:
    (36, C_in, C_out) float32: one matrix per position of the 6x6 tile, row-major
    """
    kernel = tf.convert_to_tensor(kernel, tf.float32)
    _, _, c_in, c_out = kernel.shape
    tiles = tf.matmul(_KRON_G_FLIPPED if flip else _KRON_G, tf.reshape(kernel, [9, c_in * c_out]))
    return tf.reshape(tiles, [IN_TILE * IN_TILE, c_in, c_out])


def _input_tiles(x):
    """(N, H, W, C) -> (36, P, C): B^T d B of every 6x6 input tile d, P = N ceil(H/4) ceil(W/4) tiles.

    Tiles start every 4 pixels and overlap by 2. space_to_batch puts the 16 pixel phases of the 4x4
    blocks first, so each tile position is a plain slice of it (positions 4 and 5 are phases 0 and 1
    of the next block) and no transpose is needed: TensorFlow has no fast strided slice on a CPU.
    """
    n, h, w, c = x.shape
    tiles_h, tiles_w = -(-h // OUT_TILE), -(-w // OUT_TILE)
    # 'same' padding of 1, then up to one whole block more than the tiles use (the overlap)
    x = tf.pad(x, [[0, 0], [1, OUT_TILE * (tiles_h + 1) - h - 1], [1, OUT_TILE * (tiles_w + 1) - w - 1], [0, 0]])
    phases = tf.reshape(tf.space_to_batch_nd(x, [OUT_TILE, OUT_TILE], [[0, 0], [0, 0]]),
                        [OUT_TILE, OUT_TILE, n, tiles_h + 1, tiles_w + 1, c])
    extra = IN_TILE - OUT_TILE
    rows = tf.concat([phases[:, :, :, :tiles_h], phases[:extra, :, :, 1:]], 0)       # (6, 4, n, th, tw+1, c)
    tiles = tf.concat([rows[:, :, :, :, :tiles_w], rows[:, :extra, :, :, 1:]], 1)   # (6, 6, n, th, tw, c)
    tiles = tf.matmul(_KRON_B_T, tf.reshape(tiles, [IN_TILE * IN_TILE, -1]))
    return tf.reshape(tiles, [IN_TILE * IN_TILE, n * tiles_h * tiles_w, c])


def _output_from_tiles(products, shape):
    """(36, P, C_out) -> (N, H, W, C_out): A^T M A of every tile, the 4x4 blocks put in place."""
    n, h, w = shape
    tiles_h, tiles_w = -(-h // OUT_TILE), -(-w // OUT_TILE)
    out = tf.matmul(_KRON_A_T, tf.reshape(products, [IN_TILE * IN_TILE, -1]))
    out = tf.reshape(out, [OUT_TILE * OUT_TILE * n, tiles_h, tiles_w, -1])
    out = tf.batch_to_space(out, [OUT_TILE, OUT_TILE], [[0, 0], [0, 0]])
    return out[:, :h, :w]


def _in_xla():
    """Whether the graph being traced will be compiled by XLA, which cannot run the compiled ops."""
    try:
        from tensorflow.python.ops import control_flow_util  # TensorFlow has no public test for this

        return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    except (ImportError, AttributeError):
        return False  # a TensorFlow without it: XLA users then set NST_NATIVE=0


def winograd_conv2d(x, kernel_tiles, transpose_kernel=False):
    """tf.nn.conv2d(x, kernel, 1, "SAME") for a 3x3 kernel, by Winograd F(4x4, 3x3).

    Arguments:
    x -- (N, H, W, C_in) float32 with a static shape
    kernel_tiles -- transform_kernel(kernel): (36, C_in, C_out); with transpose_kernel,
                    (36, C_out, C_in) tiles used transposed (the input gradient's convolution)

    Returns:
    (N, H, W, C_out) float32. With the compiled transforms it has no gradient of its own:
    fast.conv.fast_conv2d gives the convolution's.
    """
    if not x.shape.is_fully_defined():
        raise ValueError(f"winograd_conv2d needs a static input shape, got {x.shape}")
    # Decided here, outside the traced function, so that an XLA step gets its own trace.
    compiled = not _in_xla() and native.ops() is not None
    return _winograd_conv2d(x, kernel_tiles, transpose_kernel, compiled)


@tf.function
def _winograd_conv2d(x, kernel_tiles, transpose_kernel, compiled):
    n, h, w = x.shape[:3]
    ops = native.ops() if compiled else None
    tiles = ops.nst_winograd_input(x) if ops else _input_tiles(x)
    products = tf.matmul(tiles, kernel_tiles, transpose_b=transpose_kernel)
    if ops:
        return ops.nst_winograd_output(products, height=h, width=w)
    return _output_from_tiles(products, (n, h, w))


# Traced once per layer shape (a function call in the caller's graph, inlined by TensorFlow's graph
# optimiser), so that tracing a model does not rebuild its ops for every call. Different layer
# shapes are expected, not a sign of a retracing problem.
_winograd_conv2d._omit_frequent_tracing_warning = True
