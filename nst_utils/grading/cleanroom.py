"""The two runs the grader makes of a learner's notebook, each in its own sandboxed kernel.

- ``clean_room`` decides the scores. It starts a fresh kernel with the *reference's* set-up cells
  (tagged ``grader:setup``), and for each exercise runs: the learner's graded defs (only the defs,
  checked by submission.graded_source), the reference's test cell, and the hidden cases
  (hidden.run_hidden). train_step runs on a small stand-in network made by the grader, so no VGG19
  weights are needed. Nothing else of the learner's notebook runs there. A kernel that dies or is
  killed is replaced by a fresh one for the next exercise.
- ``run_check`` runs the learner's notebook as it is (the long cells tagged ``grader:skip``
  excepted, unless asked) until its first error, only to report whether it runs; it decides no
  score.
"""
import time
from dataclasses import dataclass, field

import nbformat

from . import hidden
from .kernel import DEAD, MEMORY, OK, STOPPED, TIMEOUT, SandboxKernel
from .submission import SKIP_TAG, TEST_TAG, GRADED_TAG, tagged

SETUP_TAG = "grader:setup"
TRAIN_STEP_SETUP = """\
from nst_utils.grading.standin import train_step_globals
globals().update(train_step_globals(seed=0))
"""

PASSED, FAILED, NOT_GRADED = "passed", "failed", "not graded"
_STOPS = {TIMEOUT: "timed out", DEAD: "the kernel died", MEMORY: "went over the memory limit",
          STOPPED: "grading was stopped"}


@dataclass
class Exercise:
    number: int
    function: str
    test_cell: dict
    graded_id: str = None


@dataclass
class Reference:
    """What the grader takes from the reference notebook: set-up sources, exercises, skipped ids."""

    setup: list
    exercises: list
    skip_ids: set


def load_reference(path):
    nb = nbformat.read(str(path), as_version=4)
    graded_ids = {tagged(c, GRADED_TAG): c.get("id") for c in nb.cells if tagged(c, GRADED_TAG)}
    tests = [c for c in nb.cells if tagged(c, TEST_TAG)]
    if not tests:
        raise ValueError(f"{path} has no test cells (cells tagged '{TEST_TAG}<function>').")
    exercises = [Exercise(k, tagged(c, TEST_TAG), c, graded_ids.get(tagged(c, TEST_TAG)))
                 for k, c in enumerate(tests, 1)]
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = [c.source for c in code if SETUP_TAG in c.get("metadata", {}).get("tags", [])]
    skip_ids = {c.get("id") for c in code if SKIP_TAG in c.get("metadata", {}).get("tags", [])}
    return Reference(setup or [code[0].source], exercises, skip_ids)


@dataclass
class ExerciseResult:
    number: int
    function: str
    status: str = FAILED
    why: str = ""
    seconds: float = 0.0

    @property
    def points(self):
        return int(self.status == PASSED)


def stdout_lines(outputs):
    """The lines printed by a cell (stdout and text/plain results), without blank lines."""
    text = []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            text.append(out.get("data", {}).get("text/plain", "") + "\n")
    return [line.rstrip() for line in "".join(text).splitlines() if line.strip()]


def first_missing(expected, actual):
    """The first expected line not found in actual, in order (extra lines are allowed); or None."""
    it = iter(actual)
    for line in expected:
        if not any(line == got for got in it):
            return line
    return None


def short(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def clean_room(sources, reference, wanted, seeds, ctx, deadline):
    """[ExerciseResult] of the learner's graded sources. wanted -- {function: expected hidden
    results}; seeds -- {function: seed}; ctx -- the grading context (kernels, limits, stop)."""
    results, kernel = [], None
    try:
        for ex in reference.exercises:
            result = ExerciseResult(ex.number, ex.function)
            results.append(result)
            source = sources[ex.function]
            if ctx.stop.is_set():
                result.status, result.why = NOT_GRADED, _STOPS[STOPPED]
                continue
            if source.problem:
                result.why = source.problem
                continue
            if kernel is None or not kernel.alive:
                if kernel is not None:
                    await kernel.stop()
                kernel, why = await _setup_kernel(reference, ctx, deadline)
                if why:
                    result.status, result.why = NOT_GRADED, why
                    continue
            await _grade_exercise(kernel, ex, source.source, wanted, seeds[ex.function], ctx, deadline,
                                  result)
    finally:
        if kernel is not None:
            await kernel.stop()
    return results


async def _setup_kernel(reference, ctx, deadline):
    try:
        kernel = await ctx.start_kernel()
    except RuntimeError as err:
        return None, f"the grader could not start a kernel: {err}"
    for code in reference.setup:
        run = await kernel.run(code, ctx.cell_timeout, deadline, ctx.stop)
        if run.status == STOPPED:
            return kernel, _STOPS[STOPPED]
        if run.status != OK:
            reason = _STOPS.get(run.status) or short(f"{run.error[0]}: {run.error[1]}", 200)
            return kernel, f"the grader's set-up cell failed ({reason})"
    return kernel, ""


async def _grade_exercise(kernel, ex, source, wanted, seed, ctx, deadline, result):
    start = time.monotonic()
    cells = ([TRAIN_STEP_SETUP] if ex.function == "train_step" else []) + [
        source, ex.test_cell.source,
        f"from nst_utils.grading.hidden import run_hidden\n"
        f"run_hidden({ex.function!r}, {ex.function}, globals(), {seed})"]
    runs = []
    for code in cells:
        runs.append(await kernel.run(code, ctx.cell_timeout, deadline, ctx.stop))
        if runs[-1].status != OK:
            break
    result.seconds = time.monotonic() - start
    result.why = _judge(ex, runs, wanted[ex.function])
    result.status = PASSED if not result.why else FAILED
    if runs[-1].status == STOPPED:
        result.status, result.why = NOT_GRADED, "grading was stopped"


def _judge(ex, runs, want):
    """'' if the exercise passed, else why not (the public test's message first: it names the mistake)."""
    if ex.function == "train_step":
        setup, *runs = runs
        if setup.status != OK:
            return f"the grader's train_step set-up failed: {_reason(setup)}"
    define, test, hidden_run = (runs + [None, None, None])[:3]
    if define is None:
        return "grading was stopped"
    if define.status != OK:
        return f"defining {ex.function} raised {_reason(define)}"
    if test is None or test.status != OK:
        return _reason(test) if test else "its test did not run"
    missing = first_missing(stdout_lines(ex.test_cell.outputs), stdout_lines(test.outputs))
    if missing is not None:
        return f"output differs: expected the line {missing!r}"
    if hidden_run is None or hidden_run.status != OK:
        return f"hidden cases: {_reason(hidden_run)}" if hidden_run else "the hidden cases did not run"
    reported = [o.get("data", {}).get(hidden.HIDDEN_MIME) for o in hidden_run.outputs
                if o.get("output_type") == "display_data"]
    reported = [r for r in reported if isinstance(r, dict) and r.get("function") == ex.function]
    if not reported:
        return "hidden cases: no results"
    return hidden.compare(ex.function, reported[-1].get("results"), want)


def _reason(run):
    if run.status in _STOPS:
        extra = f" after {run.seconds:.0f} s" if run.status == TIMEOUT else ""
        return _STOPS[run.status] + extra
    ename, evalue = run.error or ("Error", "")
    # The public tests' AssertionErrors say what is wrong; other errors are named.
    return short(evalue) if ename == "AssertionError" else short(f"{ename}: {evalue}")


@dataclass
class RunCheck:
    """Whether the learner's notebook runs: ok, or the first cell that did not, and why."""

    ok: bool = True
    message: str = "runs"
    seconds: float = 0.0
    executed: object = field(default=None, repr=False)


async def run_check(nb, reference, ctx, deadline):
    start = time.monotonic()
    check = RunCheck(executed=nb)
    try:
        kernel = await ctx.start_kernel()
    except RuntimeError as err:
        return RunCheck(False, f"not run: {err}")
    try:
        for number, cell in enumerate(nb.cells, 1):
            if cell.get("cell_type") != "code":
                continue
            if not ctx.run_all and (SKIP_TAG in cell.get("metadata", {}).get("tags", [])
                                    or cell.get("id") in reference.skip_ids):
                continue
            run = await kernel.run(cell.source, ctx.cell_timeout, deadline, ctx.stop)
            cell.outputs = run.outputs
            if run.status != OK:  # as nbval and nbclient do: a notebook runs until its first error
                check.ok, check.message = False, f"stopped at cell {number} ({cell.get('id', '?')}): {_reason(run)}"
                break
    finally:
        await kernel.stop()
    check.seconds = time.monotonic() - start
    return check
