"""The private, checked cache of the compiled ops' library (built and probed by build.py).

A compiled library is code run in this process, so it is loaded only if this user built it, it is
intact and a probe of it passed:

- The folder (cache_folder) is used only if it is this user's and nobody else can write to it;
  otherwise native.py builds into a fresh private folder for this process only.
- A library and its sha256 (``.sha256``) are moved in place only after its probe passed; before
  loading, both must be this user's regular files that nobody else can write, and the bytes must
  match the digest; otherwise a warning names it and it is built again.
- One build at a time per folder (fcntl.flock on ``compiled_ops.lock``).
- A failed build leaves a ``.failed`` marker saying why: later runs take the plain path without
  the compiler until the key changes or ``NST_NATIVE_REBUILD=1``. A full disk leaves none.
- Files of other keys unused for PRUNE_AFTER_DAYS, and unfinished builds, are removed (prune).
"""
import errno
import hashlib
import logging
import os
import re
import stat
import sys
import tempfile
import time
from pathlib import Path

from .build import ABOUT_S, build_and_probe

LOCK_NAME = "compiled_ops.lock"
#: This module's files: a library, its digest, a failed build's marker, a build's temporary files.
OWN_FILE = re.compile(r"compiled_ops-(?P<key>[0-9a-f]{16})(\.so|\.so\.sha256|\.failed|\.[\w.-]+\.tmp)")
#: Libraries of other keys are removed when unused this long (the one in use is touched on load).
PRUNE_AFTER_DAYS = 7
log = logging.getLogger(__name__)


class Unsafe(Exception):
    """A cache folder or file that must not be used: not this user's, or writable by others."""


def cache_folder():
    """$NST_NATIVE_CACHE, else $XDG_CACHE_HOME/nst_utils or ~/.cache/nst_utils."""
    if os.environ.get("NST_NATIVE_CACHE"):
        return Path(os.environ["NST_NATIVE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nst_utils"


def private_folder(folder):
    """Create folder (0700) if missing and check it is this user's and nobody else can write to it.
    Raises Unsafe or OSError."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    _require_own(os.stat(folder), stat.S_ISDIR, "a folder")


def _require_own(info, is_kind, kind):
    """Raise Unsafe unless info (an os.stat result) is of this kind (a folder, a regular file), this
    user's, and writable by nobody else."""
    if not is_kind(info.st_mode):
        raise Unsafe(f"it is not {kind}")
    if info.st_uid != os.geteuid():
        raise Unsafe(f"it belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()})")
    if info.st_mode & 0o022:
        raise Unsafe(f"others can write to it (mode {stat.S_IMODE(info.st_mode):o}); chmod go-w it")


def _own_file_bytes(path):
    """The bytes of path if it is a regular file (not a link) of this user that nobody else can write;
    raises FileNotFoundError if it is missing, Unsafe saying what is wrong otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as file:
        _require_own(os.fstat(fd), stat.S_ISREG, "a regular file")
        return file.read()


def _digest_path(library):
    return library.with_name(library.name + ".sha256")


def check_library(library):
    """'' if library (and its digest beside it) can be loaded: this user's, writable by no one
    else, its bytes matching the digest written when it was built; else what is wrong. Raises
    FileNotFoundError if the library is missing."""
    try:
        data = _own_file_bytes(library)
    except (Unsafe, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        return str(error)
    try:
        recorded = _own_file_bytes(_digest_path(library)).decode("ascii", "replace").strip()
    except FileNotFoundError:
        return "no digest beside it (an unfinished build, or not built by nst_utils)"
    except (Unsafe, OSError) as error:
        return f"its digest file: {error}"
    if hashlib.sha256(data).hexdigest() != recorded:
        return "its bytes do not match its digest (damaged or changed since it was built)"
    return ""


def _write_private(path, text):
    """Write text to path atomically (a temporary file beside it, then os.replace), mode 0600."""
    fd, partial = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.replace(partial, path)


def _compile(tf, compiler, library, failed):
    """Build library (then its digest) atomically, once a probe passed; if the build or the probe
    fails, write the marker `failed` (a full disk leaves none: the next run tries again)."""
    if "ipykernel" not in sys.modules:  # a notebook's cell shows it runs, and nbval compares its outputs
        print(f"compiling the fast convolutions for this CPU (first use, about {ABOUT_S} s)...", file=sys.stderr,
              flush=True)
    partial = None
    try:
        fd, partial = tempfile.mkstemp(prefix=library.name.removesuffix(".so") + ".", suffix=".tmp",
                                       dir=library.parent)
        os.close(fd)
        problem, words = build_and_probe(tf, compiler, partial)
        if "No space left on device" in words:
            raise OSError(errno.ENOSPC, words)
        if problem:
            _write_private(failed, f"{problem}:\n{words}\n")
            raise RuntimeError(f"{problem} (remembered in {failed}): {words}")
        digest = hashlib.sha256(Path(partial).read_bytes()).hexdigest()
        os.replace(partial, library)
        _write_private(_digest_path(library), digest + "\n")
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise RuntimeError(f"the disk is full (No space left on device) building {library.name} in "
                           f"{library.parent}: free some space, and the next run builds it") from None
    finally:
        if partial and os.path.exists(partial):
            os.unlink(partial)


def prune(folder, key, now=None):
    """Remove this module's files of other keys unused for PRUNE_AFTER_DAYS, and temporary files of
    any build (call with the folder's lock held: no build is under way). Only this user's regular
    files whose names OWN_FILE matches. Returns the names removed."""
    now = time.time() if now is None else now
    removed = []
    for entry in os.scandir(folder):
        match = OWN_FILE.fullmatch(entry.name)
        if not match:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            stale = entry.name.endswith(".tmp") or (
                match["key"] != key and now - info.st_mtime > PRUNE_AFTER_DAYS * 86400)
            if stale and stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue
    return removed


def _build_or_reuse(tf, compiler, key, folder):
    """The path of a checked library of this key in folder, built if needed, with the folder's lock
    held (the caller loads it before releasing). Raises RuntimeError if it cannot be had."""
    library = folder / f"compiled_ops-{key}.so"
    failed = folder / f"compiled_ops-{key}.failed"
    rebuild = os.environ.get("NST_NATIVE_REBUILD", "0") not in ("", "0")
    prune(folder, key)
    if failed.exists() and not rebuild:
        try:
            message = failed.read_text(errors="replace").strip()[-400:]
        except OSError:
            message = ""
        raise RuntimeError(f"building failed before, not retried (see {failed}; NST_NATIVE_REBUILD=1 tries "
                           f"again): {message}")
    try:
        problem = "rebuild asked for (NST_NATIVE_REBUILD)" if rebuild else check_library(library)
        if problem and not rebuild:
            log.warning("nst_utils: not loading the compiled ops library %s: %s; building it again", library,
                        problem)
    except FileNotFoundError:
        problem = "not built yet"
    if problem:
        for path in (library, _digest_path(library), failed):
            if os.path.lexists(path):
                os.unlink(path)
        _compile(tf, compiler, library, failed)
        problem = check_library(library)
        if problem:
            raise RuntimeError(f"the library just built, {library}, fails its check: {problem}")
    os.utime(library)  # in use: not pruned by processes of other keys
    return library


def load_from(tf, compiler, key, folder):
    try:
        import fcntl
    except ImportError:  # Windows: no flock, and no g++ build of TensorFlow's custom ops either
        raise RuntimeError("compiled ops need a POSIX system (file locks)") from None
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one build at a time; the others wait, then check and load it
        library = _build_or_reuse(tf, compiler, key, folder)
        try:
            return tf.load_op_library(str(library))
        except tf.errors.OpError as error:
            raise RuntimeError(f"loading {library} failed: {error}") from None
    finally:
        os.close(fd)  # releases the lock
