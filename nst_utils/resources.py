"""The files that ship inside the package: the example images and the course's notebooks.

Their one copy lives at the top of the repository (``images/``, ``notebooks/``); the package reaches
them as ``nst_utils/course_files/images`` and ``nst_utils/course_files/notebooks``, two committed
symlinks that building the wheel or the sdist replaces by copies of the files. Everything in the
package reads them through the functions below (importlib.resources), never through a path to the
repository, so they are found the same way in a clone, an editable install and an installed wheel.

Paths returned are real files on disk (``str`` or ``pathlib.Path``): the course passes them to
Pillow and IPython, which need one. From a zipped package they are extracted once per process.
"""
import atexit
import contextlib
from importlib import resources
from pathlib import Path

#: The assignment's notebook: the solution in notebooks/, the learner's copy in notebooks/exercises/.
ASSIGNMENT = "Art_Generation_with_Neural_Style_Transfer.ipynb"
#: The functions the assignment's learner writes, graded in this order.
GRADED_FUNCTIONS = ("compute_content_cost", "gram_matrix", "compute_layer_style_cost", "compute_style_cost",
                    "total_cost", "train_step")
#: The notebooks beyond the assignment, in notebooks/.
OTHER_NOTEBOOKS = ("Extensions.ipynb", "Fast_Style_Transfer.ipynb", "Reconstructions.ipynb")
#: The example images (and images/README.md, their sources and licences).
IMAGES = ("brushstrokes.png", "chelsea.png", "mosaic.png", "nst_example.jpg", "README.md")

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def course_files():
    """The Traversable of the package's course_files/ folder (images/ and notebooks/ inside)."""
    return resources.files(__package__) / "course_files"


def on_disk(traversable):
    """A pathlib.Path of the file: itself when installed as files (a wheel, a clone), else a copy
    extracted for the rest of the process (a zipped package)."""
    if isinstance(traversable, Path):
        return traversable
    return _extracted.enter_context(resources.as_file(traversable))


def _shipped(*parts):
    item = course_files().joinpath(*parts)
    if not item.is_file():
        raise FileNotFoundError(
            f"'{'/'.join(parts)}' is not among the files shipped with nst_utils (course_files/). "
            "The install is incomplete: reinstall the package (pip install --force-reinstall nst-utils), "
            "or in a clone check that nst_utils/course_files/ holds the symlinks to images/ and notebooks/.")
    return item


def example_image(name):
    """Path (str) of a shipped example image, e.g. example_image("chelsea.png")."""
    return str(on_disk(_shipped("images", name)))


def images_folder():
    """pathlib.Path of a folder that holds the shipped example images (IMAGES)."""
    return Path(example_image(IMAGES[0])).parent


def notebook(name=ASSIGNMENT, exercise=False):
    """pathlib.Path of a shipped notebook: notebooks/NAME, or notebooks/exercises/NAME (the learner's
    copy of the assignment, also the grader's reference) with exercise=True."""
    parts = ("notebooks", "exercises", name) if exercise else ("notebooks", name)
    return on_disk(_shipped(*parts))


def read_bytes(*parts):
    """The bytes of a shipped file, e.g. read_bytes("images", "chelsea.png")."""
    return _shipped(*parts).read_bytes()


def package_file(*parts):
    """pathlib.Path of a data file of the package, e.g. package_file("feedforward", "models", "a.npz")."""
    return on_disk(resources.files(__package__).joinpath(*parts))
