"""The options beyond the course (nst_utils.engine.stylise), each shown to do what it claims with a number.

Effects are measured on the pretrained ``vgg16-hed`` backbone (real ImageNet features, offline) at
small sizes with few iterations. Statistics are recomputed here in NumPy, independently of the
package code under test.
"""
import logging
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from nst_utils import (CONFIG, compute_layer_style_cost, load_image, load_vgg_model, model_nn,
                       reshape_and_normalize_image, to_picture)
from nst_utils.engine.color import RGB_TO_YIQ, luminance_image, rgb_to_yiq, transfer_chroma, yiq_to_rgb
from nst_utils.config import CONTENT_LAYER, STYLE_LAYERS
from nst_utils.costs import compute_content_cost, compute_style_cost, total_cost
from nst_utils.engine.regularizers import total_variation
from nst_utils.engine.resize import resize_image, scaled_size
from nst_utils.engine.objective import (GramTargets, blend_weights, compute_layer_style_cost_from_gram,
                                     gram_targets)
from nst_utils.engine.objective import make_cost_with_targets as make_cost_function
from nst_utils.engine.pipeline import stylise

LAYERS = [CONTENT_LAYER] + [name for name, _ in STYLE_LAYERS]
SMALL = (64, 48)
QUIET = dict(output_dir=None, progress=False, verbose=False)


@pytest.fixture(autouse=True)
def _uncapped(monkeypatch):
    # These tests need their iterations to show an effect; CI may cap loops for the notebooks.
    monkeypatch.delenv("NST_MAX_ITERATIONS", raising=False)


@pytest.fixture(scope="module")
def hed():
    return load_vgg_model(backbone="vgg16-hed", layers=LAYERS)


def image(name, size=SMALL):
    return reshape_and_normalize_image(load_image(Path(__file__).resolve().parent.parent / "images" / f"{name}.png", size=size))


@pytest.fixture(scope="module")
def C():
    return image("chelsea")


@pytest.fixture(scope="module")
def S():
    return image("brushstrokes")


@pytest.fixture(scope="module")
def S2():
    return image("mosaic")


def np_tv(picture):
    """Squared total variation per value, in NumPy: the statistic the TV term penalises."""
    x = np.asarray(picture, np.float64)
    x = x[0] if x.ndim == 4 else x
    return (np.sum((x[1:] - x[:-1]) ** 2) + np.sum((x[:, 1:] - x[:, :-1]) ** 2)) / x.size


def np_yiq(picture):
    m = np.array([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263],
                  [0.211456, -0.522591, 0.311135]])
    return np.asarray(picture, np.float64) @ m.T


def np_gram(a):
    """Gram / (n_H n_W) of activations (1, n_H, n_W, n_C), float64."""
    A = np.asarray(a, np.float64).reshape(-1, a.shape[-1])
    return A.T @ A / A.shape[0]


# --- building blocks -------------------------------------------------------------------------

def test_total_variation_matches_numpy():
    x = np.random.default_rng(0).normal(0, 30, (1, 7, 5, 3)).astype(np.float32)
    assert float(total_variation(x)) == pytest.approx(np_tv(x), rel=1e-5)
    assert float(total_variation(np.full((1, 7, 5, 3), 12.0, np.float32))) == 0.0


def test_yiq_round_trip_and_known_values():
    rgb = np.random.default_rng(1).uniform(0, 255, (10, 3))
    assert np.allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, atol=1e-9)
    white = rgb_to_yiq([255.0, 255.0, 255.0])
    assert white[0] == pytest.approx(255.0) and abs(white[1]) < 1e-3 and abs(white[2]) < 1e-3
    assert np.allclose(RGB_TO_YIQ, np_yiq(np.eye(3)).T)


def test_luminance_image_is_grey_and_matches_moments(C, S):
    grey = luminance_image(S, match=C)
    pic = grey + CONFIG.MEANS
    assert np.allclose(pic[..., 0], pic[..., 1], atol=1e-3) and np.allclose(pic[..., 0], pic[..., 2],
                                                                              atol=1e-3)
    y_c = np_yiq(C + CONFIG.MEANS)[..., 0]
    assert pic[..., 0].mean() == pytest.approx(y_c.mean(), abs=1e-2)
    assert pic[..., 0].std() == pytest.approx(y_c.std(), rel=1e-3)


def test_transfer_chroma_keeps_chroma_and_takes_luminance(C, S):
    out = transfer_chroma(S, C)
    yiq_out, yiq_c, yiq_s = (np_yiq(x + CONFIG.MEANS) for x in (out, C, S))
    assert np.abs(yiq_out[..., 1:] - yiq_c[..., 1:]).max() < 1e-3
    assert np.abs(yiq_out[..., 0] - yiq_s[..., 0]).max() < 1e-3


def test_normalised_gram_cost_equals_course_cost_when_sizes_match():
    tf.random.set_seed(1)
    a_S = tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    a_G = tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    target = np_gram(a_S.numpy())
    ours = float(compute_layer_style_cost_from_gram(target, a_G))
    assert ours == pytest.approx(float(compute_layer_style_cost(a_S, a_G)), rel=1e-5)
    # and the project's verified literal (float64 NumPy: 14.0178057)
    assert ours == pytest.approx(14.0178057, rel=1e-5)


def test_normalised_gram_cost_accepts_other_sizes():
    rng = np.random.default_rng(2)
    a_S = rng.normal(1, 4, (1, 8, 6, 3)).astype(np.float32)
    a_G = rng.normal(1, 4, (1, 4, 4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="must be equal"):
        compute_layer_style_cost(a_S, a_G)
    expected = np.sum((np_gram(a_S) - np_gram(a_G)) ** 2) / (4 * 3**2)
    assert float(compute_layer_style_cost_from_gram(np_gram(a_S), a_G)) == pytest.approx(expected, rel=1e-5)


def test_blended_target_has_the_gradient_of_the_weighted_costs():
    """sum_k w_k ||T_k - X||^2 = ||sum_k w_k T_k - X||^2 + const when sum w = 1."""
    rng = np.random.default_rng(3)
    a1, a2 = (rng.normal(1, 4, (1, 4, 4, 3)).astype(np.float32) for _ in range(2))
    a_G = tf.Variable(rng.normal(1, 4, (1, 4, 4, 3)).astype(np.float32))
    w = blend_weights([3, 1], 2)
    assert np.allclose(w, [0.75, 0.25])
    target = w[0] * np_gram(a1) + w[1] * np_gram(a2)
    with tf.GradientTape(persistent=True) as tape:
        blended = compute_layer_style_cost_from_gram(target, a_G)
        weighted = w[0] * compute_layer_style_cost(a1, a_G) + w[1] * compute_layer_style_cost(a2, a_G)
    g1, g2 = tape.gradient(blended, a_G).numpy(), tape.gradient(weighted, a_G).numpy()
    assert np.allclose(g1, g2, rtol=1e-4, atol=1e-4 * np.abs(g2).max())


def test_blend_weights_errors():
    with pytest.raises(ValueError, match="one weight per style image"):
        blend_weights([1, 2, 3], 2)
    with pytest.raises(ValueError, match="non-negative"):
        blend_weights([1, -1], 2)


def test_resize_commutes_with_normalisation_and_scaled_size(C):
    big = image("chelsea", (128, 96))
    small = resize_image(big, (64, 48))
    assert small.shape == (1, 48, 64, 3)
    via_picture = resize_image(big + CONFIG.MEANS, (64, 48)) - CONFIG.MEANS
    assert np.abs(small - via_picture).max() < 1e-3
    assert scaled_size(big, C, 0.5) == (32, 24)
    assert scaled_size(C, C, 2.0) == (128, 96)
    with pytest.raises(ValueError, match="at least"):
        resize_image(C, (8, 6))


# --- defaults are the course ------------------------------------------------------------------

@pytest.mark.parametrize("run", [model_nn, stylise], ids=["model_nn", "stylise"])
def test_defaults_reproduce_the_course_loop_exactly(hed, C, S, run):
    """model_nn, and stylise with no options, = the course's train_step loop written out here."""
    import keras

    result = run(C, S, 5, model=hed, seed=4, report_every=1, **QUIET)
    from nst_utils import generate_noise_image

    a_C, a_S = hed(C)[CONTENT_LAYER], hed(S)
    G = tf.Variable(generate_noise_image(C, 0.6, 4))
    opt = keras.optimizers.Adam(2.0)

    @tf.function
    def train_step(generated_image):
        with tf.GradientTape() as tape:
            a_G = hed(generated_image)
            J_content = compute_content_cost(a_C, a_G[CONTENT_LAYER])
            J_style = compute_style_cost(a_S, a_G, STYLE_LAYERS)
            J = total_cost(J_content, J_style, alpha=10, beta=40)
        opt.apply_gradients([(tape.gradient(J, generated_image), generated_image)])
        return J

    costs = [float(train_step(G)) for _ in range(5)]
    assert [h["J"] for h in result.history] == pytest.approx(costs, rel=1e-6)
    assert set(result.history[0]) == {"iteration", "J", "J_content", "J_style", "seconds"}


def test_the_engine_cost_keeps_the_courses_positional_arguments(hed, C, S):
    cost = make_cost_function(hed, hed(C)[CONTENT_LAYER], hed(S), 10, 40, CONTENT_LAYER, STYLE_LAYERS)
    J, J_content, J_style = cost(tf.constant(C))
    assert float(J_content) == 0.0 and float(J) == pytest.approx(40 * float(J_style))


# --- each option, with the number that shows it works -----------------------------------------

@pytest.mark.slow
def test_tv_weight_lowers_the_total_variation_of_the_result(hed, C, S):
    tvs = []
    for w in (0.0, 1e3, 1e4):
        r = stylise(C, S, 20, model=hed, seed=0, tv_weight=w, **QUIET)
        tvs.append(np_tv(to_picture(r.image)))
    print("TV of the result for tv_weight 0, 1e3, 1e4:", [round(t, 1) for t in tvs])
    assert tvs[0] > 1.5 * tvs[1] > 1.5 * 1.5 * tvs[2], tvs


def test_tv_term_is_added_to_the_cost(hed, C, S):
    a_C, a_S = hed(C)[CONTENT_LAYER], hed(S)
    G = tf.constant(image("mosaic"))
    J0 = float(make_cost_function(hed, a_C, a_S)(G)[0])
    J1 = float(make_cost_function(hed, a_C, a_S, tv_weight=2.5)(G)[0])
    assert J1 - J0 == pytest.approx(2.5 * np_tv(image("mosaic")), rel=1e-4)


def test_lbfgs_reaches_a_lower_cost_than_adam_in_the_same_evaluations(hed, C, S):
    cost = make_cost_function(hed, hed(C)[CONTENT_LAYER], hed(S))
    final = {}
    for opt in ("adam", "lbfgs"):
        r = stylise(C, S, 20, model=hed, seed=0, optimizer=opt, report_every=1, **QUIET)
        assert len(r.history) == 20  # one entry per cost evaluation: the same budget
        final[opt] = float(cost(r.image)[0])
    print("J after 20 evaluations:", final)
    assert final["lbfgs"] < 0.2 * final["adam"], final


def test_lbfgs_image_is_the_best_evaluated(hed, C, S):
    r = stylise(C, S, 12, model=hed, seed=0, optimizer="lbfgs", report_every=1, **QUIET)
    cost = make_cost_function(hed, hed(C)[CONTENT_LAYER], hed(S))
    assert float(cost(r.image)[0]) == pytest.approx(min(h["J"] for h in r.history), rel=1e-4)


def test_init_content_starts_at_zero_content_cost(hed, C, S):
    r = stylise(C, S, 1, model=hed, init="content", report_every=1, **QUIET)
    assert r.history[0]["J_content"] == 0.0
    noisy = stylise(C, S, 1, model=hed, seed=0, report_every=1, **QUIET)
    assert noisy.history[0]["J_content"] > 0.1


def test_init_from_a_given_image_starts_there(hed, C, S, S2):
    r = stylise(C, S, 1, model=hed, init=S2, report_every=1, **QUIET)
    J_expected = float(make_cost_function(hed, hed(C)[CONTENT_LAYER], hed(S))(tf.constant(S2))[0])
    assert r.history[0]["J"] == pytest.approx(J_expected, rel=1e-5)
    with pytest.raises(ValueError, match="init must be one of"):
        stylise(C, S, 1, model=hed, init="random", **QUIET)
    with pytest.raises(ValueError, match="either input_image or init"):
        stylise(C, S, 1, model=hed, init="content", input_image=C, **QUIET)


def test_preserve_color_keeps_the_content_chroma(hed, C, S):
    r = stylise(C, S, 20, model=hed, seed=0, preserve_color=True, optimizer="lbfgs", **QUIET)
    plain = stylise(C, S, 20, model=hed, seed=0, optimizer="lbfgs", **QUIET)
    yiq_c = np_yiq(C + CONFIG.MEANS)
    # The float result carries C's chroma exactly; the saved 8-bit picture up to rounding/clipping.
    chroma_float = np.abs(np_yiq(r.image + CONFIG.MEANS)[..., 1:] - yiq_c[..., 1:]).max()
    chroma_pic = np.abs(np_yiq(to_picture(r.image))[..., 1:] - yiq_c[0, ..., 1:]).mean()
    chroma_plain = np.abs(np_yiq(to_picture(plain.image))[..., 1:] - yiq_c[0, ..., 1:]).mean()
    luma_change = np.abs(np_yiq(to_picture(r.image))[..., 0] - yiq_c[0, ..., 0]).mean()
    print(f"max |dIQ| float {chroma_float:.2e}; mean |dIQ| picture {chroma_pic:.2f} vs without the "
          f"option {chroma_plain:.2f}; mean |dY| {luma_change:.1f}")
    assert chroma_float < 1e-2
    assert chroma_pic < 1.0
    assert chroma_plain > 5 * chroma_pic  # without the option, the style's colours come in
    assert luma_change > 5.0  # it is still stylised


@pytest.mark.slow
def test_style_blend_weights_move_the_gram_statistics_between_the_styles(hed, C, S, S2):
    grams = {name: [np_gram(hed(s)[name].numpy()) for s in (S, S2)] for name, _ in STYLE_LAYERS}

    def distances(G):
        acts = hed(G)
        d = np.zeros(2)
        for name, coeff in STYLE_LAYERS:
            g = np_gram(acts[name].numpy())
            d += [coeff * np.sum((g - t) ** 2) / (4 * g.shape[0] ** 2) for t in grams[name]]
        return d

    shares = []
    for w2 in (0.0, 0.5, 1.0):
        r = stylise(C, [S, S2], 20, model=hed, seed=0, style_weights=[1 - w2, w2], optimizer="lbfgs",
                     **QUIET)
        d1, d2 = distances(r.image)
        shares.append(d1 / (d1 + d2))  # 0: Gram statistics of S, 1: those of S2
    print("distance share d(G,S1)/(d(G,S1)+d(G,S2)) for w2 = 0, 0.5, 1:", np.round(shares, 3))
    assert shares[0] < 0.2 and shares[2] > 0.8
    assert shares[0] < shares[1] < shares[2]


def test_blend_with_one_style_at_full_weight_equals_that_style(hed, C, S, S2):
    a = stylise(C, [S, S2], 3, model=hed, seed=0, style_weights=[1, 0], report_every=1, **QUIET)
    b = stylise(C, S, 3, model=hed, seed=0, report_every=1, **QUIET)
    assert [h["J"] for h in a.history] == pytest.approx([h["J"] for h in b.history], rel=1e-4)


def np_texture_scale(image):
    """Mean squared luminance gradient / luminance variance: ~1/length^2 of the texture elements."""
    y = np_yiq(np.asarray(image, np.float64)[0] + CONFIG.MEANS[0])[..., 0]
    grad2 = (np.sum((y[1:] - y[:-1]) ** 2) + np.sum((y[:, 1:] - y[:, :-1]) ** 2)) / y.size
    return grad2 / y.var()


def test_style_scale_sets_the_target_size_and_the_texture_scale(hed, C, S):
    seen = []

    def spy(image):
        seen.append(np.shape(image))
        return hed(image)

    stylise(C, S, 1, model=spy, style_scale=0.5, **QUIET)
    assert (1, 24, 32, 3) in seen  # the style image went through VGG at half the content's size
    stats = {}
    for scale in (0.5, 2.0):
        r = stylise(C, S, 25, model=hed, seed=0, style_scale=scale, optimizer="lbfgs", **QUIET)
        stats[scale] = np_texture_scale(r.image)
    print("texture statistic (higher = finer) for style_scale 0.5, 2:", stats)
    assert stats[0.5] > 1.5 * stats[2.0], stats


@pytest.mark.slow
def test_multires_beats_single_resolution_with_less_pixel_work(hed):
    """Adam: 45 steps at 48x36 + 15 at 96x72 vs 30 steps at 96x72.

    Work in pixel-steps: 45 * 48*36 + 15 * 96*72 = 26.25 full-size steps < 30.
    """
    C = image("chelsea", (96, 72))
    S = image("brushstrokes", (96, 72))
    cost = make_cost_function(hed, hed(C)[CONTENT_LAYER], hed(S))
    t0 = time.perf_counter()
    single = stylise(C, S, 30, model=hed, seed=0, **QUIET)
    t1 = time.perf_counter()
    multi = stylise(C, S, [45, 15], model=hed, seed=0, sizes=[(48, 36), (96, 72)], report_every=5,
                     **QUIET)
    t2 = time.perf_counter()
    assert multi.image.shape == C.shape
    assert multi.history[-1]["size"] == (96, 72)
    J_single, J_multi = float(cost(single.image)[0]), float(cost(multi.image)[0])
    print(f"J at 96x72: single-res {J_single:.4g} ({t1 - t0:.1f} s), multires {J_multi:.4g} "
          f"({t2 - t1:.1f} s)")
    assert J_multi < 0.5 * J_single


def test_option_errors_are_clear(hed, C, S):
    with pytest.raises(ValueError, match="optimizer must be one of"):
        stylise(C, S, 1, model=hed, optimizer="sgd", **QUIET)
    with pytest.raises(ValueError, match="one per size"):
        stylise(C, S, [1, 2, 3], model=hed, sizes=[(64, 48), (128, 96)], **QUIET)
    with pytest.raises(ValueError, match="style_scale=1.0"):
        stylise(C, image("brushstrokes", (96, 72)), 1, model=hed, **QUIET)
    with pytest.raises(ValueError, match="tv_weight"):
        stylise(C, S, 1, model=hed, tv_weight=-1, **QUIET)
    # the course's settings are checked where they are defined too, with the command line's rules
    for bad, message in [(dict(learning_rate=0.0), "learning_rate 0: the learning rate must be positive"),
                         (dict(alpha=0, beta=0), "alpha 0 beta 0: the weights must be >= 0"),
                         (dict(noise_ratio=float("nan")), "noise_ratio nan: must be a finite number"),
                         (dict(save_every=-1), "save_every -1: must be 0")]:
        with pytest.raises(ValueError, match=message):
            stylise(C, S, 1, model=hed, **bad, **QUIET)
    with pytest.raises(ValueError, match="num_iterations 0: must be at least 1"):
        stylise(C, S, 0, model=hed, **QUIET)


def test_gram_targets_blend_linearly(hed, S, S2):
    t = gram_targets(hed, [S, S2], [0.25, 0.75], STYLE_LAYERS)
    assert isinstance(t, GramTargets)
    expected = 0.25 * np_gram(hed(S)["conv2_1"].numpy()) + 0.75 * np_gram(hed(S2)["conv2_1"].numpy())
    assert np.allclose(t["conv2_1"].numpy(), expected, rtol=1e-4, atol=1e-3)


def test_saved_images_are_the_final_ones_with_lbfgs_and_colour(hed, C, S, tmp_path):
    r = stylise(C, S, 5, model=hed, seed=0, optimizer="lbfgs", preserve_color=True,
                 output_dir=tmp_path, save_every=2, progress=False, verbose=False)
    assert [p.name for p in r.saved] == ["0.png", "2.png", "4.png", "generated_image.png"]
    assert np.array_equal(load_image(tmp_path / "generated_image.png"), to_picture(r.image))
    assert np.abs(np_yiq(load_image(tmp_path / "2.png"))[..., 1:] - np_yiq(to_picture(C))[..., 1:]).mean() < 1.0


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_repeated_runs_do_not_print_a_retracing_warning(hed, C, S, optimizer):
    """Learners call model_nn in loops (Reconstructions.ipynb: one run per layer). Each run builds
    its own tf.function on purpose; TensorFlow must not print its 'triggered tf.function retracing'
    warning into their notebooks (it did, under nbval's short runs)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for _ in range(7):
            stylise(C, S, 1, model=hed, seed=0, optimizer=optimizer, **QUIET)
    finally:
        logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if "retracing" in r.getMessage()]
