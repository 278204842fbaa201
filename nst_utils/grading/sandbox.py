"""The sandbox: where a learner's code runs when grading, what it can see, and how it is stopped.

Every kernel runs in a folder of its own with a minimal environment and ``NST_NATIVE=0``, under limits
(prlimit; as root, setpriv to a user of its own), watched by the grader (memory, disk). With ``bwrap``
its filesystem is an allow-list (allowed_paths): /usr, a few /etc files, the interpreter, its
site-packages without any ``nst_utils`` entry, the kit, and size-capped tmpfs (/tmp; /ipc, reached by
the grader through /proc/PID/root); fresh network and PID namespaces. The run check (``package=True``)
also gets the package's folder: it decides no score. Without bwrap the grader adopts orphans.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import site
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psutil

TOKEN_ENV = "NST_GRADER_SANDBOX"  # in every kernel's environment: the grader's pid, slot and folder
#: User ids for kernels when the grader runs as root (one per sandbox, from this base on).
UID_BASE = 61000
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Entries of a site-packages folder that are (or lead to) a copy of the package.
PACKAGE_ENTRY = re.compile(r"nst[_-]utils", re.IGNORECASE)
#: Host files of /etc a kernel reads (the dynamic linker, users, time zone, certificates).
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
       "alternatives", "fonts", "ssl", "mime.types")
#: The third-party packages a kernel imports (what they import lies beside them).
NEEDED = ("numpy", "tensorflow", "keras", "matplotlib", "PIL", "IPython", "ipykernel", "jupyter_client",
          "zmq", "psutil")
IPC, MB = "/ipc", 1 << 20
_launched = set()  # pids of the sandboxes' first processes (a child of the grader that is not one is an orphan)
_reaper = {"on": False, "launching": 0}


@dataclass
class Limits:
    """Resource limits of one sandbox."""

    memory_mb: int = 4096        # resident memory of all its processes (watchdog)
    address_space_mb: int = 32768  # per process (RLIMIT_AS): catches a single huge allocation at once
    cpu_seconds: int = 3600      # per process (RLIMIT_CPU)
    file_mb: int = 256           # largest file a process may write (RLIMIT_FSIZE)
    tmp_mb: int = 1024           # /tmp (with bwrap), or the sandbox's whole folder (without)
    ipc_mb: int = 64             # /ipc: sockets and results (with bwrap)
    log_mb: int = 4              # the kernel's own stdout/stderr kept in the grader's log
    processes: int = 256         # processes and threads of the sandbox's user (RLIMIT_NPROC)
    open_files: int = 1024       # RLIMIT_NOFILE


def _is_package_entry(entry):
    """Whether a site-packages entry is, or points Python to, a copy of nst_utils."""
    if PACKAGE_ENTRY.search(entry.name):
        return True
    if entry.suffix == ".pth" and entry.is_file():
        text = entry.read_text(errors="replace")
        lines = [line.strip() for line in text.splitlines()]
        return bool(PACKAGE_ENTRY.search(text)) or any(
            line and not line.startswith(("#", "import")) and (Path(line) / "nst_utils").exists()
            for line in lines)
    return False


def site_folders():
    """The interpreter's site-packages folders (of the venv and of the base install), and the folders
    on sys.path that hold a package a kernel needs (NEEDED): its third-party packages."""
    folders = [Path(f) for f in site.getsitepackages([sys.prefix, sys.base_prefix])]
    for entry in map(Path, filter(None, sys.path)):
        if any((entry / name).is_dir() for name in NEEDED):
            folders.append(entry)
    return sorted({f.resolve() for f in folders if f.is_dir()})


def allowed_paths(package=False):
    """[(host path, path in the sandbox, how)] of the allow-list; how is "bind", "symlink" or "site"
    (a site-packages folder: an empty tmpfs into which its allowed entries are bound)."""
    out = [(Path("/usr"), Path("/usr"), "bind")]
    for path in (Path("/", name) for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32")):
        if path.exists():
            out.append((Path(os.readlink(path)), path, "symlink") if path.is_symlink() else (path, path, "bind"))
    out += [(Path("/etc", n), Path("/etc", n)) + ("bind",) for n in ETC if Path("/etc", n).exists()]
    # The interpreter: its executable (through the venv's links) and its libraries, and the venv's config.
    exe = Path(sys.executable)
    while exe.is_symlink():
        out.append((Path(os.readlink(exe)), exe, "symlink"))
        exe = (exe.parent / os.readlink(exe))
    real = Path(sys.executable).resolve()
    out.append((real, real, "bind"))
    for folder in {Path(sys.base_prefix).resolve() / "lib", real.parent.parent / "lib"}:
        if folder.is_dir():
            out.append((folder, folder, "bind"))
    if Path(sys.prefix, "pyvenv.cfg").is_file():
        out.append((Path(sys.prefix, "pyvenv.cfg"),) * 2 + ("bind",))
    out += [(f, f, "site") for f in site_folders()]
    if package:
        out.append((PACKAGE_DIR, PACKAGE_DIR, "bind"))
        data = PACKAGE_DIR / "course_files"
        out += [(p.resolve(), p.resolve(), "bind") for p in data.iterdir() if p.is_symlink()] if data.is_dir() else []
    return out


def _dirs(path, made):
    """bwrap arguments making path's missing parents, readable by the kernel's user."""
    new = [p for p in reversed(Path(path).parents) if p != Path("/") and p not in made]
    made.update(new)
    return [arg for p in new for arg in ("--perms", "0755", "--dir", str(p))]


@dataclass
class Sandbox:
    """One confined place for one kernel: its folders, its user, its launch command. package --
    whether the kernel may import the package (the run check) or gets the kit only (scoring)."""

    limits: Limits
    use_bwrap: bool
    slot: int = 0
    env: dict = field(default_factory=dict)
    package: bool = False

    def __post_init__(self):
        from .kitfiles import write_kit

        self.root = Path(tempfile.mkdtemp(prefix="nst-grade-"))
        self.kit = write_kit(self.root / "kit")  # the kernel's code and inputs: only the grader writes here
        self.connection = self.root / "connection"  # the kernel's connection file: the grader writes it
        self.connection.mkdir(mode=0o755)
        self.token = f"{os.getpid()}-{self.slot}-{self.root.name}"
        # Root is exempt from RLIMIT_NPROC: the kernel gets a user of its own. (Without bwrap it could
        # not reach an interpreter under /root, so it stays root there.)
        self.uid = UID_BASE + (os.getpid() % 500) * 16 + self.slot % 16 if os.geteuid() == 0 and self.use_bwrap else None
        if self.use_bwrap:  # the grader reaches the sandbox's /ipc through ipc_view (started)
            self.ipc, self.ipc_view = Path(IPC), self.root / "ipc"
            self.workdir, self.home = "/tmp/work", "/tmp/home"
        else:
            self.ipc = self.ipc_view = self.root / "ipc"
            self.ipc.mkdir()
            self.workdir, self.home = str(self.root / "work"), str(self.root / "home")
            for folder in (self.workdir, self.home):
                os.makedirs(folder)

    def environment(self):
        """The kernel's whole environment: nothing of the grader's unless passed explicitly."""
        python_bin = str(Path(sys.executable).parent)
        env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": self.home,
               "LANG": "C.UTF-8", "PYTHONPATH": str(PACKAGE_DIR.parent if self.package else self.kit),
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "NST_NATIVE": "0",
               "TF_CPP_MIN_LOG_LEVEL": "3", "MPLCONFIGDIR": f"{self.home}/.matplotlib",
               "IPYTHONDIR": f"{self.home}/.ipython", "TMPDIR": "/tmp" if self.use_bwrap else self.home,
               TOKEN_ENV: self.token}
        env.update(self.env)
        return env

    def kernel_ip(self):  # the sockets' path prefix (for the grader, for the kernel)
        return str(self.ipc_view / "kernel"), str(self.ipc / "kernel")

    def command(self, argv):
        """argv wrapped for the sandbox: bwrap (if used), the limits (util-linux's prlimit), and as root
        the kernel's own user (setpriv)."""
        lim, nproc = self.limits, self.limits.processes
        if self.uid is None and os.geteuid() != 0:
            # RLIMIT_NPROC counts all threads of the user: leave room for the ones it already has.
            nproc += sum(_safe(lambda: p.num_threads() if p.uids().real == os.getuid() else 0, 0)
                         for p in psutil.process_iter())
        if not shutil.which("prlimit") or (self.uid is not None and not shutil.which("setpriv")):
            raise RuntimeError("the sandbox needs util-linux's prlimit and setpriv (apt-get install util-linux)")
        launch = [shutil.which("prlimit"), f"--as={lim.address_space_mb * MB}", f"--cpu={lim.cpu_seconds}",
                  f"--fsize={lim.file_mb * MB}", f"--nproc={nproc}", f"--nofile={lim.open_files}", "--core=0"]
        if self.uid is not None:
            launch += [shutil.which("setpriv"), f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
        return (self._bwrap_args() if self.use_bwrap else []) + launch + list(argv)

    def _bwrap_args(self):
        # No user namespace: as root, the launcher must still be able to switch to the kernel's user.
        args = [shutil.which("bwrap"), "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        lim = self.limits
        # The private tmpfs first: an interpreter or a venv under the host's /tmp is bound over it.
        args += ["--dev", "/dev", "--proc", "/proc",
                 "--size", str(lim.tmp_mb * MB), "--perms", "1777", "--tmpfs", "/tmp",
                 "--size", str(lim.ipc_mb * MB), "--perms", "1777", "--tmpfs", IPC]
        made = {Path("/tmp")}
        for source, dest, how in allowed_paths(self.package):
            args += _dirs(dest, made)
            if how == "symlink":
                args += ["--symlink", str(source), str(dest)]
            elif how == "bind":
                args += ["--ro-bind", str(source), str(dest)]
            else:  # a site-packages folder: what it holds, but never a copy of the package
                args += ["--perms", "0755", "--tmpfs", str(dest)]
                for entry in sorted(source.iterdir()):
                    if not _is_package_entry(entry):
                        args += ["--ro-bind-try", str(entry), str(dest / entry.name)]
            made.add(dest)
        for folder in (self.kit, self.connection):
            args += _dirs(folder, made) + ["--ro-bind", str(folder), str(folder)]
        args += ["--perms", "0777", "--dir", self.workdir, "--perms", "0777", "--dir", self.home,
                 "--chdir", self.workdir, "--clearenv"]
        for key, value in self.environment().items():
            args += ["--setenv", key, value]
        return args

    def started(self, pid):
        """Note the sandbox's first process; with bwrap, link ipc_view to its /ipc (False: not yet)."""
        _launched.add(pid)
        if not self.use_bwrap:
            return True
        mine = os.readlink("/proc/self/ns/mnt")
        for proc in self.descendants(pid).values():
            try:
                if os.readlink(f"/proc/{proc.pid}/ns/mnt") != mine:
                    if not self.ipc_view.is_symlink():
                        self.ipc_view.symlink_to(f"/proc/{proc.pid}/root{IPC}")
                    return self.ipc_view.is_dir()
            except OSError:
                continue
        return False

    def write_connection(self, path):
        """Make the connection file at path say the kernel's own socket prefix, readable by it."""
        Path(path).write_text(json.dumps(dict(json.loads(Path(path).read_text()), ip=self.kernel_ip()[1])))
        os.chmod(path, 0o644)

    @staticmethod
    def descendants(root_pid):
        """root_pid and its descendants (with bwrap: every process of the sandbox's PID namespace)."""
        try:
            parent = psutil.Process(root_pid)
            return {p.pid: p for p in [parent, *parent.children(recursive=True)]}
        except psutil.NoSuchProcess:
            return {}

    def resident_mb(self, root_pid):
        return sum(_safe(lambda: p.memory_info().rss, 0) for p in self.descendants(root_pid).values()) / MB

    def disk_mb(self):
        """MB the kernel wrote on the host disk (without bwrap: its folder; with bwrap: nothing)."""
        files = [] if self.use_bwrap else [os.path.join(d, f) for d, _, names in os.walk(self.root) for f in names]
        return sum(_safe(lambda: os.lstat(f).st_size, 0) for f in files) / MB

    def kill(self, root_pid=None):
        """SIGKILL every process of the sandbox (root_pid's tree), and orphans the grader adopted."""
        kill_all(lambda: (list(self.descendants(root_pid).values()) if root_pid else []) + orphans())

    def cleanup(self, root_pid=None):
        self.kill(root_pid), shutil.rmtree(self.root, ignore_errors=True)


def kill_all(find):
    """SIGKILL the processes find() returns until it returns none (a fork bomb keeps forking)."""
    for _ in range(20):
        procs = find()
        if not procs:
            return
        for proc in procs:
            _safe(lambda: proc.send_signal(signal.SIGKILL), None)
        psutil.wait_procs(procs, timeout=0.5)


def adopt_orphans():
    """Make this process the reaper of its descendants' orphans (Linux): a notebook's daemon becomes
    its child, where kill() finds it."""
    try:
        _reaper["on"] = ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def orphans():
    """The adopted orphans (adopted_orphans) and their descendants."""
    return [p for o in adopted_orphans() for p in Sandbox.descendants(o.pid).values()]


def adopted_orphans():
    """This process's children that no sandbox started: orphans (none while a sandbox is starting)."""
    if not _reaper["on"] or _reaper["launching"]:
        return []
    try:
        orphans = [c for c in psutil.Process().children() if c.pid not in _launched]
    except psutil.Error:
        return []
    for orphan in orphans:  # reaped, now that this process is their parent
        _safe(lambda: os.waitpid(orphan.pid, os.WNOHANG), None)
    return [o for o in orphans if _safe(lambda: o.status() != psutil.STATUS_ZOMBIE, False)]


def _safe(get, default):
    try:
        return get()
    except (psutil.Error, OSError):
        return default

