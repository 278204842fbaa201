"""--scaling for benchmarks/step_time.py: the step of ours (tf-default) and of PyTorch (channels-last)
at growing image sizes, time per step and memory, as JSON rows and one log-log plot.

Each size and framework runs in its own worker process, as the step benchmark does (--rounds times,
interleaved, the timed steps pooled and memory taken as there: common.pooled, common.memory_entry).
Larger images get fewer timed steps (a 1600x1200 step takes seconds): 1 warm-up step and at least 3
timed ones. A size that fails (e.g. out of memory) is recorded with its error, not fatal.
"""
import math

from benchmarks import common

OURS, PYTORCH = "tf-default", "pytorch-channels-last"


def steps_for(pixels, steps):
    """Timed steps at a size: the requested number at 400x300 and below, fewer above, at least 3."""
    return max(3, math.ceil(steps * 120_000 / max(pixels, 120_000)))


def row_of(size, results):
    """The JSON row of one size from {configuration: [worker result of each round]}; a failed round
    makes the size's error."""
    width, height = size
    row = {"size": [width, height], "pixels": width * height}
    for key, name in (("ours", OURS), ("pytorch", PYTORCH)):
        runs = results.get(name)
        if not runs:
            continue
        failed = [r for r in runs if "wall_s" not in r]
        if failed:
            row[f"{key}_error"] = failed[0].get("error", "failed")
            continue
        memory = common.memory_entry(runs)
        row[f"{key}_s"] = common.pooled(runs, "wall_s")["median"]
        row[f"{key}_peak_rss_mb"] = memory["peak_rss_mb"]
        row[f"{key}_work_mb"] = memory["work_mb"]
    if "ours_s" in row and "pytorch_s" in row:
        row["ratio"] = row["ours_s"] / row["pytorch_s"]
        row["working_memory_ratio"] = row["ours_work_mb"] / row["pytorch_work_mb"]
    return row


def run(args, prepare, time_variant, log):
    """{"rows": [...], "plot": path or None} for args.scaling_sizes; PyTorch left out if skipped."""
    names = [OURS] + ([] if args.skip_pytorch or not common.torch_available() else [PYTORCH])
    rows = []
    for width, height in args.scaling_sizes:
        inputs = prepare(width, height)
        steps = steps_for(width * height, args.steps)
        results = {name: [] for name in names}
        for round_ in range(args.rounds):  # interleaved, as the step benchmark's --rounds
            for name in names:
                log(f"[scaling {width}x{height}, round {round_ + 1}/{args.rounds}] {name} ({steps} timed steps) ...")
                results[name].append(time_variant(name, inputs, warmup=1, steps=steps))
        rows.append(row_of((width, height), results))
    log(f"\n{'size':>10s} {'ours s':>8s} {'PyTorch s':>9s} {'ratio':>6s} {'ours peak MB':>12s} "
        f"{'PyTorch peak MB':>15s} {'ours work MB':>12s} {'PyTorch work MB':>15s}")
    for r in rows:
        cells = [f"{r.get(k, float('nan')):{f}}" for k, f in
                 (("ours_s", "8.3f"), ("pytorch_s", "9.3f"), ("ratio", "6.2f"), ("ours_peak_rss_mb", "12.0f"),
                  ("pytorch_peak_rss_mb", "15.0f"), ("ours_work_mb", "12.0f"), ("pytorch_work_mb", "15.0f"))]
        log(f"{r['size'][0]:>4d}x{r['size'][1]:<5d} " + " ".join(cells)
            + "".join(f"  {k}: {r[k][:80]}" for k in ("ours_error", "pytorch_error") if k in r))
    plotted = plot(rows, args.plot) if args.plot else None
    if plotted:
        log(f"plot: {plotted}")
    return {"rows": rows, "plot": plotted}


def plot(rows, path):
    """Time per step and peak memory against pixels, log-log, ours and PyTorch; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label, style, color in (("ours", "ours (TensorFlow, tf-default)", "o-", "C0"),
                                     ("pytorch", "PyTorch (channels-last)", "s--", "C1")):
        points = [(r["pixels"], r[f"{key}_s"], r[f"{key}_peak_rss_mb"], r[f"{key}_work_mb"])
                  for r in rows if f"{key}_s" in r]
        if not points:
            continue
        px, secs, peak, work = zip(*points)
        ax_t.plot(px, secs, style, color=color, label=label)
        ax_m.plot(px, peak, style, color=color, label=f"{label.split(' (')[0]}: peak RSS")
        ax_m.plot(px, work, style, color=color, alpha=0.4, label=f"{label.split(' (')[0]}: peak minus framework baseline")
    for ax, ylabel in ((ax_t, "seconds per step"), (ax_m, "memory (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pixels per image")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("One optimisation step of the course's VGG19 (to conv5_1), 2 CPU threads")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
