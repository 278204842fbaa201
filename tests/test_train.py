"""The optimisation loops at small size on stand-in VGG19 weights: the course's (model_nn,
train_step) and the engine's stops (stylise: Ctrl-C, SIGTERM)."""
import os
import signal

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import nst_utils.train as train
from nst_utils import (CONTENT_LAYER, STYLE_LAYERS, OutputDirError, compute_content_cost,
                       compute_style_cost, generate_noise_image, model_nn, total_cost)
from nst_utils.engine import optimize
from nst_utils.engine.pipeline import stylise


def test_train_step_returns_costs_and_lowers_them(vgg19_standin, small_images):
    import keras

    content, style = small_images
    a_C = vgg19_standin(content)[CONTENT_LAYER]
    a_S = vgg19_standin(style)
    G = tf.Variable(generate_noise_image(content, seed=0))
    before = G.numpy()
    step = train.make_train_step(vgg19_standin, a_C, a_S, keras.optimizers.Adam(2.0))
    J, J_content, J_style = step(G)
    a_G = vgg19_standin(before)
    expected_c = compute_content_cost(a_C, a_G[CONTENT_LAYER])
    expected_s = compute_style_cost(a_S, a_G, STYLE_LAYERS)
    np.testing.assert_allclose(J_content, expected_c, rtol=1e-4)
    np.testing.assert_allclose(J_style, expected_s, rtol=1e-4)
    np.testing.assert_allclose(J, total_cost(expected_c, expected_s), rtol=1e-4)
    # Adam's first step moves every pixel by about the learning rate
    assert np.abs(G.numpy() - before).mean() == pytest.approx(2.0, rel=0.05)
    costs = [float(step(G)[0]) for _ in range(10)]
    assert costs[-1] < 0.9 * float(J) and costs[-1] < costs[4]


def test_model_nn_runs_saves_and_reports(vgg19_standin, small_images, tmp_path, no_iteration_cap):
    content, style = small_images
    result = model_nn(content, style, 6, model=vgg19_standin, seed=0, output_dir=tmp_path,
                      save_every=2, report_every=2, progress=False, verbose=False)
    assert result.stopped is None
    assert [h["iteration"] for h in result.history] == [0, 2, 4]
    assert result.history[-1]["J"] < result.history[0]["J"]
    assert [p.name for p in result.saved] == ["0.png", "2.png", "4.png", "generated_image.png"]
    final = np.asarray(Image.open(tmp_path / "generated_image.png"))
    assert final.shape == (48, 64, 3) and final.dtype == np.uint8
    assert result.image.shape == content.shape and np.isfinite(result.image).all()


def test_same_seed_gives_bit_identical_image(vgg19_standin, small_images, tmp_path, no_iteration_cap):
    content, style = small_images
    outputs = []
    for run, seed in enumerate([5, 5, 6]):
        out = tmp_path / str(run)
        model_nn(content, style, 3, model=vgg19_standin, seed=seed, output_dir=out, save_every=0,
                 progress=False, verbose=False)
        outputs.append((out / "generated_image.png").read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_course_defaults(small_images):
    import inspect

    defaults = {k: v.default for k, v in inspect.signature(model_nn).parameters.items()}
    assert defaults["num_iterations"] == 200 and defaults["alpha"] == 10 and defaults["beta"] == 40
    assert defaults["learning_rate"] == 2.0 and defaults["noise_ratio"] == 0.6
    assert defaults["save_every"] == 20 and defaults["output_dir"] == "output/"


def test_iteration_cap_from_environment(vgg19_standin, small_images, monkeypatch, capsys):
    monkeypatch.setenv("NST_MAX_ITERATIONS", "2")
    content, style = small_images
    result = model_nn(content, style, 200, model=vgg19_standin, seed=0, output_dir=None,
                      report_every=1, progress=False)
    assert [h["iteration"] for h in result.history] == [0, 1]
    out = capsys.readouterr().out
    assert "capped at 2 of 200 by NST_MAX_ITERATIONS" in out and "Ran 2 of 200 iterations" in out
    assert "Network: VGG19, the course's network." in out  # the stand-in is built as load_vgg_model's


def test_course_loop_prints_every_20_and_says_nothing_of_a_cap_it_did_not_apply(monkeypatch, capsys):
    monkeypatch.delenv("NST_MAX_ITERATIONS", raising=False)
    loop = train.CourseLoop(45, progress=False, network="vgg16-hed")
    reported = [i for i in loop if loop.record(i, 100.0 - i, 1.0, 2.0)]
    out = capsys.readouterr().out
    assert reported == [0, 20, 40] and len(loop.costs) == 45 and loop.ran == 45
    assert "Iteration 20: J = 80, J_content = 1, J_style = 2" in out and "Iteration 21" not in out
    assert "capped" not in out and "pretrained_model/README.md" in out


def test_non_finite_cost_stops_with_last_good_image(vgg19_standin, small_images, tmp_path,
                                                    no_iteration_cap, capsys):
    content, style = small_images
    result = model_nn(content, style, 20, model=vgg19_standin, seed=0, output_dir=tmp_path,
                      learning_rate=1e38, save_every=0, report_every=1, progress=False)
    assert result.stopped and "non-finite" in result.stopped and "learning_rate" in result.stopped
    assert np.isfinite(result.image).all()
    # the image kept is the last one whose cost was finite: the last one recorded
    cost = train.make_cost_function(vgg19_standin, vgg19_standin(content)[CONTENT_LAYER], vgg19_standin(style))
    J = float(cost(tf.constant(result.image))[0])
    assert np.isfinite(J) and J == pytest.approx(result.history[-1]["J"], rel=1e-4)
    assert "Stopped early" in capsys.readouterr().out
    assert (tmp_path / "generated_image.png").exists()


def test_ctrl_c_stops_stylise_with_last_good_image(vgg19_standin, small_images, tmp_path, monkeypatch,
                                                   no_iteration_cap):
    real = optimize.value_and_gradient_for

    def interrupting(*args, **kwargs):
        step = real(*args, **kwargs)
        calls = []

        def wrapped(*images):
            calls.append(1)
            if len(calls) == 4:
                raise KeyboardInterrupt
            return step(*images)
        return wrapped

    monkeypatch.setattr(optimize, "value_and_gradient_for", interrupting)
    content, style = small_images
    result = stylise(content, style, 50, model=vgg19_standin, seed=0, output_dir=tmp_path,
                      report_every=1, save_every=0, progress=False, verbose=False)
    assert "interrupted" in result.stopped
    assert [h["iteration"] for h in result.history] == [0, 1, 2]
    saved = np.asarray(Image.open(tmp_path / "generated_image.png"))
    from nst_utils import to_picture
    np.testing.assert_array_equal(saved, to_picture(result.image))


def test_different_sizes_are_refused_with_advice(vgg19_standin, small_images):
    content, style = small_images
    with pytest.raises(ValueError, match="64x48 but style_image is 32x24.*same size"):
        model_nn(content, style[:, :24, :32], 1, model=vgg19_standin, output_dir=None)


def test_unwritable_output_fails_before_optimising(vgg19_standin, small_images, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "make_train_step", lambda *a, **k: pytest.fail("should not optimise"))
    (tmp_path / "a_file").write_text("")
    content, style = small_images
    with pytest.raises(OutputDirError, match="Choose another output directory"):
        model_nn(content, style, 1, model=vgg19_standin, output_dir=tmp_path / "a_file" / "out")


def test_default_model_is_loaded_when_none_given(small_images, no_iteration_cap):
    """model=None loads VGG19 through the normal lookup (here: NST_VGG19_WEIGHTS set by conftest)."""
    content, style = small_images
    result = model_nn(content, style, 1, output_dir=None, progress=False, verbose=False, seed=0)
    assert len(result.history) == 1


def _sigterm_on_call(real, n):
    """Wrap a step factory so that its n-th call sends this process SIGTERM first."""
    def factory(*args, **kwargs):
        step, calls = real(*args, **kwargs), []

        def wrapped(*images):
            calls.append(1)
            if len(calls) == n:
                os.kill(os.getpid(), signal.SIGTERM)
            return step(*images)
        return wrapped
    return factory


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_sigterm_stops_stylise_like_ctrl_c(vgg19_standin, small_images, tmp_path, monkeypatch, no_iteration_cap,
                                   optimizer):
    monkeypatch.setattr(optimize, "value_and_gradient_for",  # called once per run, by both optimizers
                        _sigterm_on_call(optimize.value_and_gradient_for, 3))
    before = signal.getsignal(signal.SIGTERM)
    content, style = small_images
    result = stylise(content, style, 50, model=vgg19_standin, seed=0, output_dir=tmp_path, optimizer=optimizer,
                      report_every=1, save_every=0, progress=False, verbose=False)
    assert "interrupted (SIGTERM)" in result.stopped
    assert 1 <= len(result.history) <= 3 and np.isfinite(result.image).all()
    saved = np.asarray(Image.open(tmp_path / "generated_image.png"))
    from nst_utils import to_picture
    np.testing.assert_array_equal(saved, to_picture(result.image))
    assert signal.getsignal(signal.SIGTERM) is before  # the loop's handler is gone


def test_non_finite_hint_depends_on_the_optimizer(vgg19_standin, small_images, no_iteration_cap):
    content, style = small_images
    result = stylise(content, style, 5, model=vgg19_standin, seed=0, output_dir=None, alpha=1e38,
                      optimizer="lbfgs", progress=False, verbose=False)
    assert "non-finite" in result.stopped and "learning_rate" not in result.stopped
