"""The cost functions: hand-computed cases, the course's seeded cases, NumPy cross-checks."""
import numpy as np
import pytest
import tensorflow as tf

from conftest import np_gram
from nst_utils import (STYLE_LAYERS, compute_content_cost, compute_layer_style_cost,
                       compute_style_cost, gram_matrix, total_cost)


def np_content_cost(a_C, a_G):
    a_C, a_G = np.asarray(a_C, np.float64), np.asarray(a_G, np.float64)
    _, h, w, c = a_G.shape
    return ((a_C - a_G) ** 2).sum() / (4 * h * w * c)


def np_layer_style_cost(a_S, a_G):
    _, h, w, c = np.asarray(a_G).shape
    return ((np_gram(a_S) - np_gram(a_G)) ** 2).sum() / (4 * c**2 * (h * w) ** 2)


# ---- hand-computed cases -------------------------------------------------------------------------

def test_content_cost_by_hand():
    a_C = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
    a_G = np.zeros((1, 1, 2, 2))
    # (1 + 4 + 9 + 16) / (4 * 1 * 2 * 2) = 30 / 16
    assert compute_content_cost(a_C, a_G).numpy() == pytest.approx(1.875)


def test_gram_matrix_by_hand():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    # [[1*1+2*2, 1*3+2*4], [3*1+4*2, 3*3+4*4]]
    np.testing.assert_allclose(gram_matrix(A).numpy(), [[5.0, 11.0], [11.0, 25.0]])


def test_layer_style_cost_by_hand_unrolls_channels():
    # one row, two pixels, two channels: pixel 1 = (1, 0), pixel 2 = (0, 2)
    a_S = np.array([[[[1.0, 0.0], [0.0, 2.0]]]])
    a_G = np.zeros_like(a_S)
    # unrolled S = [[1, 0], [0, 2]] (channels x pixels) -> G_S = [[1, 0], [0, 4]]
    # cost = (1 + 16) / (4 * 2^2 * 2^2) = 17 / 64
    assert compute_layer_style_cost(a_S, a_G).numpy() == pytest.approx(17 / 64)
    # a bare reshape to (n_C, n_H*n_W) would give rows (1, 0), (0, 2) too here; use a case where it differs:
    a_S = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])  # pixels (1,2), (3,4); channels c0=(1,3), c1=(2,4)
    # G_S = [[1+9, 2+12], [2+12, 4+16]] = [[10, 14], [14, 20]] -> (100 + 196*2 + 400) / 64
    assert compute_layer_style_cost(a_S, a_G).numpy() == pytest.approx(892 / 64)


def test_total_cost_by_hand():
    assert total_cost(1.0, 2.0).numpy() == pytest.approx(10 * 1 + 40 * 2)
    assert total_cost(1.0, 2.0, alpha=1, beta=0.5).numpy() == pytest.approx(2.0)


# ---- the course's seeded cases -------------------------------------------------------------------

def test_content_cost_course_value():
    tf.random.set_seed(1)
    a_C = tf.random.normal([1, 1, 4, 4, 3], mean=1, stddev=4)
    a_G = tf.random.normal([1, 1, 4, 4, 3], mean=1, stddev=4)
    J = compute_content_cost(a_C[-1], a_G[-1])
    assert isinstance(J, tf.Tensor)
    assert J.numpy() == pytest.approx(np_content_cost(a_C[-1], a_G[-1]), rel=1e-6)
    assert J.numpy() == pytest.approx(7.0568767, rel=1e-6)  # the course's published value
    assert compute_content_cost(a_C[-1], a_C[-1]).numpy() == 0


def test_gram_matrix_course_value():
    tf.random.set_seed(1)
    A = tf.random.normal([3, 2 * 1], mean=1, stddev=4)
    GA = gram_matrix(A)
    expected = [[63.1888, -26.721275, -7.7320204],
                [-26.721275, 12.76758, -2.5158243],
                [-7.7320204, -2.5158243, 23.752384]]
    a = A.numpy().astype(np.float64)
    np.testing.assert_allclose(GA.numpy(), a @ a.T, rtol=1e-5)
    np.testing.assert_allclose(GA.numpy(), expected, rtol=1e-5)


def test_layer_style_cost_seeded_value():
    tf.random.set_seed(1)
    a_S = tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    a_G = tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    J = compute_layer_style_cost(a_S, a_G)
    assert compute_layer_style_cost(a_G, a_G).numpy() == 0
    assert J.numpy() == pytest.approx(np_layer_style_cost(a_S, a_G), rel=1e-5)
    # TF 2.21's generator for seed 1; equal to the float64 NumPy value above
    assert J.numpy() == pytest.approx(14.017808, rel=1e-5)
    # the bare-reshape bug gives a different number: this test catches it
    bare = lambda a: np.asarray(a, np.float64).reshape(3, -1)
    wrong = ((bare(a_S) @ bare(a_S).T - bare(a_G) @ bare(a_G).T) ** 2).sum() / (4 * 9 * 16**2)
    assert abs(J.numpy() - wrong) > 1.0


def test_style_cost_is_weighted_sum_over_dict_layers():
    rng = np.random.default_rng(0)
    shapes = {"conv1_1": (1, 8, 8, 4), "conv2_1": (1, 4, 4, 8), "conv3_1": (1, 2, 2, 16),
              "conv4_1": (1, 2, 2, 8), "conv5_1": (1, 1, 1, 8)}
    a_S = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    a_G = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    expected = sum(c * np_layer_style_cost(a_S[k], a_G[k]) for k, c in STYLE_LAYERS)
    assert compute_style_cost(a_S, a_G).numpy() == pytest.approx(expected, rel=1e-5)
    only_two = [("conv1_1", 0.7), ("conv3_1", 0.3)]
    expected = 0.7 * np_layer_style_cost(a_S["conv1_1"], a_G["conv1_1"]) + \
        0.3 * np_layer_style_cost(a_S["conv3_1"], a_G["conv3_1"])
    assert compute_style_cost(a_S, a_G, only_two).numpy() == pytest.approx(expected, rel=1e-5)


def test_total_cost_course_value():
    np.random.seed(3)
    J_content = np.random.randn()
    J_style = np.random.randn()
    J = total_cost(J_content, J_style)
    assert isinstance(J, tf.Tensor)
    assert J.numpy() == pytest.approx(10 * J_content + 40 * J_style, rel=1e-6)
    assert J.numpy() == pytest.approx(35.34667875478276, rel=1e-6)  # the course's published value


# ---- graph mode and errors -----------------------------------------------------------------------

def test_costs_inside_tf_function_match_eager():
    rng = np.random.default_rng(1)
    a = tf.constant(rng.normal(size=(1, 5, 6, 3)), tf.float32)
    b = tf.constant(rng.normal(size=(1, 5, 6, 3)), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3])] * 2)
    def graph(a, b):
        return (compute_content_cost(a, b), compute_layer_style_cost(a, b),
                compute_style_cost({"conv1_1": a}, {"conv1_1": b}, [("conv1_1", 1.0)]),
                total_cost(1.0, 2.0), gram_matrix(tf.reshape(a, [3, -1])))

    g = graph(a, b)
    assert all(isinstance(t, tf.Tensor) for t in g)
    np.testing.assert_allclose(g[0], compute_content_cost(a, b), rtol=1e-6)
    np.testing.assert_allclose(g[1], compute_layer_style_cost(a, b), rtol=1e-6)
    np.testing.assert_allclose(g[2], g[1], rtol=1e-6)
    np.testing.assert_allclose(g[1], np_layer_style_cost(a, b), rtol=1e-5)


def test_mismatched_shapes_explain_what_to_do():
    with pytest.raises(ValueError, match="same size"):
        compute_content_cost(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 5, 3)))
    with pytest.raises(ValueError, match="Resize the style image"):
        compute_layer_style_cost(np.zeros((1, 4, 4, 3)), np.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"\(1, n_H, n_W, n_C\)"):
        compute_content_cost(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))
    with pytest.raises(KeyError, match="conv2_1"):
        compute_style_cost({"conv1_1": np.zeros((1, 2, 2, 3))}, {"conv1_1": np.zeros((1, 2, 2, 3))},
                           [("conv1_1", 0.5), ("conv2_1", 0.5)])
