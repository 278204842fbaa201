"""Is a VGG19 weights file the genuine one? A one-line warning when a file given by path or
NST_VGG19_WEIGHTS is not (vgg.find_vgg19_weights; the file in pretrained_model/ must be genuine and
raises instead, and Keras checks its own cache and downloads).

This project's stand-in weights (grading/standin.py), used by the tests and the grader where the
genuine file is missing, say what they are in the file and get no warning.
"""
import functools
import os

from .config import VGG19_WEIGHTS_MD5


class WeightsWarning(UserWarning):
    """A weights file given by path or NST_VGG19_WEIGHTS is not the genuine VGG19 one (md5)."""


#: Attribute of the root of this project's stand-in weights files (grading/standin.py): random
#: weights in the Keras notop format, for tests and grading where the genuine file is missing.
STANDIN_ATTRIBUTE = "nst_utils_standin"


@functools.lru_cache(maxsize=16)
def _unexpected_md5(path, size, mtime_ns):
    """md5 of the file at path (80 MB: about 0.2 s), or None if it is the genuine file or a stand-in.
    size and mtime_ns make a changed file a new cache entry."""
    from .vgg import md5sum

    digest = md5sum(path)
    if digest == VGG19_WEIGHTS_MD5:
        return None
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return None if STANDIN_ATTRIBUTE in f.attrs else digest
    except OSError:  # not HDF5: loading will fail with its own message
        return digest


def warn_if_not_genuine(path, given_by):
    """One-line WeightsWarning (once per file and process) if path is not the genuine VGG19 file."""
    stat = os.stat(path)
    digest = _unexpected_md5(str(path), stat.st_size, stat.st_mtime_ns)
    if digest is not None:
        import warnings

        warnings.warn(f"the weights file '{path}' ({given_by}) has md5 {digest}, not the genuine "
                      f"VGG19 file's {VGG19_WEIGHTS_MD5}: results will differ from the course's.",
                      WeightsWarning, stacklevel=3)
