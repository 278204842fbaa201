"""The assignment notebook and its exercise version: one source of truth, stored outputs, freshness.

(The notebook itself is executed by nbval: `pytest` collects notebooks/*.ipynb, see pyproject.toml.)
"""
import ast
import importlib.util
import inspect
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from nst_utils import costs
from nst_utils.resources import ASSIGNMENT, GRADED_FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
NAME = ASSIGNMENT
SOLUTION = ROOT / "notebooks" / NAME
EXERCISE = ROOT / "notebooks" / "exercises" / NAME
GRADED = list(GRADED_FUNCTIONS)
IGNORE = "nbval-ignore-output"  # nbval's cell tag
#: Names a graded cell may use before START CODE HERE only as given by the course, never as input checks.
INPUT_CHECKS = ("check_activations", "check_style_layers", "convert_to_tensor", "check_image")


def _load_script():
    spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "scripts" / "make_exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def solution():
    return nbformat.read(str(SOLUTION), as_version=4)


@pytest.fixture(scope="module")
def exercise():
    return nbformat.read(str(EXERCISE), as_version=4)


def _tagged(nb, prefix):
    found = {}
    for cell in nb.cells:
        for tag in cell.metadata.get("tags", []):
            if tag.startswith(prefix):
                found[tag[len(prefix):]] = cell
    return found


def _function_def(source, name):
    """The ast.FunctionDef of ``name`` in ``source`` (IPython magics aside, cells are plain Python)."""
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise AssertionError(f"no function {name} in:\n{source}")


def _package_function_def(name):
    """The package's function without its input checks (they stay in the package, out of the cell)."""
    node = _function_def(inspect.getsource(getattr(costs, name)), name)
    node.body = [stmt for stmt in node.body
                 if not any(check in ast.unparse(stmt) for check in INPUT_CHECKS) or isinstance(stmt, ast.For)]
    return node


def test_six_graded_exercises_each_with_a_test_cell(solution, exercise):
    for nb in (solution, exercise):
        graded, tests = _tagged(nb, "graded:"), _tagged(nb, "test:")
        assert list(graded) == GRADED and list(tests) == GRADED
        order = {id(c): i for i, c in enumerate(nb.cells)}
        for name in GRADED:
            assert order[id(tests[name])] > order[id(graded[name])], f"{name}: test cell before graded cell"
            assert tests[name].source.startswith("### you cannot edit this cell")
            assert tests[name].metadata.get("editable") is False


@pytest.mark.parametrize("name", [n for n in GRADED if n != "train_step"])
def test_solution_equals_the_package(solution, name):
    """Same code as the package (ast: comments and formatting aside); a fix lands in the package and
    this test says which notebook cell to update."""
    cell = _tagged(solution, "graded:")[name]
    notebook = ast.dump(_function_def(cell.source, name), include_attributes=False)
    package = ast.dump(_package_function_def(name), include_attributes=False)
    assert notebook == package, (
        f"the notebook's {name} differs from the package's: copy the package's version into the cell "
        f"tagged graded:{name} (keeping the START/END CODE HERE markers), then run "
        "python scripts/make_exercises.py --execute")


def test_solution_train_step_behaves_as_the_package(solution, vgg19_standin, small_images):
    """train_step is the course's tape around the package's costs; the package's make_train_step
    computes the same costs through make_cost_function (shared with L-BFGS and the options), so the two
    are compared by behaviour: same costs and the same updated image from the same start."""
    import keras
    import numpy as np
    import tensorflow as tf

    from nst_utils import (CONTENT_LAYER, STYLE_LAYERS, compute_content_cost, compute_style_cost,
                           generate_noise_image, total_cost)
    from nst_utils.train import make_train_step

    content, style = small_images
    a_C, a_S = vgg19_standin(content)[CONTENT_LAYER], vgg19_standin(style)
    start = generate_noise_image(content, seed=0)
    results = []
    for which in ("notebook", "package"):
        optimizer = keras.optimizers.Adam(2.0)
        if which == "notebook":
            namespace = dict(tf=tf, model=vgg19_standin, a_C=a_C, a_S=a_S, optimizer=optimizer, alpha=10,
                             beta=40, content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS,
                             compute_content_cost=compute_content_cost,
                             compute_style_cost=compute_style_cost, total_cost=total_cost)
            source = _tagged(solution, "graded:")["train_step"].source
            exec(compile(textwrap.dedent(source), "train_step cell", "exec"), namespace)
            step = namespace["train_step"]
        else:
            step = make_train_step(vgg19_standin, a_C, a_S, optimizer)
        image = tf.Variable(start)
        costs_ = [[float(v) for v in step(image)] for _ in range(3)]
        results.append((np.array(costs_), image.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-4, atol=1e-2)


def test_exercise_notebook_is_up_to_date():
    script = _load_script()
    generated = script.render(script.make_exercise(nbformat.read(str(SOLUTION), as_version=4)))
    assert EXERCISE.read_text(encoding="utf-8") == generated, (
        "notebooks/exercises/ is stale: run python scripts/make_exercises.py")


def test_generator_is_deterministic(tmp_path):
    script = _load_script()
    outputs = []
    for i in range(2):
        out = tmp_path / f"{i}.ipynb"
        assert script.main(["--output", str(out)]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == EXERCISE.read_bytes()
    assert script.main(["--check", "--output", str(tmp_path / "0.ipynb")]) == 0
    (tmp_path / "0.ipynb").write_bytes(outputs[0].replace(b"All tests passed", b"All tests passed!"))
    assert script.main(["--check", "--output", str(tmp_path / "0.ipynb")]) == 1


def test_exercise_differs_only_in_the_code_regions_and_expected_outputs(solution, exercise):
    cells = [c for c in exercise.cells if not c.id.startswith("expected-")]
    assert len(solution.cells) == len(cells)
    for sol, ex in zip(solution.cells, cells):
        assert (sol.id, sol.cell_type, sol.metadata) == (ex.id, ex.cell_type, ex.metadata)
        name = next((t[len("graded:"):] for t in sol.metadata.get("tags", []) if t.startswith("graded:")),
                    None)
        if sol.id == "colab-badge":  # each opens itself in Colab (nst_utils.colab, tests/test_install.py)
            assert ex.source == sol.source.replace(f"/notebooks/{NAME}", f"/notebooks/exercises/{NAME}")
            continue
        if name is None:
            assert sol.source == ex.source
            assert ex.get("outputs", []) in ([], sol.get("outputs", []))  # kept, or shipped without
            continue
        sol_lines, ex_lines = sol.source.split("\n"), ex.source.split("\n")
        start = sol_lines.index(next(l for l in sol_lines if l.strip() == "### START CODE HERE ###"))
        end = sol_lines.index(next(l for l in sol_lines if l.strip() == "### END CODE HERE ###"))
        ex_start = ex_lines.index(sol_lines[start])
        ex_end = ex_lines.index(sol_lines[end])
        assert sol_lines[:start + 1] == ex_lines[:ex_start + 1] and sol_lines[end:] == ex_lines[ex_end:]
        region = [l.strip() for l in ex_lines[ex_start + 1:ex_end] if l.strip()]
        code = [l for l in region if not l.startswith("#")]
        assert code and all(l.endswith("None") for l in code), (name, code)
        # the comment just before each group of placeholders says how many lines to write
        hints = [l for l, nxt in zip(region, region[1:]) if l.startswith("#") and not nxt.startswith("#")]
        assert hints and all(l.endswith(("line)", "lines)")) for l in hints), (name, hints)


def _printed_lines(cell):
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    return [line for line in text.splitlines() if line.strip()]


def test_expected_output_blocks_carry_the_solutions_checked_output(solution, exercise):
    """Under each test cell of the exercise: an Expected output block with exactly the lines the
    solution's test cell prints (its stored output, which nbval checks); the test cells themselves,
    and the cells that run the learner's code, store nothing."""
    solution_tests = _tagged(solution, "test:")
    cells = exercise.cells
    for k, cell in enumerate(cells):
        name = next((t[len("test:"):] for t in cell.metadata.get("tags", []) if t.startswith("test:")), None)
        if name is None:
            continue
        assert cell.outputs == [] and cell.execution_count is None, name
        block = cells[k + 1]
        assert block.cell_type == "markdown" and block.source.startswith("**Expected output**"), name
        fenced = block.source.split("```text\n", 1)[1].rsplit("\n```", 1)[0]
        want = _printed_lines(solution_tests[name])
        assert want and want[-1] == "All tests passed" and fenced.splitlines() == want, name
    assert "All tests passed" not in "".join(str(c.get("outputs", "")) for c in cells)
    for cell in cells:
        if cell.cell_type == "code" and any(f"{name}(" in cell.source for name in GRADED):
            assert cell.outputs == [], cell.id


def test_learner_sees_no_tooling(solution, exercise):
    """No nbval comment markers, a short install cell, no input checks before START CODE HERE."""
    for path in NOTEBOOKS + [EXERCISE]:
        for cell in nbformat.read(str(path), as_version=4).cells:
            assert "NBVAL" not in cell.source, (path.name, cell.get("id"))
    install = exercise.cells[1]
    assert install.id == "colab-install" and len(install.source.splitlines()) <= 4
    for nb in (solution, exercise):
        for name, cell in _tagged(nb, "graded:").items():
            before = cell.source.split("### START CODE HERE ###")[0]
            assert not any(check in before for check in INPUT_CHECKS), (name, before)
    code = "".join(c.source for c in exercise.cells if c.cell_type == "code")
    assert "capped_iterations" not in code and "for i in loop:" in code


def test_table_of_contents_links_to_headings_own_anchors(solution):
    """JupyterLab and Colab give a heading the id of its text with spaces as '-'; <a name> is sanitised."""
    headings = {line.lstrip("#").strip().replace(" ", "-") for c in solution.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("#")}
    toc = next(c for c in solution.cells if c.id == "toc").source
    targets = [re.fullmatch(r"\s*- \[.*\]\(#(.*)\)", line).group(1) for line in toc.splitlines()[2:]]
    assert len(targets) == 20 and all(t in headings for t in targets), set(targets) - headings
    assert "<a name=" not in nbformat.writes(solution)


def test_placeholders_and_line_counts():
    script = _load_script()
    source = ("def f(a):\n"
              "    x = 1\n"
              "    ### START CODE HERE ###\n"
              "    # first\n"
              "    # step\n"
              "    y, z = g(a,\n"
              "             a)\n"
              "    y += z\n"
              "    # then\n"
              "    return y * z\n"
              "    ### END CODE HERE ###\n")
    assert script.blank_cell_source(source) == (
        "def f(a):\n"
        "    x = 1\n"
        "    ### START CODE HERE ###\n"
        "    # first\n"
        "    # step (≈2 lines)\n"
        "    y, z = None\n"
        "    y += None\n"
        "    # then (≈1 line)\n"
        "    return None\n"
        "    ### END CODE HERE ###\n")
    with pytest.raises(ValueError, match="START CODE HERE"):
        script.blank_cell_source("def f():\n    return 1\n")


def _images(cell):
    return [o for o in cell.outputs if any(k.startswith("image/") for k in o.get("data", {}))]


def test_stored_outputs_show_the_expected_result(solution):
    """The stored solution shows what the course shows: the C + S = G figure, the costs every 20 of
    the 200 iterations, the progress images, the cost curve and the final image (captioned with the
    network), and section 5's result."""
    cells = {c.get("id"): c for c in solution.cells}
    assert _images(cells["problem-figure"])
    printed = "".join(o.get("text", "") for o in cells["train"].outputs)
    assert [f"Iteration {i}: J = " in printed for i in range(0, 200, 20)] == [True] * 10, printed
    assert len(_images(cells["progress"])) == 3
    assert "Made with vgg16-hed, 400x300, 200 iterations." in "".join(o.get("text", "") for o in cells["progress"].outputs)
    assert _images(cells["own-image"])
    assert "Network: vgg16-hed" in "".join(o.get("text", "") for o in cells["network"].outputs)


def test_stored_outputs(solution):
    code = [c for c in solution.cells if c.cell_type == "code"]
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", f"cell {cell.id} stores an error"
            assert out.get("name") != "stderr", f"cell {cell.id} stores stderr: {out.get('text')}"
    for name, cell in _tagged(solution, "test:").items():
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.rstrip().endswith("All tests passed"), name
    # every cell that prints or shows something weight- or machine-dependent is marked
    for cell in code:
        if any(k in cell.source for k in ("train_step(", "model_nn(", "a_G = model(")) and \
                "graded:train_step" not in cell.metadata.get("tags", []) and \
                "test:train_step" not in cell.metadata.get("tags", []):
            assert IGNORE in cell.metadata.get("tags", []), cell.id


def test_no_course_assets_referenced(solution):
    text = nbformat.writes(solution)
    assert "shared/assets" not in text and "NST_LOSS" not in text


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_markers_are_tags_nbval_recognises(path):
    """nbval reads its markers from the cells' tags (nbval-ignore-output, nbval-skip, ...)."""
    from nbval.plugin import find_metadata_tags

    tagged = [dict(find_metadata_tags(c.metadata)) for c in nbformat.read(str(path), as_version=4).cells
              if "nbval-ignore-output" in c.metadata.get("tags", [])]
    assert tagged and all(t.get("check") is False for t in tagged), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_store_no_errors_and_stay_small(path):
    """Stored outputs are what a learner compares against: no tracebacks, no stderr noise, and a
    file size that a clone and a browser handle (pictures are stored as JPEG where there are many)."""
    assert path.stat().st_size < 3_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"
    for cell in nbformat.read(str(path), as_version=4).cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{path.name}: cell {cell.id} stores an error"
            assert out.get("name") != "stderr", f"{path.name}: cell {cell.id} stores stderr: {out.get('text')}"
