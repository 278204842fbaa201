"""Analytic FLOP count of one optimisation step of neural style transfer on a VGG network.

A FLOP is one floating-point multiply or add, so a multiply-accumulate counts 2.

One step = forward pass of G through the network (cut after the deepest layer used) + the costs +
the gradient of J with respect to the *pixels of G only* (the network's weights are frozen):

* conv layer, output n_H x n_W x c_out from c_in channels, 3x3 kernel, 'same' padding:
  forward              2 * n_H * n_W * 9 * c_in * c_out
  backward (input)     the same count again (a transposed convolution of the same size).
  No gradient with respect to the kernels is needed: TensorFlow prunes Conv2DBackpropFilter from
  the graph because nothing uses it, and PyTorch skips it for weights with requires_grad=False.
  This is also why a step costs ~2x, not the ~3x of training, the forward pass.
* Gram matrix of a style layer, A of shape (n_C, n_H*n_W):
  forward   G = A A^T                     2 * n_C^2 * n_H*n_W
  backward  dJ/dA = (dG + dG^T) A         2 * n_C^2 * n_H*n_W  (one matmul with the symmetric dG)
  The style image's Gram matrices are constants of the optimisation and are not counted
  (an implementation that recomputes them every step does extra, not useful, work).
* ReLU, bias, pooling, the squared differences and Adam are O(activations), < 0.2% of the total at
  400x300, and are left out.

For VGG19 at 400x300 cut after conv5_1 this gives ~182 GFLOP per step (forward convs 87.1).
"""
import math

from nst_utils.fast.choice import OUT_TILE, winograd_tile  # no TensorFlow either
from nst_utils.vgg import FILTERS, VGG16_BLOCKS, VGG19_BLOCKS  # noqa: F401  (no TensorFlow)


def conv_shapes(width, height, blocks=VGG19_BLOCKS, deepest="conv5_1"):
    """[(name, n_H, n_W, c_in, c_out)] of the conv layers up to and including ``deepest``.

    Pooling is 2x2, stride 2, 'same' padding, so a side of n becomes ceil(n / 2)."""
    shapes, c_in, n_H, n_W = [], 3, height, width
    for b, n in enumerate(blocks, 1):
        if b > 1:
            n_H, n_W = math.ceil(n_H / 2), math.ceil(n_W / 2)
        for i in range(1, n + 1):
            name = f"conv{b}_{i}"
            shapes.append((name, n_H, n_W, c_in, FILTERS[b - 1]))
            c_in = FILTERS[b - 1]
            if name == deepest:
                return shapes
    raise ValueError(f"no layer {deepest!r} in blocks {blocks}")


def step_flops(width, height, style_layers, blocks=VGG19_BLOCKS, deepest="conv5_1"):
    """FLOPs of one step, as a dict: conv_forward, conv_backward, gram_forward, gram_backward, total."""
    shapes = conv_shapes(width, height, blocks, deepest)
    conv_fwd = sum(2 * h * w * 9 * ci * co for _, h, w, ci, co in shapes)
    by_name = {name: (h, w, co) for name, h, w, _, co in shapes}
    gram = sum(2 * by_name[name][2] ** 2 * by_name[name][0] * by_name[name][1] for name in style_layers)
    out = {"conv_forward": conv_fwd, "conv_backward": conv_fwd, "gram_forward": gram, "gram_backward": gram}
    out["total"] = sum(out.values())
    return out


def winograd_conv_flops(n_H, n_W, c_in, c_out, tile=OUT_TILE):
    """FLOPs of the element-wise products of one Winograd F(m x m, 3x3) convolution, m = tile:
    (m + 2)^2 multiply-adds per tile and channel pair (36 for m = 4, 64 for m = 6), ceil(n_H/m)
    ceil(n_W/m) tiles. The transforms (memory passes, a few adds per value) are not counted: this is
    the arithmetic the algorithm cannot skip."""
    tiles = math.ceil(n_H / tile) * math.ceil(n_W / tile)
    return 2 * (tile + 2) ** 2 * tiles * c_in * c_out


def algorithm_flops(width, height, style_layers, winograd=True, blocks=VGG19_BLOCKS, deepest="conv5_1"):
    """step_flops for the algorithm a step actually runs: convolutions that nst_utils.fast.choice
    sends to Winograd (winograd=True, the package's default on a CPU) count winograd_conv_flops,
    forward and input gradient; the rest as in step_flops. For the arithmetic floor of the step."""
    work = step_flops(width, height, style_layers, blocks, deepest)
    conv = 0
    for _, h, w, ci, co in conv_shapes(width, height, blocks, deepest):
        tile = winograd_tile(ci, co, h * w) if winograd else None
        conv += winograd_conv_flops(h, w, ci, co, tile) if tile else 2 * h * w * 9 * ci * co
    out = {**work, "conv_forward": conv, "conv_backward": conv}
    out["total"] = conv * 2 + work["gram_forward"] + work["gram_backward"]
    return out


if __name__ == "__main__":
    styles = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    for key, value in step_flops(400, 300, styles).items():
        print(f"{key:14s} {value / 1e9:8.2f} GFLOP")
