"""Stand-in VGG weights (random, He-scaled) in the on-disk format of Keras's
vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, for places where the genuine file cannot be had:
the tests, the benchmarks and the grader make them for themselves.

That file is a Keras 1/2 "legacy" HDF5 weights file: the root attribute ``layer_names`` lists every
layer (input, convs, pools); each layer is a group whose attribute ``weight_names`` lists its datasets
(``<layer>_W_1:0`` kernel (3, 3, c_in, c_out) and ``<layer>_b_1:0`` bias), empty for layers without
weights. Keras's ``load_weights`` reads it by layer order.
"""
import h5py
import numpy as np

from ..genuine import STANDIN_ATTRIBUTE
from ..vgg import FILTERS, VGG19_BLOCKS
from .kit.serve import train_step_setting
from .kit.tiny import TINY_LAYERS, build_tiny, tiny_shapes  # noqa: F401 -- TINY_LAYERS re-exported


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


def write_notop_h5(path, seed=0, blocks=VGG19_BLOCKS, corrupt_layer=None):
    """Write stand-in notop weights to ``path``; ``corrupt_layer`` gets a kernel of the wrong shape."""
    weights = standin_conv_weights(seed, blocks)
    layer_names = ["input_1"]
    for b, n in enumerate(blocks, 1):
        layer_names += [f"block{b}_conv{i}" for i in range(1, n + 1)] + [f"block{b}_pool"]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        # Says what the file is: load_vgg_model does not warn that its md5 is not VGG19's.
        f.attrs[STANDIN_ATTRIBUTE] = "random stand-in weights (nst_utils.grading.standin), not ImageNet's"
        for name in layer_names:
            group = f.create_group(name)
            if name not in weights:
                group.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            kernel, bias = weights[name]
            if name == corrupt_layer:
                kernel = kernel[:, :, :, :-1]
            names = [f"{name}_W_1:0", f"{name}_b_1:0"]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            group.create_dataset(names[0], data=kernel)
            group.create_dataset(names[1], data=bias)
    return path


def tiny_weights(seed):
    """[kernel, bias, kernel, bias, ...] of the small stand-in network (kit/tiny.py), He-scaled random
    weights drawn from ``seed``: float32 arrays, kernels (3, 3, c_in, c_out)."""
    rng = np.random.default_rng(seed)
    weights = []
    for kernel_shape, bias_shape in tiny_shapes():
        fan_in = 9 * kernel_shape[2]
        weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), kernel_shape).astype(np.float32))
        weights.append(rng.normal(0.0, 0.1, bias_shape).astype(np.float32))
    return weights


def tiny_vgg(seed):
    """A small seeded stand-in for the activations model, for grading train_step without VGG19:
    kit.tiny.build_tiny with tiny_weights(seed). A train_step that uses the model it is given behaves
    the same on it as on VGG19."""
    return build_tiny(tiny_weights(seed))


#: The globals the notebook defines for train_step (section 4), as train_step_globals makes them.
TRAIN_STEP_GLOBALS = ("alpha", "beta", "content_layer", "style_layers", "model", "a_C", "a_S",
                      "generated_image", "optimizer")


def train_step_arrays(seed=0):
    """train_step's public set-up as arrays and numbers (what a grading kernel is sent): tiny_weights
    (seed), content, style and start images drawn from ``seed`` (24x32 pixels), the course's alpha,
    beta, layers and Adam's learning rate 2.0."""
    from ..config import CONTENT_LAYER, STYLE_LAYERS

    images = np.random.default_rng(seed).normal(0, 60, (3, 1, 24, 32, 3)).astype(np.float32)
    return {"weights": tiny_weights(seed), "content": images[0], "style": images[1], "start": images[2],
            "content_layer": CONTENT_LAYER, "style_layers": [list(pair) for pair in STYLE_LAYERS],
            "alpha": 10, "beta": 40, "learning_rate": 2.0}


def train_step_globals(seed=0):
    """{name: value} of the notebook's train_step globals from train_step_arrays(seed).

    Used where train_step is tested without VGG19: the nbgrader version's test cell (the grader's
    kernels build the same from the arrays, kit/serve.py).
    """
    return train_step_setting(train_step_arrays(seed))
