"""Where the grader finds its reference notebook (test cells, expected outputs) by default."""
from ..config import REPO_ROOT

NOTEBOOK_NAME = "Art_Generation_with_Neural_Style_Transfer.ipynb"


def default_reference_path():
    """The committed exercise notebook: its test cells and their stored expected outputs."""
    return REPO_ROOT / "notebooks" / "exercises" / NOTEBOOK_NAME
