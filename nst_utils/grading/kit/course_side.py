"""What the kit takes from the course: layer lists, CONFIG, the input checks, and ``reference(name)``
(the reference that stands in for an earlier exercise's function). A grading kernel gets a generated
version instead (kitfiles.course_side_source).
"""
from ...config import CONFIG, CONTENT_LAYER, STYLE_LAYERS  # noqa: F401 -- re-exported
from ...costs import check_activations, check_shapes, check_style_layers  # noqa: F401 -- re-exported


def reference(name):
    """The package's reference function ``name`` (e.g. "gram_matrix")."""
    from ... import costs

    return getattr(costs, name)
