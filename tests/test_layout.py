"""The package's layout rules: the course first, the engine behind it (issues 11 and 25)."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path

import layout_rules
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nst_utils"


# --- rules 1-3 of issue 25 on the import graph (tests/layout_rules.py) ------------------------------

def test_no_import_cycle():
    assert layout_rules.cycles(layout_rules.import_graph(ROOT)) == []


def test_the_course_reaches_nothing_behind_it():
    """config, images, costs, vgg, train, plotting import nothing from engine/, fast/, grading/,
    feedforward/, directly or through another module, not even inside a function."""
    assert layout_rules.course_reaching_behind(layout_rules.import_graph(ROOT)) == {}


def test_one_of_each():
    """One J(G) (train.make_cost_function: the only caller of total_cost), one shape check of a
    normalised image (images.check_image), one list of optimisers, one place for minimum sides."""
    # (the public tests call it to test the learner's total_cost, not to build a J(G))
    assert [m for m in layout_rules.calls(ROOT, "total_cost") if not m.endswith("public_tests")] == \
        ["nst_utils.train"]
    assert layout_rules.functions_raising(ROOT, "normalised image of shape") == [("nst_utils.images", "check_image")]
    assert layout_rules.assignments(ROOT, layout_rules.is_optimiser_list) == [("nst_utils.engine.options", "OPTIMIZERS")]
    assert {m for m, _ in layout_rules.assignments(ROOT, layout_rules.is_minimum_side)} == {"nst_utils.images"}


@pytest.fixture
def copy(tmp_path):
    """A copy of the trees the rules read, to plant violations in."""
    for tree in layout_rules.TREES:
        shutil.copytree(ROOT / tree, tmp_path / tree, ignore=shutil.ignore_patterns("__pycache__", "*.npz", "*.so"))
    return tmp_path


def plant(root, relative, code):
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


def test_the_rules_hold_on_the_copy(copy):
    graph = layout_rules.import_graph(copy)
    assert len(graph) > 60 and "nst_utils.engine.pipeline" in graph["nst_utils.cli"]
    assert layout_rules.cycles(graph) == [] and layout_rules.course_reaching_behind(graph) == {}


def test_a_planted_cycle_inside_a_function_is_found(copy):
    plant(copy, "nst_utils/engine/options.py", "def f():\n    from .pipeline import stylise")
    assert ["nst_utils.engine.options", "nst_utils.engine.pipeline"] in \
        [c for c in layout_rules.cycles(layout_rules.import_graph(copy)) if len(c) == 2]


def test_a_planted_cycle_between_scripts_and_benchmarks_is_found(copy):
    plant(copy, "benchmarks/common.py", "def f():\n    import benchmarks.scaling")
    assert ["benchmarks.common", "benchmarks.scaling"] in layout_rules.cycles(layout_rules.import_graph(copy))


@pytest.mark.parametrize("module, code, course_module", [
    ("train", "def f():\n    from .engine import objective", "train"),   # relative, inside a function
    ("vgg", "from nst_utils.fast.conv import conv_layer", "vgg"),          # absolute
    ("images", "def f():\n    import nst_utils.feedforward.data", "images"),
    ("weights", "from .grading import standin", "vgg"),                    # vgg -> weights -> grading
])
def test_a_planted_arrow_from_the_course_is_found(copy, module, code, course_module):
    plant(copy, f"nst_utils/{module}.py", code)
    assert "nst_utils." + course_module in layout_rules.course_reaching_behind(layout_rules.import_graph(copy))


@pytest.mark.parametrize("relative, code, rule", [
    ("nst_utils/engine/start.py", "def j(a, b):\n    return total_cost(a, b)", "J"),
    ("nst_utils/engine/resize.py",
     "def f(x):\n    raise ValueError(f'x must be a normalised image of shape (1, n_H, n_W, 3), got {x}')", "shape"),
    ("nst_utils/cli.py", "OPTIMIZERS = ('adam', 'lbfgs')", "optimisers"),
    ("nst_utils/sizing.py", "MIN_STAGE_SIDE = 16", "side"),
])
def test_a_planted_second_copy_is_found(copy, relative, code, rule):
    plant(copy, relative, code)
    with pytest.raises(AssertionError):
        if rule == "J":
            assert [m for m in layout_rules.calls(copy, "total_cost") if not m.endswith("public_tests")] == \
                ["nst_utils.train"]
        elif rule == "shape":
            assert layout_rules.functions_raising(copy, "normalised image of shape") == \
                [("nst_utils.images", "check_image")]
        elif rule == "optimisers":
            assert layout_rules.assignments(copy, layout_rules.is_optimiser_list) == \
                [("nst_utils.engine.options", "OPTIMIZERS")]
        else:
            assert {m for m, _ in layout_rules.assignments(copy, layout_rules.is_minimum_side)} == {"nst_utils.images"}


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


def test_one_progress_bar_and_one_place_for_ctrl_c():
    """The progress bar is made in one place (train.progress_bar, the course's loop; the engine uses
    it); Ctrl-C and SIGTERM are handled in one place (engine/optimize.py, the engine's loop)."""
    bars, stops = set(), set()
    for path, tree in _package_sources().items():
        for node in ast.walk(tree):
            text = ast.unparse(node) if isinstance(node, (ast.ExceptHandler, ast.Call)) else ""
            if text.startswith("tqdm("):
                bars.add(path.relative_to(PACKAGE).as_posix())
            if ("KeyboardInterrupt" in text and isinstance(node, ast.ExceptHandler)) or \
                    text.startswith("signal.signal("):
                stops.add(path.relative_to(PACKAGE).as_posix())
    # the grader's own bar over notebooks and its kernel handling, not an optimisation loop
    bars.discard("grading/grader.py")
    stops.discard("grading/grader.py")
    assert bars == {"train.py"} and stops == {"engine/optimize.py"}


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
