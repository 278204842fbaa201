"""Mistakes planted in copies of the assignment notebook, shared by the grader and nbgrader tests."""


def graded_cell(nb, name):
    """The cell tagged graded:<name>."""
    return next(c for c in nb.cells if f"graded:{name}" in c.metadata.get("tags", []))


def bare_reshape(nb):
    """The classic mistake in compute_layer_style_cost: unrolling with a bare reshape to
    (n_C, n_H*n_W), which mixes channels and pixels."""
    cell = graded_cell(nb, "compute_layer_style_cost")
    before = cell.source
    cell.source = before.replace("tf.transpose(tf.reshape(a_S, [n_H * n_W, n_C]))",
                                 "tf.reshape(a_S, [n_C, n_H * n_W])").replace(
        "tf.transpose(tf.reshape(a_G, [n_H * n_W, n_C]))", "tf.reshape(a_G, [n_C, n_H * n_W])")
    assert cell.source != before
    return nb
