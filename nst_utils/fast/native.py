"""The package's compiled TensorFlow ops (compiled_ops.cc): Winograd's transforms and products, and
the style cost's Gram matrices; built on first use.

TensorFlow has no op that gathers overlapping tiles and transforms them in one pass; composed from
its own ops (winograd.py's fallback) the transforms take as long as the matrix products they feed,
and its batched matmul runs Winograd's products at a fraction of the CPU's rate, from a transformed
kernel that must first be written to memory. The C++ ops do each transform in one pass over memory,
the products with a matrix product of their own that makes the kernel's transform itself, and the
first layers' whole convolution in one op. They are compiled once per machine, with
the C++ compiler that TensorFlow's own custom ops need (g++), against the installed TensorFlow's
headers, into a cache folder: ``$NST_NATIVE_CACHE``, else ``$XDG_CACHE_HOME/nst_utils`` or
``~/.cache/nst_utils``, else the temporary folder. ``-march=native``: the library is built for the
CPU it runs on, and the file name includes that CPU's features, so a shared home on other CPUs
gets one build each.

If anything fails (no compiler, no headers, a read-only disk, another TensorFlow), ops() returns
None and winograd.py uses its pure-TensorFlow transforms: same values, slower. why_not() says why.
NST_NATIVE=0 turns the compiled ops off.
"""
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("compiled_ops.cc")
log = logging.getLogger(__name__)
_state = {}


def _cpu_features():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _cache_dirs():
    if os.environ.get("NST_NATIVE_CACHE"):
        yield Path(os.environ["NST_NATIVE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    yield Path(base) / "nst_utils"
    yield Path(tempfile.gettempdir()) / "nst_utils"


def _compile(tf, target):
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    if compiler is None:
        raise RuntimeError("no C++ compiler (g++) found")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    cmd = [compiler, "-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC", "-Wno-deprecated-declarations",
           str(SOURCE), "-o", str(partial), *tf.sysconfig.get_compile_flags(), *tf.sysconfig.get_link_flags()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling {SOURCE.name} failed: {proc.stderr.strip()[-400:]}")
    os.replace(partial, target)  # atomic: processes building at once each finish a whole file


def _load():
    import tensorflow as tf

    if os.environ.get("NST_NATIVE", "1") == "0":
        raise RuntimeError("turned off by NST_NATIVE=0")
    key = hashlib.sha256(b"\0".join([SOURCE.read_bytes(), tf.__version__.encode(), platform.machine().encode(),
                                     _cpu_features().encode()])).hexdigest()[:16]
    errors = []
    for folder in _cache_dirs():
        target = folder / f"compiled_ops-{key}.so"
        try:
            if not target.is_file():
                _compile(tf, target)
            library = tf.load_op_library(str(target))
            # Used only inside fast.conv's custom gradient, which supplies the convolution's own
            # gradient: the tape may record these ops but never differentiates them.
            for name in ("NstWinogradInput", "NstWinogradOutput", "NstWinogradProducts", "NstWinogradConv",
                         "NstGram"):
                tf.no_gradient(name)
            return library
        except (OSError, RuntimeError, subprocess.SubprocessError, tf.errors.OpError) as error:
            errors.append(f"{folder}: {error}")
    raise RuntimeError("; ".join(errors))


def ops():
    """The loaded op library (nst_winograd_input, nst_winograd_products, nst_winograd_output,
    nst_winograd_conv, nst_gram), or None if it cannot be had."""
    if "ops" not in _state:
        try:
            _state["ops"] = _load()
        except Exception as error:  # noqa: BLE001 -- any failure means: use the TensorFlow transforms
            _state["ops"], _state["why_not"] = None, str(error)
            log.info("Winograd transforms: compiled ops unavailable (%s); using TensorFlow's ops", error)
    return _state["ops"]


def tried():
    """Whether ops() has been called in this process (the compiled ops were wanted)."""
    return "ops" in _state


def why_not():
    """Why ops() is None ('' if the compiled ops are loaded or were not tried yet)."""
    return _state.get("why_not", "")


def in_xla():
    """Whether the graph being traced will be compiled by XLA, which cannot run the compiled ops."""
    import tensorflow as tf

    try:
        from tensorflow.python.ops import control_flow_util  # TensorFlow has no public test for this

        return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    except (ImportError, AttributeError):
        return False  # a TensorFlow without it: XLA users then set NST_NATIVE=0
