"""Grade a learner's copy of the assignment notebook: ``python -m nst_utils.grade LEARNER.ipynb``.

The grader

1. reads the reference notebook (the committed exercise notebook,
   ``notebooks/exercises/Art_Generation_with_Neural_Style_Transfer.ipynb``), whose test cells are tagged
   ``test:<function>`` and hold the expected outputs;
2. finds the same test cells in the learner's notebook by tag (or cell id), not by position, so extra
   cells a learner added do not matter, and restores their source from the reference ("you cannot
   edit this cell");
3. executes the learner's notebook in a fresh kernel of the current Python environment, in the
   notebook's folder; a cell that fails does not stop the others. The long, ungraded optimisation
   cells (tagged ``grader:skip`` in the reference) are not run; with ``--run-all`` they run, with
   ``NST_MAX_ITERATIONS`` (2 by default) capping their loops;
4. prints one row per exercise (passed / failed / not graded, and why) and the score, and exits with
   status 0 only if every exercise passed.

An exercise passes when its test cell runs without error and its output contains the reference
output's lines, in order (extra lines, e.g. a learner's debugging prints, are allowed).

VGG19 weights: the notebook loads them as usual (``NST_VGG19_WEIGHTS``, ``pretrained_model/`` or the
Keras cache, see pretrained_model/README.md). The train_step test does not depend on the weights'
values, so any VGG19 weights file of the right format grades it. If no weights can be found, the five
cost exercises are still graded and train_step is reported as "not graded", with the reason.
"""
import argparse
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from ..config import MAX_ITERATIONS_ENV, REPO_ROOT

NOTEBOOK_NAME = "Art_Generation_with_Neural_Style_Transfer.ipynb"
DEFAULT_REFERENCE = REPO_ROOT / "notebooks" / "exercises" / NOTEBOOK_NAME
TEST_TAG = "test:"
GRADED_TAG = "graded:"
SKIP_TAG = "grader:skip"  # long, ungraded cells (the optimisation runs): not run when grading
WEIGHTS_ERRORS = ("WeightsNotFoundError", "WeightsError")
CURRENT_ENV_KERNEL = "nst-grader-current-env"

PASSED, FAILED, NOT_GRADED = "passed", "failed", "not graded"


def _tags(cell):
    return list(cell.get("metadata", {}).get("tags", []))


def _tagged(cell, prefix):
    """The name after ``prefix`` in the cell's tags (e.g. 'test:gram_matrix' -> 'gram_matrix'), or None."""
    for tag in _tags(cell):
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return None


def _find_cell(nb, prefix, name, cell_id):
    """Index of the learner's cell tagged prefix+name, else the cell with the reference's id, else None."""
    for i, cell in enumerate(nb.cells):
        if _tagged(cell, prefix) == name:
            return i
    for i, cell in enumerate(nb.cells):
        if cell_id and cell.get("id") == cell_id:
            return i
    return None


def stdout_lines(cell):
    """The lines a code cell printed (stdout streams and text/plain results), without blank lines."""
    text = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            text.append(out.get("data", {}).get("text/plain", "") + "\n")
    return [line.rstrip() for line in "".join(text).splitlines() if line.strip()]


def cell_error(cell):
    """(ename, evalue) of the first error output of a cell, or None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def _is_subsequence(expected, actual):
    it = iter(actual)
    return all(any(line == got for got in it) for line in expected)


def _first_missing(expected, actual):
    it = iter(actual)
    for line in expected:
        if not any(line == got for got in it):
            return line
    return None


def _short(text, limit=300):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_reference(path):
    """[(function, test cell, graded cell id)] of the reference notebook, in notebook order."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    graded_ids = {_tagged(c, GRADED_TAG): c.get("id") for c in nb.cells if _tagged(c, GRADED_TAG)}
    exercises = [(_tagged(c, TEST_TAG), c, graded_ids.get(_tagged(c, TEST_TAG)))
                 for c in nb.cells if _tagged(c, TEST_TAG)]
    if not exercises:
        raise ValueError(f"{path} has no test cells (cells tagged '{TEST_TAG}<function>').")
    return exercises


@contextmanager
def _environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _kernel_manager():
    """A kernel manager for a Python kernel of *this* interpreter (whatever kernelspecs are installed)."""
    import ipykernel.kernelspec
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    class CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == CURRENT_ENV_KERNEL:
                return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                              **ipykernel.kernelspec.get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    return KernelManager(kernel_name=CURRENT_ENV_KERNEL, kernel_spec_manager=CurrentEnvSpecs())


def execute_notebook(nb, cwd, max_iterations=2, timeout=600, allow_errors=True):
    """Execute ``nb`` in place in a fresh kernel of this Python, with ``cwd`` as working folder.

    NST_MAX_ITERATIONS caps the optimisation loops; PYTHONPATH makes this copy of nst_utils importable.
    """
    from nbclient import NotebookClient

    pythonpath = os.pathsep.join(p for p in (str(Path(__file__).resolve().parent.parent),
                                             os.environ.get("PYTHONPATH")) if p)
    env = {"PYTHONPATH": pythonpath, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    if max_iterations is not None:
        env[MAX_ITERATIONS_ENV] = max_iterations
    client = NotebookClient(nb, km=_kernel_manager(), timeout=timeout, allow_errors=allow_errors,
                            interrupt_on_timeout=True, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    with _environ(**env):
        client.execute()
    return nb


def grade_notebook(nb, reference):
    """Grade an executed notebook. reference -- load_reference(...). Returns a list of result dicts."""
    weights_error = None
    for cell in nb.cells:
        err = cell_error(cell) if cell.get("cell_type") == "code" else None
        if err and err[0] in WEIGHTS_ERRORS:
            weights_error = err
            break

    results = []
    for number, (name, ref_cell, graded_id) in enumerate(reference, 1):
        row = {"exercise": number, "function": name, "status": FAILED, "why": ""}
        results.append(row)
        index = _find_cell(nb, TEST_TAG, name, ref_cell.get("id"))
        if index is None:
            row["why"] = f"test cell not found (tag '{TEST_TAG}{name}'): was it deleted?"
            continue
        test = nb.cells[index]
        err = cell_error(test)
        graded_index = _find_cell(nb, GRADED_TAG, name, graded_id)
        graded_err = cell_error(nb.cells[graded_index]) if graded_index is not None else None
        if name == "train_step" and weights_error and err:
            row["status"] = NOT_GRADED
            row["why"] = (f"no usable VGG19 weights ({weights_error[0]}: "
                          f"{_short(weights_error[1], 120)}); see pretrained_model/README.md")
        elif graded_err:
            row["why"] = f"the cell defining {name} raised {graded_err[0]}: {_short(graded_err[1])}"
        elif err:  # the public tests' AssertionErrors say what is wrong; name other errors
            row["why"] = _short(err[1]) if err[0] == "AssertionError" else f"{err[0]}: {_short(err[1])}"
        else:
            expected, actual = stdout_lines(ref_cell), stdout_lines(test)
            if _is_subsequence(expected, actual):
                row["status"] = PASSED
            else:
                missing = _first_missing(expected, actual)
                row["why"] = f"output differs: expected the line {missing!r}"
    return results


def format_table(results):
    headers = ("Exercise", "Function", "Result", "Why")
    rows = [(str(r["exercise"]), r["function"], r["status"], r["why"]) for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers[:3])]
    line = lambda cols: "  ".join(c.ljust(w) for c, w in zip(cols[:3], widths)) + "  " + cols[3]
    out = [line(headers), line(tuple("-" * w for w in widths) + ("-" * 3,))]
    out += [line(row) for row in rows]
    passed = sum(r["status"] == PASSED for r in results)
    out.append(f"Score: {passed}/{len(results)}")
    return "\n".join(out)


def skipped_cell_ids(reference):
    import nbformat

    nb = nbformat.read(str(reference), as_version=4)
    return {c.get("id") for c in nb.cells if SKIP_TAG in _tags(c)}


def prepare(nb, reference_cells, skip_ids=None):
    """Restore the reference test cells ("you cannot edit this cell") and blank the cells to skip:
    those tagged grader:skip or with an id in skip_ids. skip_ids None skips nothing."""
    for name, ref_cell, _ in reference_cells:
        index = _find_cell(nb, TEST_TAG, name, ref_cell.get("id"))
        if index is not None:
            nb.cells[index].source = ref_cell.source
            nb.cells[index].outputs = []
    for cell in nb.cells:
        if skip_ids is None or cell.get("cell_type") != "code":
            continue
        if SKIP_TAG in _tags(cell) or cell.get("id") in skip_ids:
            cell.source = "# (not run by the grader: a long, ungraded cell)"
            cell.outputs = []
    return nb


def grade(path, reference=DEFAULT_REFERENCE, max_iterations=2, timeout=600, save_executed=None,
          run_all=False):
    """Execute and grade the notebook at ``path``. Returns (results, executed notebook)."""
    import nbformat

    reference_cells = load_reference(reference)
    nb = nbformat.read(str(path), as_version=4)
    prepare(nb, reference_cells, None if run_all else skipped_cell_ids(reference))
    execute_notebook(nb, Path(path).resolve().parent, max_iterations, timeout)
    if save_executed:
        nbformat.write(nb, str(save_executed))
    return grade_notebook(nb, reference_cells), nb


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m nst_utils.grade",
        description="Execute a learner's copy of the neural style transfer notebook and grade its six "
                    "exercises against the expected outputs of the reference exercise notebook.")
    parser.add_argument("notebook", help="the learner's notebook (.ipynb)")
    parser.add_argument("--reference", default=str(DEFAULT_REFERENCE),
                        help="notebook holding the expected outputs (default: the committed exercise "
                             "notebook, %(default)s)")
    parser.add_argument("--max-iterations", type=int, default=2,
                        help=f"{MAX_ITERATIONS_ENV} for the run: caps the ungraded optimisation loops "
                             "(default: %(default)s)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--run-all", action="store_true",
                        help=f"also run the long ungraded cells (tagged {SKIP_TAG}), capped by "
                             "--max-iterations")
    parser.add_argument("--save-executed", metavar="PATH", help="also write the executed notebook there")
    args = parser.parse_args(argv)

    for path, what in ((args.notebook, "notebook"), (args.reference, "reference notebook")):
        if not Path(path).is_file():
            print(f"error: {what} '{path}' not found.", file=sys.stderr)
            return 2
    start = time.perf_counter()
    print(f"Grading {args.notebook} (expected outputs from {args.reference}) ...", flush=True)
    try:
        results, _ = grade(args.notebook, args.reference, args.max_iterations, args.timeout,
                           args.save_executed, args.run_all)
    except ValueError as err:  # unreadable notebook or reference without test cells
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_table(results))
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0 if all(r["status"] == PASSED for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
