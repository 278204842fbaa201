"""Where a learner's code runs when grading: a confined kernel process, and how to stop it for good.

Every kernel the grader starts (the learner's notebook, or the clean room that tests the graded
functions) runs

- in a temporary folder of its own, with a minimal environment: none of the grader's variables pass
  through unless named with ``--pass-env``;
- under resource limits set by ``python -m nst_utils.grading.confine`` before the kernel starts:
  address space, CPU seconds, file size, open files, and the number of processes (a fork bomb);
  as root, under an unprivileged user id of its own, so that the process limit applies at all;
- with a memory watchdog in the grader that kills the whole sandbox when its resident memory passes
  the limit (RLIMIT_AS alone cannot bound TensorFlow, which reserves far more than it uses);
- where ``bwrap`` (Debian package bubblewrap) is installed, inside it: a fresh network namespace (no
  network, not even the host's loopback), a fresh PID namespace (killing the sandbox kills every
  process the learner started, daemonised or not), the host filesystem read-only, home folders and
  the folders of the graded notebooks hidden, and a private, size-limited /tmp as the only writable
  place besides the folder of the sockets and files the grader talks to the kernel through;
- with ``NST_NATIVE=0``: a graded kernel never starts a compiler (nst_utils.fast.native).

A clean-room kernel (``package=False``: the one whose results decide the scores) does not get the
package: the package's folder, and the whole checkout it was installed from (solution notebook and
tests included), are covered by an empty tmpfs, and the kernel imports instead the kit the grader
wrote for it (kitfiles.py). No mount ever covers a system folder (/usr, /etc, ...) or a folder that
holds the interpreter: such a folder stays visible.

Without bwrap the grader says so once: the limits and the watchdog still apply, but the learner's code
can read the filesystem (the package's reference solutions included), write where the grader's
user can, and use the network.
"""
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psutil

#: Environment variable marking every process of one sandbox, so that none is left behind.
TOKEN_ENV = "NST_GRADER_SANDBOX"
#: User ids for kernels when the grader runs as root (one per sandbox, from this base on).
UID_BASE = 61000

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_ROOT = PACKAGE_DIR.parent
#: Folders a mount must never cover (nor anything inside them): the system the kernel runs on.
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/boot", "/dev",
                  "/proc", "/sys", "/run", "/var", "/opt", "/srv", "/snap")


@dataclass
class Limits:
    """Resource limits of one sandbox."""

    memory_mb: int = 4096        # resident memory of all its processes (watchdog)
    address_space_mb: int = 32768  # per process (RLIMIT_AS): catches a single huge allocation at once
    cpu_seconds: int = 3600      # per process (RLIMIT_CPU)
    file_mb: int = 256           # largest file a process may write (RLIMIT_FSIZE)
    tmp_mb: int = 1024           # size of the private /tmp (with bwrap)
    processes: int = 256         # processes and threads of the sandbox's user (RLIMIT_NPROC)
    open_files: int = 1024       # RLIMIT_NOFILE


def bwrap_path():
    return shutil.which("bwrap")


def package_folders():
    """The host folders that hold the package's code: the checkout it was installed from, if it was
    (a folder with pyproject.toml: its notebooks hold the solutions, its tests the formulas), and the
    package's own folder."""
    checkout = [PACKAGE_ROOT] if (PACKAGE_ROOT / "pyproject.toml").is_file() else []
    return checkout + [PACKAGE_DIR]


def _prefixes():
    return {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}


def _needed_paths():
    """Host paths the kernel must see: the interpreter and its libraries, not the package's checkout
    (unless the interpreter lives in it, e.g. a .venv there: that is bound back)."""
    prefixes = _prefixes()
    paths = set(prefixes)
    cwd = Path.cwd().resolve()
    for entry in sys.path:
        if not entry or not Path(entry).is_dir():
            continue
        path = Path(entry).resolve()
        if path == cwd and not any(_inside(path, p.resolve()) for p in prefixes):
            # `python -m` puts the grader's working folder on sys.path; kernels never import from it,
            # and counting it as needed would keep every submission under it visible to the others.
            continue
        if (any(_inside(path, f) for f in package_folders())
                and not any(_inside(path, p.resolve()) for p in prefixes)):
            continue
        paths.add(path)
    return sorted({p.resolve() for p in paths if p.exists()})


def is_system_folder(folder):
    """Whether ``folder`` is /, or is or lies in one of SYSTEM_FOLDERS (links resolved)."""
    folder = Path(folder).resolve()
    return folder == Path("/") or any(_inside(folder, Path(s)) or _inside(folder, Path(s).resolve())
                                      for s in SYSTEM_FOLDERS)


def hideable(folder, needed=None):
    """Whether a sandbox may cover ``folder`` with a tmpfs: not a system folder, and not inside the
    interpreter's or its libraries' folders (a folder that holds them is hidden, they are bound back)."""
    folder = Path(folder).resolve()
    needed = _needed_paths() if needed is None else needed
    return not is_system_folder(folder) and not any(_inside(folder, p) for p in needed)


def _bind_back(folder, needed):
    """bwrap arguments that bind, read-only, the needed paths inside a folder just hidden by a tmpfs."""
    args = []
    for path in needed:
        if _inside(path, folder) and path != folder and not any(q != path and _inside(path, q) for q in needed):
            # bwrap makes missing parents private (0700): the kernel's user could not pass
            between = [a for a in reversed(path.parents) if a != folder and _inside(a, folder)]
            args += [x for a in between for x in ("--perms", "0755", "--dir", str(a))]
            args += ["--ro-bind", str(path), str(path)]
    return args


def _inside(path, folder):
    try:
        Path(path).relative_to(folder)
        return True
    except ValueError:
        return False


@dataclass
class Sandbox:
    """One confined place for one kernel: its folders, its user, its launch command.

    hide -- host folders the learner's code must not read (e.g. the other submissions)
    package -- whether the kernel may import the package (the run of a notebook as it is), or gets
    the kit only (the clean room)
    """

    limits: Limits
    use_bwrap: bool
    slot: int = 0
    hide: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    package: bool = False

    def __post_init__(self):
        from .kitfiles import write_kit

        self.root = Path(tempfile.mkdtemp(prefix="nst-grade-"))
        self.ipc = self.root / "ipc"  # sockets, connection file, results: the kernel writes here
        self.ipc.mkdir()
        self.kit = write_kit(self.root / "kit")  # the kernel's code and inputs: only the grader writes here
        self.token = f"{os.getpid()}-{self.slot}-{self.root.name}"
        self.uid = None
        if os.geteuid() == 0 and self.use_bwrap:
            # Root is exempt from RLIMIT_NPROC: the kernel gets a user of its own. (Without bwrap it
            # could not reach an interpreter under /root, so it stays root there.)
            self.uid = UID_BASE + (os.getpid() % 500) * 16 + self.slot % 16
            os.chown(self.ipc, self.uid, self.uid)
        if self.use_bwrap:
            self.workdir, self.home = "/tmp/work", "/tmp/home"
        else:
            self.workdir, self.home = str(self.root / "work"), str(self.root / "home")
            os.makedirs(self.workdir)
            os.makedirs(self.home)

    def environment(self):
        """The kernel's whole environment: nothing of the grader's unless passed explicitly."""
        python_bin = str(Path(sys.executable).parent)
        env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": self.home,
               "LANG": "C.UTF-8", "PYTHONPATH": str(PACKAGE_ROOT if self.package else self.kit),
               "PYTHONDONTWRITEBYTECODE": "1", "NST_NATIVE": "0",
               "TF_CPP_MIN_LOG_LEVEL": "3", "MPLCONFIGDIR": f"{self.home}/.matplotlib",
               "IPYTHONDIR": f"{self.home}/.ipython", "TMPDIR": "/tmp" if self.use_bwrap else self.home,
               TOKEN_ENV: self.token}
        env.update(self.env)
        return env

    def command(self, argv):
        """argv wrapped for the sandbox: bwrap (if used), then the confining launcher."""
        lim = self.limits
        # Run by path, not with -m: importing the package first would load TensorFlow for nothing.
        confine = [sys.executable, str(self.kit / "confine.py"),
                   "--as", str(lim.address_space_mb), "--cpu", str(lim.cpu_seconds),
                   "--fsize", str(lim.file_mb), "--nproc", str(lim.processes),
                   "--nofile", str(lim.open_files), "--mkdir", self.workdir, self.home]
        if self.uid is not None:
            confine += ["--uid", str(self.uid)]
        confine += ["--"] + list(argv)
        if not self.use_bwrap:
            return confine
        return self._bwrap_args() + confine

    def _bwrap_args(self):
        # No user namespace: as root, the launcher must still be able to switch to the kernel's user.
        args = [bwrap_path(), "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        needed = _needed_paths()
        # The notebook's own run imports the package: its folders (a checkout in /tmp or a home, say)
        # are bound back too, those of the clean room are not.
        visible = sorted(set(needed) | ({f.resolve() for f in package_folders()} if self.package else set()))
        hidden = [Path(h).resolve() for h in ("/root", "/home", *self.hide) if Path(h).is_dir()]
        for folder in hidden:
            if hideable(folder, needed):
                args += ["--tmpfs", str(folder)] + _bind_back(folder, visible)
        # A private /tmp; what the kernel needs there (e.g. a checkout in /tmp) is bound back in.
        args += ["--size", str(self.limits.tmp_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
        args += _bind_back(Path("/tmp"), visible)
        for folder in hidden:  # submissions inside a checkout bound back above stay hidden
            if hideable(folder, needed) and any(_inside(folder, f) for f in visible if f not in needed):
                args += ["--tmpfs", str(folder)] + _bind_back(folder, needed)
        if not self.package:  # last: nothing bound back above may show the package again
            for folder in package_folders():
                if not is_system_folder(folder):
                    args += ["--tmpfs", str(folder)] + _bind_back(folder, needed)
        args += ["--perms", "0755", "--dir", str(self.root), "--bind", str(self.ipc), str(self.ipc),
                 "--ro-bind", str(self.kit), str(self.kit), "--chdir", "/tmp", "--clearenv"]
        for key, value in self.environment().items():
            args += ["--setenv", key, value]
        return args

    @staticmethod
    def descendants(root_pid):
        """root_pid and its descendants (with bwrap: every process of the sandbox's PID namespace)."""
        try:
            parent = psutil.Process(root_pid)
            return {p.pid: p for p in [parent, *parent.children(recursive=True)]}
        except psutil.NoSuchProcess:
            return {}

    def processes(self, root_pid=None):
        """Live processes of this sandbox: descendants of root_pid, and anything carrying its token
        (without bwrap, a process that left the tree, e.g. a daemon, still carries it)."""
        found = self.descendants(root_pid) if root_pid else {}
        for proc in psutil.process_iter():
            if proc.pid in found:
                continue
            try:
                if proc.environ().get(TOKEN_ENV) == self.token:
                    found[proc.pid] = proc
            except (psutil.Error, OSError):
                continue
        return list(found.values())

    def resident_mb(self, root_pid):
        total = 0
        for proc in self.descendants(root_pid).values():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def kill(self, root_pid=None):
        """SIGKILL every process of the sandbox (several passes: a fork bomb keeps forking)."""
        for _ in range(20):
            procs = self.processes(root_pid)
            if not procs:
                return
            for proc in procs:
                try:
                    proc.send_signal(signal.SIGKILL)
                except psutil.Error:
                    pass
            psutil.wait_procs(procs, timeout=0.5)

    def cleanup(self, root_pid=None):
        self.kill(root_pid)
        shutil.rmtree(self.root, ignore_errors=True)
