"""The benchmark script must keep running: its TensorFlow part, tiny settings, no PyTorch needed.

The full benchmark (minutes) is not run in CI; see benchmarks/step_time.py and README "Performance".
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    for key in ("ours_s", "pytorch_s", "ratio", "time_to_quality_speedup"):
        assert key in report
    assert report["pytorch_s"] is None and report["ratio"] is None
    assert report["time_to_quality_speedup"] is None
    ours = report["variants"]["tf-default"]
    assert report["ours_s"] == ours["wall_s"]["median"] > 0
    assert ours["wall_s"]["n"] == 2 and ours["peak_rss_mb"] > 0
    # The timed steps really optimised something: finite costs that went down from the initial image.
    assert all(math.isfinite(v) for v in ours["costs_at_init"].values())
    assert ours["costs_after"]["J"] < ours["costs_at_init"]["J"]
    # The course's step and the default step solve the same problem from the same image.
    course = report["variants"]["tf-course"]
    assert math.isclose(course["costs_at_init"]["J"], ours["costs_at_init"]["J"], rel_tol=1e-5)
    # GFLOP/s is the analytic count over the median time.
    assert math.isclose(ours["gflops_per_s"], report["gflop_per_step"] / report["ours_s"], rel_tol=1e-9)
