"""The style cost's Gram matrix as a compiled op (nst_utils/fast/gram.py) against float64."""
import os

import numpy as np
import pytest
import tensorflow as tf

from nst_utils.engine.objective import gram as engine_gram
from nst_utils.fast import gram, native


def compiled_ops():
    ops = native.ops()
    if ops is None:
        assert os.environ.get("CI") != "true", f"CI must build the compiled ops: {native.why_not()}"
        pytest.skip(f"compiled ops unavailable: {native.why_not()}")
    return ops


@pytest.mark.parametrize("shape", [(1, 32), (5, 64), (300, 96), (4099, 64), (700, 512)])
def test_compiled_gram_is_a_transpose_a(shape):
    # rows around the op's per-thread parts and 256 KB chunks; channels around its 6-row blocks and
    # 16/32-channel panels, and the diagonal blocks of the triangle it computes
    rows, channels = shape
    a = np.random.default_rng(rows).normal(0, 3, shape).astype(np.float32)
    g = compiled_ops().nst_gram(a).numpy()
    expected = a.astype(np.float64).T @ a
    np.testing.assert_allclose(g, expected, rtol=0, atol=2e-6 * np.abs(expected).max())
    assert (g == g.T).all()


def test_compiled_gram_refuses_channels_it_cannot_take():
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiple of 32"):
        compiled_ops().nst_gram(np.ones((4, 3), np.float32))


def test_the_style_costs_gram_and_its_gradient(monkeypatch):
    # the engine's gram (compiled A^T A where it can run; the course's gram_matrix for 3 channels)
    # and its hand-written gradient against TensorFlow's matmul and its automatic gradient
    compiled_ops()
    calls = []
    compiled = native.ops().nst_gram
    monkeypatch.setattr(native.ops(), "nst_gram", lambda a: calls.append(a.shape) or compiled(a))
    for channels in (3, 64):
        a = tf.constant(np.random.default_rng(channels).normal(0, 1, (500, channels)).astype(np.float32))
        weights = tf.constant(np.random.default_rng(1).normal(0, 1, (channels, channels)).astype(np.float32))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(a)
            ours = tf.reduce_sum(weights * engine_gram(a[None, None]))
            plain = tf.reduce_sum(weights * tf.matmul(a, a, transpose_a=True))
        np.testing.assert_allclose(ours.numpy(), plain.numpy(), rtol=1e-5)
        np.testing.assert_allclose(tape.gradient(ours, a).numpy(), tape.gradient(plain, a).numpy(),
                                   rtol=1e-4, atol=1e-4)
    assert calls == [(500, 64)]  # the compiled op for 64 channels only
    assert gram.gram(tf.zeros([2, 3])).shape == (3, 3)


@pytest.mark.parametrize("shape", [(0, 64), (5, 0), (0, 3)])
def test_empty_activations_are_a_value_error(shape):
    with pytest.raises(ValueError, match="empty or negative size"):
        gram.gram(tf.zeros(shape))


def test_the_compiled_gram_refuses_empty_activations():
    # an error, not the SIGFPE of dividing by 0 channels
    for shape in ((5, 0), (0, 32)):
        with pytest.raises(tf.errors.InvalidArgumentError, match="empty dimension"):
            compiled_ops().nst_gram(np.zeros(shape, np.float32))
