"""Train a feed-forward style network (Johnson et al. 2016) for one style image, within a time box.

    python scripts/train_feedforward.py --minutes 30 --size 160 --out nst_utils/feedforward/models/brushstrokes.npz

Content: random crops of scikit-image's CC0 / public-domain sample photographs (pip install -r
requirements-train.txt) and of images/mosaic.png; the cat (images/chelsea.png) is held out.
A checkpoint is written every --checkpoint-every seconds and at the end; Ctrl-C or SIGTERM stops
the training and keeps the last weights.
"""
import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the clone this script runs from


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default=str(ROOT / "images" / "brushstrokes.png"), help="style image")
    parser.add_argument("--style-size", default="400x300", metavar="WxH",
                        help="size the style image is resized to (default: %(default)s); the strokes "
                             "keep this pixel size in the results")
    parser.add_argument("--out", default=str(ROOT / "output" / "feedforward.npz"), help=".npz weights file")
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-time budget (default: 30)")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps instead")
    parser.add_argument("--size", type=int, default=160, help="crop side in pixels, multiple of 4 (default: 160)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--backbone", choices=("vgg16-hed", "vgg19"), default="vgg16-hed",
                        help="the loss network: vgg16-hed (offline, default) or the course's vgg19 "
                             "(needs its weights)")
    parser.add_argument("--alpha", type=float, default=10.0, help="content weight (course: 10)")
    parser.add_argument("--beta", type=float, default=40.0, help="style weight (course: 40)")
    parser.add_argument("--tv-weight", type=float, default=0.0, help="total-variation weight")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--channels", default="16,32,64", help="channels at 1, 1/2, 1/4 resolution")
    parser.add_argument("--residual-blocks", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=float, default=120.0, metavar="SECONDS")
    parser.add_argument("--no-skimage", action="store_true",
                        help="train on images/ only (no scikit-image needed)")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.steps is None and args.minutes <= 0:
        print("error: give --minutes > 0 or --steps", file=sys.stderr)
        return 2
    import numpy as np
    import tensorflow as tf

    from nst_utils import load_image, reshape_and_normalize_image
    from nst_utils.feedforward import data
    from nst_utils.feedforward.train import train

    width, height = (int(v) for v in args.style_size.lower().split("x"))
    style = reshape_and_normalize_image(load_image(args.style, size=(width, height)))
    pictures = data.repo_pictures()
    if not args.no_skimage:
        pictures += data.skimage_pictures()
    batches = data.batches(pictures, args.size, args.batch_size, seed=args.seed)
    tf.random.set_seed(args.seed)
    command = "python scripts/train_feedforward.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    metadata = {"command": command, "style": Path(args.style).name, "style_size": [width, height],
                "crop_size": args.size, "batch_size": args.batch_size, "n_pictures": len(pictures),
                "tensorflow": tf.__version__, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "date": time.strftime("%Y-%m-%d")}
    result = train(style, batches, steps=args.steps, minutes=None if args.steps else args.minutes,
                   learning_rate=args.lr, alpha=args.alpha, beta=args.beta, tv_weight=args.tv_weight,
                   backbone=args.backbone, seed=args.seed,
                   channels=tuple(int(c) for c in args.channels.split(",")),
                   residual_blocks=args.residual_blocks, out=args.out,
                   checkpoint_every=args.checkpoint_every, metadata=metadata,
                   progress=not args.quiet)
    history = np.array(result.history)
    log = Path(args.out).with_suffix(".log.json")
    # The loss curve: [last step, seconds, mean J, J_content, J_style, TV] per window of 100 steps.
    window = 100
    curve = []
    for i in range(0, len(history), window):
        rows = history[i:i + window]
        curve.append([int(rows[-1, 0]), round(float(rows[-1, 1]), 1)]
                     + [round(float(v), 4) for v in rows[:, 2:].mean(axis=0)])
    log.write_text(json.dumps({"steps": result.steps, "seconds": round(result.seconds, 1),
                               "stopped": result.stopped or "steps",
                               "columns": ["step", "seconds", "J", "J_content", "J_style", "TV"],
                               "curve": curve}, indent=1))
    print(f"{result.steps} steps in {result.seconds:.0f} s ({result.stopped or 'done'}); "
          f"weights: {args.out}; loss curve: {log}")
    return 130 if result.stopped == "interrupted" else 0


if __name__ == "__main__":
    sys.exit(main())
