"""Stand-in VGG19 weights for the tests: random (He-scaled, grading/standin.standin_conv_weights) in
the on-disk format of Keras's vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, where the genuine
file cannot be had. The package does not know about them: loading one gives the ordinary
WeightsWarning of a file that is not the genuine VGG19 one (its md5 differs).

That file is a Keras 1/2 "legacy" HDF5 weights file: the root attribute ``layer_names`` lists every
layer (input, convs, pools); each layer is a group whose attribute ``weight_names`` lists its datasets
(``<layer>_W_1:0`` kernel (3, 3, c_in, c_out) and ``<layer>_b_1:0`` bias), empty for layers without
weights. Keras's ``load_weights`` reads it by layer order.
"""
import h5py
import numpy as np

from nst_utils.grading.standin import standin_conv_weights
from nst_utils.vgg import VGG19_BLOCKS


def write_notop_h5(path, seed=0, blocks=VGG19_BLOCKS, corrupt_layer=None):
    """Write stand-in notop weights to ``path``; ``corrupt_layer`` gets a kernel of the wrong shape."""
    weights = standin_conv_weights(seed, blocks)
    layer_names = ["input_1"]
    for b, n in enumerate(blocks, 1):
        layer_names += [f"block{b}_conv{i}" for i in range(1, n + 1)] + [f"block{b}_pool"]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
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
