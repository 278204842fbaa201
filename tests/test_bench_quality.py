"""Logic of the benchmark's time-to-quality part (no training here; the smoke test runs the script)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import quality  # noqa: E402


def history(costs, step_s=0.5, **extra):
    return [{"iteration": i, "J": j, "seconds": (i + 1) * step_s, **extra} for i, j in enumerate(costs)]


def test_time_to_target_adds_the_setup_before_the_loop():
    h = history([10.0, 8.0, 5.0, 4.0])  # loop ends at 2.0 s
    # total 3.0 s -> setup 1.0 s; J <= 5 first at the 3rd entry, 1.5 s into the loop
    assert quality.time_to_target(h, 3.0, 5.0) == pytest.approx(2.5)
    assert quality.time_to_target(h, 3.0, 3.9) is None
    assert quality.time_to_target([], 3.0, 5.0) is None


def test_time_to_target_ignores_coarser_levels_of_a_multiresolution_run():
    h = history([1.0, 0.5], scale=0.5) + history([9.0, 4.0], scale=1.0)
    h[2]["seconds"], h[3]["seconds"] = 1.5, 2.0
    assert quality.time_to_target(h, 2.0, 5.0) == pytest.approx(2.0)


def test_options_use_the_first_spelling_model_nn_accepts():
    accepted = {"content_image", "style_image", "input_image", "optimizer"}
    assert quality.resolve(quality.CONTENT_INIT, accepted) == {"input_image": quality.CONTENT}
    assert quality.resolve(quality.CONTENT_INIT, accepted | {"init"}) == {"init": "content"}
    assert quality.resolve(quality.LBFGS, {"input_image"}) is None
    combos = dict(quality.OPTIONS)["L-BFGS + content init"]
    assert quality.resolve(combos, accepted) == {"optimizer": "lbfgs", "input_image": quality.CONTENT}
    assert quality.resolve(dict(quality.OPTIONS)["multi-resolution"], accepted) is None
