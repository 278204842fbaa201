"""Where the grader finds its reference notebook (test cells, expected outputs) by default."""
from ..resources import ASSIGNMENT, course_files


def default_reference_path():
    """The exercise notebook shipped with the package (nst_utils.resources: in a wheel as in a
    clone): its test cells and their stored expected outputs."""
    return course_files() / "notebooks" / "exercises" / ASSIGNMENT
