"""The compiled ops' cache and build (nst_utils/fast/native.py, library_cache.py, build.py): only this
user's intact libraries are loaded, a damaged one is rebuilt and the run goes on, one build at a time,
the compiler command in the key, a failed build not retried, old files pruned, NST_NATIVE=0 never
starting a compiler; and on an imperfect machine: a library that crashes on load or computes wrong
values fails its probe in a child process (remembered), a hanging compiler is killed with its
children (remembered), a full disk is said and retried, Ctrl-C during a compile is one line.

Each run of native.ops() is a fresh process (a crash there fails the test instead of killing
pytest), with every folder it could write under tmp_path. One real build (through a wrapper, as
ccache is used); the other tests use a fake compiler that copies that build's library, or fails.
"""
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

# builds of the compiled ops, real and through fake compilers: the full suite's, not the quick tier's
pytestmark = pytest.mark.slow

from nst_utils.fast import build, library_cache

REPO = Path(__file__).resolve().parent.parent
PROBE = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, format="LOG %(message)s", stream=sys.stderr)
from nst_utils.fast import native
loaded = native.ops() is not None
print(json.dumps({"loaded": loaded, "why_not": native.why_not()}))
"""
# Logs every call to $CALLS; answers --version (after $FAKECC_VERSION_SLEEP s); a build sleeps
# $FAKECC_SLEEP s (its pids and its sleep's in $FAKECC_PIDS), fails saying $FAKECC_MESSAGE if
# $FAKECC_FAIL, else copies $FAKECC_LIBRARY to the -o file.
FAKE_COMPILER = """#!/bin/sh
echo "$*" >> "$CALLS"
nap() { sleep "$1" & echo "$$ $!" >> "${FAKECC_PIDS:-/dev/null}"; wait; }
case "$*" in *--version*) [ -n "$FAKECC_VERSION_SLEEP" ] && nap "$FAKECC_VERSION_SLEEP"
  echo "fakecc ${FAKECC_VERSION:-1}"; exit 0;; esac
if [ -n "$FAKECC_SLEEP" ]; then nap "$FAKECC_SLEEP"; fi
if [ -n "$FAKECC_FAIL" ]; then echo "fakecc: error: ${FAKECC_MESSAGE:-it failed}" >&2; exit 1; fi
out=""; previous=""
for arg in "$@"; do if [ "$previous" = "-o" ]; then out="$arg"; fi; previous="$arg"; done
cp "$FAKECC_LIBRARY" "$out"
"""
# A wrapper that runs the command after it, as ccache does
WRAPPER = """#!/bin/sh
echo "$*" >> "$CALLS"
exec "$@"
"""
# A library whose constructor leaves a file behind: proof that it was loaded
PLANTED = r"""
#include <stdio.h>
__attribute__((constructor)) static void planted(void) {
  FILE* f = fopen(PLANTED_PROOF, "w");
  if (f) { fputs("loaded", f); fclose(f); }
}
"""


def script(path, text):
    path.write_text(text)
    path.chmod(0o755)
    return path


def environment(tmp_path, **env):
    """The environment of a probe: HOME, TMPDIR and the cache under tmp_path; env overrides (None
    removes a variable)."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("NST_NATIVE", "NST_NATIVE_REBUILD", "CXX", "XDG_CACHE_HOME")}
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    full.update({"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path / "home"),
                 "TMPDIR": str(tmp_path / "tmp"), "NST_NATIVE_CACHE": str(tmp_path / "cache"),
                 "CALLS": str(tmp_path / "calls")})
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = str(value)
    return full


def start(tmp_path, code=PROBE, **env):
    return subprocess.Popen([sys.executable, "-c", code], env=environment(tmp_path, **env), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc):
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"exit {proc.returncode}: {err[-3000:]}"
    result = json.loads(out.strip().splitlines()[-1])
    result["log"] = [line for line in err.splitlines() if line.startswith("LOG ")]
    return result


def probe(tmp_path, **env):
    """native.ops() in a fresh process: {"loaded", "why_not", "log" (its warnings)}."""
    return finish(start(tmp_path, **env))


def builds(tmp_path):
    """The compiler's calls that were builds (not --version) in tmp_path's runs."""
    calls = tmp_path / "calls"
    return [line for line in calls.read_text().splitlines() if "--version" not in line] if calls.exists() else []


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def real_build(tmp_path_factory):
    """One real build through a ccache-like wrapper (CXX="wrapper g++"), run twice: the library."""
    if shutil.which("g++") is None:
        assert os.environ.get("CI") != "true", "CI must have g++ for the compiled ops"
        pytest.skip("no g++ on this machine")
    tmp_path = tmp_path_factory.mktemp("real")
    wrapper = script(tmp_path / "ccache-like", WRAPPER)
    runs = [probe(tmp_path, CXX=f"{wrapper} g++") for _ in range(2)]
    libraries = list((tmp_path / "cache").glob("compiled_ops-*.so"))
    return {"runs": runs, "libraries": libraries, "builds": builds(tmp_path), "cache": tmp_path / "cache"}


@pytest.fixture
def fake_compiler(tmp_path, real_build):
    """CXX and environment of a fake compiler that 'builds' by copying the real library."""
    cxx = script(tmp_path / "fakecc", FAKE_COMPILER)
    return {"CXX": cxx, "FAKECC_LIBRARY": real_build["libraries"][0]}


def key_for(tmp_path, **env):
    """The key a probe with this environment uses (computed here: the same TensorFlow, CPU and source)."""
    import tensorflow as tf

    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(environment(tmp_path, **env))
        return build.library_key(tf, build.compiler_command())
    finally:
        os.environ.clear()
        os.environ.update(saved)


def nobody():
    if os.geteuid() != 0:
        assert os.environ.get("CI") != "true", "CI runs the tests as root: a file of another user is needed"
        pytest.skip("making a file of another user (chown) needs root")
    return pwd.getpwnam("nobody").pw_uid


def planted_library(tmp_path, target):
    """A library at target whose loading writes tmp_path/proof, with a matching digest beside it."""
    source = tmp_path / "planted.c"
    source.write_text(f'#define PLANTED_PROOF "{tmp_path / "proof"}"\n' + PLANTED)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gcc" if shutil.which("gcc") else "g++", "-shared", "-fPIC", str(source), "-o", str(target)],
                   check=True, timeout=120)
    Path(f"{target}.sha256").write_text(digest(target) + "\n")
    return target


# ---- a real build ----------------------------------------------------------------------------------

def test_a_real_build_through_a_wrapper_then_reused(real_build):
    # CXX="wrapper g++" (as "ccache g++") builds; the second run loads the same file, no new build.
    assert [run["loaded"] for run in real_build["runs"]] == [True, True], real_build["runs"]
    assert len(real_build["builds"]) == 1 and " g++ " in f" {real_build['builds'][0]} "
    library, = real_build["libraries"]
    assert stat.S_IMODE(os.stat(real_build["cache"]).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(library).st_mode) & 0o077 == 0
    assert Path(f"{library}.sha256").read_text().strip() == digest(library)


def test_the_compiler_command_is_in_the_key(tmp_path, monkeypatch):
    import tensorflow as tf

    fake = script(tmp_path / "fakecc", FAKE_COMPILER)
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("CXX", f"{fake} --some-flag 'two words'")
    assert build.compiler_command() == [str(fake), "--some-flag", "two words"]
    keys = {build.library_key(tf, [str(fake)]), build.library_key(tf, [str(fake), "g++"])}
    monkeypatch.setenv("FAKECC_VERSION", "2")  # the same command, an upgraded compiler
    keys.add(build.library_key(tf, [str(fake)]))
    assert len(keys) == 3
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    with pytest.raises(RuntimeError, match="no C\\+\\+ compiler found"):
        build.compiler_command()


# ---- trust: only this user's intact libraries ------------------------------------------------------

def test_a_library_of_another_user_is_never_loaded(tmp_path, fake_compiler):
    # A library with a right digest, where the cache expects it, but owned by nobody: not loaded
    # (its constructor would leave tmp_path/proof), named, replaced by a build of our own.
    uid = nobody()
    key = key_for(tmp_path, **fake_compiler)
    (tmp_path / "cache").mkdir(mode=0o700)
    planted = planted_library(tmp_path, tmp_path / "cache" / f"compiled_ops-{key}.so")
    for path in (planted, Path(f"{planted}.sha256")):
        os.chown(path, uid, -1)
    result = probe(tmp_path, **fake_compiler)
    assert not (tmp_path / "proof").exists(), "the planted library was loaded"
    assert result["loaded"] and len(builds(tmp_path)) == 1
    assert any(str(planted) in line and f"uid {uid}" in line for line in result["log"]), result["log"]
    assert os.stat(planted).st_uid == os.geteuid()


def test_no_shared_folder_when_the_cache_cannot_be_used(tmp_path, fake_compiler):
    # The cache folder belongs to another user; the old last resort, $TMPDIR/nst_utils, holds a
    # planted library of the right name. Neither is used: a fresh private folder, removed at exit.
    uid = nobody()
    key = key_for(tmp_path, **fake_compiler)
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, uid, -1)
    shared = tmp_path / "tmp" / "nst_utils"
    planted = planted_library(tmp_path, shared / f"compiled_ops-{key}.so")
    shared.chmod(0o777)
    for path in (shared, planted, Path(f"{planted}.sha256")):
        os.chown(path, uid, -1)
    result = probe(tmp_path, NST_NATIVE_CACHE=foreign, **fake_compiler)
    assert not (tmp_path / "proof").exists(), "the planted library was loaded"
    assert result["loaded"] and len(builds(tmp_path)) == 1
    assert [line for line in result["log"] if str(foreign) in line and "not to this user" in line]
    assert not list(foreign.iterdir())
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == ["nst_utils"]  # the private one is gone


def test_a_cache_folder_others_can_write_is_refused(tmp_path, fake_compiler):
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    result = probe(tmp_path, **fake_compiler)
    assert result["loaded"]
    assert [line for line in result["log"] if str(cache) in line and "others can write" in line], result["log"]
    assert not list(cache.iterdir())


def zero_text_section(path):
    """Overwrite the .text section of a 64-bit little-endian ELF file with zeros."""
    data = bytearray(path.read_bytes())

    def number(offset, size):
        return int.from_bytes(data[offset:offset + size], "little")

    table, entry, count, names = number(0x28, 8), number(0x3A, 2), number(0x3C, 2), number(0x3E, 2)
    sections = [(number(table + i * entry, 4), number(table + i * entry + 0x18, 8), number(table + i * entry + 0x20, 8))
                for i in range(count)]
    strings = sections[names][1]
    for name, offset, size in sections:
        if data[strings + name:strings + name + 6] == b".text\0":
            data[offset:offset + size] = bytes(size)
            path.write_bytes(bytes(data))
            return size
    raise AssertionError("no .text section")


@pytest.mark.parametrize("damage", ["truncated", "zeroed_text", "empty"])
def test_a_damaged_library_is_rebuilt_and_the_run_goes_on(tmp_path, fake_compiler, damage):
    # On main these crashed every run: truncated to 4 KB a bus error, zeroed code a segfault.
    key = key_for(tmp_path, **fake_compiler)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    library = cache / f"compiled_ops-{key}.so"
    shutil.copyfile(fake_compiler["FAKECC_LIBRARY"], library)
    Path(f"{library}.sha256").write_text(digest(library) + "\n")
    if damage == "truncated":
        os.truncate(library, 4096)
    elif damage == "zeroed_text":
        assert zero_text_section(library) > 0
    else:
        library.write_bytes(b"")
    result = probe(tmp_path, **fake_compiler)
    assert result["loaded"], result
    assert len(builds(tmp_path)) == 1
    assert [line for line in result["log"] if str(library) in line and "digest" in line], result["log"]
    assert digest(library) == digest(fake_compiler["FAKECC_LIBRARY"])
    assert probe(tmp_path, **fake_compiler) == {"loaded": True, "why_not": "", "log": []}  # said once
    assert len(builds(tmp_path)) == 1


def test_a_library_without_its_digest_is_rebuilt(tmp_path, fake_compiler):
    # e.g. one left by an older nst_utils, or a build killed between its two renames
    key = key_for(tmp_path, **fake_compiler)
    (tmp_path / "cache").mkdir(mode=0o700)
    shutil.copyfile(fake_compiler["FAKECC_LIBRARY"], tmp_path / "cache" / f"compiled_ops-{key}.so")
    result = probe(tmp_path, **fake_compiler)
    assert result["loaded"] and len(builds(tmp_path)) == 1
    assert [line for line in result["log"] if "no digest" in line]


# ---- one build at a time, failures remembered, old files pruned ------------------------------------

def test_four_first_runs_at_once_compile_once(tmp_path, fake_compiler):
    runs = [start(tmp_path, FAKECC_SLEEP=3, **fake_compiler) for _ in range(4)]
    results = [finish(run) for run in runs]
    assert [r["loaded"] for r in results] == [True] * 4
    assert len(builds(tmp_path)) == 1


def test_a_failed_build_is_not_retried_until_the_compiler_changes(tmp_path, fake_compiler):
    failing = {**fake_compiler, "FAKECC_FAIL": 1}
    first = probe(tmp_path, **failing)
    assert not first["loaded"] and "fakecc: error: it failed" in first["why_not"]
    second = probe(tmp_path, **failing)
    assert not second["loaded"] and second["why_not"].startswith("building failed before")
    assert len(builds(tmp_path)) == 1
    assert probe(tmp_path, NST_NATIVE_REBUILD=1, **fake_compiler)["loaded"]  # asked to try again
    assert len(builds(tmp_path)) == 2
    assert not probe(tmp_path, FAKECC_VERSION=2, **failing)["loaded"]  # another compiler: tried
    assert len(builds(tmp_path)) == 3


def test_prune_removes_only_this_modules_old_files_of_other_keys(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    old = time.time() - (library_cache.PRUNE_AFTER_DAYS + 1) * 86400
    names = {
        "compiled_ops-0123456789abcdef.so": True,          # another key, unused for long
        "compiled_ops-0123456789abcdef.so.sha256": True,
        "compiled_ops-0123456789abcdef.failed": True,
        "compiled_ops-1111111111111111.x8s_ab.tmp": True,  # a build that did not finish
        "compiled_ops-fedcba9876543210.so.sha256.k2j_1.tmp": True,  # its digest, being written
        "compiled_ops-fedcba9876543210.so": False,         # the key in use, however old
        "compiled_ops-fedcba9876543210.so.sha256": False,
        "compiled_ops.lock": False,
        "notes.txt": False,                                # not a name this module writes
        "compiled_ops-0123456789abcdef.so.bak": False,
    }
    for name in names:
        (folder / name).write_text("x")
        os.utime(folder / name, (old, old))
    recent = folder / "compiled_ops-2222222222222222.so"   # another key, used lately (another CPU)
    recent.write_text("x")
    removed = library_cache.prune(folder, "fedcba9876543210")
    assert sorted(removed) == sorted(name for name, gone in names.items() if gone)
    assert recent.exists()
    if os.geteuid() == 0:  # another user's file of the pattern stays
        foreign = folder / "compiled_ops-3333333333333333.so"
        foreign.write_text("x")
        os.utime(foreign, (old, old))
        os.chown(foreign, pwd.getpwnam("nobody").pw_uid, -1)
        assert library_cache.prune(folder, "fedcba9876543210") == []


# ---- NST_NATIVE=0: the grader's kernels ------------------------------------------------------------

def test_turned_off_never_starts_a_compiler(tmp_path):
    # The grader runs kernels with NST_NATIVE=0: no compiler may start, whatever they call.
    fake = script(tmp_path / "fakecc", FAKE_COMPILER)
    code = """
import json, numpy as np, tensorflow as tf
from nst_utils.fast import gram, native, winograd
x = tf.constant(np.ones((1, 9, 11, 64), np.float32))
winograd.winograd_conv2d(x, np.ones((3, 3, 64, 64), np.float32), 4)
gram.gram(tf.ones([50, 64]))
print(json.dumps({"loaded": native.ops() is not None, "why_not": native.why_not(), "status": native.status()}))
"""
    result = finish(start(tmp_path, code, NST_NATIVE=0, CXX=fake))
    assert not result["loaded"] and result["why_not"] == "turned off by NST_NATIVE=0"
    assert "unset NST_NATIVE" in result["status"]
    assert not (tmp_path / "calls").exists(), "a compiler was started"
    assert not (tmp_path / "cache").exists()


# ---- an imperfect machine: a library that fails its probe, a hanging compiler, a full disk -----------

CRASHING = "#include <signal.h>\n__attribute__((constructor)) static void crash(void) { raise(SIGSEGV); }\n"
# NstGram as the real library declares it, computing a matrix of ones: loads fine, wrong values
WRONG_GRAM = r"""
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
REGISTER_OP("NstGram").Input("a: float").Output("g: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->MakeShape({c->Dim(c->input(0), 1), c->Dim(c->input(0), 1)}));
      return absl::OkStatus();
    });
class Ones : public tensorflow::OpKernel {
 public:
  explicit Ones(tensorflow::OpKernelConstruction* c) : OpKernel(c) {}
  void Compute(tensorflow::OpKernelContext* c) override {
    const auto n = c->input(0).dim_size(1);
    tensorflow::Tensor* g = nullptr;
    OP_REQUIRES_OK(c, c->allocate_output(0, tensorflow::TensorShape({n, n}), &g));
    g->flat<float>().setConstant(1.0f);
  }
};
REGISTER_KERNEL_BUILDER(Name("NstGram").Device(tensorflow::DEVICE_CPU), Ones);
"""


@pytest.fixture(scope="session")
def bad_libraries(tmp_path_factory):
    """{"crashes": a library that raises SIGSEGV when loaded, "wrong_values": one whose NstGram gives ones}."""
    import tensorflow as tf

    if shutil.which("g++") is None:
        pytest.skip("no g++ on this machine")
    folder = tmp_path_factory.mktemp("bad")
    (folder / "crash.c").write_text(CRASHING)
    (folder / "wrong.cc").write_text(WRONG_GRAM)
    subprocess.run(["g++", "-shared", "-fPIC", "-x", "c", str(folder / "crash.c"), "-o", str(folder / "crash.so")],
                   check=True, timeout=120)
    subprocess.run(["g++", "-O0", "-shared", "-fPIC", str(folder / "wrong.cc"), "-o", str(folder / "wrong.so"),
                    *tf.sysconfig.get_compile_flags(), *tf.sysconfig.get_link_flags()], check=True, timeout=600,
                   capture_output=True)
    return {"crashes": folder / "crash.so", "wrong_values": folder / "wrong.so"}


def alive(pids_file):
    """The processes listed in pids_file that still run (not zombies)."""
    pids = {int(pid) for pid in pids_file.read_text().split()}
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            running.append(pid)
    return running


@pytest.mark.parametrize("kind, says", [("crashes", "it crashed when loaded (SIGSEGV)"),
                                        ("wrong_values", "exit 3: largest error 0.99")])
def test_a_library_that_fails_its_probe_is_never_loaded_and_remembered(tmp_path, bad_libraries, kind, says):
    # The probe's child loads it; this process (whose crash would fail finish()) never does.
    env = {"CXX": script(tmp_path / "fakecc", FAKE_COMPILER), "FAKECC_LIBRARY": bad_libraries[kind]}
    first = probe(tmp_path, **env)
    assert not first["loaded"] and first["why_not"].startswith("the library built failed its probe"), first
    assert says in first["why_not"]
    assert not list((tmp_path / "cache").glob("*.so")) and list((tmp_path / "cache").glob("*.failed"))
    second = probe(tmp_path, **env)
    assert not second["loaded"] and second["why_not"].startswith("building failed before"), second
    assert says in second["why_not"] and len(builds(tmp_path)) == 1


@pytest.mark.parametrize("hang", ["FAKECC_SLEEP", "FAKECC_VERSION_SLEEP"])
def test_a_hanging_compiler_is_killed_with_its_children(tmp_path, hang):
    # NST_NATIVE_TIMEOUT keeps the case short (the default: build.BUILD_TIMEOUT_S); the compiler's
    # own child (its sleep) is killed too. A hung build is remembered: the next run does not wait.
    env = {"CXX": script(tmp_path / "fakecc", FAKE_COMPILER), hang: 600, "FAKECC_PIDS": tmp_path / "pids",
           "NST_NATIVE_TIMEOUT": 3}
    began = time.monotonic()
    first = probe(tmp_path, **env)
    assert time.monotonic() - began < 120
    assert not first["loaded"] and "timed out after 3 s" in first["why_not"], first
    assert len((tmp_path / "pids").read_text().split()) == 2 and alive(tmp_path / "pids") == []
    if hang == "FAKECC_VERSION_SLEEP":
        assert "--version failed" in first["why_not"] and builds(tmp_path) == []
        return
    second = probe(tmp_path, **env)
    assert second["why_not"].startswith("building failed before") and "timed out" in second["why_not"]
    assert len(builds(tmp_path)) == 1


def full_tmpfs(tmp_path):
    """A command prefix that runs its command with the cache on a 64 KB tmpfs of its own (root's
    mount namespace of its own), or None where that cannot be done."""
    mount = 'mount -t tmpfs -o size=64k,mode=0700 tmpfs "$NST_NATIVE_CACHE" && exec "$@"'
    prefix = ["unshare", "-m", "sh", "-c", mount, "sh"]
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    (tmp_path / "cache").mkdir(mode=0o700, exist_ok=True)
    check = subprocess.run([*prefix, "true"], env=environment(tmp_path), capture_output=True, timeout=30)
    return prefix if check.returncode == 0 else None


@pytest.mark.parametrize("how", ["said", "real"])
def test_a_full_disk_is_said_and_not_remembered(tmp_path, fake_compiler, how):
    if how == "said":
        full = {**fake_compiler, "FAKECC_FAIL": 1,
                "FAKECC_MESSAGE": "error writing to /tmp/ccX.s: No space left on device"}
        result = probe(tmp_path, **full)
    else:  # the fake compiler's copy of a 150 KB library fills the 64 KB folder
        prefix = full_tmpfs(tmp_path)
        if prefix is None:
            pytest.skip("a tmpfs of its own needs root and unshare")
        proc = subprocess.Popen([*prefix, sys.executable, "-c", PROBE], env=environment(tmp_path, **fake_compiler),
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        result = finish(proc)
    assert not result["loaded"] and result["why_not"].startswith("the disk is full"), result
    assert not list((tmp_path / "cache").glob("*.failed"))
    assert probe(tmp_path, **fake_compiler)["loaded"]  # space is back: built
    assert len(builds(tmp_path)) == 2


def run_cli(tmp_path, weights, env):
    """python -m nst_utils on the example images, 2 iterations, the image in tmp_path/out."""
    return subprocess.run([sys.executable, "-m", "nst_utils", "--weights", weights, "--size", "64x48",
                           "--iterations", "2", "--seed", "1", "--save-every", "0", "-o", str(tmp_path / "out")],
                          env=environment(tmp_path, **env), cwd=REPO, capture_output=True, text=True, timeout=900)


def test_two_runs_with_a_library_that_crashes_both_finish(tmp_path, bad_libraries, standin_weights):
    env = {"CXX": script(tmp_path / "fakecc", FAKE_COMPILER), "FAKECC_LIBRARY": bad_libraries["crashes"],
           "NST_MAX_ITERATIONS": None}
    for run in range(2):
        proc = run_cli(tmp_path, standin_weights, env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (tmp_path / "out" / "generated_image.png").is_file()
        off = [line for line in proc.stderr.splitlines() if line.startswith("Compiled ops: off")]
        assert len(off) == 1 and "probe" in off[0] and "NST_NATIVE_REBUILD=1" in off[0], proc.stderr
        assert proc.stderr.count("compiling the fast convolutions for this CPU") == (1 if run == 0 else 0)
        (tmp_path / "out" / "generated_image.png").unlink()
    assert len(builds(tmp_path)) == 1


def test_ctrl_c_during_a_compile_is_one_line_and_stops_the_compiler(tmp_path, standin_weights):
    from conftest import as_from_a_terminal

    env = environment(tmp_path, CXX=script(tmp_path / "fakecc", FAKE_COMPILER), FAKECC_SLEEP=600,
                      FAKECC_PIDS=tmp_path / "pids", PYTHONUNBUFFERED=1)
    proc = subprocess.Popen([sys.executable, "-m", "nst_utils", "--weights", standin_weights, "--size", "64x48",
                             "-o", str(tmp_path / "out")], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    for line in proc.stderr:
        if line.startswith("compiling the fast convolutions for this CPU (first use, about"):
            break
    deadline = time.monotonic() + 60
    while not (tmp_path / "pids").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(2)  # SIGINT, as a terminal's Ctrl-C
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines() == ["interrupted (Ctrl-C); images already written "
                                                                  "are kept."], err
    assert alive(tmp_path / "pids") == []
    assert not list((tmp_path / "cache").glob("compiled_ops-*"))  # no marker, no half-built library
