"""Benchmark: seconds per optimisation step of the package's train_step against an equivalent PyTorch
step on the same CPU, and the wall time to reach the course's final cost with the package's faster
options ("time to quality").

    pip install -r requirements-bench.txt
    python -m benchmarks.step_time --json bench.json    # or: python benchmarks/step_time.py --json bench.json

Each configuration runs in its own process, one after the other, so the frameworks do not compete for
cores or memory and each process's peak memory is its own. What is measured:

* step time: the course's configuration (VGG19 with stand-in random weights -- the timing does not
  depend on the values --, average pooling, cut after conv5_1, content conv4_2, style conv1_1..conv5_1,
  alpha 10, beta 40, Adam lr 2.0) at 400x300 by default. The first step (tracing, compilation) is
  reported on its own; then warm-up steps; then the median, min and max of --steps timed steps.
* GFLOP/s: the useful work of a step counted analytically from the layer shapes (benchmarks/flops.py),
  for the direct algorithm, divided by the median step time. The package's default convolutions from
  block 3 on use Winograd's algorithm, which does fewer multiplications: its rate is an effective one.
* peak memory: the peak resident set size (ru_maxrss) of the worker process, framework included.
* both implementations' costs at the same initial image, as a check that they solve the same problem.
* time to quality (benchmarks/quality.py): the course's 200-iteration Adam run on the real pretrained
  vgg16-hed features at 200x150, and the package's faster options, on the same images.

Without PyTorch installed the PyTorch part is skipped (and says so); --skip-pytorch does the same.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The workers run as modules of the benchmarks package from the repository root.
REPO_ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__" and not __package__:
    # Run as a script (`python benchmarks/step_time.py`): run again as the module it is, with the
    # repository root importable, rather than editing sys.path.
    _path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks.step_time", *sys.argv[1:]],
              {**os.environ, "PYTHONPATH": _path})

from benchmarks import common, flops  # noqa: E402 -- after the re-run above

#: TensorFlow configurations. "train_step" and "build_vgg" hold keyword arguments for the course's
#: make_train_step ("course_step") and build_vgg (see benchmarks/tf_step.py).
TF_VARIANTS = {
    # The step as the package shipped it before this benchmark (commit 760011d): TensorFlow's own
    # conv gradient, the style cost recomputing the style image's Gram matrices every step, no XLA.
    "tf-course": {"build_vgg": {"fast_input_gradient": False}, "course_step": True},
    # What stylise and the command line run (engine.optimize.adam_step on build_fast_vgg): "ours".
    "tf-default": {},
    # The same in a process with TensorFlow's pooling CPU allocator, as `python -m nst_utils` runs
    "tf-default-bfc": {"env": {"TF_CPU_ALLOCATOR_USE_BFC": "true"}},
    # Ablations (--ablation): what each setting buys on its own or on top of the default.
    "tf-full-network": {"build_vgg": {"fast_input_gradient": False}, "course_step": True, "full_network": True},
    "tf-fast-conv-grad": {"build_vgg": {"winograd": False}, "course_step": True},
    "tf-fixed-grams": {"build_vgg": {"fast_input_gradient": False}},
    "tf-direct-conv": {"build_vgg": {"winograd": False}},
    # the course's step on the default network, compiled by XLA
    "tf-default-xla": {"course_step": True, "train_step": {"jit_compile": True}},
    "tf-default-inter1": {"inter": 1},
    # Winograd with its transforms in TensorFlow's ops instead of the compiled ones (native.py)
    "tf-tf-transforms": {"env": {"NST_NATIVE": "0"}, "choice": {"PLAIN_WINOGRAD": True}},
    # The other plain paths without the compiled ops (fast.choice.PLAIN_WINOGRAD chooses between them)
    "tf-plain-direct": {"env": {"NST_NATIVE": "0"}, "build_vgg": {"winograd": False}},
    "tf-plain-keras": {"env": {"NST_NATIVE": "0"}, "build_vgg": {"fast_input_gradient": False, "winograd": False}},
    # Winograd F(4x4, 3x3) everywhere, no F(6x6, 3x3) tiles
    "tf-4x4-tiles": {"choice": {"LARGE_TILE_MIN_PIXELS": 10**12}},
}
TORCH_VARIANTS = {
    "pytorch": {},
    "pytorch-channels-last": {"channels_last": True},
}
DEFAULT_RUN = ["tf-course", "tf-default", "tf-default-bfc", "pytorch", "pytorch-channels-last"]
ABLATION_RUN = ["tf-full-network", "tf-fast-conv-grad", "tf-fixed-grams", "tf-direct-conv", "tf-tf-transforms",
                "tf-4x4-tiles", "tf-default-xla", "tf-default-inter1"]


def size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 400x300, got {text!r}") from None
    return width, height


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    p.add_argument("--size", type=size, default=(400, 300), metavar="WxH",
                   help="image size for the step time (default: 400x300, the course's)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps, first one included (default: 2)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per configuration (default: 10)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run every configuration this many times, interleaved, and pool the timed "
                        "steps: fairer on a machine whose load changes (default: 1)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for each framework's intra-op pool (default: 2, this machine's cores)")
    p.add_argument("--ablation", action="store_true",
                   help=f"also time {', '.join(ABLATION_RUN)} to show what each setting buys")
    p.add_argument("--variants", help="comma-separated configurations to time instead of the default "
                                      f"set; known: {', '.join([*TF_VARIANTS, *TORCH_VARIANTS])}")
    p.add_argument("--skip-pytorch", action="store_true", help="time only the TensorFlow step")
    p.add_argument("--skip-quality", action="store_true", help="skip the time-to-quality part")
    p.add_argument("--quality-size", type=size, default=(200, 150), metavar="WxH",
                   help="image size for time to quality (default: 200x150)")
    p.add_argument("--quality-iterations", type=int, default=200,
                   help="iterations of the baseline Adam run (default: 200, the course's)")
    p.add_argument("--quality-budget", type=int, default=None,
                   help="iterations each faster option may run (default: --quality-iterations)")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                   help="where both frameworks run the step (default: cpu; gpu needs each framework's GPU build)")
    p.add_argument("--skip-floor", action="store_true",
                   help="skip measuring the CPU's matmul rate (the arithmetic floor of the step)")
    p.add_argument("--scaling", action="store_true",
                   help="also time ours and PyTorch (channels-last) at --scaling-sizes and plot time and "
                        "memory against pixels (--plot)")
    p.add_argument("--scaling-sizes", type=lambda t: [size(v) for v in t.split(",")],
                   default=[(200, 150), (400, 300), (800, 600), (1600, 1200)], metavar="WxH,...",
                   help="sizes for --scaling (default: 200x150,400x300,800x600,1600x1200)")
    p.add_argument("--plot", default=str(REPO_ROOT / "docs" / "scaling.png"), metavar="PNG",
                   help="where --scaling draws its plot (default: docs/scaling.png)")
    p.add_argument("--quick", action="store_true",
                   help="a short run: 3 timed steps, quality at 128x96 with 60 iterations")
    return p


def run_worker(script, args, threads, log, env=None):
    """Run a worker script in a fresh process; returns its JSON result or a dict with 'error'."""
    out = Path(tempfile.mkdtemp(prefix="nst-bench-")) / "result.json"
    cmd = [sys.executable, "-m", f"benchmarks.{Path(script).stem}", str(out), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env={**common.limit_threads_env(threads), **(env or {})}, capture_output=True,
                          text=True, cwd=REPO_ROOT)
    if proc.returncode != 0 or not out.is_file():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        log(f"  worker {script} failed (exit {proc.returncode}):\n{tail}")
        return {"error": f"exit {proc.returncode}: {tail[-500:]}"}
    result = json.loads(out.read_text())
    result["process_wall_s"] = time.perf_counter() - t0
    return result


def machine_state():
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "loadavg_1_5_15": load}


def fmt_range(s):
    return f"{s['median']:.3f} ({s['min']:.3f}-{s['max']:.3f})"


def prepare_inputs(width, height, threads):
    """Write the content, style and initial images of a size (benchmarks/prepare_inputs.py)."""
    inputs = Path(tempfile.mkdtemp(prefix="nst-bench-inputs-")) / "inputs.npz"
    subprocess.run([sys.executable, "-m", "benchmarks.prepare_inputs", str(inputs), str(width), str(height)],
                   env=common.limit_threads_env(threads), check=True, capture_output=True, cwd=REPO_ROOT)
    return inputs


def time_variant(name, inputs, args, log, warmup=None, steps=None):
    """One worker process timing configuration `name` on the images in `inputs`."""
    spec, env = dict(TF_VARIANTS[name] if name in TF_VARIANTS else TORCH_VARIANTS[name]), None
    if name in TF_VARIANTS:
        env = spec.pop("env", None)
        variant, script = {"name": name, "intra": args.threads, "inter": 0, "device": args.device, **spec}, "tf_step.py"
    else:
        variant, script = {"name": name, "threads": args.threads, "device": args.device, **spec}, "torch_step.py"
    worker_args = [str(inputs), json.dumps(variant), str(warmup or args.warmup), str(steps or args.steps)]
    return run_worker(script, worker_args, args.threads, log, env)


def floor_report(report, args, width, height, style_names, log):
    """The CPU's matmul rate (benchmarks/matmul_rate.py) and the step's arithmetic floor at that rate."""
    m = run_worker("matmul_rate.py", [str(args.threads)], args.threads, log)
    report["matmul"] = m
    if "gflops_per_s" not in m:
        return
    rate = m["gflops_per_s"]
    ours_work = flops.algorithm_flops(width, height, style_names)["total"] / 1e9
    direct_work = report["gflop_per_step"]
    floor = {"matmul_gflops_per_s": rate, "ours_gflop": ours_work, "ours_floor_s": ours_work / rate,
             "direct_gflop": direct_work, "direct_floor_s": direct_work / rate}
    report["floor"] = floor
    report["floor_fraction"] = floor["ours_floor_s"] / report["ours_s"] if report["ours_s"] else None
    report["pytorch_floor_fraction"] = (floor["direct_floor_s"] / report["pytorch_s"]
                                        if report["pytorch_s"] else None)
    log(f"Matmul rate {rate:.0f} GFLOP/s (2048^3, TensorFlow, {args.threads} threads). Arithmetic floor: ours "
        f"{ours_work:.1f} GFLOP (Winograd products + direct convs + Grams) = {floor['ours_floor_s']:.3f} s"
        + (f", the step is {report['floor_fraction']:.2f} of the way to it" if report["floor_fraction"] else "")
        + f"; direct algorithm {direct_work:.1f} GFLOP = {floor['direct_floor_s']:.3f} s"
        + (f" (PyTorch: {report['pytorch_floor_fraction']:.2f})" if report["pytorch_floor_fraction"] else "") + ".")


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 3)
        if args.quality_size == (200, 150):
            args.quality_size = (128, 96)
        if args.quality_iterations == 200:
            args.quality_iterations = 60
    budget = args.quality_budget or args.quality_iterations
    log = lambda *a: print(*a, flush=True)  # noqa: E731

    names = args.variants.split(",") if args.variants else DEFAULT_RUN + (ABLATION_RUN if args.ablation else [])
    unknown = [n for n in names if n not in TF_VARIANTS and n not in TORCH_VARIANTS]
    if unknown:
        raise SystemExit(f"unknown configuration(s) {unknown}; known: {[*TF_VARIANTS, *TORCH_VARIANTS]}")
    notes = []
    if any(n in TORCH_VARIANTS for n in names):
        if args.skip_pytorch:
            notes.append("PyTorch part skipped (--skip-pytorch).")
            names = [n for n in names if n not in TORCH_VARIANTS]
        elif not common.torch_available():
            notes.append("PyTorch part skipped: torch is not installed "
                         "(pip install -r requirements-bench.txt).")
            names = [n for n in names if n not in TORCH_VARIANTS]
    for note in notes:
        log(note)

    width, height = args.size
    style_names = [n for n, _ in common.STYLE_LAYERS]
    work = flops.step_flops(width, height, style_names)
    report = {"machine": machine_state(), "size": [width, height], "warmup": args.warmup,
              "steps": args.steps, "rounds": args.rounds, "threads": args.threads,
              "gflop_per_step": work["total"] / 1e9, "flops_breakdown": work, "notes": notes,
              "variants": {}}
    log(f"Step: VGG19 (stand-in weights) at {width}x{height}, {work['total'] / 1e9:.1f} GFLOP per step "
        f"(benchmarks/flops.py); {args.threads} threads; load average {report['machine']['loadavg_1_5_15']}")

    inputs = prepare_inputs(width, height, args.threads)
    runs = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:
            log(f"[round {r + 1}/{args.rounds}] {name} ...")
            runs[name].append(time_variant(name, inputs, args, log))

    for name, rs in runs.items():
        ok = [r for r in rs if "wall_s" in r]
        entry = {"runs": rs}
        if ok:
            wall, cpu = common.pooled(ok, "wall_s"), common.pooled(ok, "cpu_s")
            entry.update(
                wall_s=wall, cpu_s=cpu, gflops_per_s=work["total"] / 1e9 / wall["median"],
                first_step_s=common.summary([r["first_step_s"] for r in ok]),
                **common.memory_entry(ok), compiled_transforms=ok[0].get("compiled_transforms"),
                costs_at_init=ok[0]["costs_at_init"], costs_after=ok[0]["costs_after"],
                updates_before_costs_after=ok[0]["updates_before_costs_after"],
                framework=ok[0]["framework"], version=ok[0]["version"], threads=ok[0]["threads"])
        else:
            entry["error"] = rs[0].get("error") if rs else "not run"
        report["variants"][name] = entry

    timed = {n: e for n, e in report["variants"].items() if "wall_s" in e}
    ours = timed.get("tf-default")
    torch_runs = {n: e for n, e in timed.items() if e["framework"] == "pytorch"}
    # The denominator is the faster PyTorch configuration: the comparison does not favour us.
    best_torch = min(torch_runs, key=lambda n: torch_runs[n]["wall_s"]["median"]) if torch_runs else None
    report["ours_s"] = ours["wall_s"]["median"] if ours else None
    report["pytorch_s"] = torch_runs[best_torch]["wall_s"]["median"] if best_torch else None
    report["pytorch_variant"] = best_torch
    report["ratio"] = (report["ours_s"] / report["pytorch_s"]) if ours and best_torch else None
    report["cpu_ratio"] = (ours["cpu_s"]["median"] / torch_runs[best_torch]["cpu_s"]["median"]
                           if ours and best_torch else None)
    report["working_memory_ratio"] = (ours["work_mb"] / torch_runs[best_torch]["work_mb"]
                                      if ours and best_torch else None)
    if ours and best_torch:
        a, b = ours["costs_at_init"]["J"], torch_runs[best_torch]["costs_at_init"]["J"]
        report["cost_check"] = {"tf_J_at_init": a, "pytorch_J_at_init": b, "relative_difference": abs(a - b) / abs(b),
                                "tf_J_after": ours["costs_after"]["J"],
                                "pytorch_J_after": torch_runs[best_torch]["costs_after"]["J"],
                                "updates": ours["updates_before_costs_after"]}

    log("")
    log(f"{'configuration':24s} {'s/step median (min-max)':>26s} {'CPU s/step':>10s} {'GFLOP/s':>8s} "
        f"{'first step s':>12s} {'peak RSS MB':>11s} {'work MB':>8s} {'vs PyTorch':>10s}")
    for name, e in report["variants"].items():
        if "wall_s" not in e:
            log(f"{name:24s} {e.get('error')}")
            continue
        vs = f"{e['wall_s']['median'] / report['pytorch_s']:.2f}x" if report["pytorch_s"] else "-"
        log(f"{name:24s} {fmt_range(e['wall_s']):>26s} {e['cpu_s']['median']:10.2f} {e['gflops_per_s']:8.1f} "
            f"{e['first_step_s']['median']:12.1f} {e['peak_rss_mb']:11.0f} {e['work_mb']:8.0f} {vs:>10s}")
    if report.get("cost_check"):
        c = report["cost_check"]
        log(f"Same problem: J at the initial image TF {c['tf_J_at_init']:.7g}, PyTorch {c['pytorch_J_at_init']:.7g} "
            f"(relative difference {c['relative_difference']:.1e}); after {c['updates']} updates "
            f"{c['tf_J_after']:.7g} vs {c['pytorch_J_after']:.7g}.")
    if report["ratio"] is not None:
        log(f"ratio ours/PyTorch (median step time, tf-default / {best_torch}): {report['ratio']:.2f} "
            f"(CPU time: {report['cpu_ratio']:.2f}); working memory (peak RSS minus the framework's own "
            f"baseline): {ours['work_mb']:.0f} MB vs {torch_runs[best_torch]['work_mb']:.0f} MB, "
            f"working_memory_ratio {report['working_memory_ratio']:.2f}")
    else:
        log("ratio ours/PyTorch: not measured" + (f" ({'; '.join(notes)})" if notes else ""))

    report["floor_fraction"] = report["pytorch_floor_fraction"] = None
    if args.skip_floor or args.device != "cpu":
        report["floor"] = {"skipped": "--skip-floor" if args.skip_floor else "not measured on a GPU"}
    else:
        floor_report(report, args, width, height, style_names, log)

    if args.scaling:
        from benchmarks import scaling

        report["scaling"] = scaling.run(args, lambda w, h: prepare_inputs(w, h, args.threads),
                                        lambda name, inputs, **kw: time_variant(name, inputs, args, log, **kw), log)

    report["time_to_quality_speedup"] = None
    if args.skip_quality:
        report["quality"] = {"skipped": "--skip-quality"}
        log("time to quality: skipped (--skip-quality)")
    else:
        qw, qh = args.quality_size
        config = {"size": [qw, qh], "iterations": args.quality_iterations, "budget": budget,
                  "backbone": "vgg16-hed", "threads": args.threads}
        log(f"\nTime to quality: vgg16-hed (real pretrained features) at {qw}x{qh}; baseline Adam "
            f"{args.quality_iterations} iterations; each option may run {budget} iterations ...")
        q = run_worker("quality.py", [json.dumps(config)], args.threads, log)
        report["quality"] = q
        if "baseline" in q:
            b = q["baseline"]
            log(f"{'run':44s} {'wall s':>8s} {'final J':>12s} {'s to reach J*':>14s} {'speed-up':>8s} "
                f"{'evals':>5s} {'1st call':>8s}")
            log(f"{b['label'][:44]:44s} {b['wall_s']:8.1f} {b['final_J']:12.6g} {b['time_to_target_s']:14.1f} "
                f"{'1.00x':>8s}")
            for o in q["options"]:
                reach = f"{o['time_to_target_s']:.1f}" if o["time_to_target_s"] else "not reached"
                sp = f"{o['speedup']:.2f}x" if o["speedup"] else "-"
                first = f"{o['first_call_speedup']:.2f}x" if o.get("first_call_speedup") else "-"
                final = f"{o['final_J']:.6g}" if o["final_J"] is not None else "-"
                log(f"{o['label'][:44]:44s} {o['wall_s']:8.1f} {final:>12s} {reach:>14s} {sp:>8s} "
                    f"{o.get('evaluations_to_target') or '-':>5} {first:>8s}")
            log("speed-up: a warm call (its traced function kept from a call before); 1st call: the "
                "option's first call in a process")
            report["time_to_quality_first_call_speedup"] = q.get("time_to_quality_first_call_speedup")
            report["time_to_quality_speedup"] = q["time_to_quality_speedup"]
        sp = report["time_to_quality_speedup"]
        log(f"time_to_quality_speedup: {sp:.2f}" if sp else
            "time_to_quality_speedup: null (no option reached the baseline's final cost, or none exists)")

    report["machine_after"] = machine_state()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
