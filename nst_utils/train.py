"""The optimisation: minimise J(G) over the pixels of G with tf.GradientTape, as in the course.

make_cost_function is the course's J(G) = alpha J_content + beta J_style for fixed targets,
make_train_step the course's train_step (one Adam update inside a tf.GradientTape), model_nn the
course's loop. The course first, the engine behind it: the options beyond the course (L-BFGS,
multi-resolution, colour preservation, ...) and the loop's bookkeeping live in nst_utils.engine,
which this module hands over to, inside make_cost_function (the fixed Gram targets, total
variation) and model_nn (the run), without importing it when loaded.
"""
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from .config import CONFIG, CONTENT_LAYER, STYLE_LAYERS
from .costs import compute_content_cost, total_cost


def make_cost_function(model, a_C, a_S, alpha=10, beta=40, content_layer=CONTENT_LAYER,
                       style_layers=STYLE_LAYERS, tv_weight=0.0, fixed_style_grams=True):
    """The cost J(G) = alpha J_content + beta J_style (+ tv_weight TV(G)) for fixed targets.

    Arguments:
    a_C -- activations of the content image at content_layer, (1, n_H, n_W, n_C)
    a_S -- {style layer name: activations of the style image} (the course), or an
           engine.objective.GramTargets (several style images, or a style image of another size)
    tv_weight -- weight of engine.regularizers.total_variation(G); 0 (the course) leaves it out
    fixed_style_grams -- compute the style image's Gram matrices once, not at every step (same cost
                         up to float rounding, a faster step on a CPU); False evaluates
                         compute_style_cost exactly as the course writes it

    Returns:
    cost -- function(generated_image (1, n_H, n_W, 3)) -> (J, J_content, J_style), usable inside
            tf.function and a GradientTape
    """
    from .engine.objective import style_cost_function
    from .engine.regularizers import total_variation

    a_C = tf.constant(a_C)
    style_cost = style_cost_function(a_S, style_layers, fixed_style_grams)

    def cost(generated_image):
        a_G = model(generated_image)
        J_content = compute_content_cost(a_C, a_G[content_layer])
        J_style = style_cost(a_G)
        J = total_cost(J_content, J_style, alpha=alpha, beta=beta)
        if tv_weight:
            J += tv_weight * total_variation(generated_image)
        return J, J_content, J_style

    return cost


def make_train_step(model, a_C, a_S, optimizer, alpha=10, beta=40,
                    content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS, jit_compile=False, *,
                    tv_weight=0.0, fixed_style_grams=True):
    """Build the course's ``train_step`` for fixed targets.

    Arguments:
    model -- activations model, image -> {layer name: activations}
    a_C -- activations of the content image at content_layer, (1, n_H, n_W, n_C)
    a_S -- {style layer name: activations of the style image}, or engine.objective.GramTargets
    optimizer -- a keras optimizer, e.g. keras.optimizers.Adam(2.0)
    jit_compile -- compile the step with XLA (tf.function(jit_compile=True))
    tv_weight -- weight of the total-variation term (0: the course; see make_cost_function)
    fixed_style_grams -- see make_cost_function

    Returns:
    train_step -- tf.function(generated_image: tf.Variable (1, n_H, n_W, 3)) -> (J, J_content, J_style),
                  the costs of the image *before* the update it applies
    """
    cost = make_cost_function(model, a_C, a_S, alpha, beta, content_layer, style_layers,
                              tv_weight=tv_weight, fixed_style_grams=fixed_style_grams)

    @tf.function(jit_compile=jit_compile)
    def train_step(generated_image):
        with tf.GradientTape() as tape:
            J, J_content, J_style = cost(generated_image)
        grad = tape.gradient(J, generated_image)
        optimizer.apply_gradients([(grad, generated_image)])
        return J, J_content, J_style

    # Every model_nn run builds its own step for its own targets, on purpose. TensorFlow's
    # frequent-retracing heuristic counts those as one function re-created in a loop and prints a
    # misleading warning into the learner's notebook (e.g. a loop over layers): switch it off.
    train_step._omit_frequent_tracing_warning = True
    return train_step


@dataclass
class NSTResult:
    """What model_nn returns.

    image -- final normalised image, np.float32 (1, n_H, n_W, 3), RGB minus CONFIG.MEANS
    history -- one dict per reported iteration: iteration, J, J_content, J_style, seconds
    saved -- paths of the images written, in order
    stopped -- None if all iterations ran, else why the loop stopped early
    """

    image: np.ndarray
    history: list = field(default_factory=list)
    saved: list = field(default_factory=list)
    stopped: str = None


def model_nn(content_image, style_image, num_iterations=200, *, model=None, input_image=None,
             alpha=10, beta=40, learning_rate=2.0, noise_ratio=CONFIG.NOISE_RATIO, seed=None,
             content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS,
             output_dir=CONFIG.OUTPUT_DIR, save_every=20, report_every=20, progress=True, verbose=True,
             tv_weight=0.0, optimizer="adam", init="noise", preserve_color=False,
             style_weights=None, style_scale=None, sizes=None, preset=None):
    """Run the course's optimisation loop (the defaults are exactly the course's).

    Arguments:
    content_image, style_image -- normalised images (1, n_H, n_W, 3), same size (the course);
                   style_image may be a list of style images to blend (see style_weights)
    num_iterations -- Adam steps (course: 200), or L-BFGS cost evaluations; with sizes, the count
                   for each size (a number) or a list with one count per size
    model -- activations model from load_vgg_model(); None loads VGG19 with the layers needed
    input_image -- initial G (normalised); None uses init
    output_dir -- where '<i>.png' is written every save_every iterations and 'generated_image.png' at
                  the end; None writes nothing
    report_every -- costs are recorded (and printed if verbose) every this many iterations

    Options beyond the course (each off by default):
    tv_weight -- weight w of the term w * TV(G) added to J (engine/regularizers.py, squared pixel
                 units); it competes with the cost G converges to. With vgg16-hed at 200x150 and 100
                 L-BFGS evaluations (J ~400 at the end), w = 3 and 30 lower the result's TV by about
                 20% and 40% (scripts/make_gallery.py); short runs (J 1e4-1e6) need 1e2-1e4.
    optimizer -- "adam" (the course, learning_rate) or "lbfgs" (Gatys et al.; engine/optimize.py,
                 num_iterations counts cost evaluations, each costing about one Adam step)
    init -- "noise" (the course: generate_noise_image(content, noise_ratio, seed)), "content" (C
            itself), "spectrum" (C with the style's colours, spectrum, histograms: engine/start.py),
            or a normalised image to start from (resized if needed)
    preserve_color -- transfer the style to the luminance only and keep the content's colours
                      (engine/color.py; Gatys et al. 2016): NST runs on grey versions of C and S (S's
                      luminance matched to C's mean and spread), then the result's luminance Y is
                      recombined with C's chroma I, Q. Costs reported are those of the grey images.
    style_weights -- blend weights of the style images (normalised to sum 1; default equal)
    style_scale -- None (the course: the style image must have the content's size), or a number s:
                   each style image is resized so that its longer side is s times the content's
                   (aspect kept); smaller s gives smaller brush strokes / texture elements
    sizes -- multi-resolution: list of (width, height) stages, e.g. [(200, 150), (400, 300)];
             optimise at the first, upsample the result, continue at the next. Content (and style,
             in proportion) are resized for each stage. None: one stage at the content's size.
    preset -- None, or "quick": optimizer="lbfgs", init="spectrum" and a scaled first L-BFGS step
              (engine/options.py); 8-16 evaluations reach the course's final cost, in about a tenth
              of its time (README). Options given values other than their defaults keep them.
    With several style images or a style_scale, the style cost uses Gram matrices normalised by
    their own n_H n_W (engine/objective.py), which equals the course's formula when sizes match.

    Returns:
    NSTResult with the final image, the cost history and the saved paths. With sizes, each history
    entry also has "size"; iterations are numbered across the stages.
    Ctrl-C, SIGTERM or a non-finite cost stops the loop early; the last good image is kept and saved.
    """
    from .engine.options import Options, Settings
    from .engine.pipeline import stylise

    options = Options.with_input_image(
        input_image, tv_weight=tv_weight, optimizer=optimizer, init=init, preserve_color=preserve_color,
        style_weights=style_weights, style_scale=style_scale, sizes=sizes, preset=preset)
    settings = Settings(alpha, beta, learning_rate, noise_ratio, seed, content_layer, style_layers,
                        output_dir, save_every, report_every, progress, verbose)
    return stylise(content_image, style_image, num_iterations, model, options, settings)
