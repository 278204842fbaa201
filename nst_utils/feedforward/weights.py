"""Weights files of the transformation network: a NumPy .npz of named arrays plus the architecture
(VGG's weights are found and checked by nst_utils/weights.py).

Plain arrays keyed by layer and variable name survive Keras and TensorFlow versions (a Keras .h5 or
.keras file ties the file to the layer classes and their serialisation). The file also holds the
architecture (channels, residual blocks) and a few facts about the training, as JSON.
"""
import json
import os
from pathlib import Path

import numpy as np

from .network import build_transform_net, set_weights_dict, weights_dict

FORMAT = "nst_utils.feedforward/1"


def save_transform_net(net, path, metadata=None):
    """Write net's weights to path (.npz), atomically: a crash never leaves a half-written file.

    metadata -- {key: JSON value} stored with it (training command, steps, time, ...)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = dict(metadata or {}, format=FORMAT, channels=list(net.transform_channels),
                residual_blocks=net.transform_residual_blocks)
    tmp = path.with_name(path.name + ".tmp.npz")
    arrays = {k: v.astype(np.float32) for k, v in weights_dict(net).items()}
    np.savez_compressed(tmp, __info__=np.array(json.dumps(info)), **arrays)
    os.replace(tmp, path)
    return path


def read_info(path):
    """The JSON metadata of a weights file (architecture and training facts)."""
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["__info__"]))


def load_transform_net(path):
    """The network described in the weights file at path, its weights loaded: keras.Model,
    normalised image (batch, H, W, 3) -> normalised image (batch, H, W, 3)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at '{path}'. Train one with scripts/train_feedforward.py "
                                "or use the shipped model (nst_utils.feedforward.DEFAULT_MODEL).")
    try:
        with np.load(path, allow_pickle=False) as data:
            info = json.loads(str(data["__info__"]))
            arrays = {k: data[k].astype(np.float32) for k in data.files if k != "__info__"}
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"'{path}' is not a feed-forward weights file ({err}).") from None
    if info.get("format") != FORMAT:
        raise ValueError(f"'{path}' has format {info.get('format')!r}, expected {FORMAT!r}")
    net = build_transform_net(info["channels"], info["residual_blocks"])
    set_weights_dict(net, arrays)
    net.transform_info = info
    return net
