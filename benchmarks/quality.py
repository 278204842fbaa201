"""Worker process: time to quality. How long the course's run (Adam, lr 2.0, 200 iterations from the
noisy content image) takes to reach its final total cost J*, and how long the package's faster options
take to reach the same J* on the same images, network and targets.

Usage (from the repository root): python -m benchmarks.quality OUT.json CONFIG_JSON
CONFIG_JSON keys: size [W, H], iterations (the baseline's, 200), budget (iterations each option may run),
backbone ("vgg16-hed": real pretrained features), threads.

Each option runs `budget` iterations (Adam steps or L-BFGS cost evaluations; with multi-resolution,
`budget` at each size) and is timed from the call of stylise until its cost first reaches J*.

Warm and first calls: stylise reuses the TensorFlow function it traced in an earlier call on the
same network and size (nst_utils/engine/traced.py); the course's model_nn traces its step in every
call, and so does the baseline here (the kept functions dropped first). So that no option profits
from the one before it, the kept functions are dropped before each option, which is then called
twice with 2 iterations (the first traces, the second does not; their difference is
`first_call_s`) before the timed call. `time_to_target_s` and `speedup` are those of a warm call
(as in a notebook that runs stylise again); `first_call_time_to_target_s` and `first_call_speedup`
add first_call_s (the option's first call in a process, e.g. the command line).
"""
import gc
import json
import sys
import time

import numpy as np

from benchmarks import common

#: The package's faster options, as stylise keywords. HALF_THEN_FULL stands for the stages
#: [(W/2, H/2), (W, H)] of a multi-resolution run at the benchmark's size (W, H).
HALF_THEN_FULL = "half-then-full"
OPTIONS = [
    ("content init", {"init": "content"}),
    ("L-BFGS", {"optimizer": "lbfgs"}),
    ("L-BFGS + content init", {"optimizer": "lbfgs", "init": "content"}),
    ("multi-resolution", {"sizes": HALF_THEN_FULL}),
    ("multi-resolution + L-BFGS + content init",
     {"sizes": HALF_THEN_FULL, "optimizer": "lbfgs", "init": "content"}),
    ("L-BFGS + spectrum init", {"optimizer": "lbfgs", "init": "spectrum"}),
    ('preset "quick"', {"preset": "quick"}),
]


def option_kwargs(kwargs, width, height):
    """stylise keywords of an OPTIONS entry at the benchmark's size (placeholders filled in)."""
    if kwargs.get("sizes") == HALF_THEN_FULL:
        kwargs = {**kwargs, "sizes": [(width // 2, height // 2), (width, height)]}
    return kwargs


def time_to_target(history, total_s, target):
    """Seconds from the call of stylise until the cost first reached `target`, or None.

    history 'seconds' count from the start of stylise's loop; the setup before it (the targets
    a_C and a_S) is total_s minus the last entry's seconds (the loop ends right after its last
    entry when nothing is saved)."""
    if not history:
        return None
    last = history[-1]
    setup = total_s - last["seconds"]
    for entry in history:
        if entry.get("size") != last.get("size"):
            continue  # a coarser level's cost is on a different image size: not comparable
        if entry["J"] <= target:
            return setup + entry["seconds"]
    return None


def reached_entry(history, target):
    """(n, entry): the first history entry at the final size whose cost is <= target, and how many
    entries at the final size it took (evaluations, with report_every=1); (None, None) if none."""
    final = [e for e in history if e.get("size") == history[-1].get("size")] if history else []
    return next(((n, e) for n, e in enumerate(final, 1) if e["J"] <= target), (None, None))


def option_result(label, kwargs, budget, res, wall_s, first_call_s, target, base_s, image_J):
    """The JSON record of one option's timed run."""
    reached_s = time_to_target(res.history, wall_s, target)
    evaluations, reached = reached_entry(res.history, target)
    cold_s = reached_s + first_call_s if reached_s else None
    return {
        "label": label, "kwargs": kwargs,
        "wall_s": wall_s, "budget_iterations": budget, "entries": len(res.history),
        "final_J": res.history[-1]["J"] if res.history else None,
        "returned_image_J": image_J, "time_to_target_s": reached_s,
        "speedup": (base_s / reached_s) if reached_s else None, "stopped": res.stopped,
        "evaluations_to_target": evaluations,
        "J_content_at_target": reached["J_content"] if reached else None,
        "first_call_s": first_call_s, "first_call_time_to_target_s": cold_s,
        "first_call_speedup": (base_s / cold_s) if cold_s else None,
    }


def main(argv):
    out, config = argv[0], json.loads(argv[1])
    width, height = config["size"]
    import tensorflow as tf

    threads = int(config.get("threads", 0))
    tf.config.threading.set_intra_op_parallelism_threads(threads)

    from nst_utils.config import CONFIG, CONTENT_LAYER, STYLE_LAYERS
    from nst_utils.engine import traced
    from nst_utils.engine.network import load_fast_vgg_model
    from nst_utils.engine.pipeline import stylise
    from nst_utils.images import load_image, reshape_and_normalize_image
    from nst_utils.train import make_cost_function

    content = reshape_and_normalize_image(load_image(CONFIG.CONTENT_IMAGE, size=(width, height)))
    style = reshape_and_normalize_image(load_image(CONFIG.STYLE_IMAGE, size=(width, height)))
    model = load_fast_vgg_model(layers=[CONTENT_LAYER] + [n for n, _ in STYLE_LAYERS],
                                backbone=config["backbone"])
    course_cost = make_cost_function(model, model(content)[CONTENT_LAYER], model(style))

    def cost_of(image):
        """J of an image at full size, computed outside stylise: for the image a run returns (the
        one after its last update, whose cost the run itself never evaluates)."""
        return float(course_cost(np.asarray(image, np.float32))[0])

    common_kwargs = dict(seed=0, output_dir=None, report_every=1, progress=False, verbose=False,
                         model=model)

    def run(iterations, **kwargs):
        t0 = time.perf_counter()
        res = stylise(content, style, iterations, **common_kwargs, **kwargs)
        return res, time.perf_counter() - t0

    run(2)  # process-level one-off costs (kernel set-up, allocator) are no option's fault
    result = {"config": config, "tensorflow": tf.__version__}
    traced.forget()  # the baseline traces its step, as the course's model_nn does in every call
    base, base_s = run(config["iterations"])
    # J*: the last cost the course's run reports (of the image before its last update).
    target = base.history[-1]["J"]
    result["baseline"] = {
        "label": f"course: Adam lr 2, noise init, {config['iterations']} it.",
        "wall_s": base_s, "final_J": target, "returned_image_J": cost_of(base.image),
        "time_to_target_s": base_s, "iterations": len(base.history), "stopped": base.stopped,
        "final_J_content": base.history[-1]["J_content"],
        # its step is traced in this call: the time to the first cost, minus one step, is mostly that
        "first_step_s": base.history[0]["seconds"],
        "step_s": (base.history[-1]["seconds"] - base.history[0]["seconds"]) / max(1, len(base.history) - 1),
    }

    result["options"] = []
    for label, spec in OPTIONS:
        kwargs = option_kwargs(spec, width, height)
        traced.forget()  # no option profits from the functions an earlier one traced
        gc.collect()  # nor pays for collecting them
        first_s, again_s = run(2, **kwargs)[1], run(2, **kwargs)[1]
        res, wall_s = run(config["budget"], **kwargs)
        result["options"].append(option_result(label, kwargs, config["budget"], res, wall_s,
                                               max(0.0, first_s - again_s), target, base_s,
                                               cost_of(res.image)))
    for key in ("speedup", "first_call_speedup"):
        speedups = [o[key] for o in result["options"] if o[key]]
        result[f"time_to_quality_{key}"] = max(speedups) if speedups else None
    common.write_result(out, result)


if __name__ == "__main__":
    main(sys.argv[1:])
