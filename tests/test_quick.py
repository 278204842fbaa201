"""The "quick" preset: its options, the spectrum start, the traced cost kept across
runs, one BLAS thread in L-BFGS, the command line's --quick."""
import numpy as np
import pytest

from nst_utils import CONFIG, CONTENT_LAYER
from nst_utils.engine.pipeline import stylise
from nst_utils.engine import traced
from nst_utils.engine.options import PRESETS, QUICK_ITERATIONS, EngineOptions
from nst_utils.engine.start import spectrum_start
from nst_utils.train import NSTResult, make_cost_function

QUIET = dict(output_dir=None, progress=False, verbose=False, report_every=1)


@pytest.fixture(autouse=True)
def _uncapped(monkeypatch):
    monkeypatch.delenv("NST_MAX_ITERATIONS", raising=False)


# --- the preset's options ----------------------------------------------------------------------

def test_the_preset_sets_its_options_and_keeps_the_course_defaults_otherwise():
    quick = EngineOptions(preset="quick")
    assert (quick.optimizer, quick.init, quick.lbfgs_step) == ("lbfgs", "spectrum", 1.0)
    assert {k: getattr(quick, k) for k in PRESETS["quick"]} == PRESETS["quick"]
    plain = EngineOptions()
    assert (plain.optimizer, plain.init, plain.lbfgs_step, plain.preset) == ("adam", "noise", None, None)


def test_options_given_other_values_than_their_defaults_win_over_the_preset(small_images):
    content, _ = small_images
    assert EngineOptions(preset="quick", init="content").init == "content"
    assert EngineOptions(preset="quick", lbfgs_step=3.0).lbfgs_step == 3.0
    given = EngineOptions.with_input_image(content, preset="quick")
    assert given.optimizer == "lbfgs" and np.array_equal(given.init, content)


def test_preset_and_step_values_are_checked():
    with pytest.raises(ValueError, match=r"preset must be one of \('quick',\)"):
        EngineOptions(preset="fast")
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lbfgs_step must be a positive number"):
            EngineOptions(lbfgs_step=bad)


def test_stylise_refuses_an_unknown_preset_before_any_work(small_images, monkeypatch):
    from nst_utils.engine import pipeline

    for work in ("load_fast_vgg_model", "optimize"):  # neither the network nor the loop may start
        monkeypatch.setattr(pipeline, work, lambda *a, **k: pytest.fail("should not run"))
    content, style = small_images
    with pytest.raises(ValueError, match="preset must be one of"):
        stylise(content, style, 1, preset="Quick", **QUIET)


# --- the spectrum start ------------------------------------------------------------------------

def _power(image, axes):
    centred = image[0].astype(np.float64) - image[0].reshape(-1, 3).mean(0)
    return np.abs(np.fft.rfft2(centred @ axes, axes=(0, 1))) ** 2


def test_spectrum_start_of_the_content_as_its_own_style_is_the_content(small_images):
    content, _ = small_images
    np.testing.assert_allclose(spectrum_start(content, [content], [1.0]), content, atol=1e-3)


def test_spectrum_start_has_the_styles_colours_histograms_and_about_its_spectrum(small_images):
    content, style = small_images
    start = spectrum_start(content, [style], [1.0])
    assert start.shape == content.shape and start.dtype == np.float32
    pixels, style_pixels = start.reshape(-1, 3), style.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(pixels.mean(0), style_pixels.mean(0), atol=1e-3)
    axes = np.linalg.eigh(np.cov(style_pixels, rowvar=False))[1]  # the style's colour axes
    np.testing.assert_allclose(np.sort(pixels @ axes, axis=0), np.sort(style_pixels @ axes, axis=0), atol=1e-3)
    # the amplitude spectrum is the style's before the histograms are matched, close to it after
    distance = lambda a, b: np.abs(_power(a, axes) - _power(b, axes)).sum() / _power(b, axes).sum()  # noqa: E731
    assert distance(start, style) < 0.35 and distance(start, style) < distance(content, style) / 3
    # the layout is the content's: the start correlates with the content, not with the style
    grey = lambda x: x[0].mean(-1).ravel()  # noqa: E731
    assert np.corrcoef(grey(start), grey(content))[0, 1] > 0.5 > abs(np.corrcoef(grey(start), grey(style))[0, 1])


def test_spectrum_start_with_styles_of_other_sizes_and_grey_images(small_images):
    from nst_utils.engine.color import luminance_image

    content, style = small_images
    start = spectrum_start(content, [style[:, :20, :30], style], [0.25, 0.75])
    assert start.shape == content.shape and np.isfinite(start).all()
    grey = spectrum_start(luminance_image(content), [luminance_image(style)], [1.0])  # preserve_color
    assert np.isfinite(grey).all()
    picture = grey + CONFIG.MEANS
    np.testing.assert_allclose(picture[..., 0], picture[..., 1], atol=1e-2)  # still grey
    np.testing.assert_allclose(picture[..., 0], picture[..., 2], atol=1e-2)


def test_spectrum_start_is_much_closer_to_the_style_than_the_content(vgg16_hed, small_images):
    content, style = small_images
    cost = make_cost_function(vgg16_hed, vgg16_hed(content)[CONTENT_LAYER], vgg16_hed(style))
    J_content_start = float(cost(content)[0])
    J, J_content, _ = (float(v) for v in cost(spectrum_start(content, [style], [1.0])))
    assert J < 0.2 * J_content_start and J_content > 0


# --- a quick run ---------------------------------------------------------------------------------

def test_a_quick_run_lowers_the_cost(vgg19_standin, small_images):
    content, style = small_images
    result = stylise(content, style, 8, model=vgg19_standin, preset="quick", **QUIET)
    costs = [h["J"] for h in result.history]
    assert len(costs) == 8 and result.stopped is None
    assert min(costs) < 0.5 * costs[0]
    assert result.image.shape == content.shape and np.isfinite(result.image).all()


@pytest.mark.slow
def test_quick_reaches_the_course_cost_in_a_tenth_of_the_evaluations(vgg16_hed, small_images):
    content, style = small_images
    course = stylise(content, style, 200, model=vgg16_hed, seed=0, **QUIET)
    target = course.history[-1]["J"]  # J*, as benchmarks/quality.py takes it
    quick = stylise(content, style, 30, model=vgg16_hed, preset="quick", **QUIET)
    assert quick.history[0]["J"] > target  # not there from the start
    reached = next(i for i, h in enumerate(quick.history, 1) if h["J"] <= target)
    assert reached <= 20, (reached, target)  # 9 at 64x48 when written


# --- the traced cost kept across runs --------------------------------------------------------------

@pytest.mark.slow
def test_a_second_run_reuses_the_traced_function_with_its_own_targets(vgg19_standin, small_images, monkeypatch):
    content, style = small_images
    other_style = style[:, ::-1, ::-1].copy()
    traced.forget()
    made = []
    real = traced.make_value_and_gradient
    monkeypatch.setattr(traced, "make_value_and_gradient", lambda *a: made.append(1) or real(*a))
    run = dict(model=vgg19_standin, optimizer="lbfgs", init="content", **QUIET)
    stylise(content, style, 3, **run)
    reused = stylise(content, other_style, 3, **run)
    assert len(made) == 1
    traced.forget()
    fresh = stylise(content, other_style, 3, **run)
    assert len(made) == 2
    assert [h["J"] for h in reused.history] == pytest.approx([h["J"] for h in fresh.history], rel=1e-6)
    stylise(content, style, 3, alpha=5, **run)  # other weights: another function
    assert len(made) == 3


# --- the command line ----------------------------------------------------------------------------

def _fake_stylise(calls):
    def fake(content, style, num_iterations, **kwargs):
        calls.append(dict(kwargs, num_iterations=num_iterations))
        return NSTResult(image=content, saved=["generated_image.png"])
    return fake


@pytest.mark.parametrize("flags, preset, iterations, init", [
    (["--quick"], "quick", QUICK_ITERATIONS, "noise"),
    (["--quick", "--iterations", "7"], "quick", 7, "noise"),
    (["--quick", "--init", "content"], "quick", QUICK_ITERATIONS, "content"),
    (["--init", "spectrum", "--optimizer", "lbfgs"], None, 200, "spectrum"),
    ([], None, 200, "noise"),
])
def test_the_quick_flag_is_the_preset(standin_weights, tmp_path, monkeypatch, flags, preset, iterations, init):
    from nst_utils.cli import main
    from nst_utils.engine import pipeline

    calls = []
    monkeypatch.setattr(pipeline, "stylise", _fake_stylise(calls))
    assert main(["--weights", standin_weights, "--size", "64x48", "-o", str(tmp_path), "--quiet"] + flags) == 0
    (call,) = calls
    assert (call["preset"], call["num_iterations"], call["init"]) == (preset, iterations, init)


def test_help_describes_quick():
    from nst_utils.cli import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "--quick" in text and "spectrum" in text and f"defaults to {QUICK_ITERATIONS}" in text


def test_one_blas_thread_inside_lbfgs_and_the_count_restored_after():
    import scipy.optimize  # noqa: F401 (loads SciPy's OpenBLAS)

    from nst_utils.engine import threads

    libraries = threads._loaded_openblas()
    if not libraries:
        pytest.skip("no OpenBLAS library found in this process")
    before = [get() for get, _ in libraries]
    with threads.single_blas_thread():
        assert [get() for get, _ in libraries] == [1] * len(libraries)
    assert [get() for get, _ in libraries] == before
