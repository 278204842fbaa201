"""stylise: the course's run (train.model_nn) with the options beyond the course: the images' colour,
the multi-resolution stages, the start image and the style targets of each stage, around the
engine's optimisation loop (optimize.py), on the network with the engine's convolutions.

With the course's settings and no option this is the course's run: one stage at the content's size,
the noisy content image as start, the style image's Gram matrices as targets, Adam.

Images are normalised images, np.float32 (1, n_H, n_W, 3), RGB minus CONFIG.MEANS; sizes are
(width, height) in pixels.
"""
from dataclasses import dataclass
from pathlib import Path

from ..config import CONFIG, CONTENT_LAYER, MAX_ITERATIONS_ENV, STYLE_LAYERS, capped_iterations
from ..images import check_image, ensure_output_dir, save_image
from ..train import NSTResult, same_size
from .color import network_views, transfer_chroma
from .network import load_fast_vgg_model
from .objective import GramTargets, gram_targets
from .optimize import optimize
from .options import decide
from .history import Reporter
from .resize import resize_image, stage_images
from .start import first_start


@dataclass
class Stage:
    """One resolution: the targets at that size (content activations a_C, GramTargets), where to
    start, how many iterations."""

    a_C: object
    targets: object
    start_image: object
    iterations: int
    offset: int


def _checked_images(content_image, style_image, style_scale):
    """(content, [style, ...]) as float32 arrays, with the course's same-size rule unless style_scale."""
    content_image = check_image("content_image", content_image)
    styles = list(style_image) if isinstance(style_image, (list, tuple)) else [style_image]
    if not styles:
        raise ValueError("style_image is an empty list; give at least one style image.")
    styles = [check_image("style_image", s) for s in styles]
    for image in styles if style_scale is None else []:
        same_size(content_image, image)
    return content_image, styles


def stylise(content_image, style_image, num_iterations=200, *, model=None, input_image=None,
             alpha=10, beta=40, learning_rate=2.0, noise_ratio=CONFIG.NOISE_RATIO, seed=None,
             content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS,
             output_dir=CONFIG.OUTPUT_DIR, save_every=20, report_every=20, progress=True, verbose=True,
             tv_weight=0.0, optimizer="adam", init="noise", preserve_color=False,
             style_weights=None, style_scale=None, sizes=None, preset=None):
    """train.model_nn's run (the defaults are exactly the course's) with the options beyond the course.

    Arguments as model_nn's, and:
    content_image, style_image -- normalised images (1, n_H, n_W, 3), same size (the course);
                   style_image may be a list of style images to blend (see style_weights)
    num_iterations -- Adam steps (course: 200), or L-BFGS cost evaluations; with sizes, the count
                   for each size (a number) or a list with one count per size
    model -- activations model; None loads VGG19 with the engine's convolutions (network.py)
    input_image -- initial G (normalised); None uses init

    Options beyond the course (each off by default):
    tv_weight -- weight w of the term w * TV(G) added to J (regularizers.py, squared pixel units)
    optimizer -- "adam" (the course, learning_rate) or "lbfgs" (Gatys et al.; optimize.py,
                 num_iterations counts cost evaluations, each costing about one Adam step)
    init -- "noise" (the course: generate_noise_image(content, noise_ratio, seed)), "content" (C
            itself), "spectrum" (C with the style's colours, spectrum, histograms: start.py),
            or a normalised image to start from (resized if needed)
    preserve_color -- transfer the style to the luminance only and keep the content's colours
                      (color.py; Gatys et al. 2016): NST runs on grey versions of C and S (S's
                      luminance matched to C's mean and spread), then the result's luminance Y is
                      recombined with C's chroma I, Q. Costs reported are those of the grey images.
    style_weights -- blend weights of the style images (normalised to sum 1; default equal)
    style_scale -- None (the course: the style image must have the content's size), or a number s:
                   each style image is resized so that its longer side is s times the content's
                   (aspect kept); smaller s gives smaller brush strokes / texture elements
    sizes -- multi-resolution: list of (width, height) stages, e.g. [(200, 150), (400, 300)];
             optimise at the first, upsample the result, continue at the next. None: one stage.
    preset -- None, or "quick": optimizer="lbfgs", init="spectrum" and a scaled first L-BFGS step
              (options.PRESETS). Options given values other than their defaults keep them.
    With several style images or a style_scale, the style cost uses Gram matrices normalised by
    their own n_H n_W (objective.py), which equals the course's formula when sizes match.

    Returns:
    NSTResult with the final image, the cost history and the saved paths. With sizes, each history
    entry also has "size"; iterations are numbered across the stages.
    Ctrl-C, SIGTERM or a non-finite cost stops the loop early; the last good image is kept and saved.
    """
    options = dict(tv_weight=tv_weight, optimizer=optimizer, init=init, preserve_color=preserve_color,
                   style_weights=style_weights, style_scale=style_scale, sizes=sizes, preset=preset)
    settings = dict(alpha=alpha, beta=beta, learning_rate=learning_rate, noise_ratio=noise_ratio, seed=seed,
                    content_layer=content_layer, style_layers=style_layers, output_dir=output_dir,
                    save_every=save_every, report_every=report_every, progress=progress, verbose=verbose)
    return run(content_image, style_image, num_iterations, model, input_image, options, settings)


def run(content_image, style_image, num_iterations, model, input_image, options, settings):
    """stylise's work: returns an NSTResult. options and settings: stylise's keyword arguments
    beyond the course's and the course's, as dicts (options.decide checks them before any work)."""
    content_image, styles = _checked_images(content_image, style_image, options.get("style_scale"))
    options, settings, weights, stages = decide(input_image, options, settings, content_image, len(styles),
                                                num_iterations)  # stages: [((width, height), iterations), ...]
    output_dir = settings.output_dir
    if output_dir is not None:
        output_dir = ensure_output_dir(output_dir)  # fail now, not after minutes of optimisation
    if model is None:
        layers = [settings.content_layer] + [name for name, _ in settings.style_layers]
        model = load_fast_vgg_model(layers=layers)
    content, styles, init = network_views(content_image, styles, options.init, options.preserve_color)
    style_layers = settings.style_layers
    result = NSTResult(image=None)

    def finished(image):
        """What the user gets: the image, or with preserve_color its luminance on the content's colours."""
        if not options.preserve_color:
            return image
        return transfer_chroma(image, resize_image(content_image, (image.shape[2], image.shape[1])))

    def save(name, image):
        if output_dir is not None:
            result.saved.append(save_image(Path(output_dir) / name, finished(image)))

    report = Reporter(result, save, settings, size_key=options.sizes is not None)
    offset, generated = 0, None
    for size, iterations in stages:
        if result.stopped:
            break
        # the previous stage's result, or an init image, is resized to this stage; a named init is made
        given = init if generated is None and not isinstance(init, str) else generated
        content_k, styles_k, start = stage_images(content, styles, given, size, options.style_scale)
        # normalised Gram matrices for any sizes and blends, else the course's (activations not kept)
        targets = gram_targets(model, styles_k, weights, style_layers) if len(styles) > 1 or \
            options.style_scale is not None else GramTargets.of_style(model(styles_k[0]), style_layers)
        run_k = capped_iterations(iterations)
        if run_k < iterations and settings.verbose:
            print(f"{MAX_ITERATIONS_ENV} is set: running {run_k} of {iterations} iterations.")
        if start is None:
            start = first_start(init, content_k, styles_k, weights, settings.noise_ratio, settings.seed)
        stage = Stage(model(content_k)[settings.content_layer], targets, start, run_k, offset)
        report.size = size
        result.image = stage.start_image if result.image is None else result.image
        generated = optimize(model, stage, settings, options, report)
        offset += run_k
    report.course.finish(result)
    save("generated_image.png", result.image)
    result.image = finished(result.image)
    return result
