"""The grader's two runs of a learner's notebook, each in its own sandboxed kernel.

``scoring_run`` decides the scores: a kernel that cannot reach the package (sandbox.py, kitfiles.py)
runs, per exercise, the references of earlier exercises it may call, the learner's checked defs
(submission.py), the reference's test cell and the hidden cases (hidden.py). ``run_check`` runs the
notebook as it is until its first error, only to report whether it runs; its kernel may import the
package.
"""
import os
import time
from contextlib import suppress
from dataclasses import dataclass, field

import nbformat

from . import hidden, kitfiles
from .exercises import expected_text, printed
from .kit import codec
from .kitfiles import setup_cells
from .kernel import DEAD, DISK, ERROR, MEMORY, OK, STOPPED, TIMEOUT
from .submission import SKIP_TAG, TEST_TAG, GRADED_TAG, tagged

PASSED, FAILED, NOT_GRADED = "passed", "failed", "not graded"
_STOPS = {TIMEOUT: "timed out", DEAD: "the kernel died", MEMORY: "went over the memory limit",
          DISK: "went over the disk limit", STOPPED: "grading was stopped"}


@dataclass
class Exercise:
    number: int
    function: str
    test_cell: dict
    graded_id: str = None
    expected: list = field(default_factory=list)  # the lines its public test must print


@dataclass
class Reference:
    """The reference notebook's exercises (test cells, expected outputs) and the ids of its long cells."""
    exercises: list
    skip_ids: set


def load_reference(path):
    nb = nbformat.read(str(path), as_version=4)
    graded_ids = {tagged(c, GRADED_TAG): c.get("id") for c in nb.cells if tagged(c, GRADED_TAG)}
    tests = [c for c in nb.cells if tagged(c, TEST_TAG)]
    if not tests:
        raise ValueError(f"{path} has no test cells (cells tagged '{TEST_TAG}<function>').")
    exercises = [Exercise(k, tagged(c, TEST_TAG), c, graded_ids.get(tagged(c, TEST_TAG)),
                          _expected_lines(nb, c)) for k, c in enumerate(tests, 1)]
    code = [c for c in nb.cells if c.cell_type == "code"]
    skip_ids = {c.get("id") for c in code if SKIP_TAG in c.get("metadata", {}).get("tags", [])}
    return Reference(exercises, skip_ids)


def _expected_lines(nb, test_cell):
    """What the test cell stores (a solution), else its Expected output block (an exercise, whose test
    cells ship without output: exercises.make_exercise)."""
    stored = lines(printed(test_cell))
    following = nb.cells[nb.cells.index(test_cell) + 1:][:1]
    block = expected_text(following[0]) if following else None
    return stored or lines(block or "")


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


def lines(text):
    return [line.rstrip() for line in text.splitlines() if line.strip()]


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


async def scoring_run(sources, reference, wanted, seeds, ctx, deadline):
    """[ExerciseResult] of the learner's graded sources. wanted -- {function: expected hidden
    results}; seeds -- {function: seed}; ctx -- the grading context (kernels, limits, stop).

    Two kernels, one after the other: the public tests' (which never sees a hidden input, so their
    messages, quoting the learner's code, can be reported as they are), then the hidden cases' of the
    exercises that passed them (only statuses and results come out). A kernel gets the references
    of earlier exercises only (REFERENCE_HELPERS), never the one under test.
    """
    results = [ExerciseResult(ex.number, ex.function) for ex in reference.exercises]
    for ex, result in zip(reference.exercises, results):
        result.why = sources[ex.function].problem  # none to run: it scores 0
    todo = [(ex, result) for ex, result in zip(reference.exercises, results) if not result.why]
    for phase in (_public_test, _hidden_cases):
        kernel = None
        try:
            for ex, result in todo:
                if result.status != FAILED or result.why:  # decided: a failed public test, or not graded
                    continue
                if ctx.stop.is_set():
                    result.status, result.why = NOT_GRADED, _STOPS[STOPPED]
                    continue
                if kernel is None or not kernel.alive:  # a kernel that died is replaced
                    if kernel is not None:
                        await kernel.stop()
                    kernel, why = await _setup_kernel(ctx, deadline)
                    if why:
                        result.status, result.why = NOT_GRADED, why
                        continue
                start = time.monotonic()
                why, status = await phase(kernel, ex, sources[ex.function].source, wanted[ex.function],
                                          seeds[ex.function], ctx, deadline)
                result.seconds += time.monotonic() - start
                result.why = why
                if status == STOPPED:
                    result.status, result.why = NOT_GRADED, _STOPS[STOPPED]
        finally:
            if kernel is not None:
                await kernel.stop()
    for ex, result in todo:
        if result.status == FAILED and not result.why:
            result.status = PASSED
    return results


async def _setup_kernel(ctx, deadline):
    try:
        kernel = await ctx.start_kernel()
    except RuntimeError as err:
        return None, f"the grader could not start a kernel: {err}"
    run = await kernel.run(kitfiles.output_cap_cell(kernel.cap_chars) + kitfiles.SCORING_SETUP,
                           ctx.cell_timeout, deadline, ctx.stop)
    if run.status == STOPPED:
        return kernel, _STOPS[STOPPED]
    if run.status != OK:
        reason = _STOPS.get(run.status) or short(f"{run.error[0]}: {run.error[1]}", 200)
        return kernel, f"the grader's set-up cell failed ({reason})"
    return kernel, ""


async def _run_cells(kernel, cells, ctx, deadline):
    """The CellRuns of cells, up to the first that is not OK."""
    runs = []
    for code in cells:
        runs.append(await kernel.run(code, ctx.cell_timeout, deadline, ctx.stop))
        if runs[-1].status != OK:
            break
    return runs


async def _public_test(kernel, ex, source, want, seed, ctx, deadline):
    """(why the public test failed or '', the last cell's status): set-up, the learner's defs, the
    reference's test cell, whose printed lines (kit/messages.py: PRINTED, read back as data, never
    from the kernel's output, which the learner's prints share) must contain the expected output."""
    setup = await _run_cells(kernel, setup_cells(kernel.sandbox.kit, ex.function), ctx, deadline)
    if setup and setup[-1].status != OK:
        return f"the grader's set-up for {ex.function} failed: {_reason(setup[-1])}", setup[-1].status
    runs = await _run_cells(kernel, [source, kitfiles.CLEAR_CELL, ex.test_cell.source], ctx, deadline)
    define, _, test = (runs + [None, None])[:3]
    if define.status != OK:
        return f"defining {ex.function} raised {_reason(define)}", define.status
    if test.status not in (OK, ERROR):
        return _reason(test), test.status
    sent = kernel.sandbox.ipc / f"printed-{ex.function}.npz"
    verdict = await kernel.run(kitfiles.VERDICT_CELL.format(path=str(sent)), ctx.cell_timeout, deadline, ctx.stop)
    got = _read_results(kernel.sandbox.ipc_view / sent.name, 1)
    if test.status == ERROR:
        return _reason(test), OK
    if verdict.status != OK or isinstance(got, str) or "printed" not in got[0]:
        return "the grader could not read the public test's verdict", verdict.status
    missing = first_missing(ex.expected, lines(got[0]["printed"]))
    if missing is not None:
        return f"output differs: expected the line {missing!r}", OK
    return "", OK


async def _hidden_cases(kernel, ex, source, want, seed, ctx, deadline):
    """(why the hidden cases failed or '', the last cell's status), in words of the grader's only."""
    runs = await _run_cells(kernel, setup_cells(kernel.sandbox.kit, ex.function) + [source], ctx, deadline)
    if runs[-1].status != OK:
        status = runs[-1].status
        return f"hidden cases: defining it again {_STOPS.get(status, 'raised an error')}", status
    name, sandbox = ex.function, kernel.sandbox
    # The inputs reach the kernel only now, after the learner's cells have run.
    cases_path, results_path = sandbox.kit / f"cases-{name}.npz", sandbox.ipc_view / f"results-{name}.npz"
    results_path.unlink(missing_ok=True)  # nothing the learner's cells left there counts
    codec.write_cases(cases_path, hidden.cases(name, seed))  # inputs only: no seed, no expected value
    try:
        cell = kitfiles.HIDDEN_CELL.format(name=name, cases=str(cases_path),
                                           results=str(sandbox.ipc / results_path.name))
        run = await kernel.run(cell, ctx.cell_timeout, deadline, ctx.stop)
    finally:
        cases_path.unlink(missing_ok=True)
    got = _read_results(results_path, hidden.NUMBER_OF_CASES)
    if run.status != OK:
        # Only the status: what the learner's code says about the hidden inputs stays in the kernel.
        return f"hidden cases: {_STOPS.get(run.status, 'the run raised an error')}", run.status
    if isinstance(got, str):
        return f"hidden cases: {got}", OK
    return hidden.compare(name, got, want), OK


def _read_results(path, count):
    """The kernel's results (hidden cases, a public test's lines), read as data (kit/codec.py), or why
    there are none."""
    try:
        return codec.read_results(path, count)
    except codec.UnusableResults as err:
        return str(err)
    finally:
        with suppress(OSError):
            os.unlink(path)


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
        await kernel.run(kitfiles.output_cap_cell(kernel.cap_chars), ctx.cell_timeout, deadline, ctx.stop)
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
