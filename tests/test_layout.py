"""The package's layout rules: the course first, the engine behind it, each idea written once."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path

import layout_rules
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nst_utils"


# --- the import graph (tests/layout_rules.py) ---------------------------------------------------

def test_no_import_cycle():
    assert layout_rules.cycles(layout_rules.import_graph(ROOT)) == []


def test_the_course_reaches_nothing_behind_it():
    """config, images, costs, vgg, train, plotting import nothing from engine/, fast/, grading/,
    feedforward/, directly or through another module, not even inside a function."""
    assert layout_rules.course_reaching_behind(layout_rules.import_graph(ROOT)) == {}


#: Where the engine (and the feed-forward training) may compute a Gram matrix: the course's, the
#: compiled one, or a matmul of a matrix with itself.
GRAM = ["nst_utils.costs.gram_matrix", "nst_utils.fast.gram.gram", "<gram product>"]
ENGINE = ("nst_utils.engine", "nst_utils.feedforward", "nst_utils.measures")


def one_of_each(root):
    """{rule: what the tree holds}, read from the function definitions and calls in its AST."""
    return {
        # one J(G): the one function that calls total_cost (the grader's kit only tests learners' with it)
        "J": [f for f in layout_rules.callers(root, ["nst_utils.costs.total_cost"])
              if not f[0].startswith("nst_utils.grading")],
        # one way from the engine into the course's J(G) and its step
        "hook": layout_rules.callers(root, layout_rules.course_cost_functions(root), ENGINE),
        "gram": layout_rules.callers(root, GRAM, ENGINE),
        "shape": layout_rules.image_shape_checks(root),
        "optimisers": layout_rules.assignments(root, layout_rules.is_optimiser_list),
        "sides": layout_rules.side_limits(root),
    }


EXPECTED = {"J": [("nst_utils.train", "make_cost_function")],
            "hook": [("nst_utils.engine.objective", "make_cost_with_targets")],
            "gram": [("nst_utils.engine.objective", "gram")],
            "shape": [("nst_utils.images", "check_image")],
            "optimisers": [("nst_utils.engine.options", "OPTIMIZERS")],
            "sides": ["nst_utils.images"]}


def test_one_of_each():
    """One J(G) (train.make_cost_function), one way from the engine into it
    (objective.make_cost_with_targets), one Gram matrix in the engine (objective.gram), one shape
    check of a normalised image (images.check_image), one list of optimisers, one place for the
    limits on image sides."""
    assert one_of_each(ROOT) == EXPECTED


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
    # renamed imports and names do not hide a second copy
    ("nst_utils/engine/start.py", "from ..costs import total_cost as weighted\ndef j(a, b):\n"
                                  "    return weighted(a, b)", "J"),
    ("nst_utils/engine/start.py", "from .. import train as t\ndef step(*a):\n    return t.make_train_step(*a)",
     "hook"),
    ("nst_utils/feedforward/data.py", "from ..train import model_nn\ndef run(*a):\n    return model_nn(*a)", "hook"),
    ("nst_utils/engine/color.py", "def style_of(a):\n    return tf.matmul(a, a, transpose_a=True)", "gram"),
    ("nst_utils/measures.py", "def g(x):\n    return np.matmul(x, np.transpose(x))", "gram"),
    ("nst_utils/engine/start.py", "from ..costs import gram_matrix as product\ndef g(x):\n    return product(x)",
     "gram"),
    ("nst_utils/engine/resize.py", "def f(x):\n    if x.ndim != 4 or x.shape[-1] != 3:\n        raise ValueError(x)",
     "shape"),
    ("nst_utils/cli.py", "CHOICES = ('adam', 'lbfgs')", "optimisers"),
    ("nst_utils/sizing.py", "def big_enough(size):\n    return min(size) >= 16", "sides"),
    ("nst_utils/engine/resize.py", "SMALLEST = 8\ndef ok(w, h):\n    return max(w, h) > SMALLEST", "sides"),
])
def test_a_planted_second_copy_is_found(copy, relative, code, rule):
    assert one_of_each(copy) == EXPECTED  # the copy holds the rules before the planting
    plant(copy, relative, code)
    found = one_of_each(copy)
    assert found[rule] != EXPECTED[rule]
    assert {k: v for k, v in found.items() if k != rule} == {k: v for k, v in EXPECTED.items() if k != rule}


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
    it); Ctrl-C and SIGTERM stop a loop in one place (engine/optimize.py, the engine's loop), and end
    the command line's process in one (cli.py: one line, exit 130)."""
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
    assert bars == {"train.py"} and stops == {"engine/optimize.py", "cli.py"}


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


# --- the docs and the history ------------------------------------------------------------------------

def _tracked(*patterns):
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [ROOT / name for name in out.stdout.splitlines() if (ROOT / name).is_file()]


def test_docs_lines_fit_in_110_characters():
    long = [f"{path.relative_to(ROOT)}:{n}" for path in _tracked("*.md")
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if len(line) > 110]
    assert long == []


def test_no_issue_numbers_in_code_tests_or_docs():
    """History belongs in git log, not in the files a reader opens."""
    import re

    found = [f"{path.relative_to(ROOT)}:{n}" for path in _tracked("*.py", "*.md", "*.ipynb", "*.sh", ".ci/run")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\bissues? #?\d+|\(#\d+\)", line, re.IGNORECASE)]
    assert found == []
