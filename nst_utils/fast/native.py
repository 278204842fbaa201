"""The package's compiled TensorFlow ops (compiled_ops.cc): Winograd's transforms and products, and
the style cost's Gram matrices; built on first use.

TensorFlow has no op that gathers overlapping tiles and transforms them in one pass, and its batched
matmul runs Winograd's products slowly. They are compiled once per machine with ``$CXX`` (default
g++) and ``-march=native`` by build.py, kept by library_cache.py.

If anything fails, ops() returns None and the plain path runs (choice.py says which); status() says
why and what to do. NST_NATIVE=0 turns them off without starting a compiler (the grader's kernels).
"""
import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

from . import choice
from .build import OP_NAMES, compiler_command, library_key
from .library_cache import cache_folder, load_from, private_folder, Unsafe

log = logging.getLogger(__name__)
_state = {}


def _load():
    if os.environ.get("NST_NATIVE", "1") == "0":
        raise RuntimeError("turned off by NST_NATIVE=0")
    import tensorflow as tf

    compiler = compiler_command()
    key = library_key(tf, compiler)
    folder = cache_folder()
    try:
        private_folder(folder)
        library = load_from(tf, compiler, key, folder)
    except (Unsafe, OSError) as error:
        # Never a shared folder with a name others can guess: a fresh private one, for this process.
        private = Path(tempfile.mkdtemp(prefix="nst_utils-"))
        atexit.register(shutil.rmtree, private, True)
        log.warning("nst_utils: cannot use the compiled ops cache %s (%s); building them into %s for this "
                    "run only (set NST_NATIVE_CACHE to a folder of your own to keep them)", folder, error, private)
        library = load_from(tf, compiler, key, private)
    # Used only inside fast.conv's custom gradient, which supplies the convolution's own
    # gradient: the tape may record these ops but never differentiates them.
    for name in OP_NAMES:
        tf.no_gradient(name)
    return library


def ops():
    """The loaded op library (nst_winograd_input, nst_winograd_products, nst_winograd_output,
    nst_winograd_conv, nst_gram), or None if it cannot be had (why_not() says why)."""
    if "ops" not in _state:
        try:
            _state["ops"] = _load()
        except Exception as error:  # noqa: BLE001 -- any failure means: the plain path
            _state["ops"], _state["why_not"] = None, str(error)
            log.info("compiled ops unavailable (%s); using TensorFlow's ops", error)
    return _state["ops"]


def tried():
    """Whether ops() has been called in this process (the compiled ops were wanted)."""
    return "ops" in _state


def why_not():
    """Why ops() is None ('' if the compiled ops are loaded or were not tried yet)."""
    return _state.get("why_not", "")


def status():
    """One line: whether the compiled ops are on (tries to have them) and, if not, why and how to
    get them."""
    if ops() is not None:
        return "Compiled ops: on (Winograd transforms and Gram matrices built for this CPU)."
    why = why_not()
    if "NST_NATIVE=0" in why:
        how = "unset NST_NATIVE to use them"
    elif why.startswith("no C++ compiler"):
        how = "install one (e.g. apt-get install g++) or set CXX to yours"
    elif why.startswith("building failed before") or "(remembered in" in why:
        how = "fix the compiler (or raise NST_NATIVE_TIMEOUT), then run once with NST_NATIVE_REBUILD=1"
    elif why.startswith("the disk is full"):
        how = "free some space: the next run builds them"
    else:
        how = "see nst_utils.fast.native's documentation"
    return (f"Compiled ops: off ({why.splitlines()[0][:300] if why else 'unknown reason'}); {how}. "
            f"Running {choice.plain_path_name()}: same results, slower steps.")


def off_notice():
    """status() if this process would use the compiled ops (a CPU run, see
    choice.cpu_fast_paths_default) but they are off; else ''."""
    if not choice.cpu_fast_paths_default() or ops() is not None:
        return ""
    return status()


def require_sizes(what, **shapes):
    """Raise ValueError, before any op runs, if a known dimension of these shapes is 0 or negative:
    the compiled ops refuse them too (an error instead of a crash), and an empty image is always a
    mistake upstream. shapes: name -> a shape (tf.TensorShape, tuple; None for an unknown size)."""
    for name, shape in shapes.items():
        dims = list(shape)
        if any(d is not None and int(d) <= 0 for d in dims):
            shown = tuple(None if d is None else int(d) for d in dims)
            raise ValueError(f"{what}: {name} has an empty or negative size, shape {shown}; every size must be "
                             f"at least 1 (an image of 0 pixels or 0 channels: check how it was loaded or resized)")


def in_xla():
    """Whether the graph being traced will be compiled by XLA, which cannot run the compiled ops."""
    import tensorflow as tf

    try:
        from tensorflow.python.ops import control_flow_util  # TensorFlow has no public test for this

        return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    except (ImportError, AttributeError):
        return False  # a TensorFlow without it: XLA users then set NST_NATIVE=0
