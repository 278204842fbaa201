"""Stand-in VGG weights (random, He-scaled), for places where the genuine file cannot be had: the
grader's tiny network (train_step is graded on it) and the benchmarks make them for themselves.
"""
import numpy as np

from ..config import CONTENT_LAYER, STYLE_LAYERS
from ..vgg import FILTERS, VGG19_BLOCKS
from .kit.serve import train_step_setting
from .kit.tiny import tiny_shapes


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


def tiny_weights(seed):
    """[kernel, bias, kernel, bias, ...] of the small stand-in network (kit/tiny.py), He-scaled random
    weights drawn from ``seed``: float32 arrays, kernels (3, 3, c_in, c_out)."""
    rng = np.random.default_rng(seed)
    return [w.astype(np.float32) for kernel, bias in tiny_shapes()  # fan-in 9 * c_in
            for w in (rng.normal(0.0, np.sqrt(2.0 / (9 * kernel[2])), kernel), rng.normal(0.0, 0.1, bias))]


def train_step_arrays(seed=0):
    """train_step's public set-up as arrays and numbers (what a grading kernel is sent): tiny_weights
    (seed), content, style and start images drawn from ``seed`` (24x32 pixels), the course's alpha,
    beta, layers and Adam's learning rate 2.0."""
    images = np.random.default_rng(seed).normal(0, 60, (3, 1, 24, 32, 3)).astype(np.float32)
    return {"weights": tiny_weights(seed), "content": images[0], "style": images[1], "start": images[2],
            "content_layer": CONTENT_LAYER, "style_layers": [list(pair) for pair in STYLE_LAYERS],
            "alpha": 10, "beta": 40, "learning_rate": 2.0}


def train_step_globals(seed=0):
    """{name: value} of the notebook's train_step globals from train_step_arrays(seed) (the nbgrader
    version's test cell; the grader's kernels build the same from the arrays, kit/serve.py)."""
    return train_step_setting(train_step_arrays(seed))
