"""Pieces shared by the benchmark's processes. Imports neither TensorFlow nor PyTorch, so that each
worker process loads only the framework it measures (the network's block table and the course's
layers come from nst_utils.vgg and nst_utils.config, which do not import TensorFlow either).

The benchmarks are a package run from the repository root: ``python -m benchmarks.step_time``."""
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from nst_utils.config import CONTENT_LAYER, STYLE_LAYERS  # noqa: F401  (neither imports TensorFlow)
from nst_utils.vgg import FILTERS, VGG19_BLOCKS  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
ALPHA, BETA, LEARNING_RATE = 10.0, 40.0, 2.0
#: Keras's Adam default; PyTorch's default is 1e-8, so the PyTorch step sets this one.
ADAM_EPSILON = 1e-7


def torch_available():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def standin_conv_weights(seed=0, blocks=VGG19_BLOCKS):
    """{course layer name: (kernel (3, 3, c_in, c_out), bias (c_out,))}: the stand-in weights of
    nst_utils/grading/standin.py (random, He-scaled; the one copy), under the course's layer names.

    Timing does not depend on the values; He scaling keeps activations (and so the costs that the two
    implementations must agree on) of a sensible size."""
    from nst_utils.grading.standin import standin_conv_weights as keras_named
    from nst_utils.vgg import conv_layer_names, keras_layer_name

    weights = keras_named(seed, blocks)
    return {name: weights[keras_layer_name(name)] for name in conv_layer_names(blocks)}


def load_inputs(path):
    """The arrays written by prepare_inputs.py: content, style, init (1, H, W, 3) normalised RGB."""
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def peak_rss_mb():
    """Peak resident memory of this process so far, MiB (Linux reports ru_maxrss in KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20


COST_KEYS = ("J", "J_content", "J_style")
NO_GPU = ("--device gpu: {framework} sees no GPU on this machine. Install its GPU build and drivers, "
          "or time the CPU (--device cpu, the default).")


def measure(step, warmup, steps):
    """Time an optimisation step.

    step() applies one update and returns the costs (J, J_content, J_style) of the image *before* it,
    as Python floats (so the work is finished when it returns). The first call (tracing, compilation,
    first-touch allocations) is timed on its own; then warmup - 1 more untimed calls; then `steps`
    timed calls; then one more call whose costs are those after warmup + steps updates.

    CPU seconds (all threads of this process) are reported beside wall time because other jobs on a
    shared machine stretch wall time but not, to first order, the CPU time a step needs.
    """
    t0 = time.perf_counter()
    first = step()
    first_s = time.perf_counter() - t0
    for _ in range(max(warmup - 1, 0)):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        step()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    after = step()
    return {"first_step_s": first_s, "wall_s": wall, "cpu_s": cpu,
            "costs_at_init": dict(zip(COST_KEYS, first)),
            "costs_after": dict(zip(COST_KEYS, after)), "updates_before_costs_after": max(warmup, 1) + steps,
            "peak_rss_mb": peak_rss_mb()}


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def pooled(runs, key):
    """summary() of the per-step values under `key` of several worker results (rounds), pooled."""
    values = [v for r in runs for v in r.get(key, [])]
    return summary(values) if values else None


def memory_entry(runs):
    """Peak RSS, the framework's own baseline and their difference (the step's working memory), in
    MB, the largest over several worker results (rounds)."""
    return {"peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "baseline_rss_mb": max(r["baseline_rss_mb"] for r in runs),
            "work_mb": max(r["peak_rss_mb"] - r["baseline_rss_mb"] for r in runs)}


def write_result(path, result):
    Path(path).write_text(json.dumps(result, indent=1))


def limit_threads_env(threads):
    """Environment for a worker: OpenMP/MKL pools sized like the frameworks' own settings."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    return env
