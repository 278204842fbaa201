"""nbval settings for the notebooks in this folder (collected by `pytest`, see pyproject.toml).

- notebooks/exercises/ holds the learner's version, whose exercises are unsolved: not run by nbval
  (tests/test_notebooks.py and tests/test_grader.py check it instead).
- The notebooks' optimisation loops run 200 iterations; nbval only needs them to run, so their
  kernels start with NST_MAX_ITERATIONS=2 (unless it is already set). The variable is set only while a
  notebook's kernel starts, so the rest of the test session is not capped.
"""
import os

import pytest

collect_ignore = ["exercises"]

NBVAL_MAX_ITERATIONS = "2"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    # nbval starts a notebook's kernel in the setup of its first cell; the kernel copies os.environ.
    if not str(item.path).endswith(".ipynb") or os.environ.get("NST_MAX_ITERATIONS"):
        yield
        return
    os.environ["NST_MAX_ITERATIONS"] = NBVAL_MAX_ITERATIONS
    try:
        yield
    finally:
        del os.environ["NST_MAX_ITERATIONS"]
