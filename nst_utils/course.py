"""``python -m nst_utils.course DEST [--force]``: write the course for a learner into the folder DEST.

DEST gets the notebooks and example images shipped with the package (nst_utils.resources):

    DEST/Art_Generation_with_Neural_Style_Transfer.ipynb           the assignment, exercises unsolved
    DEST/Extensions.ipynb, Fast_Style_Transfer.ipynb, Reconstructions.ipynb
    DEST/images/brushstrokes.png, chelsea.png, mosaic.png, nst_example.jpg, README.md
    DEST/solution/Art_Generation_with_Neural_Style_Transfer.ipynb  the assignment, solved
    DEST/pretrained_model/README.md   where the VGG19 weights go, where they come from, their md5

A file that already exists with other contents is a learner's work: nothing is written unless
--force is given. Exit status: 0 written (or already up to date), 1 refused (files would be
overwritten; nothing written), 2 bad arguments or DEST unusable.
"""
import argparse
import sys
from pathlib import Path

from .resources import ASSIGNMENT, IMAGES, OTHER_NOTEBOOKS, read_bytes
from .weights import weights_readme

EXIT_DONE, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2


def course_layout():
    """[(path relative to DEST, parts of the shipped file under course_files/ or the bytes to write)],
    in writing order."""
    layout = [(Path(ASSIGNMENT), ("notebooks", "exercises", ASSIGNMENT))]
    layout += [(Path(name), ("notebooks", name)) for name in OTHER_NOTEBOOKS]
    layout += [(Path("images") / name, ("images", name)) for name in IMAGES]
    layout.append((Path("solution") / ASSIGNMENT, ("notebooks", ASSIGNMENT)))
    layout.append((Path("pretrained_model") / "README.md", weights_readme().encode()))
    return layout


class WouldOverwrite(Exception):
    """Files in DEST differ from the course's and --force was not given; .paths lists them."""

    def __init__(self, paths):
        self.paths = paths
        names = "\n".join(f"  {p}" for p in paths)
        super().__init__(f"{len(paths)} file(s) in the way, with contents of their own (a learner's work?):\n"
                         f"{names}\nNothing was written. Move them away, choose another folder, or "
                         "pass --force to replace them with the course's.")


def write_course(dest, force=False):
    """Write the course into dest (created if missing); [(path, what)] with what in "written",
    "replaced", "unchanged". Raises WouldOverwrite, before writing anything, if a file exists with
    other contents and force is false; NotADirectoryError if dest or a folder it needs is a file."""
    dest = Path(dest)
    plan = []
    for relative, parts in course_layout():
        target, data = dest / relative, parts if isinstance(parts, bytes) else read_bytes(*parts)
        for folder in [dest, *(dest / parent for parent in reversed(relative.parents[:-1]))]:
            if folder.exists() and not folder.is_dir():
                raise NotADirectoryError(f"'{folder}' is a file; the course needs a folder there.")
        if target.is_dir():
            raise IsADirectoryError(f"'{target}' is a folder; the course writes a file there. Move it away.")
        if not target.exists():
            plan.append((target, data, "written"))
        elif target.read_bytes() == data:
            plan.append((target, data, "unchanged"))
        else:
            plan.append((target, data, "replaced"))
    in_the_way = [target for target, _, what in plan if what == "replaced"]
    if in_the_way and not force:
        raise WouldOverwrite(in_the_way)
    for target, data, what in plan:
        if what != "unchanged":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return [(target, what) for target, _, what in plan]


def main(argv=None):
    """Run the command line; returns the exit status (see this module's doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m nst_utils.course",
        description="Write the course into DEST: the assignment's exercise notebook, its solution "
                    "(in solution/), the other notebooks and the example images (in images/).")
    parser.add_argument("dest", metavar="DEST", help="folder to write into (created if missing)")
    parser.add_argument("--force", action="store_true",
                        help="replace files in DEST whose contents differ from the course's")
    args = parser.parse_args(argv)
    try:
        done = write_course(args.dest, force=args.force)
    except WouldOverwrite as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path, what in done:
        print(f"{what:9}  {path}")
    written = sum(what != "unchanged" for _, what in done)
    print(f"{written} file(s) written into {args.dest}, {len(done) - written} already up to date. "
          f"Open {Path(args.dest) / ASSIGNMENT} in Jupyter to start.")
    return EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())
