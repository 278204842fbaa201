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


def test_every_option_is_a_keyword_of_stylise():
    import inspect

    from nst_utils.engine.pipeline import stylise

    accepted = set(inspect.signature(stylise).parameters)
    for label, kwargs in quality.OPTIONS:
        assert set(kwargs) <= accepted, label


def test_the_quick_preset_is_an_option():
    assert dict(quality.OPTIONS)['preset "quick"'] == {"preset": "quick"}


def test_evaluations_to_target_count_only_the_final_size():
    h = history([1.0, 0.5], size=(100, 75)) + history([9.0, 6.0, 4.0, 3.0], size=(200, 150))
    n, entry = quality.reached_entry(h, 5.0)
    assert n == 3 and entry["J"] == 4.0
    assert quality.reached_entry(h, 1.0) == (None, None)
    assert quality.reached_entry([], 1.0) == (None, None)


def test_option_result_adds_the_first_call_cost():
    from types import SimpleNamespace

    res = SimpleNamespace(history=[{**e, "J_content": 2.0} for e in history([10.0, 4.0])], stopped=None)
    # loop ends at 1.0 s, wall 1.5 s: setup 0.5 s; J <= 5 at 1.0 s -> 1.5 s; first call 0.5 s more
    o = quality.option_result("x", {}, 2, res, 1.5, 0.5, 5.0, 15.0, 3.9)
    assert o["time_to_target_s"] == pytest.approx(1.5) and o["speedup"] == pytest.approx(10.0)
    assert o["first_call_time_to_target_s"] == pytest.approx(2.0) and o["first_call_speedup"] == pytest.approx(7.5)
    assert o["evaluations_to_target"] == 2 and o["J_content_at_target"] == 2.0
    missed = quality.option_result("x", {}, 2, res, 1.5, 0.5, 1.0, 15.0, 3.9)
    assert missed["speedup"] is None and missed["first_call_speedup"] is None
