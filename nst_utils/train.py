"""The optimisation: minimise J(G) over the pixels of G with tf.GradientTape, as in the course."""
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from .config import CONFIG, CONTENT_LAYER, MAX_ITERATIONS_ENV, STYLE_LAYERS, capped_iterations
from .costs import compute_content_cost, compute_style_cost, total_cost
from .images import ensure_output_dir, generate_noise_image, save_image
from .color import luminance_image, transfer_chroma
from .lbfgs import StopOptimization, make_value_and_gradient, minimize_lbfgs
from .regularizers import total_variation
from .resize import resize_image, scaled_size
from .style_targets import (GramTargets, blend_weights, compute_style_cost_from_grams,
                            fixed_style_cost, gram_targets)


def make_cost_function(model, a_C, a_S, alpha=10, beta=40, content_layer=CONTENT_LAYER,
                       style_layers=STYLE_LAYERS, tv_weight=0.0, fixed_style_grams=True):
    """The cost J(G) = alpha J_content + beta J_style (+ tv_weight TV(G)) for fixed targets.

    Arguments:
    a_C -- activations of the content image at content_layer, (1, n_H, n_W, n_C)
    a_S -- {style layer name: activations of the style image} (the course), or a
           style_targets.GramTargets (several style images, or a style image of another size)
    tv_weight -- weight of regularizers.total_variation(G); 0 (the course) leaves it out
    fixed_style_grams -- compute the style image's Gram matrices once, not at every step (same cost
                         up to float rounding, a faster step on a CPU); False evaluates
                         compute_style_cost exactly as the course writes it

    Returns:
    cost -- function(generated_image (1, n_H, n_W, 3)) -> (J, J_content, J_style), usable inside
            tf.function and a GradientTape
    """
    a_C = tf.constant(a_C)
    if isinstance(a_S, GramTargets):
        targets = {name: tf.constant(a_S[name]) for name, _ in style_layers}

        def style_cost(a_G):
            return compute_style_cost_from_grams(targets, a_G, style_layers)
    else:
        a_S = {name: tf.constant(a_S[name]) for name, _ in style_layers}
        if fixed_style_grams:
            style_cost = fixed_style_cost(a_S, style_layers)
        else:
            def style_cost(a_G):
                return compute_style_cost(a_S, a_G, style_layers)

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
    a_S -- {style layer name: activations of the style image}, or style_targets.GramTargets
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


INITS = ("noise", "content")
OPTIMIZERS = ("adam", "lbfgs")


def _check_image(name, image):
    image = np.asarray(image, np.float32)
    if image.ndim != 4 or image.shape[0] != 1 or image.shape[-1] != 3:
        raise ValueError(f"{name} must be a normalised image of shape (1, n_H, n_W, 3), got "
                         f"{image.shape}. Use reshape_and_normalize_image(load_image(path)).")
    return image


def _stage_sizes(content_image, sizes):
    """[(width, height), ...] of the optimisation stages; one stage at the content's size by default."""
    if sizes is None:
        return [(content_image.shape[2], content_image.shape[1])]
    sizes = [tuple(int(v) for v in size) for size in sizes]
    if not sizes or any(len(size) != 2 for size in sizes):
        raise ValueError(f"sizes must be a non-empty list of (width, height) pairs, got {sizes}")
    return sizes


def _stage_iterations(num_iterations, n_stages):
    if np.ndim(num_iterations) == 0:
        return [int(num_iterations)] * n_stages
    counts = [int(n) for n in num_iterations]
    if len(counts) != n_stages:
        raise ValueError(f"num_iterations has {len(counts)} counts for {n_stages} sizes; give one per "
                         "size, or a single number used for every size.")
    return counts


def model_nn(content_image, style_image, num_iterations=200, *, model=None, input_image=None,
             alpha=10, beta=40, learning_rate=2.0, noise_ratio=CONFIG.NOISE_RATIO, seed=None,
             content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS,
             output_dir=CONFIG.OUTPUT_DIR, save_every=20, report_every=20,
             progress=True, verbose=True,
             tv_weight=0.0, optimizer="adam", init="noise", preserve_color=False,
             style_weights=None, style_scale=None, sizes=None):
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
    tv_weight -- weight w of the term w * TV(G) added to J (regularizers.total_variation, squared
                 pixel units). It competes with the cost G converges to, not the starting cost, so
                 the useful scale depends on the network, size and iterations. Measured with
                 vgg16-hed at 200x150, 100 L-BFGS evaluations (J falls from ~1e7 to ~400, the
                 result's TV ~2500): w = 3 and 30 lower the result's TV by about 20% and 40%
                 (scripts/make_gallery.py). Short runs, whose J is still 1e4-1e6, need w of 1e2-1e4.
    optimizer -- "adam" (the course, learning_rate) or "lbfgs" (Gatys et al.; lbfgs.minimize_lbfgs,
                 num_iterations counts cost evaluations, each costing about one Adam step)
    init -- "noise" (the course: generate_noise_image(content, noise_ratio, seed)), "content" (start
            from C itself), or a normalised image to start from (resized if needed)
    preserve_color -- transfer the style to the luminance only and keep the content's colours
                      (color.py; Gatys et al. 2016): NST runs on grey versions of C and S (S's
                      luminance matched to C's mean and spread), then the result's luminance Y is
                      recombined with C's chroma I, Q. Costs reported are those of the grey images.
    style_weights -- blend weights of the style images (normalised to sum 1; default equal)
    style_scale -- None (the course: the style image must have the content's size), or a number s:
                   each style image is resized so that its longer side is s times the content's
                   (aspect kept); smaller s gives smaller brush strokes / texture elements
    sizes -- multi-resolution: list of (width, height) stages, e.g. [(200, 150), (400, 300)];
             optimise at the first, upsample the result, continue at the next. Content (and style,
             in proportion) are resized for each stage. None: one stage at the content's size.

    With several style images or a style_scale, the style cost uses Gram matrices normalised by
    their own n_H n_W (style_targets.py), which equals the course's formula when sizes match.

    Returns:
    NSTResult with the final image, the cost history and the saved paths. With sizes, each history
    entry also has "size"; iterations are numbered across the stages.
    Ctrl-C or a non-finite cost stops the loop early; the last good image is kept and saved.
    """
    content_image = _check_image("content_image", content_image)
    style_images = list(style_image) if isinstance(style_image, (list, tuple)) else [style_image]
    if not style_images:
        raise ValueError("style_image is an empty list; give at least one style image.")
    style_images = [_check_image("style_image", s) for s in style_images]
    if style_scale is None:
        for image in style_images:
            if content_image.shape != image.shape:
                raise ValueError(
                    f"content_image is {content_image.shape[2]}x{content_image.shape[1]} but style_image is "
                    f"{image.shape[2]}x{image.shape[1]} (width x height); load both with the same "
                    "size, e.g. load_image(path, size=(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT)), or "
                    "pass style_scale=1.0 to resize the style image to the content's size.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if input_image is not None and not (isinstance(init, str) and init == "noise"):
        raise ValueError("give either input_image or init, not both")
    if input_image is not None:
        init = input_image
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS} or a normalised image, got {init!r}")
    else:
        init = _check_image("init", init)
    if tv_weight < 0:
        raise ValueError(f"tv_weight must be >= 0, got {tv_weight}")
    stage_sizes = _stage_sizes(content_image, sizes)
    stage_iterations = _stage_iterations(num_iterations, len(stage_sizes))
    style_weights = blend_weights(style_weights, len(style_images))  # checks them early
    use_grams = len(style_images) > 1 or style_scale is not None

    if output_dir is not None:
        output_dir = ensure_output_dir(output_dir)  # fail now, not after minutes of optimisation
    if model is None:
        from .vgg import load_vgg_model
        model = load_vgg_model(layers=[content_layer] + [name for name, _ in style_layers])

    if preserve_color:
        color_content = content_image
        content_image = luminance_image(content_image)
        style_images = [luminance_image(s, match=color_content) for s in style_images]
        if not isinstance(init, str):
            init = luminance_image(init)

    def finish(image):
        """What the user sees: the image itself, or its luminance on the content's colours."""
        if not preserve_color:
            return image
        return transfer_chroma(image, resize_image(color_content, (image.shape[2], image.shape[1])))

    result = NSTResult(image=None)

    def save(name, image):
        if output_dir is not None:
            result.saved.append(save_image(Path(output_dir) / name, finish(image)))

    report = _Reporter(result, save, report_every, save_every, verbose,
                       size_key=sizes is not None)
    generated = None
    offset = 0
    for size, iterations in zip(stage_sizes, stage_iterations):
        content_k = resize_image(content_image, size)
        if style_scale is None:
            styles_k = [resize_image(s, size) for s in style_images]
        else:
            styles_k = [resize_image(s, scaled_size(s, content_k, style_scale)) for s in style_images]
        if generated is not None:
            start_image = resize_image(generated, size)
        elif isinstance(init, str) and init == "noise":
            start_image = generate_noise_image(content_k, noise_ratio, seed)
        elif isinstance(init, str):
            start_image = content_k.copy()
        else:
            start_image = resize_image(init, size)
        if result.image is None:
            result.image = start_image

        a_C = model(content_k)[content_layer]
        if use_grams:
            a_S = gram_targets(model, styles_k, style_weights, style_layers)
        else:
            a_S = model(styles_k[0])
        run = capped_iterations(iterations)
        if run < iterations and verbose:
            print(f"{MAX_ITERATIONS_ENV} is set: running {run} of {iterations} iterations.")
        report.size = size
        if optimizer == "adam":
            generated = _run_adam(model, a_C, a_S, start_image, run, offset, report, progress,
                                  learning_rate=learning_rate, alpha=alpha, beta=beta,
                                  content_layer=content_layer, style_layers=style_layers,
                                  tv_weight=tv_weight)
        else:
            generated = _run_lbfgs(model, a_C, a_S, start_image, run, offset, report, progress,
                                   alpha=alpha, beta=beta, content_layer=content_layer,
                                   style_layers=style_layers, tv_weight=tv_weight)
        offset += run
        if result.stopped:
            break
    if result.stopped and verbose:
        print("Stopped early:", result.stopped)
    save("generated_image.png", result.image)
    result.image = finish(result.image)
    return result


class _Reporter:
    """Bookkeeping shared by the optimisers: history, printing, saving, early stops."""

    def __init__(self, result, save, report_every, save_every, verbose, size_key):
        self.result, self.save = result, save
        self.report_every, self.save_every, self.verbose = report_every, save_every, verbose
        self.size_key, self.size = size_key, None
        self.start = time.perf_counter()
        self.bar = None

    def costs(self, i, J, J_content, J_style):
        """Check and record the costs of iteration i; False (and result.stopped set) if non-finite."""
        if not all(math.isfinite(v) for v in (J, J_content, J_style)):
            self.result.stopped = (f"cost became non-finite at iteration {i} (J={J}); stopped and kept "
                                   "the last good image. Try a smaller learning_rate.")
            return False
        if i % self.report_every == 0:
            entry = {"iteration": i, "J": J, "J_content": J_content, "J_style": J_style,
                     "seconds": time.perf_counter() - self.start}
            if self.size_key:
                entry["size"] = self.size
            self.result.history.append(entry)
            if self.verbose:
                write = self.bar.write if self.bar is not None else print
                write(f"Iteration {i} :\ntotal cost = {J:.6g}\n"
                      f"content cost = {J_content:.6g}\nstyle cost = {J_style:.6g}")
        return True

    def maybe_save(self, i, image):
        if self.save_every and i % self.save_every == 0:
            self.save(f"{i}.png", image)


def _progress_bar(progress, **kwargs):
    # tqdm.auto warns (on stderr) in notebooks without ipywidgets even for a disabled bar.
    if progress:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm(disable=not progress, **kwargs)


def _run_adam(model, a_C, a_S, start_image, run, offset, report, progress, *, learning_rate,
              alpha, beta, content_layer, style_layers, tv_weight):
    """The course's Adam loop for one stage; returns the last good image (normalised)."""
    import keras

    result = report.result
    generated_image = tf.Variable(np.asarray(start_image, np.float32))
    optimizer = keras.optimizers.Adam(learning_rate)
    train_step = make_train_step(model, a_C, a_S, optimizer, alpha, beta, content_layer, style_layers,
                                 tv_weight=tv_weight)
    current = generated_image.numpy()  # the image the next train_step evaluates
    good = current
    report.bar = bar = _progress_bar(progress, iterable=range(offset, offset + run), desc="NST", unit="it")
    try:
        for i in bar:
            J, J_content, J_style = (float(v) for v in train_step(generated_image))
            if not report.costs(i, J, J_content, J_style):
                break
            good = result.image = current  # its costs are finite: the last good image so far
            current = generated_image.numpy()
            report.maybe_save(i, current)  # as the course: the image after step i
        else:
            good = result.image = current
    except KeyboardInterrupt:
        result.stopped = "interrupted (Ctrl-C); kept the last good image."
    finally:
        bar.close()
        report.bar = None
    return good


def _run_lbfgs(model, a_C, a_S, start_image, run, offset, report, progress, *, alpha, beta,
               content_layer, style_layers, tv_weight):
    """L-BFGS for one stage with a budget of run evaluations; returns the best image (lowest J)."""
    result = report.result
    cost = make_cost_function(model, a_C, a_S, alpha, beta, content_layer, style_layers,
                              tv_weight=tv_weight)
    value_and_gradient = make_value_and_gradient(cost, np.shape(start_image))
    best = {"J": math.inf, "image": np.asarray(start_image, np.float32)}

    def on_evaluation(k, image, J, J_content, J_style):
        i = offset + k
        bar.update(1)
        if not report.costs(i, J, J_content, J_style):
            raise StopOptimization(result.stopped)
        if J < best["J"]:
            best["J"], best["image"] = J, image
            result.image = image
        report.maybe_save(i, best["image"])  # the best image so far

    report.bar = bar = _progress_bar(progress, total=run, desc="NST (L-BFGS)", unit="eval")
    try:
        minimize_lbfgs(value_and_gradient, start_image, run, on_evaluation)
    except KeyboardInterrupt:
        result.stopped = "interrupted (Ctrl-C); kept the last good image."
    finally:
        bar.close()
        report.bar = None
    return best["image"]
