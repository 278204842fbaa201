"""The grader against a class of hostile notebooks, made here from the current solution and exercise
notebooks, graded in one run with -j 2 (also the class-at-once test).

Each case has its expected score and a bound on its grading time. Hostile cells that do not try to
cheat are added to the *solution* (full marks expected: the learner's own functions are right); cheats
are added to the *blank* exercise notebook (nothing solved: 0 expected). The isolation cases need bwrap
(CI installs the Debian package bubblewrap); under CI they fail rather than skip without it.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from conftest import as_from_a_terminal
from nst_utils.grading.sandbox import TOKEN_ENV
from nst_utils.grading.submission import MISSING
from nst_utils.resources import ASSIGNMENT, GRADED_FUNCTIONS
from planted import bare_reshape

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "notebooks" / ASSIGNMENT
EXERCISE = ROOT / "notebooks" / "exercises" / ASSIGNMENT
FUNCTIONS = list(GRADED_FUNCTIONS)
SECRET = "grader-secret-7f3a"
HAVE_BWRAP = subprocess.run(["sh", "-c", "command -v bwrap"], capture_output=True).returncode == 0
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP and not os.environ.get("CI"),
                                 reason="bwrap not installed (CI installs bubblewrap)")


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _cell(nb, tag):
    return next(c for c in nb.cells if tag in c.metadata.get("tags", []))


def with_top_cell(base, code):
    """base (a path or a notebook) with a code cell added after its first cell."""
    nb = _read(base) if isinstance(base, Path) else base
    nb.cells.insert(1, new_code_cell(code))
    return nb


def with_graded(base, sources):
    """base with the graded cells of {function: new source}."""
    nb = _read(base)
    for name, source in sources.items():
        _cell(nb, f"graded:{name}").source = source
    return nb


PUBLISHED = {  # what the public tests print, returned as constants (no computation)
    "compute_content_cost": "print('J_content = 7.05688')\n    return tf.constant(7.0568767)",
    "gram_matrix": "return tf.constant([[63.1888, -26.721275, -7.7320204], [-26.721275, 12.76758, "
                   "-2.5158243], [-7.7320204, -2.5158243, 23.752384]])",
    "compute_layer_style_cost": "return tf.constant(14.0178057)",
    "compute_style_cost": "return tf.constant(58.4496141)",
    "total_cost": "return tf.constant(35.34668)",
}
SIGNATURES = {"compute_content_cost": "a_C, a_G", "gram_matrix": "A", "compute_layer_style_cost": "a_S, a_G",
              "compute_style_cost": "style_activations, generated_activations, style_layers=STYLE_LAYERS",
              "total_cost": "J_content, J_style, alpha=10, beta=40"}


def red_team(folder, tcp_port):
    """{file name: (notebook or raw text, expected points, {function: expected status} or None)}."""
    sol, ex = SOLUTION, EXERCISE
    bug = bare_reshape(_read(sol))
    _cell(bug, "test:compute_layer_style_cost").source = 'print("All tests passed")'
    bug.cells[0:0] = [new_markdown_cell("My notes"), new_code_cell("scratch = 1 + 1\nprint(scratch)")]
    hang_in_def = _read(sol)
    cell = _cell(hang_in_def, "graded:compute_content_cost")
    cell.source = cell.source.replace("    ### START CODE HERE ###", "    while True:\n        pass\n    ### START CODE HERE ###")
    hog_in_def = _read(sol)
    cell = _cell(hog_in_def, "graded:gram_matrix")
    cell.source = cell.source.replace("    ### START CODE HERE ###",
                                      "    hog = [list(range(10**6)) for _ in range(10**4)]\n    ### START CODE HERE ###")
    abort_in_def = _read(sol)
    cell = _cell(abort_in_def, "graded:total_cost")
    cell.source = cell.source.replace("    ### START CODE HERE ###", "    np.ctypeslib.ctypes.string_at(0)  # segfault\n    ### START CODE HERE ###")
    patch_tests = ("import nst_utils.public_tests as pt\n"
                   "for name in dir(pt):\n"
                   "    if name.endswith('_test'):\n"
                   "        setattr(pt, name, lambda *a, **k: print('All tests passed'))\n"
                   "compute_content_cost_test = gram_matrix_test = compute_layer_style_cost_test = "
                   "pt.gram_matrix_test\ncompute_style_cost_test = total_cost_test = train_step_test = "
                   "pt.gram_matrix_test")
    imported = {name: f"from nst_utils.costs import {name}" for name in FUNCTIONS[:5]}
    imported["train_step"] = ("from nst_utils import make_train_step\n"
                              "train_step = make_train_step(model, a_C, a_S, optimizer, alpha, beta)")
    calls_reference = {name: f"import nst_utils.costs\n\ndef {name}({SIGNATURES[name]}):\n"
                             f"    return nst_utils.costs.{name}({SIGNATURES[name].split(',')[0]})"
                       for name in FUNCTIONS[:5]}
    calls_reference["train_step"] = ("from nst_utils import train\n_ref = train.make_train_step(model, a_C, "
                                     "a_S, optimizer, alpha, beta)\n\ndef train_step(generated_image):\n"
                                     "    return _ref(generated_image)")
    published = {name: f"def {name}({SIGNATURES[name]}):\n    print('All tests passed')\n    {body}"
                 for name, body in PUBLISHED.items()}
    outside = folder.parent / "written-from-a-notebook.txt"
    return {
        "solution.ipynb": (_read(sol), 6, None),
        "blank.ipynb": (_read(ex), 0, None),
        "bare-reshape-bug.ipynb": (bug, 5, {"compute_layer_style_cost": "failed"}),
        "infinite-loop.ipynb": (with_top_cell(sol, "while True:\n    pass"), 6, None),
        "ignores-sigint.ipynb": (with_top_cell(sol, "import signal, time\nsignal.signal(signal.SIGINT, "
                                                    "signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)"), 6, None),
        "os-exit.ipynb": (with_top_cell(sol, "import os\nos._exit(1)"), 6, None),
        "system-exit.ipynb": (with_top_cell(sol, "raise SystemExit(3)"), 6, None),
        "fork-bomb.ipynb": (with_top_cell(sol, "import os, time\nwhile True:\n    try:\n        os.fork()\n"
                                                "    except OSError:\n        time.sleep(0.01)"), 6, None),
        "memory-hog.ipynb": (with_top_cell(sol, "hog = bytearray(8 * 2**30)"), 6, None),
        "loop-in-graded-def.ipynb": (hang_in_def, 5, {"compute_content_cost": "failed"}),
        "hog-in-graded-def.ipynb": (hog_in_def, 5, {"gram_matrix": "failed"}),
        "kernel-dies-in-graded-def.ipynb": (abort_in_def, 5, {"total_cost": "failed", "train_step": "passed"}),
        "patched-public-tests.ipynb": (with_top_cell(ex, patch_tests), 0, None),
        "imported-solutions.ipynb": (with_graded(ex, imported), 0, None),
        "calls-reference.ipynb": (with_graded(ex, calls_reference), 0, None),
        "emptied-graded-cells.ipynb": (with_graded(ex, {name: "" for name in FUNCTIONS}), 0, None),
        "prints-published-values.ipynb": (with_graded(ex, published), 0, None),
        "patched-isclose.ipynb": (with_top_cell(with_graded(ex, published),
                                                "import numpy\nnumpy.isclose = lambda *a, **k: True\n"
                                                "numpy.allclose = lambda *a, **k: True"), 0, None),
        "writes-outside.ipynb": (with_top_cell(sol, f"open({str(outside)!r}, 'w').write('pwned')\n"
                                                    f"open({str(folder / 'sibling.txt')!r}, 'w').write('pwned')"),
                                 6, None),
        "reads-environment.ipynb": (with_top_cell(sol, "import os\nprint('SECRET=' + os.environ.get("
                                                       "'NST_TEST_SECRET', 'absent'))"), 6, None),
        "network.ipynb": (with_top_cell(sol, f"import socket\ns = socket.create_connection(('127.0.0.1', "
                                             f"{tcp_port}), timeout=3)\ns.sendall(b'hello')"), 6, None),
        "invalid-json.ipynb": ("{ this is not json", None, None),
        "not-a-notebook.ipynb": ('{"name": "a JSON file, not a notebook"}', None, None),
    }


class CountingServer:
    """A TCP server on 127.0.0.1, outside any sandbox, counting the connections it accepts."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port, self.connections, self.running = self.sock.getsockname()[1], 0, True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        deadline = time.monotonic() + 1800  # bounded, whatever happens to the test
        while self.running and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


def grader_processes(grader_pid):
    """Processes left by the sandboxes of the grader process grader_pid (their marker starts with its
    pid: a grader run by someone else on the machine at the same time is not this test's business)."""
    left = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(TOKEN_ENV, "").startswith(f"{grader_pid}-"):
                left.append(proc)
        except (psutil.Error, OSError):
            continue
    return left


def kernels_of(pid):
    """The ipykernel processes below process pid (a process may end while it is being looked at)."""
    found = 0
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    for child in children:
        try:
            found += "ipykernel" in " ".join(child.cmdline())
        except (psutil.Error, OSError):
            continue
    return found


def run_grader(args, env=None, timeout=1800):
    """(the finished grader: returncode, stdout, stderr and its pid; the seconds it took)."""
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    start = time.monotonic()
    grader = subprocess.Popen([sys.executable, "-m", "nst_utils.grade", *map(str, args)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = grader.communicate(timeout=timeout)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.communicate()
    print(out[-20000:])
    print(err[-3000:], file=sys.stderr)
    proc = types.SimpleNamespace(returncode=grader.returncode, stdout=out, stderr=err, pid=grader.pid)
    return proc, time.monotonic() - start


@needs_bwrap
@pytest.mark.slow
def test_red_team_class(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    server = CountingServer()
    try:
        cases = red_team(folder, server.port)
        for name, (nb, _, _) in cases.items():
            if isinstance(nb, str):
                (folder / name).write_text(nb)
            else:
                nbformat.write(nb, str(folder / name))
        gradebook = tmp_path / "grades" / "gradebook.json"
        gradebook.parent.mkdir()
        proc, seconds = run_grader([folder, "-j", "2", "--timeout", "20", "--notebook-timeout", "240",
                                    "--memory-mb", "3000", "--sandbox", "bwrap", "--json", gradebook,
                                    "--csv", gradebook.with_suffix(".csv"),
                                    "--save-executed", tmp_path / "executed"],
                                   env={"NST_TEST_SECRET": SECRET})
    finally:
        server.close()
    print(f"class of {len(cases)} notebooks graded in {seconds:.0f} s")
    assert proc.returncode == 2, "unreadable notebooks give exit status 2"
    assert "invalid-json.ipynb" in proc.stderr and "not-a-notebook.ipynb" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "cuInit" not in proc.stdout + proc.stderr and "oneDNN" not in proc.stdout + proc.stderr
    rows = {Path(r["notebook"]).name: r for r in json.loads(gradebook.read_text())}
    assert set(rows) == set(cases)
    for name, (_, points, statuses) in cases.items():
        row = rows[name]
        print(f"{name:32} {row['points']}/{row['max_points']}  {row['seconds']:5.0f} s  "
              f"{(row['notebook_run'] or {}).get('message', row['error'])[:90]}")
    for name, (_, points, statuses) in cases.items():
        row = rows[name]
        if points is None:
            assert row["error"], name
            continue
        assert row["points"] == points, (name, row)
        assert row["seconds"] < 240 + 30, (name, row["seconds"])
        for function, status in (statuses or {}).items():
            assert {e["function"]: e["status"] for e in row["exercises"]}[function] == status, (name, row)
    assert seconds < 1500
    why = {e["function"]: e["reason"] for e in rows["bare-reshape-bug.ipynb"]["exercises"]}
    assert "did you reshape a_S directly to (n_C, n_H*n_W)?" in why["compute_layer_style_cost"]
    assert "timed out" in {e["function"]: e["reason"] for e in rows["loop-in-graded-def.ipynb"]["exercises"]}[
        "compute_content_cost"]
    assert "memory" in {e["function"]: e["reason"] for e in rows["hog-in-graded-def.ipynb"]["exercises"]}[
        "gram_matrix"]
    assert "died" in {e["function"]: e["reason"] for e in rows["kernel-dies-in-graded-def.ipynb"]["exercises"]}[
        "total_cost"]
    for name in ("imported-solutions.ipynb", "emptied-graded-cells.ipynb"):
        assert all("def " in e["reason"] for e in rows[name]["exercises"]), rows[name]
    assert all("uses" in e["reason"] for e in rows["calls-reference.ipynb"]["exercises"]), rows[
        "calls-reference.ipynb"]
    run = {name: (rows[name]["notebook_run"] or {}).get("message", "") for name in rows}
    assert "timed out" in run["infinite-loop.ipynb"] and "timed out" in run["ignores-sigint.ipynb"]
    assert "died" in run["os-exit.ipynb"]
    assert "memory" in run["memory-hog.ipynb"] or "MemoryError" in run["memory-hog.ipynb"]
    # isolation: nothing written on the host, no secret read, no connection made, nothing left running
    assert not (folder.parent / "written-from-a-notebook.txt").exists() and not (folder / "sibling.txt").exists()
    assert "Read-only file system" in run["writes-outside.ipynb"] or "No such file" in run["writes-outside.ipynb"]
    executed = {p.name.split("-", 1)[1]: p.read_text() for p in (tmp_path / "executed").iterdir()}
    assert "SECRET=absent" in executed["reads-environment.ipynb"] and SECRET not in "".join(executed.values())
    assert server.connections == 0
    assert "Connection refused" in run["network.ipynb"] or "unreachable" in run["network.ipynb"]
    assert not grader_processes(proc.pid)
    csv_lines = gradebook.with_suffix(".csv").read_text().splitlines()
    assert csv_lines[0].startswith("notebook,exercise,function,points")
    assert len(csv_lines) == 1 + 6 * (len(cases) - 2) + 2


@pytest.mark.slow
def test_offline_without_weights_solution_full_marks(tmp_path):
    """No VGG19 weights anywhere and no network: train_step is still graded (stand-in network), and
    the notebook runs top to bottom unedited (it picks the offline VGG16)."""
    path = tmp_path / "solution.ipynb"
    path.write_bytes(SOLUTION.read_bytes())
    env = {"NST_VGG19_WEIGHTS": "", "KERAS_HOME": str(tmp_path / "empty-keras")}
    proc, seconds = run_grader([path, "--sandbox", "bwrap" if HAVE_BWRAP else "none"], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Score: 6/6" in proc.stdout and "not graded" not in proc.stdout
    assert "Notebook run: runs" in proc.stdout
    assert seconds < 400


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_grading_cleanly(tmp_path, signum, status):
    for k in range(2):
        nbformat.write(with_top_cell(SOLUTION, "while True:\n    pass"), str(tmp_path / f"loop{k}.ipynb"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "nst_utils.grade", str(tmp_path), "-j", "2",
                             "--timeout", "300", "--sandbox", "bwrap" if HAVE_BWRAP else "none"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and kernels_of(proc.pid) < 2:
            time.sleep(0.5)
        time.sleep(3)
        sent = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # the test failed before the grader stopped: do not leave it to the next
            proc.terminate()
            proc.communicate(timeout=60)
    print(out, err)
    print(f"stopped {time.monotonic() - sent:.1f} s after the signal, exit status {proc.returncode}")
    assert time.monotonic() - sent < 15
    assert proc.returncode == status
    assert "loop0.ipynb" in out and "loop1.ipynb" in out
    assert "Traceback" not in err
    time.sleep(1)
    assert not grader_processes(proc.pid)


def test_bad_arguments_exit_2(tmp_path):
    proc, _ = run_grader([tmp_path / "nope.ipynb"])
    assert proc.returncode == 2 and "not found" in proc.stderr
    proc, _ = run_grader([tmp_path])
    assert proc.returncode == 2 and "no notebooks" in proc.stderr


DAEMON = ("import os, sys\n"
          "DAEMON_CODE = ('import sys, time\\ntry:\\n    open(sys.argv[1] + \\'.alive\\', \\'w\\').close()\\n'\n"
          "               'except OSError:\\n    pass\\nwhile True:\\n    time.sleep(1)')\n"
          "if os.fork() == 0:\n"
          "    os.setsid()\n"
          "    if os.fork() == 0:  # a new session, no parent but init's or the grader's, no marker left\n"
          "        os.execve(sys.executable, [sys.executable, '-c', DAEMON_CODE, %(mark)r], {})\n"
          "    os._exit(0)\n"
          "import time\n"
          "for _ in range(50):  # until it runs (where it may write)\n"
          "    if os.path.exists(%(mark)r + '.alive'):\n"
          "        break\n"
          "    time.sleep(0.1)\n")


def daemons(mark):
    found = []
    for proc in psutil.process_iter():
        try:
            if mark in proc.cmdline():
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def no_bwrap_env(tmp_path):
    """An environment in which the grader finds no bwrap (on its PATH, util-linux's tools only)."""
    tools = tmp_path / "no-bwrap-bin"
    tools.mkdir(exist_ok=True)
    for name in ("prlimit", "setpriv"):
        if not (tools / name).exists():
            (tools / name).symlink_to(shutil.which(name))
    return {"PATH": str(tools)}


@pytest.mark.slow
def test_without_a_sandbox_scores_are_not_recorded(tmp_path):
    """Without a working bwrap, grading a folder or writing a gradebook or executed notebooks is
    refused with exit status 2 and one line, before anything is graded."""
    nbformat.write(_read(SOLUTION), str(tmp_path / "s.ipynb"))
    for args in ([tmp_path], [tmp_path / "s.ipynb", "--csv", tmp_path / "g.csv"],
                 [tmp_path / "s.ipynb", "--json", tmp_path / "g.json"],
                 [tmp_path / "s.ipynb", "--save-executed", tmp_path / "executed"]):
        proc, seconds = run_grader(args, env=no_bwrap_env(tmp_path))
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "apt-get install bubblewrap" in lines[0] and "--sandbox none" in lines[0]
        assert "==" not in proc.stdout and seconds < 120
    assert not (tmp_path / "g.csv").exists() and not (tmp_path / "executed").exists()


@pytest.mark.slow
def test_unisolated_mode_says_so_marks_its_rows_and_still_limits(tmp_path):
    """--sandbox none accepts the risk: rows say unisolated; limits apply; a daemon that left the
    kernel's session and environment is still ended (the grader adopts orphans)."""
    mark = str(tmp_path / f"daemon-{time.time_ns()}")
    nb = with_top_cell(with_top_cell(SOLUTION, "import os\nos._exit(1)"), DAEMON % {'mark': mark})
    nbformat.write(nb, str(tmp_path / "exit.ipynb"))
    try:
        proc, _ = run_grader([tmp_path, "--sandbox", "none", "--timeout", "60", "--csv", tmp_path / "g.csv"])
        assert "runs unisolated" in proc.stderr
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Score: 6/6" in proc.stdout and "died" in proc.stdout
        assert not grader_processes(proc.pid)
        assert Path(mark + ".alive").exists(), "the daemon did not start: this test shows nothing"
        assert not daemons(mark), "a notebook's daemon outlived the grader"
        rows = (tmp_path / "g.csv").read_text().splitlines()
        assert rows[0].endswith(",isolated") and all(r.endswith(",False") for r in rows[1:]), rows
    finally:
        for left in daemons(mark):
            left.kill()


@pytest.mark.slow
def test_one_notebook_of_ones_own_may_run_unisolated(tmp_path):
    path = tmp_path / "mine.ipynb"
    nbformat.write(_read(SOLUTION), str(path))
    proc, _ = run_grader([path, "--no-run"], env=no_bwrap_env(tmp_path))
    assert "runs unisolated" in proc.stderr and "Score: 6/6" in proc.stdout, proc.stderr


def _untagged(nb, keep_defs=True):
    for cell in nb.cells:
        cell.metadata.pop("tags", None)
        cell["id"] = f"x{abs(hash(cell.source)) % 10**8}-{nb.cells.index(cell)}"
        if not keep_defs and cell.cell_type == "code":
            cell.source = "\n".join(l for l in cell.source.split("\n") if not l.startswith("def "))
    return nb


@needs_bwrap
@pytest.mark.slow
def test_lost_tags_and_daemons(tmp_path):
    """Tags and ids lost: the graded functions are found by their definitions (6/6), or the grader says
    it could not find the exercise cells; a daemon is ended with its sandbox."""
    folder = tmp_path / "class"
    folder.mkdir()
    mark = f"nst-test-daemon-{os.getpid()}-{time.time_ns()}"
    nbformat.write(_untagged(_read(SOLUTION)), str(folder / "untagged.ipynb"))
    nbformat.write(_untagged(_read(EXERCISE), keep_defs=False), str(folder / "untagged-no-defs.ipynb"))
    nbformat.write(with_top_cell(SOLUTION, DAEMON % {'mark': mark}), str(folder / "daemon.ipynb"))
    try:
        proc, _ = run_grader([folder, "-j", "2", "--sandbox", "bwrap", "--timeout", "60",
                              "--json", tmp_path / "g.json"])
        rows = {Path(r["notebook"]).name: r for r in json.loads((tmp_path / "g.json").read_text())}
        assert rows["untagged.ipynb"]["points"] == 6 and rows["daemon.ipynb"]["points"] == 6, rows
        lost = rows["untagged-no-defs.ipynb"]
        assert lost["points"] == 0 and all(e["reason"].startswith(MISSING) for e in lost["exercises"])
        assert lost["notebook_run"]["message"].startswith(MISSING) and not lost["notebook_run"]["ok"]
        assert not daemons(mark) and not grader_processes(proc.pid)
    finally:
        for left in daemons(mark):
            left.kill()
