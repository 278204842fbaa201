"""``python -m nst_utils.grade NOTEBOOK...``: the grader, nst_utils.grading.grader."""
import sys

try:
    from .grading.grader import main
except ModuleNotFoundError as err:  # the grader's packages are the extra "grade" (docs/install.md)
    if __name__ != "__main__":
        raise
    print(f"error: the grader needs {err.name}: pip install 'nst-utils[grade]'", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main())
