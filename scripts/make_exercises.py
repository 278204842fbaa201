"""Make the learner's exercise notebook from the solution notebook (nst_utils/grading/exercises.py).

    python scripts/make_exercises.py            # write notebooks/exercises/<name>.ipynb
    python scripts/make_exercises.py --check    # exit 1 if the committed exercise notebook is stale
    python scripts/make_exercises.py --execute  # first re-run the solution notebook and store its outputs
    python scripts/make_exercises.py --nbgrader COURSE_DIR  # write an nbgrader course (see docs/instructors.md)
"""
import sys

from nst_utils.grading.exercises import blank_cell_source, main, make_exercise, render  # noqa: F401 (tests)

if __name__ == "__main__":
    sys.exit(main())
