"""Grade learners' copies of the assignment: ``python -m nst_utils.grade NOTEBOOK_OR_FOLDER... [-j N]``.

Every submitted notebook is treated as hostile. For each one the grader reads it (regular files only;
nbformat v3 upgraded), takes each graded function's ``def``s and checks them (submission.py), tests
them in scoring kernels that cannot reach the package (runs.py, kitfiles.py): the reference's public
tests, whose printed lines come back as data, and hidden cases drawn from a seed that never leaves
this process, their results judged here (hidden.py); then runs the notebook as it is, only to report
whether it runs; prints a table per notebook and a class summary, and writes ``--csv``/``--json``.

Every kernel runs in a sandbox (sandbox.py); without a working bwrap, grading a folder or writing a
gradebook is refused unless ``--sandbox none`` accepts the risk (rows marked unisolated). Every cell
has a timeout, every notebook a wall-clock limit, and output is capped (kernel.py). Ctrl-C or SIGTERM
stops grading within seconds, kills every kernel and reports what was graded. Exit status: 0 every
exercise passed, 1 some failed, 2 bad arguments (checked before grading starts) or unreadable
notebooks, 130/143 stopped by Ctrl-C/SIGTERM.
"""
import argparse
import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..config import MAX_ITERATIONS_ENV
from ..tensorflow_start import native_stderr
from . import hidden, report as rep
from .kernel import OutputBudget, SandboxKernel
from .paths import find_notebooks, output_problems
from .reference import default_reference_path
from .runs import load_reference, run_check, scoring_run
from .sandbox import Limits, Sandbox, adopt_orphans, kill_all, orphans
from .submission import MISSING, NotebookError, graded_source, read_notebook


@dataclass
class Context:
    """How one worker grades: limits, sandbox, timeouts, where kernels log, and the stop signal."""

    limits: Limits
    use_bwrap: bool
    cell_timeout: float
    notebook_timeout: float
    run_all: bool
    run_notebook: bool
    env: dict
    log: object
    stop: asyncio.Event
    slot: int = 0
    kernels: list = field(default_factory=list)
    output_mb: float = 16
    budget: object = None  # the OutputBudget of the notebook being graded

    async def start_kernel(self, package=False):
        """A started SandboxKernel; package -- whether it may import the package (sandbox.Sandbox)."""
        if self.stop.is_set():
            raise RuntimeError("grading was stopped")
        sandbox = Sandbox(self.limits, self.use_bwrap, self.slot, self.env, package)
        kernel = SandboxKernel(sandbox, self.log, self.budget)
        self.kernels.append(kernel)
        await kernel.start()
        return kernel


async def grade_notebook(path, reference, seeds, wanted, ctx):
    """NotebookReport of one notebook (never raises for anything the notebook does)."""
    start = time.monotonic()
    notebook_bytes = int(ctx.output_mb * 2**20)
    ctx.budget = OutputBudget(min(OutputBudget.cell_bytes, notebook_bytes), notebook_bytes)
    try:
        nb = read_notebook(Path(path))
    except NotebookError as err:
        return rep.NotebookReport(str(path), error=str(err))
    sources = {ex.function: graded_source(nb, ex.function, ex.graded_id) for ex in reference.exercises}
    deadline = start + ctx.notebook_timeout
    exercises = await scoring_run(sources, reference, wanted, seeds, ctx, deadline)
    run = None
    if ctx.run_notebook and not ctx.stop.is_set():
        run = await run_check(nb, reference, ctx, deadline)
        if all(s.problem.startswith(MISSING) for s in sources.values()):
            run.ok, run.message = False, f"{MISSING}; {run.message}"
    return rep.NotebookReport(str(path), exercises, run, seconds=time.monotonic() - start)


async def grade_all(paths, reference, seeds, wanted, contexts, on_done):
    """Grade paths with one worker per context; on_done(report) as each finishes. Returns the
    reports in the order of paths (None for those not graded before a stop)."""
    queue = list(enumerate(paths))
    reports = [None] * len(paths)

    async def worker(ctx):
        while queue and not ctx.stop.is_set():
            index, path = queue.pop(0)
            reports[index] = await grade_notebook(path, reference, seeds, wanted, ctx)
            if not ctx.stop.is_set():
                on_done(reports[index])

    await asyncio.gather(*(worker(ctx) for ctx in contexts))
    return reports


def bwrap_works():
    path = shutil.which("bwrap")
    return bool(path) and subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "true"],
                                         capture_output=True).returncode == 0


def hidden_answers(reference):
    """Draw the hidden cases' seeds and compute their expected results (in this process)."""
    seeds = {ex.function: secrets.randbits(31) for ex in reference.exercises}
    return seeds, {name: hidden.expected(name, seed) for name, seed in seeds.items()}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m nst_utils.grade",
        description="Grade learners' copies of the neural style transfer assignment: each graded "
                    "function is tested in sandboxed scoring kernels against the reference's tests and "
                    "hidden cases; the notebook is also run, to report whether it runs.")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="notebooks or folders of them")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="notebooks graded at once (default 1)")
    parser.add_argument("--csv", metavar="FILE", help="write a gradebook: one row per notebook and exercise")
    parser.add_argument("--json", metavar="FILE", help="write the same gradebook as JSON")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per cell (default 120)")
    parser.add_argument("--notebook-timeout", type=float, default=600,
                        help="seconds per notebook, both runs together (default 600)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="memory of one kernel (default 4096)")
    parser.add_argument("--output-mb", type=float, default=16,
                        help="output kept per notebook, at most 2 MB per cell (default 16); the rest is "
                             "counted and dropped")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                        help="auto: bwrap if it works (default; without it only one notebook of your "
                             "own is graded, and no gradebook written); bwrap: required; none: limits "
                             "only, accepting the risk")
    parser.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                        help="pass this environment variable to the kernels (e.g. NST_VGG19_WEIGHTS)")
    parser.add_argument("--reference", default=str(default_reference_path()),
                        help="notebook with the test cells and expected outputs (default: the "
                             "committed exercise notebook)")
    parser.add_argument("--run-all", action="store_true",
                        help="also run the long cells tagged grader:skip when running the notebook")
    parser.add_argument("--max-iterations", type=int, default=2,
                        help=f"{MAX_ITERATIONS_ENV} for the notebook run (default 2)")
    parser.add_argument("--no-run", action="store_true",
                        help="only test the graded functions; do not run the notebook itself")
    parser.add_argument("--save-executed", metavar="FOLDER", help="write the executed notebooks there")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the kernels' start-up output")
    args = parser.parse_args(argv)
    if (args.jobs < 1 or args.timeout <= 0 or args.notebook_timeout <= 0 or args.memory_mb < 256
            or args.output_mb <= 0):
        parser.error("-j must be >= 1, timeouts > 0, --memory-mb >= 256, --output-mb > 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    paths, missing, refused = find_notebooks(args.notebooks)
    for path, why in refused:
        print(f"refused: {path}: {why}; only regular files are graded", file=sys.stderr)
    problems = [f"'{m}' not found" for m in missing] + output_problems(args)
    if not Path(args.reference).is_file():
        problems.append(f"reference notebook '{args.reference}' not found")
    if not paths and not missing and not problems:
        problems.append("no notebooks (.ipynb) to grade in " + ", ".join(args.notebooks))
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    use_bwrap = args.sandbox != "none" and bwrap_works()
    if args.sandbox == "bwrap" and not use_bwrap:
        print("error: --sandbox bwrap, but bwrap is not installed or does not work here "
              "(Debian/Ubuntu: apt-get install bubblewrap)", file=sys.stderr)
        return 2
    recorded = len(paths) > 1 or any(Path(n).is_dir() for n in args.notebooks) or any(
        (args.csv, args.json, args.save_executed))
    if not use_bwrap and args.sandbox != "none" and recorded:
        print("error: no working sandbox: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) "
              "to grade a class or write gradebooks, or pass --sandbox none to accept the risk "
              "(rows marked unisolated)", file=sys.stderr)
        return 2
    if not use_bwrap:
        print("warning: learner code runs unisolated (no bwrap): it can read your files, write where you "
              "can and use the network; only time, memory and process limits apply. Install bubblewrap "
              "to isolate it.", file=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # this process computes the hidden answers
    return _grade(args, paths, use_bwrap)


def _grade(args, paths, use_bwrap):
    try:
        reference = load_reference(args.reference)
    except Exception as err:  # noqa: BLE001 -- any unreadable reference
        print(f"error: reference notebook: {err}", file=sys.stderr)
        return 2
    log = sys.stderr if args.verbose else tempfile.NamedTemporaryFile(
        "w", prefix="nst-grade-", suffix=".log", delete=False)
    with native_stderr(log):  # TensorFlow's start-up lines
        seeds, wanted = hidden_answers(reference)
    env = {MAX_ITERATIONS_ENV: str(args.max_iterations)}
    env.update({name: os.environ[name] for name in args.pass_env if name in os.environ})
    adopt_orphans()
    reports = asyncio.run(_run(args, paths, reference, seeds, wanted, use_bwrap, env, log))
    for report in reports:
        if report is not None:
            report.isolated = use_bwrap
    return _finish(args, paths, reports, len(reference.exercises), log)


async def _run(args, paths, reference, seeds, wanted, use_bwrap, env, log):
    from tqdm import tqdm

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda s=signum: (setattr(stop, "signum", s), stop.set()))
    contexts = [Context(Limits(memory_mb=args.memory_mb), use_bwrap, args.timeout, args.notebook_timeout,
                        args.run_all, not args.no_run, env, log, stop, slot, output_mb=args.output_mb)
                for slot in range(min(args.jobs, len(paths)))]
    bar = tqdm(total=len(paths), desc="Grading", unit="notebook", file=sys.stderr, disable=None,
               leave=False)

    def done(report):
        bar.write(rep.format_report(report), file=sys.stdout)
        bar.update(1)
        report.printed = True

    try:
        return await grade_all(paths, reference, seeds, wanted, contexts, done)
    finally:
        bar.close()
        for ctx in contexts:
            for kernel in ctx.kernels:
                await kernel.stop()
        # a daemon a notebook left behind, outside its sandbox's tree (without bwrap)
        kill_all(orphans)
        if getattr(stop, "signum", None):
            args.stopped_by = stop.signum


def _finish(args, paths, reports, total, log):
    stopped_by = getattr(args, "stopped_by", None)
    graded = [r for r in reports if r is not None]
    if stopped_by:
        for path, r in zip(paths, reports):
            if r is None:
                print(f"== {path}\nnot graded: grading was stopped")
            elif not getattr(r, "printed", False):
                print(rep.format_report(r))
    if len(paths) > 1:
        print(rep.format_summary(graded, total))
    for writer, target in ((rep.write_csv, args.csv), (rep.write_json, args.json)):
        if target:
            writer(target, graded)
    if args.save_executed:
        _save_executed(args.save_executed, graded)
    if log is not sys.stderr:
        log.close()
        print(f"(kernel output: {log.name})", file=sys.stderr)
    if stopped_by:
        return 128 + stopped_by
    if any(r.error for r in graded):
        print("error: could not read: " + ", ".join(r.path for r in graded if r.error), file=sys.stderr)
        return 2
    return 0 if graded and all(r.all_passed for r in graded) else 1


def _save_executed(folder, reports):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k, r in enumerate(reports):
        if r.run is not None and r.run.executed is not None:
            nbformat.write(r.run.executed, str(folder / f"{k:03d}-{Path(r.path).name}"))


if __name__ == "__main__":
    sys.exit(main())
