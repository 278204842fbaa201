"""Make the learner's exercise notebook from the solution notebook (``scripts/make_exercises.py``).

``--nbgrader COURSE_DIR`` writes an nbgrader course instead (nbgrader.py). Graded cells (tagged
``graded:<function>``) get ``None`` placeholders with "(≈N lines)" hints (markers.py). An **Expected
output** markdown block follows each test cell, holding what the solution's test cell printed (its
stored, nbval-checked output: one truth); cells whose output depends on the learner's code or the
machine (ships_without_output) store none. Everything else is copied unchanged, so the output
depends only on the solution notebook (same bytes on every run).

``--execute`` first re-runs the solution notebook (200 iterations: minutes on a CPU) and stores its
outputs; those of cells tagged ``nbval-ignore-output`` depend on the network this machine picks.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import nbformat

from ..colab import exercise_badge
from ..resources import ASSIGNMENT, course_files
from .markers import blank_cell_source
from .submission import GRADED_TAG, SKIP_TAG, TEST_TAG, tagged

# In a clone, course_files/notebooks is the symlink to the repository's notebooks/ (nst_utils.resources).
SOLUTION = Path(course_files() / "notebooks" / ASSIGNMENT)
EXERCISE = Path(course_files() / "notebooks" / "exercises" / ASSIGNMENT)
IGNORE_TAG = "nbval-ignore-output"
EXPECTED_HEADING, FENCE = "**Expected output**", "```"


def printed(cell):
    """What a code cell printed (stdout and text results), as stored."""
    text = [o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "") + "\n"
            for o in cell.outputs
            if (o.output_type == "stream" and o.get("name") == "stdout") or "text/plain" in o.get("data", {})]
    return "".join(text).strip("\n")


def expected_block(name, text):
    """The markdown cell shown under the test cell of exercise `name`."""
    return nbformat.v4.new_markdown_cell(f"{EXPECTED_HEADING}\n\n{FENCE}text\n{text}\n{FENCE}",
                                         id=f"expected-{name.replace('_', '-')}")


def expected_text(cell):
    """The text of an Expected output block (expected_block's cell), or None for any other cell."""
    source = cell.get("source", "") if cell.get("cell_type") == "markdown" else ""
    if not source.startswith(EXPECTED_HEADING) or f"{FENCE}text\n" not in source:
        return None
    return source.split(f"{FENCE}text\n", 1)[1].rsplit(FENCE, 1)[0]


def ships_without_output(cell, graded):
    """A code cell whose output depends on the learner's functions (a test cell, a cell calling a graded
    function, a long run tagged grader:skip) or on the machine and the network (tagged for nbval)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return (tagged(cell, TEST_TAG) is not None or SKIP_TAG in tags or IGNORE_TAG in tags
            or (not tagged(cell, GRADED_TAG) and any(f"{name}(" in cell.source for name in graded)))


def make_exercise(solution_nb):
    """The exercise notebook (a new NotebookNode) for a solution notebook."""
    nb = nbformat.reads(nbformat.writes(solution_nb), as_version=4)  # deep copy
    graded = [tagged(c, GRADED_TAG) for c in nb.cells if c.cell_type == "code" and tagged(c, GRADED_TAG)]
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        if tagged(cell, GRADED_TAG):
            cell.source = blank_cell_source(cell.source)
        name = tagged(cell, TEST_TAG)
        if name is not None:
            if not printed(cell):
                raise ValueError(f"the solution's test cell of {name} stores no output: run "
                                 "python scripts/make_exercises.py --execute")
            cells.append(expected_block(name, printed(cell)))
        if tagged(cell, GRADED_TAG) or ships_without_output(cell, graded) or not cell.outputs:
            cell.outputs, cell.execution_count = [], None
    nb.cells = cells
    nb.metadata.pop("widgets", None)  # the state of the progress bars, whose outputs are gone
    return exercise_badge(nb, ASSIGNMENT)  # its Open in Colab badge opens the exercise, not the solution


def render(nb):
    return nbformat.writes(nb) + "\n"


def execute_solution(path=SOLUTION):
    """Re-run the solution notebook and store all its outputs."""
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    with tempfile.TemporaryDirectory() as cwd:  # images written by the notebook go there
        # "python3" is ipykernel's kernel of this very interpreter, whatever kernelspecs are installed
        NotebookClient(nb, kernel_name="python3", timeout=3600, record_timing=False,
                       resources={"metadata": {"path": cwd}}).execute()
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), 1):
        cell.execution_count = count
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = count
        cell.metadata.pop("execution", None)
    path.write_text(render(nb), encoding="utf-8")
    print("executed", path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the exercise notebook is not up to date")
    parser.add_argument("--execute", action="store_true",
                        help="re-run the solution notebook and store its outputs first")
    parser.add_argument("--solution", type=Path, default=SOLUTION)
    parser.add_argument("--output", type=Path, default=EXERCISE)
    parser.add_argument("--nbgrader", type=Path, metavar="COURSE_DIR",
                        help="write an nbgrader course (nbgrader_config.py, source/nst/) into COURSE_DIR "
                             "instead of the exercise notebook")
    parser.add_argument("--course-id", default=None, help="with --nbgrader: the course id")
    parser.add_argument("--exchange", type=Path, default=None,
                        help="with --nbgrader: the exchange folder (default: nbgrader's)")
    args = parser.parse_args(argv)
    if args.execute:
        execute_solution(args.solution)
    if args.nbgrader:
        from .nbgrader import COURSE_ID, write_course

        path = write_course(args.nbgrader, args.solution, args.course_id or COURSE_ID, args.exchange)
        print("wrote", path, "and", args.nbgrader / "nbgrader_config.py")
        return 0
    text = render(make_exercise(nbformat.read(str(args.solution), as_version=4)))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
        if current != text:
            print(f"{args.output} is stale: run python scripts/make_exercises.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print("wrote", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
