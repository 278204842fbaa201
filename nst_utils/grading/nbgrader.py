"""The assignment as an nbgrader course, generated from the solution notebook
(``python scripts/make_exercises.py --nbgrader COURSE_DIR [--course-id ID] [--exchange DIR]``).

It writes ``COURSE_DIR/nbgrader_config.py`` and ``COURSE_DIR/source/nst/`` (the notebook and its
``images/``); then ``nbgrader generate_assignment nst`` and ``nbgrader autograde nst`` in COURSE_DIR.
- each graded cell becomes an nbgrader solution cell: each START/END CODE HERE region keeps its
  "(≈N lines)" hints and wraps the solution in BEGIN/END SOLUTION, which generate_assignment blanks;
- each test cell becomes an autograder cell worth POINTS: the public test (train_step's on the
  stand-in network, nbgrader_checks.standin_globals), then between BEGIN/END HIDDEN TESTS
  nbgrader_checks.grade_hidden (hidden cases on a seed drawn at autograde time);
- every other cell is locked; the set-up cell reads the example images from the assignment's images/;
- nbgrader_config.py caps the optimisation loops (NST_MAX_ITERATIONS) in the kernels autograde starts.
"""
import shutil
from pathlib import Path

import nbformat

from ..colab import exercise_badge
from ..config import CONFIG, MAX_ITERATIONS_ENV
from ..resources import images_folder
from ..resources import ASSIGNMENT as NOTEBOOK
from .markers import blank_region, replace_regions
from .submission import GRADED_TAG, TEST_TAG, tagged

ASSIGNMENT = "nst"
COURSE_ID = "nst-course"
POINTS = 1
SCHEMA_VERSION = 3
SETUP_TAG = "grader:setup"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
#: Iterations of each optimisation loop when autograding (the loops only need to run).
AUTOGRADE_ITERATIONS = 2
#: Seconds per cell when autograding (a capped loop with VGG19 on a CPU takes well under this).
CELL_TIMEOUT = 300


def solution_source(source):
    """A graded cell's source with each START/END CODE HERE region marked for nbgrader: the hints
    the exercise notebook shows, then the solution between BEGIN/END SOLUTION."""
    def mark(region, indent):
        hints = [h for h in blank_region(region, indent) if h.strip().startswith("#")]
        return hints + [indent + BEGIN_SOLUTION, *region, indent + END_SOLUTION]

    return replace_regions(source, mark)


def test_source(name, source):
    """The autograder cell of exercise ``name``: the course's public test (train_step's on the
    stand-in network), then the hidden part."""
    if name == "train_step":
        lines = source.split("\n")
        head = [ln for ln in lines if ln.startswith("#")]
        body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
        source = "\n".join(head + [
            "# Tested on a small stand-in network, so no VGG19 weights are needed: model, a_C, a_S,",
            "# generated_image, optimizer, ... are the stand-in's during the test, yours again after it.",
            "from nst_utils.grading.nbgrader_checks import standin_globals",
            "with standin_globals(globals()):"] + ["    " + ln for ln in body])
    return "\n".join([
        source.rstrip(),
        BEGIN_HIDDEN,
        "# Your own def, on hidden cases (other shapes, seeds, weights) drawn now",
        "from nst_utils.grading.nbgrader_checks import grade_hidden",
        f"grade_hidden({name!r}, {name}, globals())",
        END_HIDDEN])


def setup_source(source):
    """The set-up cell, reading the example images from the assignment's images/ folder."""
    content, style = Path(CONFIG.CONTENT_IMAGE).name, Path(CONFIG.STYLE_IMAGE).name
    return source.rstrip() + (
        "\n# The example images are in this assignment's images/ folder, next to this notebook\n"
        f'CONFIG.CONTENT_IMAGE, CONFIG.STYLE_IMAGE = "images/{content}", "images/{style}"')


def _nbgrader_metadata(cell_id, solution=False, grade=False, locked=False, points=None):
    return {"grade": grade, "grade_id": cell_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, **({"points": points} if grade else {})}


def make_nbgrader_notebook(solution_nb):
    """The nbgrader source notebook (a new NotebookNode) for the solution notebook."""
    nb = nbformat.reads(nbformat.writes(solution_nb), as_version=4)  # deep copy
    for cell in nb.cells:
        cell_id = cell.get("id")
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and tagged(cell, GRADED_TAG):
            cell.source = solution_source(cell.source)
            cell.metadata["nbgrader"] = _nbgrader_metadata(cell_id, solution=True)
        elif cell.cell_type == "code" and tagged(cell, TEST_TAG):
            cell.source = test_source(tagged(cell, TEST_TAG), cell.source)
            cell.metadata["nbgrader"] = _nbgrader_metadata(cell_id, grade=True, locked=True,
                                                           points=POINTS)
        else:
            if SETUP_TAG in tags:
                cell.source = setup_source(cell.source)
            cell.metadata["nbgrader"] = _nbgrader_metadata(cell_id, locked=True)
    return exercise_badge(nb, NOTEBOOK)  # the students' Open in Colab badge opens the exercise


def config_source(course_id=COURSE_ID, exchange=None):
    """The text of nbgrader_config.py."""
    exchange_line = (f"c.Exchange.root = {str(exchange)!r}" if exchange else
                     '# c.Exchange.root = "/srv/nbgrader/exchange"  # where your hub shares assignments')
    return f'''"""nbgrader configuration of the Neural Style Transfer assignment.

Generated by nst_utils/grading/nbgrader.py (python scripts/make_exercises.py --nbgrader DIR). Run
nbgrader from this folder: nbgrader generate_assignment {ASSIGNMENT}; nbgrader autograde {ASSIGNMENT}.
"""
import os

c = get_config()  # noqa: F821 -- nbgrader provides get_config when it reads this file

c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
{exchange_line}

# The released notebook keeps the expected outputs under the test cells, as the course's does.
c.ClearOutput.enabled = False

# autograde runs the whole notebook: the kernels it starts inherit this process's environment, so
# the 200-iteration optimisation cells run {AUTOGRADE_ITERATIONS} iterations (nst_utils.config.capped_iterations).
os.environ.setdefault({MAX_ITERATIONS_ENV!r}, "{AUTOGRADE_ITERATIONS}")
c.Execute.timeout = {CELL_TIMEOUT}
# Without VGG19 weights the network cells fail; nbgrader goes on after errors (Execute.allow_errors)
# and the test cells do not depend on them (train_step is tested on a stand-in network).
'''


def write_course(course_dir, solution_path, course_id=COURSE_ID, exchange=None):
    """Write nbgrader_config.py and source/nst/ (notebook and images) into course_dir; returns the
    notebook's path."""
    course_dir = Path(course_dir)
    folder = course_dir / "source" / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    (course_dir / "nbgrader_config.py").write_text(config_source(course_id, exchange), encoding="utf-8")
    nb = make_nbgrader_notebook(nbformat.read(str(solution_path), as_version=4))
    path = folder / Path(solution_path).name
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    images = folder / "images"
    images.mkdir(exist_ok=True)
    for src in sorted(images_folder().iterdir()):
        if src.suffix in (".png", ".jpg", ".md"):  # the pictures and their sources and licences
            shutil.copy2(src, images / src.name)
    return path
