"""The two runs the grader makes of a learner's notebook, each in its own sandboxed kernel.

- ``clean_room`` decides the scores. It starts a fresh kernel that cannot reach the package (no
  reference solution importable or readable there: sandbox.py, kitfiles.py), sets it up with the
  grader's own cell (NumPy, TensorFlow, Keras, the notebook's input checks and layer lists, the
  public tests, all from the kit), and for each exercise runs: the reference of the earlier
  exercises it may call (only those), the learner's graded defs (only the defs, checked by
  submission.graded_source), the reference's test cell, and the hidden cases, whose inputs the
  grader writes as arrays just before, and whose results the kernel writes back as data and the
  grader judges against its own expected values (hidden.py). train_step runs on a small stand-in
  network built from arrays the grader sends, so no VGG19 weights are needed. Nothing else of the
  learner's notebook runs there, and each exercise has a kernel of its own.
- ``run_check`` runs the learner's notebook as it is (the long cells tagged ``grader:skip``
  excepted, unless asked) until its first error, only to report whether it runs; it decides no
  score, and its kernel may import the package (the notebook needs it).
"""
import os
import time
from dataclasses import dataclass, field

import nbformat

from . import hidden
from .kit import codec
from .kit.serve import REFERENCE_HELPERS
from .kernel import DEAD, MEMORY, OK, STOPPED, TIMEOUT, SandboxKernel
from .submission import SKIP_TAG, TEST_TAG, GRADED_TAG, tagged

#: The clean room's set-up: what the notebook's set-up cell gives the graded functions and test cells.
CLEAN_ROOM_SETUP = """\
import math
import numpy as np
import tensorflow as tf
import keras
from nst_kit.course_side import CONFIG, CONTENT_LAYER, STYLE_LAYERS, check_activations, check_style_layers
from nst_kit.public_tests import (compute_content_cost_test, compute_layer_style_cost_test,
                                  compute_style_cost_test, gram_matrix_test, total_cost_test,
                                  train_step_test)
"""
HELPERS_CELL = "import nst_kit.course_side\nnst_kit.course_side.add_helpers({source!r}, {names!r})"
TRAIN_STEP_SETUP = "import nst_kit.serve\nglobals().update(nst_kit.serve.train_step_globals({path!r}))"
HIDDEN_CELL = ("import nst_kit.serve\n"
               "nst_kit.serve.run_cases({name!r}, {name}, globals(), {cases!r}, {results!r})")

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
    """What the grader takes from the reference notebook: the exercises (their test cells and
    expected outputs) and the ids of the long cells the notebook run skips."""

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
    skip_ids = {c.get("id") for c in code if SKIP_TAG in c.get("metadata", {}).get("tags", [])}
    return Reference(exercises, skip_ids)


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
            # A fresh kernel for each exercise: nothing an exercise's cells leave behind (a hook, a
            # stashed input, a patched module) reaches the next one, or the next one's messages.
            if kernel is not None:
                await kernel.stop()
            kernel, why = await _setup_kernel(ctx, deadline)
            if why:
                result.status, result.why = NOT_GRADED, why
                continue
            await _grade_exercise(kernel, ex, source.source, wanted[ex.function], seeds[ex.function],
                                  ctx, deadline, result)
    finally:
        if kernel is not None:
            await kernel.stop()
    return results


async def _setup_kernel(ctx, deadline):
    try:
        kernel = await ctx.start_kernel()
    except RuntimeError as err:
        return None, f"the grader could not start a kernel: {err}"
    for code in [CLEAN_ROOM_SETUP]:
        run = await kernel.run(code, ctx.cell_timeout, deadline, ctx.stop)
        if run.status == STOPPED:
            return kernel, _STOPS[STOPPED]
        if run.status != OK:
            reason = _STOPS.get(run.status) or short(f"{run.error[0]}: {run.error[1]}", 200)
            return kernel, f"the grader's set-up cell failed ({reason})"
    return kernel, ""


async def _grade_exercise(kernel, ex, source, want, seed, ctx, deadline, result):
    start = time.monotonic()
    name, sandbox = ex.function, kernel.sandbox
    setup_cells = []
    helpers = REFERENCE_HELPERS.get(name, [])
    if helpers:
        from .kitfiles import helpers_source

        setup_cells.append(HELPERS_CELL.format(source=helpers_source(helpers), names=helpers))
    if name == "train_step":
        from .standin import train_step_arrays

        path = sandbox.kit / "train-step-setup.npz"
        codec.write_cases(path, [((), train_step_arrays(seed=0))])
        setup_cells.append(TRAIN_STEP_SETUP.format(path=str(path)))
    setup, runs, got = [], [], None
    for cells, done in ((setup_cells, setup), ([source, ex.test_cell.source], runs)):
        for code in cells:
            done.append(await kernel.run(code, ctx.cell_timeout, deadline, ctx.stop))
            if done[-1].status != OK:
                break
        if done and done[-1].status != OK:
            break
    if len(runs) == 2 and all(r.status == OK for r in setup + runs):
        # The inputs reach the kernel only now, after the learner's cells have run.
        cases_path, results_path = sandbox.kit / f"cases-{name}.npz", sandbox.ipc / f"results-{name}.npz"
        results_path.unlink(missing_ok=True)  # nothing the learner's cells left there counts
        hidden.write_cases(cases_path, name, seed)
        try:
            runs.append(await kernel.run(HIDDEN_CELL.format(name=name, cases=str(cases_path),
                                                            results=str(results_path)),
                                         ctx.cell_timeout, deadline, ctx.stop))
        finally:
            cases_path.unlink(missing_ok=True)
        got = _read_results(results_path)
    result.seconds = time.monotonic() - start
    result.why = _judge(ex, setup, runs, got, want)
    result.status = PASSED if not result.why else FAILED
    if (setup + runs)[-1].status == STOPPED:
        result.status, result.why = NOT_GRADED, "grading was stopped"


def _read_results(path):
    """The learner's results on the hidden cases, read as data (kit/codec.py), or why there are none."""
    try:
        return codec.read_results(path, hidden.NUMBER_OF_CASES)
    except codec.UnusableResults as err:
        return str(err)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def _judge(ex, setup, runs, got, want):
    """'' if the exercise passed, else why not (the public test's message first: it names the mistake)."""
    for run in setup:
        if run.status != OK:
            return f"the grader's set-up for {ex.function} failed: {_reason(run)}"
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
        # Only the status: what the learner's code says about the hidden inputs stays in the kernel.
        return ("the hidden cases did not run" if hidden_run is None
                else f"hidden cases: {_STOPS.get(hidden_run.status, 'the run raised an error')}")
    if isinstance(got, str):
        return f"hidden cases: {got}"
    return hidden.compare(ex.function, got, want)


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
        kernel = await ctx.start_kernel(package=True)
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
