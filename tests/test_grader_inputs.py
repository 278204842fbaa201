"""What the grader reads, writes and keeps: only regular files (links and special files refused, the
rest graded), no mount over a system folder, nbformat v3 upgraded, output paths checked before
grading, the kernels' output capped with the grader's memory bounded, the kernels' results read as
hostile data, and the scoring sandbox without the package.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import psutil
import pytest
from nbformat.v4 import new_code_cell

from nst_utils.grading import hidden
from nst_utils.resources import ASSIGNMENT
from nst_utils.grading.paths import find_notebooks, output_problems
from nst_utils.grading.kernel import OutputBudget
from nst_utils.grading.kit import codec
from nst_utils.grading import sandbox as sandbox_module
from nst_utils.grading.sandbox import PACKAGE_DIR, Limits, Sandbox
from nst_utils.grading.submission import NotebookError, read_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "notebooks" / ASSIGNMENT
HAVE_BWRAP = subprocess.run(["sh", "-c", "command -v bwrap"], capture_output=True).returncode == 0
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP and not os.environ.get("CI"),
                                 reason="bwrap not installed (CI installs bubblewrap)")
LIBS = next((p for p in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")
             if Path(p).is_dir()))


def _fifo(path):
    os.mkfifo(path)
    return path


# --- regular files only ------------------------------------------------------------------------------
def test_only_regular_files_are_found(tmp_path):
    (tmp_path / "good.ipynb").write_text("{}")
    (tmp_path / "shadow.ipynb").symlink_to("/etc/shadow")
    (tmp_path / "solution.ipynb").symlink_to(SOLUTION)
    (tmp_path / "lib.ipynb").symlink_to(Path(LIBS) / "nothing.ipynb")  # dangling, into a system folder
    _fifo(tmp_path / "fifo.ipynb")
    (tmp_path / "linked-folder").symlink_to(SOLUTION.parent)  # not entered
    found, missing, refused = find_notebooks([tmp_path, tmp_path / "solution.ipynb"])
    assert found == [tmp_path / "good.ipynb"] and not missing
    why = {p.name: w for p, w in refused}
    assert why == {"fifo.ipynb": "a FIFO", "lib.ipynb": "a symbolic link", "shadow.ipynb": "a symbolic link",
                   "solution.ipynb": "a symbolic link"}, why


def test_read_notebook_refuses_links_and_special_files_at_once(tmp_path):
    (tmp_path / "link.ipynb").symlink_to(SOLUTION)
    with pytest.raises(NotebookError, match="a symbolic link"):
        read_notebook(tmp_path / "link.ipynb")
    start = time.monotonic()
    with pytest.raises(NotebookError, match="not a regular file"):
        read_notebook(_fifo(tmp_path / "fifo.ipynb"))  # no writer: a plain open would block
    assert time.monotonic() - start < 5


def test_nbformat_v3_is_upgraded(tmp_path):
    nb = nbformat.read(str(SOLUTION), as_version=4)
    nbformat.write(nbformat.convert(nb, 3), str(tmp_path / "v3.ipynb"), version=3)
    assert json.loads((tmp_path / "v3.ipynb").read_text())["nbformat"] == 3
    upgraded = read_notebook(tmp_path / "v3.ipynb")
    assert upgraded.nbformat == 4
    assert any("graded:train_step" in c.metadata.get("tags", []) for c in upgraded.cells)


# --- no mount over a system folder ------------------------------------------------------------------------
def test_site_packages_entries_of_the_package_are_left_out(tmp_path):
    """Every layout's trace of the package in a site-packages folder is masked: the module, its
    dist-info, an egg-link, setuptools' editable finder and .pth, and a .pth naming a checkout."""
    clone = tmp_path / "clone"
    (clone / "nst_utils").mkdir(parents=True)
    site = tmp_path / "site-packages"
    site.mkdir()
    package = ["nst_utils", "nst_utils-0.1.dist-info", "nst-utils.egg-link", "__editable__.nst_utils-0.1.pth",
               "__editable___nst_utils_0_1_finder.py", "checkout.pth"]
    others = ["numpy", "numpy-2.0.dist-info", "distutils-precedence.pth", "six.py"]
    for name in package + others:
        (site / name).mkdir() if "." not in name or name.endswith("dist-info") else (site / name).write_text("")
    (site / "checkout.pth").write_text(f"{clone}\n")
    (site / "distutils-precedence.pth").write_text("import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n")
    masked = {p.name for p in site.iterdir() if sandbox_module._is_package_entry(p)}
    assert masked == set(package)


@needs_bwrap
@pytest.mark.slow
def test_the_kernel_sees_only_its_allow_list(tmp_path):
    """A real sandbox: Python, the system's libraries and the kernel's packages are there; no home, no
    host /tmp, no checkout, no second clone, no copy of the package (whatever the venv holds), no
    solution; the kit is. The run that checks a notebook runs also gets the package's own folder."""
    clone = tmp_path / "second-clone" / "nst_utils"
    clone.mkdir(parents=True)
    (clone / "costs.py").write_text("SOLUTION = 1\n")
    probe = ("import importlib.util, json, os, sys\n"
             "out = {'native': os.environ.get('NST_NATIVE'), 'libs': len(os.listdir(%r)),\n"
             "       'passwd': os.path.exists('/etc/passwd'), 'home': os.path.exists('/home'),\n"
             "       'tmp': sorted(os.listdir('/tmp')), 'clone': os.path.exists(%r),\n"
             "       'costs_file': os.path.exists(%r), 'solution': os.path.exists(%r),\n"
             "       'checkout': sorted(os.listdir(%r)) if os.path.isdir(%r) else None,\n"
             "       'numpy': importlib.util.find_spec('numpy') is not None}\n"
             "try:\n    import nst_utils.costs\n    out['import'] = 'imported'\n"
             "except Exception as err:\n    out['import'] = type(err).__name__\n"
             "out['kit'] = importlib.util.find_spec('nst_kit') is not None\n"
             "print(json.dumps(out))\n") % (LIBS, str(clone), str(PACKAGE_DIR / "costs.py"), str(SOLUTION),
                                          str(ROOT), str(ROOT))
    seen, roots = {}, {}
    for package in (False, True):
        sandbox = Sandbox(Limits(), True, package=package)
        roots[package] = sandbox.root.name
        try:
            proc = subprocess.run(sandbox.command([sys.executable, "-c", probe]), capture_output=True,
                                  text=True, timeout=120)
        finally:
            sandbox.cleanup()
        assert proc.returncode == 0, proc.stderr
        seen[package] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(seen)
    clean, run = seen[False], seen[True]
    assert clean["native"] == run["native"] == "0"
    assert clean["libs"] > 0 and clean["passwd"] and clean["numpy"] and clean["kit"]
    assert not clean["home"] and not clean["clone"] and not run["clone"]
    # the host's /tmp is not there: only the kernel's own folders, the one that holds its kit, and the
    # way to an interpreter that lives under /tmp (a clean clone's venv)
    interpreter = {Path(p).resolve().parts[2] for p in (sys.prefix, *sandbox_module.site_folders())
                   if Path(p).resolve().parts[1:2] == ("tmp",)}
    assert set(clean["tmp"]) == {"work", "home", roots[False]} | interpreter, clean["tmp"]
    assert not clean["costs_file"] and not clean["solution"] and clean["import"] == "ModuleNotFoundError"
    # the checkout holds at most the interpreter's venv folder (made to reach its site-packages)
    assert set(clean["checkout"] or []) <= {".venv"}, clean["checkout"]
    assert run["costs_file"] and run["import"] == "imported"


# --- what the grader reads back from a kernel ------------------------------------------------------------
def test_results_roundtrip(tmp_path):
    results = [{"value": np.arange(6.0).reshape(2, 3)}, {"none": True}, {"raised": "ValueError: x"},
               {"steps": True, "costs": np.ones((2, 3)), "image": np.zeros((1, 4, 4, 3))}]
    codec.write_results(tmp_path / "r.npz", results)
    got = codec.read_results(tmp_path / "r.npz", 4)
    assert np.array_equal(got[0]["value"], results[0]["value"]) and got[1] == {"none": True}
    assert got[2] == {"raised": "ValueError: x"} and got[3]["costs"].shape == (2, 3)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.symlink_to("/etc/passwd"), "cannot be opened"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: np.savez(p, count=np.array(1), **{"c0.kind": np.array("value"),
                                                 "c0.value": np.array([{"a": 1}], dtype=object)}),
     "malformed"),
    (lambda p: np.savez_compressed(p, count=np.array(1), **{"c0.kind": np.array("value"),
                                                            "c0.value": np.zeros(10**8)}), "over 64 MB"),
    (lambda p: np.savez(p, count=np.array(1), **{"c0.kind": np.array("value"), "c0.value": np.array(["1"])}),
     "dtype"),
    (lambda p: np.savez(p, count=np.array(99)), "99 results for 3 cases"),
    (lambda p: p.write_bytes(b"not an archive"), "malformed"),
])
def test_hostile_results_are_refused(tmp_path, make, message):
    path = tmp_path / "results.npz"
    make(path)
    start = time.monotonic()
    with pytest.raises(codec.UnusableResults, match=message):
        codec.read_results(path, 3)
    assert time.monotonic() - start < 10


def test_public_test_lines_travel_as_data(tmp_path, capsys):
    """What a public test prints is also kept as data and read back from a file: a learner's prints
    (before, between, or a flood) neither add to it nor push it out."""
    from nst_utils.grading.kit import messages, public_tests

    messages.PRINTED.clear()
    print("GA =\n[[ 63.1888 -26.7213  -7.732 ]]\nAll tests passed")  # a learner forging the lines
    public_tests.total_cost_test(lambda J_content, J_style, alpha=10, beta=40: alpha * J_content + beta * J_style)
    messages.write_printed(tmp_path / "printed.npz")
    (got,) = codec.read_results(tmp_path / "printed.npz", 1)
    assert got["printed"].splitlines() == ["J = 35.3467", public_tests.PASSED]
    assert not messages.PRINTED and "J = 35.3467" in capsys.readouterr().out


def test_hidden_reasons_quote_no_value():
    want = hidden.expected("total_cost", 12345)
    got = [{"value": w["value"] * 1.5} for w in want]
    reason = hidden.compare("total_cost", got, want)
    assert reason == "hidden case 1 of 3: returned values that differ from the reference's"
    raised = [{"raised": "MyError: LEAK 3.14159"}] * 3
    assert hidden.compare("total_cost", raised, want) == "hidden case 1 of 3: raised an error"


# --- output kept, and the grader's memory --------------------------------------------------------------------
def test_output_budget():
    budget = OutputBudget(cell_bytes=100, notebook_bytes=200)
    assert budget.take(60, 0) and not budget.take(60, 60) and budget.take(90, 0)
    assert budget.take(90, 0) is False and budget.dropped == 150 and budget.kept == 150


def test_output_paths_checked_before_grading(tmp_path):
    args = argparse.Namespace(csv=str(tmp_path / "missing" / "g.csv"), json=str(tmp_path),
                              save_executed=str(tmp_path / "a" / "b"))
    problems = output_problems(args)
    assert len(problems) == 3 and "does not exist" in problems[0] and "is a folder" in problems[1]
    nbformat.write(nbformat.read(str(SOLUTION), as_version=4), str(tmp_path / "s.ipynb"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nst_utils.grade", str(tmp_path / "s.ipynb"), "--json",
                           str(tmp_path / "no" / "such" / "folder.json")], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert proc.returncode == 2
    assert "error: --json" in proc.stderr and "does not exist" in proc.stderr
    assert "==" not in proc.stdout and "Traceback" not in proc.stderr  # nothing graded
    print(f"refused in {time.monotonic() - start:.1f} s")


PRINT_FLUSHED = "import sys\nfor _ in range({mb}):\n    print('x' * (2**20 - 1), flush=True)"


@needs_bwrap
@pytest.mark.slow
def test_output_is_capped_and_memory_bounded_at_j4(tmp_path):
    """-j 4 with three notebooks that print (400 MB of flushed lines, one 100 MB write, 100 MB from a
    graded function) beside a v3 notebook, two links and a FIFO: the kernels cut what they print, the
    grader keeps at most --output-mb per notebook, says how much it dropped, grades the rest (a
    correct notebook keeps full marks however much it prints: verdicts do not travel with the
    prints), and its resident memory stays bounded (measured in two runs on a shared 2-core machine:
    655 and 659 MB when the kernels started, peaks 798 and 891 MB)."""
    folder = tmp_path / "class"
    folder.mkdir()
    sol = nbformat.read(str(SOLUTION), as_version=4)
    nbformat.write(nbformat.convert(nbformat.read(str(SOLUTION), as_version=4), 3), str(folder / "v3.ipynb"),
                   version=3)
    top = nbformat.read(str(SOLUTION), as_version=4)
    top.cells.insert(1, new_code_cell(PRINT_FLUSHED.format(mb=400)))
    nbformat.write(top, str(folder / "prints-400MB.ipynb"))
    big = nbformat.read(str(SOLUTION), as_version=4)
    big.cells.insert(1, new_code_cell("import sys\nsys.stdout.write('y' * (100 * 2**20))\nsys.stdout.flush()"))
    nbformat.write(big, str(folder / "one-100MB-write.ipynb"))
    for cell in sol.cells:
        if "graded:total_cost" in cell.metadata.get("tags", []):
            cell.source = cell.source.replace("    ### START CODE HERE ###", "    for _ in range(100):\n"
                                              "        print('z' * (2**20 - 1), flush=True)\n"
                                              "    ### START CODE HERE ###")
    nbformat.write(sol, str(folder / "prints-in-graded.ipynb"))
    (folder / "shadow.ipynb").symlink_to("/etc/shadow")
    (folder / "lib.ipynb").symlink_to(Path(LIBS) / "libc.so.6")
    _fifo(folder / "fifo.ipynb")
    gradebook = tmp_path / "gradebook.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "nst_utils.grade", str(folder), "-j", "4", "--sandbox", "bwrap",
                             "--output-mb", "8", "--timeout", "120", "--notebook-timeout", "900",
                             "--json", str(gradebook), "--save-executed", str(tmp_path / "executed")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    grader = psutil.Process(proc.pid)
    peak, before_kernels = 0, None
    start = time.monotonic()
    while proc.poll() is None and time.monotonic() - start < 1500:
        try:
            rss = grader.memory_info().rss
            if before_kernels is None and grader.children(recursive=True):
                before_kernels = rss  # the grader with TensorFlow and the expected values, before any output
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = proc.communicate(timeout=60)
    print(out[-6000:], err[-3000:])
    print(f"grader RSS: {before_kernels / 2**20:.0f} MB when the kernels started, peak {peak / 2**20:.0f} MB, "
          f"{time.monotonic() - start:.0f} s")
    refused = [line for line in err.splitlines() if line.startswith("refused: ")]
    assert len(refused) == 3 and all("only regular files are graded" in line for line in refused), refused
    rows = {Path(r["notebook"]).name: r for r in json.loads(gradebook.read_text())}
    assert set(rows) == {"v3.ipynb", "prints-400MB.ipynb", "one-100MB-write.ipynb", "prints-in-graded.ipynb"}
    assert {name: r["points"] for name, r in rows.items()} == {
        "v3.ipynb": 6, "prints-400MB.ipynb": 6, "one-100MB-write.ipynb": 6, "prints-in-graded.ipynb": 6}, rows
    # a flood costs the notebook no more than printing it: a 100 MB write is cut in the kernel
    for name in ("prints-400MB.ipynb", "v3.ipynb", "one-100MB-write.ipynb", "prints-in-graded.ipynb"):
        assert rows[name]["notebook_run"]["ok"], rows[name]
        assert rows[name]["seconds"] < 300, rows[name]
    executed = (tmp_path / "executed" / "001-prints-400MB.ipynb").read_text()
    # 400 MB printed in one cell: the kernel passed on its first 512 k characters (kitfiles.OUTPUT_CAP)
    assert 2**19 <= executed.count("x") < 2**20 and len(executed) < 2 * 2**20
    # 600 MB printed in all, 500 MB of it in lines the grader accepts: kept whole, they alone would add
    # 500 MB; it keeps a few MB and holds only the messages it is reading
    assert peak - before_kernels < 350 * 2**20, (before_kernels, peak)


# --- the kit: what a scoring kernel gets instead of the package ------------------------------------------
def test_kit_modules_import_no_package_code(tmp_path):
    """The modules copied into a kernel import only the standard library, NumPy, TensorFlow, Keras and
    each other; the generated course_side defines no graded function; the kit holds no solution."""
    import ast

    from nst_utils.grading.kitfiles import KIT_MODULES, KIT_PACKAGE, KIT_SOURCE, write_kit

    siblings = {Path(name).stem for name in KIT_MODULES} | {"course_side"}
    outside = {"numpy", "tensorflow", "keras"} | set(sys.stdlib_module_names)
    for name in KIT_MODULES:
        for node in ast.walk(ast.parse((KIT_SOURCE / name).read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    assert node.level == 1 and node.module in siblings | {None}, (name, node.module)
                else:
                    assert node.module.split(".")[0] in outside, (name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in outside, (name, alias.name)
    kit = write_kit(tmp_path / "kit")
    course_side = (kit / KIT_PACKAGE / "course_side.py").read_text()
    defined = {n.name for n in ast.walk(ast.parse(course_side)) if isinstance(n, ast.FunctionDef)}
    assert defined == {"check_shapes", "check_activations", "check_style_layers", "reference", "add_helpers"}
    text = "".join(p.read_text() for p in kit.rglob("*.py"))
    for solution_line in ("tf.reduce_sum(tf.square(a_C - a_G))", "4.0 * n_C**2", "make_train_step",
                          "import nst_utils", "from nst_utils", "from ..."):
        assert solution_line not in text, solution_line
