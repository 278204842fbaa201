"""The package's layout rules: the course first, the engine behind it (issue 11)."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nst_utils"
COURSE = ["config", "images", "costs", "vgg", "train", "plotting"]
BEHIND = ("engine", "fast", "grading")
#: The only places where a course module reaches behind itself, inside a function, when asked to:
#: the network builder opting into the fast convolutions, and train.py handing the style targets,
#: total variation and the run of model_nn's options to the engine.
HAND_OVERS = {("vgg", "conv_layer"): {"fast"}, ("train", "make_cost_function"): {"engine"},
              ("train", "model_nn"): {"engine"}}


def _imported_parts(node):
    """The nst_utils subpackage ('engine', 'fast', 'grading') an import statement reaches, or None."""
    if isinstance(node, ast.ImportFrom):
        names = [node.module or ""] if node.level == 0 else \
            [".".join(filter(None, [node.module, alias.name])) for alias in node.names]
        names = [n.removeprefix("nst_utils.") if node.level == 0 else n for n in names]
    else:
        names = [alias.name.removeprefix("nst_utils.") for alias in node.names if alias.name.startswith("nst_utils")]
    return {n.split(".")[0] for n in names} & set(BEHIND)


def _imports(module):
    """[(enclosing function name or None, subpackages reached)] of a course module."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, function or child.name)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((function, _imported_parts(child)))
            else:
                visit(child, function)

    visit(tree, None)
    return found


@pytest.mark.parametrize("module", COURSE)
def test_course_modules_do_not_import_the_engine(module):
    for function, reached in _imports(module):
        if not reached:
            continue
        assert function is not None, f"{module}.py imports {reached} when loaded"
        assert reached <= HAND_OVERS.get((module, function), set()), \
            f"{module}.{function} imports {reached}; the course hands over only at {sorted(HAND_OVERS)}"


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_config_vgg_and_the_cli_parser_do_not_import_tensorflow():
    proc = _run("import sys, nst_utils.config, nst_utils.vgg, benchmarks.common\n"
                "from nst_utils.cli import build_parser\nbuild_parser().format_help()\n"
                "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")
    assert proc.returncode == 0, proc.stderr


def test_help_answers_without_tensorflow():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "nst_utils", "--help"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and "usage" in proc.stdout
    assert "| tensorflow" not in proc.stderr


def test_public_names_are_lazy_and_complete():
    proc = _run("import sys, nst_utils\nassert 'tensorflow' not in sys.modules\n"
                "from nst_utils import *\nimport nst_utils as n\n"
                "assert all(hasattr(n, name) for name in n.__all__)\nassert 'model_nn' in dir(n)")
    assert proc.returncode == 0, proc.stderr


def _package_sources():
    return {p: ast.parse(p.read_text()) for p in PACKAGE.rglob("*.py")}


def test_one_optimisation_loop():
    """Ctrl-C, SIGTERM and the progress bar are handled in one place: engine/optimize.py."""
    places = set()
    for path, tree in _package_sources().items():
        for node in ast.walk(tree):
            text = ast.unparse(node) if isinstance(node, (ast.ExceptHandler, ast.Call)) else ""
            if ("KeyboardInterrupt" in text and isinstance(node, ast.ExceptHandler)) or \
                    text.startswith(("tqdm(", "signal.signal(")):
                places.add(path.relative_to(PACKAGE).as_posix())
    places.discard("grading/grader.py")  # the grader's own kernel handling, not an optimisation loop
    assert places == {"engine/optimize.py"}


def test_size_limits():
    """No function over 60 lines, no module over 300."""
    for path, tree in _package_sources().items():
        assert len(path.read_text().splitlines()) <= 300, path
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno + 1 <= 60, f"{path}:{node.name}"


def test_no_sys_path_edits():
    sources = [p for p in ROOT.glob("*/**/*.py") if p.parts[len(ROOT.parts)] in
               ("nst_utils", "benchmarks", "tests", "scripts")]
    offenders = [str(p.relative_to(ROOT)) for p in sources + [ROOT / "conftest.py"]
                 if "sys.path.insert" in p.read_text() and p.name != "test_layout.py"]
    assert offenders == []
