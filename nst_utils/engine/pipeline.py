"""stylise: the course's run (train.model_nn) with the options beyond the course: the images' colour,
the multi-resolution stages, the start image and the style targets of each stage, around the
engine's optimisation loop (optimize.py), on the network with the engine's convolutions.

With the course's settings and no option this is the course's run: one stage at the content's size,
the noisy content image as start, the style image's Gram matrices as targets, Adam.

Images are normalised images, np.float32 (1, n_H, n_W, 3), RGB minus CONFIG.MEANS; sizes are
(width, height) in pixels.
"""
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import CONFIG, CONTENT_LAYER, MAX_ITERATIONS_ENV, STYLE_LAYERS, capped_iterations
from ..images import check_image, ensure_output_dir, generate_noise_image, save_image
from ..train import NSTResult, same_size
from .color import luminance_image, transfer_chroma
from .network import load_fast_vgg_model
from .objective import GramTargets, blend_weights, gram_targets
from .optimize import Reporter, optimize
from .options import Options, Settings
from .resize import resize_image, scaled_size
from .start import spectrum_start


@dataclass
class Stage:
    """One resolution: the targets at that size, where to start, how many iterations."""

    a_C: object
    a_S: object
    start_image: object
    iterations: int
    offset: int


def _checked_images(content_image, style_image, options):
    """(content, [style, ...]) as float32 arrays, with the course's same-size rule unless style_scale."""
    content_image = check_image("content_image", content_image)
    styles = list(style_image) if isinstance(style_image, (list, tuple)) else [style_image]
    if not styles:
        raise ValueError("style_image is an empty list; give at least one style image.")
    styles = [check_image("style_image", s) for s in styles]
    for image in styles if options.style_scale is None else []:
        same_size(content_image, image)
    return content_image, styles


class Colour:
    """Colour preservation (color.py) or nothing: what the network sees, and what the user gets."""

    def __init__(self, content_image, preserve_color):
        self.content = content_image if preserve_color else None

    def network_view(self, image, match=None):
        return image if self.content is None else luminance_image(image, match=match)

    def finish(self, image):
        """The image itself, or its luminance on the content's colours."""
        if self.content is None:
            return image
        return transfer_chroma(image, resize_image(self.content, (image.shape[2], image.shape[1])))


def _start_image(previous, content, styles, weights, options, settings):
    """The previous stage's result upsampled, or the first stage's start (options.init)."""
    size = (content.shape[2], content.shape[1])
    if previous is not None:
        return resize_image(previous, size)
    if isinstance(options.init, str):
        if options.init == "noise":
            return generate_noise_image(content, settings.noise_ratio, settings.seed)
        if options.init == "spectrum":
            return spectrum_start(content, styles, weights)
        return content.copy()
    return resize_image(options.init, size)


def _stages(model, content_image, styles, num_iterations, options, settings):
    """Yield (size, Stage) in order; the start image of each stage after the first is sent in."""
    offset, generated = 0, None
    weights = blend_weights(options.style_weights, len(styles))
    for size, iterations in zip(options.stage_sizes(content_image), options.stage_iterations(num_iterations)):
        content = resize_image(content_image, size)
        if options.style_scale is None:
            styles_k = [resize_image(s, size) for s in styles]
        else:
            styles_k = [resize_image(s, scaled_size(s, content, options.style_scale)) for s in styles]
        if len(styles) > 1 or options.style_scale is not None:
            a_S = gram_targets(model, styles_k, weights, settings.style_layers)
        else:
            # the course's Gram targets, made here so that the style activations are not kept
            a_S = GramTargets.of_style(model(styles_k[0]), settings.style_layers)
        run = capped_iterations(iterations)
        if run < iterations and settings.verbose:
            print(f"{MAX_ITERATIONS_ENV} is set: running {run} of {iterations} iterations.")
        stage = Stage(model(content)[settings.content_layer], a_S,
                      _start_image(generated, content, styles_k, weights, options, settings), run, offset)
        generated = yield size, stage
        offset += run


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
    tv_weight -- weight w of the term w * TV(G) added to J (regularizers.py, squared pixel units);
                 it competes with the cost G converges to. With vgg16-hed at 200x150 and 100 L-BFGS
                 evaluations (J ~400 at the end), w = 3 and 30 lower the result's TV by about 20% and
                 40% (scripts/make_gallery.py); short runs (J 1e4-1e6) need 1e2-1e4.
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
              (options.py); 8-16 evaluations reach the course's final cost, in about a tenth of its
              time (docs/performance.md). Options given values other than their defaults keep them.
    With several style images or a style_scale, the style cost uses Gram matrices normalised by
    their own n_H n_W (objective.py), which equals the course's formula when sizes match.

    Returns:
    NSTResult with the final image, the cost history and the saved paths. With sizes, each history
    entry also has "size"; iterations are numbered across the stages.
    Ctrl-C, SIGTERM or a non-finite cost stops the loop early; the last good image is kept and saved.
    """
    options = Options.with_input_image(
        input_image, tv_weight=tv_weight, optimizer=optimizer, init=init, preserve_color=preserve_color,
        style_weights=style_weights, style_scale=style_scale, sizes=sizes, preset=preset)
    settings = Settings(alpha, beta, learning_rate, noise_ratio, seed, content_layer, style_layers,
                        output_dir, save_every, report_every, progress, verbose)
    return run(content_image, style_image, num_iterations, model, options, settings)


def run(content_image, style_image, num_iterations, model, options, settings):
    """stylise's work, from its arguments collected in Options and Settings: returns an NSTResult."""
    content_image, styles = _checked_images(content_image, style_image, options)
    blend_weights(options.style_weights, len(styles))  # checks them, and the counts, before any work
    options.stage_iterations(num_iterations)
    output_dir = settings.output_dir
    if output_dir is not None:
        output_dir = ensure_output_dir(output_dir)  # fail now, not after minutes of optimisation
    if model is None:
        layers = [settings.content_layer] + [name for name, _ in settings.style_layers]
        model = load_fast_vgg_model(layers=layers)
    colour = Colour(content_image, options.preserve_color)
    content = colour.network_view(content_image)
    styles = [colour.network_view(s, match=content_image) for s in styles]
    if not isinstance(options.init, str):
        options = replace(options, init=colour.network_view(options.init))

    result = NSTResult(image=None)

    def save(name, image):
        if output_dir is not None:
            result.saved.append(save_image(Path(output_dir) / name, colour.finish(image)))

    report = Reporter(result, save, settings, size_key=options.sizes is not None)
    stages = _stages(model, content, styles, num_iterations, options, settings)
    generated = None
    try:
        while not result.stopped:
            report.size, stage = stages.send(generated)
            result.image = stage.start_image if result.image is None else result.image
            generated = optimize(model, stage, settings, options, report)
    except StopIteration:
        pass
    if result.stopped and settings.verbose:
        print("Stopped early:", result.stopped)
    save("generated_image.png", result.image)
    result.image = colour.finish(result.image)
    return result
