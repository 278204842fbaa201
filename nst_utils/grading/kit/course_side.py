"""What the kernel-side modules take from the course: the layer lists, CONFIG, the input checks the
graded functions call, and ``reference(name)``, the reference function an exercise's public test
puts in place of an earlier exercise's function.

This is the package's version. A grading kernel gets a generated one instead (kitfiles.py:
course_side_source): the same names, as data and plain code, with ``reference`` limited to the
helpers the grader hands over with ``add_helpers`` for the exercise under test.
"""
from ...config import CONFIG, CONTENT_LAYER, STYLE_LAYERS  # noqa: F401 -- re-exported
from ...costs import check_activations, check_shapes, check_style_layers  # noqa: F401 -- re-exported


def reference(name):
    """The package's reference function ``name`` (e.g. "gram_matrix")."""
    from ... import costs

    return getattr(costs, name)
