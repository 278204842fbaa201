"""Feed-forward style transfer (Johnson et al. 2016): a network trained once per style with the
package's costs, then stylising any image in one forward pass.

    from nst_utils.feedforward import load_model, stylise
    net = load_model()                      # the shipped brush-stroke model
    result = stylise(net, content_image)    # normalised (1, H, W, 3) -> normalised (1, H, W, 3)

Modules: network (the transformation network), data (training crops), train (its perceptual loss
and training loop), weights (its .npz files), cli (``python -m nst_utils CONTENT --model FILE``).
Each module's doc says which module of the same name elsewhere in the package it is not.
"""
import warnings

import numpy as np

from ..images import check_image
from ..resources import package_file

#: The model shipped with the package: brushstrokes.png, trained by scripts/train_feedforward.py
#: (how: models/README.md next to it).
DEFAULT_MODEL = package_file("feedforward", "models", "brushstrokes.npz")


def load_model(path=None):
    """The transformation network stored at path (default: DEFAULT_MODEL), ready to stylise."""
    from .weights import load_transform_net

    return load_transform_net(DEFAULT_MODEL if path is None else path)


def stylise(net, image):
    """Stylise a normalised image (1, n_H, n_W, 3) float32, any size, in one forward pass of net
    (load_model, or train.train(...).net): np.float32 (1, n_H, n_W, 3), normalised the same way."""
    image = check_image("image", image)
    _, n_H, n_W, _ = image.shape
    # The network halves the size twice: reflect-pad to multiples of 4, crop the result back.
    pad_H, pad_W = -n_H % 4, -n_W % 4
    if pad_H or pad_W:
        image = np.pad(image, ((0, 0), (0, pad_H), (0, pad_W), (0, 0)), mode="reflect")
    out = net(image, training=False)
    return np.asarray(out)[:, :n_H, :n_W, :]


def stylize(net, image):
    """Deprecated spelling of stylise (the package's one spelling)."""
    warnings.warn("nst_utils.feedforward.stylize is now stylise", DeprecationWarning, stacklevel=2)
    return stylise(net, image)


_LAZY = {"build_transform_net": "network", "load_transform_net": "weights", "read_info": "weights",
         "save_transform_net": "weights"}


def __getattr__(name):
    # TensorFlow is imported on first use only: the command line's --help stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_MODEL", "build_transform_net", "load_model", "load_transform_net", "read_info",
           "save_transform_net", "stylise"]
