"""The first two cells of every notebook: an "Open in Colab" badge and a cell that installs nst_utils
where it is missing (Colab, a fresh Jupyter) and does nothing where it is installed.

    python -m nst_utils.colab           # write or update those cells in notebooks/ (of a clone)
    python -m nst_utils.colab --check   # exit 1 if a notebook's cells differ from what this writes

Both cells are made from the constants below: to publish the course under another GitHub
repository, change GITHUB_REPOSITORY (and BRANCH), run this module, commit (docs/install.md).
The exercise notebook is made by scripts/make_exercises.py from the solution's cells, its badge
retargeted by exercise_badge().
"""
import argparse
import sys
from pathlib import Path

#: owner/name of the course's repository on GitHub; the badges and the install cells point there.
#: A placeholder until the repository is published: docs/install.md says how to change it.
GITHUB_REPOSITORY = "nst-course/nst-course"
BRANCH = "main"
#: Overrides what the install cell installs: any pip URL, e.g. file:///path/to/the.whl (tests, forks).
INSTALL_SOURCE_ENV = "NST_INSTALL_SOURCE"
BADGE_ID, INSTALL_ID = "colab-badge", "colab-install"

#: The extras each notebook needs beyond the core package (pyproject.toml).
EXTRAS = {"Fast_Style_Transfer.ipynb": "notebooks,fast"}
DEFAULT_EXTRAS = "notebooks"


def colab_url(repo_path):
    """The Colab address of a notebook of the repository, e.g. repo_path "notebooks/Extensions.ipynb"."""
    return f"https://colab.research.google.com/github/{GITHUB_REPOSITORY}/blob/{BRANCH}/{repo_path}"


def badge_source(repo_path):
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(repo_path)})")


def default_install_source():
    return f"git+https://github.com/{GITHUB_REPOSITORY}@{BRANCH}"


def install_source(name):
    """The code of the install cell of the notebook called name: silent where nst_utils is installed."""
    extras = EXTRAS.get(name, DEFAULT_EXTRAS)
    return f'''import importlib.util, os, subprocess, sys  # installs nst_utils where missing (Colab): minutes, once
if importlib.util.find_spec("nst_utils") is None:
    source = os.environ.get("{INSTALL_SOURCE_ENV}", "{default_install_source()}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"nst-utils[{extras}] @ {{source}}"], check=True)'''


def with_colab_cells(nb, name, repo_path):
    """nb with its first two cells being the badge (markdown) and the install cell (code); cells
    with those ids are updated in place, missing ones inserted at the top. Returns nb."""
    import nbformat

    wanted = [nbformat.v4.new_markdown_cell(badge_source(repo_path)),
              nbformat.v4.new_code_cell(install_source(name))]
    wanted[0]["id"], wanted[1]["id"] = BADGE_ID, INSTALL_ID
    present = {cell.get("id"): cell for cell in nb.cells[:2]}
    for position, cell in enumerate(wanted):
        if cell["id"] in present:
            present[cell["id"]]["source"] = cell["source"]
        else:
            nb.cells.insert(position, cell)
    return nb


def exercise_badge(nb, name):
    """The exercise notebook's badge points at notebooks/exercises/NAME (scripts/make_exercises.py)."""
    for cell in nb.cells[:1]:
        if cell.get("id") == BADGE_ID:
            cell["source"] = badge_source(f"notebooks/exercises/{name}")
    return nb


def main(argv=None):
    import nbformat

    from .resources import course_files

    parser = argparse.ArgumentParser(prog="python -m nst_utils.colab", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    folder = Path(course_files() / "notebooks")  # in a clone: the symlink to notebooks/
    stale = []
    for path in sorted(folder.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        nb = with_colab_cells(nbformat.reads(text, as_version=4), path.name, f"notebooks/{path.name}")
        updated = nbformat.writes(nb) + "\n"
        if updated != text:
            stale.append(path.name)
            if not args.check:
                path.write_text(updated, encoding="utf-8")
    verb = "stale" if args.check else "updated"
    print(f"{verb}: {', '.join(stale) or 'none'}"
          + ("" if args.check else " (then run python scripts/make_exercises.py)"))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
