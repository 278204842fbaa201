"""Logic of the benchmark's time-to-quality part (no training here; the smoke test runs the script)."""
import pytest

from benchmarks import quality


def history(costs, step_s=0.5, **extra):
    return [{"iteration": i, "J": j, "seconds": (i + 1) * step_s, **extra} for i, j in enumerate(costs)]


def test_time_to_target_adds_the_setup_before_the_loop():
    h = history([10.0, 8.0, 5.0, 4.0])  # loop ends at 2.0 s
    # total 3.0 s -> setup 1.0 s; J <= 5 first at the 3rd entry, 1.5 s into the loop
    assert quality.time_to_target(h, 3.0, 5.0) == pytest.approx(2.5)
    assert quality.time_to_target(h, 3.0, 3.9) is None
    assert quality.time_to_target([], 3.0, 5.0) is None


def test_time_to_target_ignores_coarser_levels_of_a_multiresolution_run():
    h = history([1.0, 0.5], size=(100, 75)) + history([9.0, 4.0], size=(200, 150))
    h[2]["seconds"], h[3]["seconds"] = 1.5, 2.0
    assert quality.time_to_target(h, 2.0, 5.0) == pytest.approx(2.0)


def test_multiresolution_options_run_half_then_full_size():
    options = dict(quality.OPTIONS)
    assert quality.option_kwargs(options["multi-resolution"], 200, 150) == {"sizes": [(100, 75), (200, 150)]}
    assert quality.option_kwargs(options["L-BFGS"], 200, 150) == {"optimizer": "lbfgs"}


def test_every_option_is_a_keyword_of_model_nn():
    import inspect

    from nst_utils.train import model_nn

    accepted = set(inspect.signature(model_nn).parameters)
    for label, kwargs in quality.OPTIONS:
        assert set(kwargs) <= accepted, label
