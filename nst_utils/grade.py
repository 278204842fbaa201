"""``python -m nst_utils.grade NOTEBOOK...``: the grader, nst_utils.grading.grader."""
import sys

from .grading.grader import main

if __name__ == "__main__":
    sys.exit(main())
