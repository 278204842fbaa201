"""The grader's trust boundary, by construction: a graded kernel cannot reach a reference solution,
the hidden cases' seed never enters a kernel, and no hidden input or expected value comes out in a
result. Tested with graded functions that pass the static check (submission.check_source) and then
step around it: ctypes' PyRun_SimpleString, importlib with a name assembled from pieces, __import__
reached through a subclass walk, a pickle loaded by np.load(allow_pickle=True), gc.get_objects, frame
walks, the package's and the solution notebook's files, the environment, /proc, the kernel's message
headers and history.

Two notebooks graded in one run (-j 2): ``reach-reference`` (the blank exercise notebook, each
graded function a different way to the reference: 0 expected, and each way is shown to work where
the package is reachable) and ``probes`` (the solution notebook, each function also searching the
kernel for the seed, the grader's files and other processes while the hidden cases run, and
gram_matrix putting its hidden inputs in its error: 5/6 expected, nothing found, nothing leaked).
The grader runs with its seed generator fixed to a known number, so that the seed can be looked for.
"""
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from nst_utils import public_tests as pt
from nst_utils.grading.submission import graded_source
from nst_utils.resources import ASSIGNMENT, GRADED_FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "notebooks" / ASSIGNMENT
EXERCISE = ROOT / "notebooks" / "exercises" / ASSIGNMENT
SEED = 1987436251  # not a run of digits that numbers in library files already hold
HAVE_BWRAP = subprocess.run(["sh", "-c", "command -v bwrap"], capture_output=True).returncode == 0
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP and not os.environ.get("CI"),
                                 reason="bwrap not installed (CI installs bubblewrap)")

RUN = "np.ctypeslib.ctypes.pythonapi.PyRun_SimpleString"


class _Exec:
    """Unpickling it runs code: what np.load(allow_pickle=True) does with a self-written file."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return exec, (self.code,)


def _py(code):
    """A bytes literal of code, for PyRun_SimpleString."""
    return repr(code.encode())


def reach_reference_cheats():
    """{function: source of a graded cell that reaches the package's reference by another way}.

    Each hands what it found back through a default argument (``box``, a dict the code run by
    PyRun_SimpleString reaches as <function>.__defaults__[-1] in __main__), so nothing else changes.
    """
    costs_py = str(ROOT / "nst_utils" / "costs.py")
    box = "{name}.__defaults__[-1]['ref']"
    pickled = pickle.dumps(_Exec("import __main__\n__main__." + box.format(name="gram_matrix")
                                 + " = __import__('nst_utils.costs', fromlist=['x']).gram_matrix"), protocol=2)
    walk = ("imp = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
            ".__init__.__globals__['__builtins__']['__import__']\n"
            + box.format(name="compute_layer_style_cost")
            + " = imp('nst_utils.costs', fromlist=['x']).compute_layer_style_cost\n")
    read_package = ("ns = {}\nsource = open(%r).read().replace('from .config import STYLE_LAYERS', "
                    "'STYLE_LAYERS = []')\nexec(source, ns)\n" % costs_py
                    + box.format(name="compute_style_cost") + " = ns['compute_style_cost']\n")
    read_solution = ("import json\nimport tensorflow as tf\nnb = json.load(open(%r))\n"
                     "cell = [c for c in nb['cells'] if 'graded:total_cost' in c['metadata'].get('tags', [])][0]\n"
                     "ns = {'tf': tf}\nexec(''.join(cell['source']), ns)\n" % str(SOLUTION)
                     + box.format(name="total_cost") + " = ns['total_cost']\n")
    gc_walk = ("import builtins, gc, types\n"
               "found = [o for o in gc.get_objects() if isinstance(o, types.FunctionType) "
               "and o.__name__ == 'make_train_step']\n"
               "if found:\n    builtins.any = found[0]\n")
    assembled = ("import importlib\n" + box.format(name="compute_content_cost")
                 + " = importlib.import_module('nst_' + 'utils.' + 'costs').compute_content_cost\n")
    return {
        "compute_content_cost": "def compute_content_cost(a_C, a_G, box={}):\n"
                                f"    {RUN}({_py(assembled)})\n"
                                "    return box['ref'](a_C, a_G)\n",
        "gram_matrix": "def gram_matrix(A, box={}):\n"
                       f"    np.frombuffer({pickled!r}, np.uint8).tofile('cheat.pkl')\n"
                       "    np.load('cheat.pkl', allow_pickle=True)\n"
                       "    return box['ref'](A)\n",
        "compute_layer_style_cost": "def compute_layer_style_cost(a_S, a_G, box={}):\n"
                                    f"    {RUN}({_py(walk)})\n"
                                    "    return box['ref'](a_S, a_G)\n",
        "compute_style_cost": "def compute_style_cost(style_activations, generated_activations, "
                              "style_layers=STYLE_LAYERS, box={}):\n"
                              f"    {RUN}({_py(read_package)})\n"
                              "    return box['ref'](style_activations, generated_activations, style_layers)\n",
        "total_cost": "def total_cost(J_content, J_style, alpha=10, beta=40, box={}):\n"
                      f"    {RUN}({_py(read_solution)})\n"
                      "    return box['ref'](J_content, J_style, alpha, beta)\n",
        # a builtin replaced for good: only graded here, so nothing else of the kernel matters
        "train_step": "@tf.function\ndef train_step(generated_image):\n"
                      f"    {RUN}({_py(gc_walk)})\n"
                      "    return any(model, a_C, a_S, optimizer, alpha, beta)(generated_image)\n",
    }


PROBE = """\
def probe():
    import gc, glob, os, sys
    import builtins
    S = str(int('%(seed_less_one)d') + 1)  # the seed, never written out whole (nor constant-folded)
    label = %(label)r
    count = getattr(builtins, 'probe_count', {})
    builtins.probe_count = count
    count[label] = count.get(label, 0) + 1
    if count[label] > 1:
        return
    found, readable = [], []
    frame = sys._getframe(1)
    while frame is not None:
        for key, value in list(frame.f_locals.items()) + list(frame.f_globals.items()):
            try:
                if S in repr(value)[:100000]:
                    found.append('frame:' + key)
            except Exception:
                pass
        frame = frame.f_back
    for obj in gc.get_objects():
        try:
            values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
            if any((type(v) is int and v == int(S)) or (type(v) is str and S in v) for v in values):
                found.append('gc:' + type(obj).__name__)
        except Exception:
            pass
    if any(S in value for value in os.environ.values()):
        found.append('environ')
    pids = [p for p in os.listdir('/proc') if p.isdigit()]
    for pid in pids:
        for part in ('cmdline', 'environ'):
            try:
                if S.encode() in open('/proc/%%s/%%s' %% (pid, part), 'rb').read():
                    found.append('proc:' + pid)
            except OSError:
                pass
    # The interpreter's own folders (a .venv of a checkout in /tmp) were written before grading began.
    installed = tuple(os.path.realpath(p) + os.sep for p in {sys.prefix, sys.base_prefix})
    for root, _, files in os.walk('/tmp'):
        if (os.path.realpath(root) + os.sep).startswith(installed):
            continue
        for name in files:
            try:
                if S.encode() in open(os.path.join(root, name), 'rb').read(10**7):
                    found.append('file:' + name)
            except OSError:
                pass
    import IPython
    shell = IPython.get_ipython()
    try:
        seen = repr(shell.kernel.get_parent()) + repr(shell.user_ns.get('In'))
    except Exception as err:
        seen = ''
        found.append('unreadable: ' + repr(err))
    if S in seen:
        found.append('ipython')
    for path in %(paths)r + glob.glob('/tmp/nst-grade-*.log'):
        try:
            open(path, 'rb').read(1)
            readable.append(path)
        except OSError:
            pass
    try:
        import nst_utils.costs
        readable.append('import nst_utils.costs')
    except Exception:
        pass
    os.write(2, ('PROBE %%s found=%%r readable=%%r processes=%%d NST_NATIVE=%%s\\n' %% (
        label, found, readable, len(pids), os.environ.get('NST_NATIVE'))).encode())


probe()
del probe
"""
PROBED_FILES = [str(ROOT / "nst_utils" / "costs.py"), str(ROOT / "nst_utils" / "grading" / "hidden.py"),
                str(SOLUTION), str(ROOT / "tests" / "test_public_tests.py"), str(ROOT / "pyproject.toml")]
LEAK = "LEAKED-HIDDEN-INPUT"


def probes_notebook():
    """The solution notebook whose graded functions probe the kernel first; gram_matrix also puts its
    hidden inputs in the error it raises."""
    nb = nbformat.read(str(SOLUTION), as_version=4)
    for cell in nb.cells:
        name = next((t.split(":", 1)[1] for t in cell.metadata.get("tags", []) if t.startswith("graded:")), None)
        if not name:
            continue
        probe = PROBE % {"seed_less_one": SEED - 1, "label": name, "paths": PROBED_FILES}
        lines = cell.source.split("\n")
        at = next(i for i, line in enumerate(lines) if line.strip() == "### START CODE HERE ###")
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        extra = [f"{indent}{RUN}({_py(probe)})"]
        if name == "gram_matrix":
            extra += [f"{indent}if tuple(A.shape) != (3, 2):",
                      f"{indent}    raise ValueError({LEAK!r} + str(A.numpy().ravel()[:4]))"]
        cell.source = "\n".join(lines[:at] + extra + lines[at:])
    return nb


def with_graded(base, sources):
    nb = nbformat.read(str(base), as_version=4)
    for cell in nb.cells:
        for name, source in sources.items():
            if f"graded:{name}" in cell.metadata.get("tags", []):
                cell.source = source
    return nb


def test_the_cheats_pass_the_static_check():
    """The static check is a first line: these get past it, so the boundary must hold without it."""
    nb = with_graded(EXERCISE, reach_reference_cheats())
    for name in reach_reference_cheats():
        assert graded_source(nb, name).problem == "", name
    probes = probes_notebook()
    for name in reach_reference_cheats():
        assert graded_source(probes, name).problem == "", name


@pytest.mark.parametrize("name", GRADED_FUNCTIONS[:5])
def test_each_cheat_works_where_the_package_is_reachable(name, tmp_path, monkeypatch, capsys):
    """Control: in this process, where the package is importable and its files readable, each cheat
    passes its public test. So a 0 in the grader is the boundary's doing, not a broken cheat."""
    import __main__

    import tensorflow as tf

    from nst_utils import STYLE_LAYERS

    monkeypatch.chdir(tmp_path)
    for key, value in {"np": np, "tf": tf, "STYLE_LAYERS": STYLE_LAYERS}.items():
        monkeypatch.setattr(__main__, key, value, raising=False)
    monkeypatch.setattr(__main__, name, None, raising=False)  # removed again after the test
    exec(reach_reference_cheats()[name], vars(__main__))  # PyRun_SimpleString runs in __main__
    getattr(pt, f"{name}_test")(getattr(__main__, name))
    assert capsys.readouterr().out.rstrip().endswith(pt.PASSED)


GRADE_WITH_KNOWN_SEED = (
    "import secrets, sys\n"
    f"secrets.randbits = lambda bits: {SEED}  # the test looks for this number everywhere\n"
    "from nst_utils.grading.grader import main\n"
    "sys.exit(main(sys.argv[1:]))\n")


@needs_bwrap
@pytest.mark.slow
def test_boundary_holds_against_every_indirection(tmp_path):
    """Layout: the grader from a clone (on PYTHONPATH), the venv holding the package too (editable
    or installed)."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(with_graded(EXERCISE, reach_reference_cheats()), str(folder / "reach-reference.ipynb"))
    nbformat.write(probes_notebook(), str(folder / "probes.ipynb"))
    gradebook = tmp_path / "gradebook.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", GRADE_WITH_KNOWN_SEED, str(folder), "-j", "2", "--no-run",
                           "--sandbox", "bwrap", "--timeout", "120", "--json", str(gradebook), "-v"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    seconds = time.monotonic() - start
    print(proc.stdout[-20000:])
    probes = [line for line in proc.stderr.splitlines() if line.startswith("PROBE ")]
    print("\n".join(probes))
    print(f"graded in {seconds:.0f} s")
    rows = {Path(r["notebook"]).name: r for r in json.loads(gradebook.read_text())}
    reach = {e["function"]: e for e in rows["reach-reference.ipynb"]["exercises"]}
    assert all(e["points"] == 0 for e in reach.values()), reach
    probed = {e["function"]: e for e in rows["probes.ipynb"]["exercises"]}
    assert {f: e["points"] for f, e in probed.items()} == {
        "compute_content_cost": 1, "gram_matrix": 0, "compute_layer_style_cost": 1,
        "compute_style_cost": 1, "total_cost": 1, "train_step": 1}, probed
    assert "hidden case 1 of 3: raised ValueError" in probed["gram_matrix"]["reason"]
    # Every function probed in both kernels (public tests, then hidden cases), and found nothing.
    labels = [line.split()[1] for line in probes]
    assert all(labels.count(name) == 2 for name in probed), labels
    for line in probes:
        assert "found=[]" in line and "readable=[]" in line, line
        assert "NST_NATIVE=0" in line, line
        assert int(line.split("processes=")[1].split()[0]) <= 6, line  # its own PID namespace
    everything = proc.stdout + proc.stderr + gradebook.read_text()
    assert str(SEED) not in everything
    assert LEAK not in proc.stdout + gradebook.read_text()
    assert "Traceback" not in proc.stdout


def wheel_layout(tmp_path):
    """A venv whose site-packages holds a copy of the package as a wheel installs it (module and
    dist-info), and reaches the other packages through a .pth: the reverse of a clone on PYTHONPATH."""
    import shutil
    import site

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                                        capture_output=True, text=True, check=True).stdout.strip())
    (site_packages / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    shutil.copytree(ROOT / "nst_utils", site_packages / "nst_utils",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    info = site_packages / "nst_utils-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nst-utils\nVersion: 0.0.0\n")
    return python, site_packages


@needs_bwrap
@pytest.mark.slow
def test_boundary_holds_with_the_package_installed_as_a_wheel(tmp_path):
    """Layout: the grader imported from a wheel's copy in site-packages, this clone elsewhere on disk
    (a second copy, which the cheats read and import): the cheats find neither and score 0, the
    solution keeps 6/6."""
    python, site_packages = wheel_layout(tmp_path)
    where = subprocess.run([str(python), "-c", "import nst_utils; print(nst_utils.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=""))
    assert where.stdout.strip().startswith(str(site_packages)), where.stdout + where.stderr
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(with_graded(EXERCISE, reach_reference_cheats()), str(folder / "reach-reference.ipynb"))
    (folder / "solution.ipynb").write_bytes(SOLUTION.read_bytes())
    gradebook = tmp_path / "gradebook.json"
    proc = subprocess.run([str(python), "-m", "nst_utils.grade", str(folder), "-j", "2", "--no-run",
                           "--sandbox", "bwrap", "--json", str(gradebook)], cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH="", TF_CPP_MIN_LOG_LEVEL="3"),
                          capture_output=True, text=True, timeout=1200)
    print(proc.stdout[-8000:], proc.stderr[-3000:])
    rows = {Path(r["notebook"]).name: r for r in json.loads(gradebook.read_text())}
    assert rows["solution.ipynb"]["points"] == 6, rows["solution.ipynb"]
    assert rows["reach-reference.ipynb"]["points"] == 0, rows["reach-reference.ipynb"]
    assert all(r["isolated"] for r in rows.values())
