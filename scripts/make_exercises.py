"""Make the learner's exercise notebook from the solution notebook (nst_utils/grading/exercises.py).

    python scripts/make_exercises.py            # write notebooks/exercises/<name>.ipynb
    python scripts/make_exercises.py --check    # exit 1 if the committed exercise notebook is stale
    python scripts/make_exercises.py --execute  # first re-run the solution notebook and store its outputs
    python scripts/make_exercises.py --nbgrader COURSE_DIR  # write an nbgrader course (see docs/instructors.md)

On top of the package's exercise (graded cells blanked), as in the course's own exercise notebooks:
after each test cell comes a markdown block headed **Expected output** holding what the solution's
test cell printed (its stored, nbval-checked output: one truth), and the test cells and the cells that
run the learner's code or whose output depends on the machine (ships_without_output) store no output.
"""
import sys

import nbformat

from nst_utils.grading import exercises
from nst_utils.grading.exercises import blank_cell_source, render  # noqa: F401 (used by tests)
from nst_utils.grading.markers import graded_name

GRADED_TAG, TEST_TAG, SKIP_TAG = "graded:", "test:", "grader:skip"
EXPECTED_ID = "expected-{}"
EXPECTED_HEADING = "**Expected output**"
_blank_graded_cells = exercises.make_exercise  # the package's step, before main() swaps in this module's


def _tagged(cell, prefix):
    return next((t[len(prefix):] for t in cell.metadata.get("tags", []) if t.startswith(prefix)), None)


def printed(cell):
    """What a code cell printed (stdout and text results), as stored."""
    text = [o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "") + "\n"
            for o in cell.outputs
            if (o.output_type == "stream" and o.get("name") == "stdout") or "text/plain" in o.get("data", {})]
    return "".join(text).strip("\n")


def expected_block(name, text):
    """The markdown cell shown under the test cell of exercise `name`."""
    cell = nbformat.v4.new_markdown_cell(f"{EXPECTED_HEADING}\n\n```text\n{text}\n```")
    cell["id"] = EXPECTED_ID.format(name.replace("_", "-"))
    return cell


def ships_without_output(cell, graded):
    """A code cell whose output depends on the learner's functions (a test cell, a cell calling a graded
    function, a long run tagged grader:skip) or on the machine and the network (tagged for nbval)."""
    tags = cell.metadata.get("tags", [])
    return (_tagged(cell, TEST_TAG) is not None or SKIP_TAG in tags or "nbval-ignore-output" in tags
            or (not graded_name(cell) and any(f"{name}(" in cell.source for name in graded)))


def make_exercise(solution_nb):
    """The exercise notebook (a new NotebookNode) for a solution notebook."""
    nb = _blank_graded_cells(solution_nb)
    graded = [graded_name(c) for c in nb.cells if c.cell_type == "code" and graded_name(c)]
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        name = _tagged(cell, TEST_TAG)
        if name is not None:
            text = printed(cell)
            if not text:
                raise ValueError(f"the solution's test cell of {name} stores no output: run "
                                 "python scripts/make_exercises.py --execute")
            cells.append(expected_block(name, text))
        if ships_without_output(cell, graded) or not cell.outputs:
            cell.outputs, cell.execution_count = [], None
    nb.cells = cells
    nb.metadata.pop("widgets", None)  # the state of the progress bars, whose outputs are gone
    return nb


def main(argv=None):
    """As nst_utils.grading.exercises.main, with this module's make_exercise."""
    exercises.make_exercise = make_exercise
    try:
        return exercises.main(argv)
    finally:
        exercises.make_exercise = _blank_graded_cells


if __name__ == "__main__":
    sys.exit(main())
