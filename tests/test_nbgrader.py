"""The nbgrader version of the assignment, graded by the real nbgrader (pinned in
requirements-test.txt): the course is built in a temporary folder, released with ``nbgrader
generate_assignment``, four submissions are autograded with ``nbgrader autograde`` one by one, and
the points come from nbgrader's gradebook database.

The kernels run offline on purpose: NST_VGG19_WEIGHTS names a missing file, so the notebook's VGG19
cells fail as they do on a hub without the weights, and the grades must not depend on them.
"""
import linecache
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nst_utils.grading.exercises import SOLUTION
from nst_utils.resources import GRADED_FUNCTIONS
from nst_utils.grading.nbgrader import ASSIGNMENT, BEGIN_HIDDEN, BEGIN_SOLUTION, write_course
from planted import bare_reshape, graded_cell

ROOT = Path(__file__).resolve().parent.parent
NAME = SOLUTION.name
EXERCISES = list(GRADED_FUNCTIONS)
GRADE_IDS = {name: "test-" + name.replace("_", "-") for name in EXERCISES}


def _run_nbgrader(course, env, *args):
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


def _env(tmp_path):
    env = dict(os.environ)
    # nbgrader runs alembic (database migrations) as a command: from this interpreter's environment
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NST_VGG19_WEIGHTS"] = str(tmp_path / "no-weights" / "vgg19.h5")  # offline, deterministically
    env.pop("NST_MAX_ITERATIONS", None)  # the course's nbgrader_config.py caps the loops
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _submit(course, student, folder, edit=None):
    """Copy an assignment folder into submitted/<student>/nst/, editing its notebook with edit(nb)."""
    dest = course / "submitted" / student / ASSIGNMENT
    shutil.copytree(folder, dest)
    if edit:
        nb = nbformat.read(str(dest / NAME), as_version=4)
        edit(nb)
        nbformat.write(nb, str(dest / NAME))


def copies_reference(nb):
    """gram_matrix taken from the package: passes the public test, must fail the hidden part."""
    graded_cell(nb, "gram_matrix").source = "from nst_utils.costs import gram_matrix"


@pytest.mark.slow
def test_nbgrader_autogrades_the_assignment(tmp_path):
    course = tmp_path / "course"
    write_course(course, SOLUTION, course_id="nst-test", exchange=tmp_path / "exchange")
    env = _env(tmp_path)
    _run_nbgrader(course, env, "generate_assignment", ASSIGNMENT)

    release = course / "release" / ASSIGNMENT
    released = nbformat.read(str(release / NAME), as_version=4)
    text = "\n".join(c.source for c in released.cells)
    assert BEGIN_SOLUTION not in text and BEGIN_HIDDEN not in text and "grade_hidden" not in text
    regions = sum(c.source.count("### START CODE HERE ###") for c in released.cells
                  if c.metadata["nbgrader"]["solution"])
    assert regions >= len(EXERCISES) and text.count("raise NotImplementedError()") == regions
    assert (release / "images" / "chelsea.png").is_file()
    locked = [c for c in released.cells if c.metadata["nbgrader"]["locked"]]
    assert len(locked) == len(released.cells) - len(EXERCISES)

    submissions = {  # student: (folder, edit, expected points per exercise)
        "solution": (course / "source" / ASSIGNMENT, None, {}),
        "blank": (release, None, {name: 0 for name in EXERCISES}),
        "bare-reshape": (course / "source" / ASSIGNMENT, bare_reshape, {"compute_layer_style_cost": 0}),
        "copies-reference": (course / "source" / ASSIGNMENT, copies_reference, {"gram_matrix": 0}),
    }
    seconds = {}
    for student, (folder, edit, _) in submissions.items():
        _submit(course, student, folder, edit)
        start = time.monotonic()
        _run_nbgrader(course, env, "autograde", ASSIGNMENT, "--student", student)
        seconds[student] = time.monotonic() - start

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, (_, _, wrong) in submissions.items():
            submission = gradebook.find_submission(ASSIGNMENT, student)
            points = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
            print(f"{student}: {submission.score:g}/{submission.max_score:g} points, "
                  f"autograde {seconds[student]:.1f} s")
            assert submission.max_score == len(EXERCISES)
            assert points == {GRADE_IDS[name]: float(wrong.get(name, 1)) for name in EXERCISES}, student


def _define_in_notebook(code, filename):
    """Run code as IPython runs a cell: module __main__, source in linecache under its file name."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    namespace = {"__name__": "__main__"}
    exec(compile(code, filename, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("code, problem", [
    ("def gram_matrix(A):\n    return tf.matmul(A, tf.transpose(A))", ""),
    ("def gram_matrix(A):\n    import nst_utils.costs\n    return nst_utils.costs.gram_matrix(A)", "imports"),
    ("from nst_utils.costs import gram_matrix", "nst_utils.costs.gram_matrix"),
    ("from nst_utils import costs\n\ndef gram_matrix(A):\n    return costs.gram_matrix(A)", "'costs'"),
    ("gram_matrix = lambda A: A", "does not define it with 'def gram_matrix(...)'"),
    ("gram_matrix = len", "not a function written with"),
])
def test_own_function_check(code, problem):
    from nst_utils.grading.nbgrader_checks import own_function_problem

    namespace = _define_in_notebook("import tensorflow as tf\n" + code, f"<cell {abs(hash(code))}>")
    found = own_function_problem("gram_matrix", namespace["gram_matrix"])
    assert (problem in found and found) if problem else found == "", found
