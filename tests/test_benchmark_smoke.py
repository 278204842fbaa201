"""The benchmark script must keep running: its TensorFlow part, tiny settings, no PyTorch needed.

The full benchmark (minutes) is not run in CI; see benchmarks/step_time.py and docs/performance.md.
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_step_time_script_runs_tf_part(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.step_time", "--size", "64x48", "--warmup", "1",
         "--steps", "2", "--skip-pytorch", "--skip-quality", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PyTorch part skipped" in proc.stdout
    report = json.loads(out.read_text())
    for key in ("ours_s", "pytorch_s", "ratio", "time_to_quality_speedup", "working_memory_ratio",
                "floor_fraction"):
        assert key in report
    assert report["pytorch_s"] is None and report["ratio"] is None
    assert report["time_to_quality_speedup"] is None
    ours = report["variants"]["tf-default"]
    assert report["ours_s"] == ours["wall_s"]["median"] > 0
    assert ours["wall_s"]["n"] == 2 and ours["peak_rss_mb"] > 0
    # working memory: the peak above the framework's own baseline, measured in the same process
    assert 0 < ours["baseline_rss_mb"] < ours["peak_rss_mb"]
    assert ours["work_mb"] == ours["peak_rss_mb"] - ours["baseline_rss_mb"]
    # the arithmetic floor: the CPU's matmul rate, measured, and the step's necessary work at that rate
    floor = report["floor"]
    assert floor["matmul_gflops_per_s"] > 1
    assert floor["ours_gflop"] < floor["direct_gflop"] == report["gflop_per_step"]
    assert report["floor_fraction"] == floor["ours_floor_s"] / report["ours_s"]
    # The timed steps really optimised something: finite costs that went down from the initial image.
    assert all(math.isfinite(v) for v in ours["costs_at_init"].values())
    assert ours["costs_after"]["J"] < ours["costs_at_init"]["J"]
    # The course's step and the default step solve the same problem from the same image.
    course = report["variants"]["tf-course"]
    assert math.isclose(course["costs_at_init"]["J"], ours["costs_at_init"]["J"], rel_tol=1e-5)
    # GFLOP/s is the analytic count over the median time.
    assert math.isclose(ours["gflops_per_s"], report["gflop_per_step"] / report["ours_s"], rel_tol=1e-9)


@pytest.mark.slow
def test_scaling_rows_and_plot(tmp_path):
    # Run as a script from another folder (the spelling, `python benchmarks/step_time.py`),
    # with nothing on PYTHONPATH: the script finds its package itself.
    out, png = tmp_path / "bench.json", tmp_path / "scaling.png"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "step_time.py"), "--variants", "tf-default", "--size", "48x32",
         "--steps", "1", "--skip-quality", "--skip-floor", "--skip-pytorch", "--scaling",
         "--scaling-sizes", "48x32,64x48", "--plot", str(png), "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())["scaling"]["rows"]
    assert [r["size"] for r in rows] == [[48, 32], [64, 48]]
    for r in rows:
        assert r["pixels"] == r["size"][0] * r["size"][1]
        assert r["ours_s"] > 0 and r["ours_peak_rss_mb"] > r["ours_work_mb"] > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
