"""Building the compiled ops' library (compiled_ops.cc) for library_cache.py, and probing it.

A library is named by a key (library_key: source, TensorFlow, CPU, compiler and its version). The
compiler runs in its own session with a time limit; on timeout or Ctrl-C its process group is killed.
A library just built is trusted only after a probe in a child process (PROBE), so a library that
crashes on load or gives wrong values fails there, never in the run's own process.
"""
import hashlib
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import choice

SOURCE = Path(__file__).with_name("compiled_ops.cc")
OP_NAMES = ("NstWinogradInput", "NstWinogradOutput", "NstWinogradProducts", "NstWinogradConv", "NstGram")
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC", "-Wno-deprecated-declarations")
#: Seconds a build (compiler, then probe) may take; $NST_NATIVE_TIMEOUT overrides (docs/performance.md).
BUILD_TIMEOUT_S = 180
ABOUT_S = 60
PROBE_MIN_S = 30
VERSION_TIMEOUT_S = 15
#: The probe: loads the library (argv[1]) in a child and checks NstGram against TensorFlow's matmul.
PROBE = """import sys, numpy as np, tensorflow as tf
ops = tf.load_op_library(sys.argv[1])
a = tf.constant(np.random.default_rng(0).standard_normal((300, 64)).astype(np.float32))
got, want = ops.nst_gram(a).numpy(), tf.matmul(a, a, transpose_a=True).numpy()
error = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
print(f"largest error {error:.3g} of the largest value")
sys.exit(0 if error < 1e-5 else 3)
"""


class TimedOut(Exception):
    """A command did not finish in its time (its process group has been killed)."""


def time_limit():
    """Seconds a build may take: $NST_NATIVE_TIMEOUT if it is a positive number, else BUILD_TIMEOUT_S."""
    try:
        seconds = float(os.environ.get("NST_NATIVE_TIMEOUT", ""))
    except ValueError:
        return BUILD_TIMEOUT_S
    return seconds if seconds > 0 else BUILD_TIMEOUT_S


def run_bounded(command, seconds, env=None):
    """(exit status, stdout, stderr) of command, run in its own session; on TimedOut after seconds,
    or Ctrl-C, its whole process group (the compiler's children too) is killed."""
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=seconds)
    except BaseException as error:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        if isinstance(error, subprocess.TimeoutExpired):
            raise TimedOut(f"{Path(command[0]).name} timed out after {seconds:g} s") from None
        raise
    return proc.returncode, out, err


def compiler_command():
    """$CXX (default g++) as an argument list, split as a shell would ("ccache g++" -> 2 words), the
    program resolved on PATH. Raises RuntimeError (saying what to do) if there is none."""
    text = os.environ.get("CXX", "").strip() or "g++"
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise RuntimeError(f"CXX={text!r} cannot be split into words ({error})") from None
    program = shutil.which(words[0]) if words else None
    if program is None:
        raise RuntimeError(f"no C++ compiler found (CXX={text!r})")
    return [program, *words[1:]]


def _build_command(tf, compiler, output):
    return [*compiler, *FLAGS, str(SOURCE), "-o", str(output), *tf.sysconfig.get_compile_flags(),
            *tf.sysconfig.get_link_flags()]


def library_key(tf, compiler):
    """16 hex digits naming the library this source, TensorFlow, CPU and compiler make. Runs
    ``compiler --version`` (its output is part of the key: an upgraded compiler builds anew)."""
    try:
        status, out, _ = run_bounded([*compiler, "--version"], min(VERSION_TIMEOUT_S, time_limit()))
        version = f"{status}\n{out}"
    except (OSError, subprocess.SubprocessError, TimedOut) as error:
        raise RuntimeError(f"{shlex.join(compiler)} --version failed: {error}") from None
    # b"probed": libraries that no probe checked (built by an older nst_utils) are not reused
    parts = [b"probed", SOURCE.read_bytes(), tf.__version__.encode(), platform.machine().encode(),
             choice.cpu_flags().encode(), shlex.join(_build_command(tf, compiler, "OUT")).encode(), version.encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def build_and_probe(tf, compiler, partial):
    """Build the library into partial and probe it in a child process (see PROBE). ('', '') if it
    passed, else (what failed, the compiler's or the probe's own words)."""
    limit, began = time_limit(), time.monotonic()
    try:
        status, out, err = run_bounded(_build_command(tf, compiler, partial), limit)
    except TimedOut as error:
        return f"running {shlex.join(compiler)} failed", f"{error} (NST_NATIVE_TIMEOUT=SECONDS allows longer)"
    except OSError as error:  # the compiler's, not the cache folder's
        return f"running {shlex.join(compiler)} failed", str(error)
    if status != 0:
        return f"compiling {SOURCE.name} failed", f"{shlex.join(compiler)} exited with {status}:\n" + \
            (err or out).strip()[-400:]
    os.chmod(partial, 0o700)  # whatever the umask: never group- or world-writable
    try:
        status, out, err = run_bounded([sys.executable, "-c", PROBE, partial],
                                       max(PROBE_MIN_S, limit - (time.monotonic() - began)),
                                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    except TimedOut as error:
        return "the library built failed its probe", str(error)
    if status < 0:
        return "the library built failed its probe", f"it crashed when loaded ({signal.Signals(-status).name})"
    return ("", "") if status == 0 else ("the library built failed its probe",
                                         f"exit {status}: " + (out.strip() or err.strip())[-400:])
