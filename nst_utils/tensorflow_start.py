"""Start TensorFlow with its start-up lines kept out of what a person reads.

TensorFlow's C++ side writes oneDNN, CPU-feature, CUDA and cuInit lines straight to file descriptor 2
while it loads and when it first looks for devices, before its logging is set up, so
TF_CPP_MIN_LOG_LEVEL does not silence them all. ``native_stderr`` sends that descriptor elsewhere for a
while (Python's own sys.stderr is flushed first and follows it).
"""
import os
import sys
from contextlib import contextmanager


@contextmanager
def native_stderr(target=os.devnull):
    """Redirect file descriptor 2 to ``target`` (a path, or an open file) inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    if isinstance(target, (str, os.PathLike)):
        fd, close = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), True
    else:
        target.flush()
        fd, close = target.fileno(), False
    os.dup2(fd, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if close:
            os.close(fd)


def start_tensorflow():
    """Import TensorFlow and let it look for devices with its start-up lines hidden; returns the
    tensorflow module. TF_CPP_MIN_LOG_LEVEL=0 in the environment shows them (for debugging)."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        import tensorflow
        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr():
        import tensorflow

        tensorflow.config.list_physical_devices()  # the CUDA probe (cuInit) prints here
    return tensorflow
