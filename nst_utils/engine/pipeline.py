"""From model_nn's arguments to a result: the images' colour, the multi-resolution stages, the start
image and the style targets of each stage, around the one optimisation loop (optimize.py).

With the course's settings and no option this is the course's run: one stage at the content's size,
the noisy content image as start, the style image's activations as targets, Adam.

Images are normalised images, np.float32 (1, n_H, n_W, 3), RGB minus CONFIG.MEANS; sizes are
(width, height) in pixels.
"""
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import MAX_ITERATIONS_ENV, capped_iterations
from ..images import ensure_output_dir, generate_noise_image, save_image
from ..train import NSTResult
from ..vgg import load_vgg_model
from .color import luminance_image, transfer_chroma
from .objective import GramTargets, blend_weights, gram_targets
from .optimize import Reporter, optimize
from .options import check_image
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
        if content_image.shape != image.shape:
            raise ValueError(
                f"content_image is {content_image.shape[2]}x{content_image.shape[1]} but style_image is "
                f"{image.shape[2]}x{image.shape[1]} (width x height); load both with the same "
                "size, e.g. load_image(path, size=(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT)), or "
                "pass style_scale=1.0 to resize the style image to the content's size.")
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


def stylise(content_image, style_image, num_iterations, model, options, settings):
    """model_nn's work (see its docstring): returns an NSTResult."""
    content_image, styles = _checked_images(content_image, style_image, options)
    blend_weights(options.style_weights, len(styles))  # checks them, and the counts, before any work
    options.stage_iterations(num_iterations)
    output_dir = settings.output_dir
    if output_dir is not None:
        output_dir = ensure_output_dir(output_dir)  # fail now, not after minutes of optimisation
    if model is None:
        model = load_vgg_model(layers=[settings.content_layer] + [name for name, _ in settings.style_layers])
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
