"""The package without the repository around it: package data (nst_utils.resources), the course
written for a learner (python -m nst_utils.course), the notebooks' Colab cells (nst_utils.colab) and
where the VGG19 weights are looked for (config.local_weights_path).

The wheel itself (built from a clean clone, installed in a fresh virtualenv, used from a folder
outside the clone) is checked by .ci/wheel_check.sh, which CI runs after these tests (on the oldest declared versions).
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nst_utils import colab, course, resources
from nst_utils.resources import ASSIGNMENT
from nst_utils.config import CONFIG, VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_MD5, VGG19_WEIGHTS_URL, local_weights_path

ROOT = Path(__file__).resolve().parent.parent
NAME = ASSIGNMENT
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


# --- package data -----------------------------------------------------------------------------------


def test_course_files_are_symlinks_to_the_one_copy():
    """The repository's images/ and notebooks/ are the one copy; the package reaches them by symlink."""
    for name in ("images", "notebooks"):
        link = ROOT / "nst_utils" / "course_files" / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve()


def test_every_shipped_file_is_read_through_the_package():
    for name in resources.IMAGES:
        assert resources.read_bytes("images", name) == (ROOT / "images" / name).read_bytes()
    assert set(resources.IMAGES) == {p.name for p in (ROOT / "images").iterdir()}
    assert set(NOTEBOOKS) == {resources.ASSIGNMENT, *resources.OTHER_NOTEBOOKS}
    for name in NOTEBOOKS:
        assert resources.notebook(name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    assert (resources.notebook(NAME, exercise=True).read_bytes()
            == (ROOT / "notebooks" / "exercises" / NAME).read_bytes())


def test_package_data_globs_cover_the_shipped_files():
    """pyproject's package-data patterns take every file resources names (the wheel's contents are
    listed by .ci/wheel_check.sh)."""
    import fnmatch

    try:
        import tomllib
    except ImportError:  # Python 3.10 (the wheel check's oldest run installs tomli for it)
        import tomli as tomllib
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["nst_utils"]
    shipped = [f"course_files/images/{n}" for n in resources.IMAGES]
    shipped += [f"course_files/notebooks/{n}" for n in NOTEBOOKS]
    shipped += [f"course_files/notebooks/exercises/{NAME}"]
    for path in shipped:
        assert any(fnmatch.fnmatch(path, p) and p.count("/") == path.count("/") for p in patterns), path


def test_config_paths_are_package_data_not_the_repository():
    package = Path(importlib.util.find_spec("nst_utils").origin).parent
    for path in (CONFIG.CONTENT_IMAGE, CONFIG.STYLE_IMAGE):
        assert isinstance(path, str) and Path(path).is_file()
        assert Path(path).parent == package / "course_files" / "images"
    assert not hasattr(__import__("nst_utils.config").config, "REPO_ROOT")


def test_a_missing_shipped_file_says_what_to_do():
    with pytest.raises(FileNotFoundError, match="reinstall"):
        resources.example_image("no_such_picture.png")


def test_grader_default_reference_is_the_shipped_exercise():
    from nst_utils.grading import grader
    from nst_utils.grading.reference import default_reference_path

    shipped = default_reference_path()
    assert Path(shipped).read_bytes() == (ROOT / "notebooks" / "exercises" / NAME).read_bytes()
    assert Path(shipped).is_relative_to(ROOT / "nst_utils" / "course_files")
    assert grader.parse_args(["x.ipynb"]).reference == str(shipped)


# --- the VGG19 weights' folder -------------------------------------------------------------------------


def test_weights_found_in_the_nearest_pretrained_model_folder(tmp_path):
    (tmp_path / "pretrained_model").mkdir()
    weights = tmp_path / "pretrained_model" / VGG19_WEIGHTS_FILE
    inner = tmp_path / "solution"
    inner.mkdir()
    # none yet: the place to put it, in the start folder
    assert local_weights_path(inner) == inner / "pretrained_model" / VGG19_WEIGHTS_FILE
    weights.write_bytes(b"x")
    assert local_weights_path(inner) == weights  # from a course's solution/, or a clone's notebooks/
    assert local_weights_path(tmp_path) == weights


# --- python -m nst_utils.course DEST ---------------------------------------------------------------------

EXPECTED = {  # relative path in DEST -> the repository file it is a copy of
    NAME: "notebooks/exercises/" + NAME,
    "solution/" + NAME: "notebooks/" + NAME,
    **{name: "notebooks/" + name for name in NOTEBOOKS if name != NAME},
    **{"images/" + p.name: "images/" + p.name for p in (ROOT / "images").iterdir()},
    "pretrained_model/README.md": None,  # written by the package: where the VGG19 weights go
}


def files_under(folder):
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def run_course(*args):
    return subprocess.run([sys.executable, "-m", "nst_utils.course", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_course_writes_the_learners_folder(tmp_path):
    dest = tmp_path / "my course"
    done = run_course(dest)
    assert done.returncode == 0, done.stderr
    assert files_under(dest) == set(EXPECTED)
    for relative, source in EXPECTED.items():
        if source is not None:
            assert (dest / relative).read_bytes() == (ROOT / source).read_bytes(), relative
        assert f"written    {dest / relative}" in done.stdout
    readme = (dest / "pretrained_model" / "README.md").read_text()
    for fact in (VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_URL, VGG19_WEIGHTS_MD5, "80,134,624 bytes"):
        assert fact in readme
    assert f"{len(EXPECTED)} file(s) written" in done.stdout
    # the learner's notebook is the exercise: its graded cells are unsolved
    exercise = nbformat.read(dest / NAME, as_version=4)
    assert "### START CODE HERE ###" in "".join(c.source for c in exercise.cells)
    assert "= None" in next(c.source for c in exercise.cells if "graded:compute_content_cost"
                            in c.metadata.get("tags", []))


def test_course_never_overwrites_a_learners_file_without_force(tmp_path):
    assert run_course(tmp_path).returncode == 0
    work = tmp_path / NAME
    work.write_text("my answers", encoding="utf-8")
    (tmp_path / "images" / "chelsea.png").unlink()  # a deleted file is written again, even without --force

    again = run_course(tmp_path)
    assert again.returncode == 1
    assert str(work) in again.stderr and "--force" in again.stderr and "Nothing was written" in again.stderr
    assert work.read_text(encoding="utf-8") == "my answers"
    assert not (tmp_path / "images" / "chelsea.png").exists()  # all or nothing

    forced = run_course(tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert work.read_bytes() == (ROOT / "notebooks" / "exercises" / NAME).read_bytes()
    assert f"replaced   {work}" in forced.stdout and f"written    {tmp_path / 'images' / 'chelsea.png'}" in forced.stdout
    assert f"unchanged  {tmp_path / 'solution' / NAME}" in forced.stdout


def test_course_up_to_date_is_not_an_error(tmp_path):
    assert run_course(tmp_path).returncode == 0
    again = run_course(tmp_path)
    assert again.returncode == 0 and f"0 file(s) written into {tmp_path}, {len(EXPECTED)} already up to date" in again.stdout


def test_course_into_a_file_is_refused(tmp_path):
    (tmp_path / "dest").write_text("")
    done = run_course(tmp_path / "dest")
    assert done.returncode == 2 and "is a file" in done.stderr and "Traceback" not in done.stderr


# --- Colab cells -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*(f"notebooks/{n}" for n in NOTEBOOKS), f"notebooks/exercises/{NAME}"])
def test_every_notebook_opens_with_its_badge_and_install_cell(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    badge, install = nb.cells[:2]
    assert badge.cell_type == "markdown" and badge.id == colab.BADGE_ID
    url = f"https://colab.research.google.com/github/{colab.GITHUB_REPOSITORY}/blob/{colab.BRANCH}/{path}"
    assert f"]({url})" in badge.source
    assert install.cell_type == "code" and install.id == colab.INSTALL_ID and install.outputs == []
    assert install.source == colab.install_source(Path(path).name)


def test_colab_check_passes_on_the_committed_notebooks():
    assert colab.main(["--check"]) == 0


def run_install_cell(source, monkeypatch, importable):
    """Execute the cell's code with find_spec and subprocess.run watched: the pip commands it ran."""
    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (real_find_spec(name, *a) if importable or name != "nst_utils" else None))
    monkeypatch.setattr(subprocess, "run", lambda argv, **kw: calls.append(argv))
    exec(compile(source, "<install cell>", "exec"), {})
    return calls


def test_install_cell_does_nothing_where_nst_utils_is_installed(monkeypatch, capsys):
    for name in NOTEBOOKS:
        assert run_install_cell(colab.install_source(name), monkeypatch, importable=True) == []
    assert capsys.readouterr().out == ""  # nbval compares it with the stored (empty) output


def test_install_cell_installs_from_github_or_the_given_source(monkeypatch, tmp_path):
    monkeypatch.delenv(colab.INSTALL_SOURCE_ENV, raising=False)
    source = colab.install_source("Extensions.ipynb")
    assert len(source.splitlines()) <= 4
    calls = run_install_cell(source, monkeypatch, importable=False)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q",
                      f"nst-utils[notebooks] @ git+https://github.com/{colab.GITHUB_REPOSITORY}@{colab.BRANCH}"]]

    wheel = (tmp_path / "nst_utils-0.1.0-py3-none-any.whl").as_uri()
    monkeypatch.setenv(colab.INSTALL_SOURCE_ENV, wheel)
    calls = run_install_cell(colab.install_source("Fast_Style_Transfer.ipynb"), monkeypatch, importable=False)
    assert calls[0][-1] == f"nst-utils[notebooks,fast] @ {wheel}"


def test_install_cell_runs_where_nst_utils_is_installed():
    """The real cell, in a fresh interpreter with this environment: no output, exit 0, no pip run
    (NST_INSTALL_SOURCE names a missing file, which pip would fail on)."""
    import os

    env = {**os.environ, colab.INSTALL_SOURCE_ENV: "file:///nonexistent/nst_utils.whl"}
    done = subprocess.run([sys.executable, "-c", colab.install_source(NAME)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_grader_without_its_extra_says_what_to_install():
    """Installed without the extra "grade", the grader names the missing package and the pip command."""
    hide = ("import runpy, sys; sys.modules['nbformat'] = None; "  # as if nbformat were not installed
            "runpy.run_module('nst_utils.grade', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", hide, "x.ipynb"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the grader needs nbformat: pip install 'nst-utils[grade]'" in done.stderr


def test_nbgrader_notebook_badge_opens_the_exercise():
    """The students of an nbgrader course get the exercise in Colab, not the solution."""
    from nst_utils.grading.nbgrader import make_nbgrader_notebook

    nb = make_nbgrader_notebook(nbformat.read(ROOT / "notebooks" / NAME, as_version=4))
    assert f"/blob/{colab.BRANCH}/notebooks/exercises/{NAME})" in nb.cells[0].source


# --- the learner's own pictures (section 5) ----------------------------------------------------------------


def test_own_pictures_found_beside_the_notebook_or_in_its_images_folder(tmp_path, monkeypatch):
    """As from a notebook in a course folder (python -m nst_utils.course DEST) or a clone's notebooks/:
    a name is looked for beside it, then in its images/, then among the course's examples."""
    from PIL import Image

    from nst_utils import load_image

    monkeypatch.chdir(tmp_path)
    (tmp_path / "images").mkdir()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(tmp_path / "beside.png")
    Image.new("RGB", (64, 48), (10, 200, 10)).save(tmp_path / "images" / "inside.png")
    Image.new("RGB", (64, 48), (10, 10, 200)).save(tmp_path / "images" / "mosaic.png")  # the learner's own
    assert load_image("beside.png")[0, 0].tolist() == [200, 10, 10]
    assert load_image("inside.png")[0, 0].tolist() == [10, 200, 10]
    assert load_image("images/inside.png")[0, 0].tolist() == [10, 200, 10]
    assert load_image("mosaic.png")[0, 0].tolist() == [10, 10, 200]  # the learner's, not the example
    assert load_image("chelsea.png").shape == load_image(CONFIG.CONTENT_IMAGE).shape  # the example
    with pytest.raises(FileNotFoundError) as err:
        load_image("my_photo.jpg")
    assert str(tmp_path) in str(err.value) and str(tmp_path / "images") in str(err.value)


def test_fallback_notice_says_how_to_get_vgg19(monkeypatch, capsys):
    """Without VGG19 the notebook's network cell names the download address, the md5 and the place."""
    from nst_utils import weights

    def missing(path=None):
        raise weights.WeightsNotFoundError("offline")

    monkeypatch.setattr(weights, "find_vgg19_weights", missing)
    assert weights.pick_backbone() == "vgg16-hed"
    out = capsys.readouterr().out
    assert VGG19_WEIGHTS_URL in out and VGG19_WEIGHTS_MD5 in out and CONFIG.VGG_MODEL in out
