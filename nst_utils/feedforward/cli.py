"""``python -m nst_utils CONTENT --model FILE`` (or ``--fast``): stylise CONTENT with a trained
feed-forward network in one forward pass, instead of optimising the pixels. The command line's
other flags, and its optimisation, are nst_utils/cli.py."""
import sys
import time
from pathlib import Path


def add_arguments(parser):
    """Add --model and --fast to the package's command-line parser."""
    group = parser.add_argument_group("feed-forward stylisation (Johnson et al. 2016)")
    group.add_argument("--model", default=None, metavar="FILE",
                       help="stylise CONTENT in one forward pass with this trained network (.npz from "
                            "scripts/train_feedforward.py) instead of optimising; the style is the "
                            "network's, so STYLE and the optimisation options are not used")
    group.add_argument("--fast", action="store_true",
                       help="same as --model with the shipped brush-stroke network")


def wants_feedforward(args):
    return bool(getattr(args, "model", None) or getattr(args, "fast", False))


def _content_size(args):
    """The command line's rule (nst_utils/sizing.py): fitted inside --size, aspect kept; WxH! exact."""
    from ..images import image_size
    from ..sizing import fit

    return tuple(args.size) if getattr(args.size, "exact", False) else fit(image_size(args.content), args.size)


def run(args):
    """Stylise args.content (fitted in args.size) and write OUTPUT_DIR/generated_image.png.

    Returns the exit status: 0, or 2 for a bad argument or file.
    """
    from ..config import CONFIG
    from ..images import ImageError, OutputDirError, load_image, reshape_and_normalize_image, save_image
    from . import DEFAULT_MODEL, load_model, stylise

    if args.style != CONFIG.STYLE_IMAGE or getattr(args, "extra_styles", None):
        print("error: --model/--fast use the style the network was trained on; pass CONTENT only "
              "(train another style with scripts/train_feedforward.py)", file=sys.stderr)
        return 2
    path = args.model or DEFAULT_MODEL
    from ..tensorflow_start import start_tensorflow

    start_tensorflow()  # without the start-up lines a newcomer takes for errors
    try:
        net = load_model(path)
        content = reshape_and_normalize_image(load_image(args.content, size=_content_size(args)))
        stylise(net, content)  # warm-up: the first call builds the graph
        start = time.perf_counter()
        result = stylise(net, content)
        seconds = time.perf_counter() - start
        out = save_image(Path(args.output_dir) / "generated_image.png", result)
    except (FileNotFoundError, ImageError, OutputDirError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"Stylised {args.content} with {path} in {seconds:.3f} s "
              f"({content.shape[2]}x{content.shape[1]})")
    print(f"Saved {out}")
    return 0
