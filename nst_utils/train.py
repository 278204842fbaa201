"""The optimisation: minimise J(G) over the pixels of G with tf.GradientTape, as in the course."""
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from .config import CONFIG, CONTENT_LAYER, MAX_ITERATIONS_ENV, STYLE_LAYERS, capped_iterations
from .costs import _check_same_shape, compute_content_cost, compute_style_cost, total_cost
from .images import ensure_output_dir, generate_noise_image, save_image


@tf.custom_gradient
def _gram_of_unrolled(A):
    """A^T A for A of shape (n_H*n_W, n_C): gram_matrix of the course's unrolled (n_C, n_H*n_W)
    activations without materialising the transpose, with a one-matmul gradient A (dG + dG^T)
    where TensorFlow's generic MatMul gradient would do two."""
    def grad(dG):
        return tf.matmul(A, dG + tf.transpose(dG))
    return tf.matmul(A, A, transpose_a=True), grad


def _fixed_style_cost(a_S, style_layers):
    """compute_style_cost(a_S, a_G, style_layers) as a function of a_G alone, with the style image's
    Gram matrices, constants of the optimisation, computed once here instead of at every step."""
    G_S = {name: _gram_of_unrolled(tf.reshape(a_S[name], [-1, a_S[name].shape[-1]]))
           for name, _ in style_layers}

    def style_cost(a_G):
        J_style = tf.constant(0.0, tf.float32)
        for name, coeff in style_layers:
            if name not in a_G:
                raise KeyError(f"generated_activations has no layer {name!r} (it has {sorted(a_G)}). "
                               "Build the model with this layer, e.g. load_vgg_model(layers=...).")
            a = a_G[name]
            _check_same_shape(a_S[name], a, "a_S", "a_G", "Resize the style image to the content image's size.")
            n_C = a.shape[-1]
            n_HW = tf.cast(tf.shape(a)[1] * tf.shape(a)[2], tf.float32)
            G_G = _gram_of_unrolled(tf.reshape(a, [-1, n_C]))
            J_style += coeff * tf.reduce_sum(tf.square(G_S[name] - G_G)) / (4.0 * n_C**2 * n_HW**2)
        return J_style

    return style_cost


def make_train_step(model, a_C, a_S, optimizer, alpha=10, beta=40,
                    content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS, jit_compile=False,
                    fixed_style_grams=True):
    """Build the course's ``train_step`` for fixed targets.

    Arguments:
    model -- activations model, image -> {layer name: activations}
    a_C -- activations of the content image at content_layer, (1, n_H, n_W, n_C)
    a_S -- {style layer name: activations of the style image}
    optimizer -- a keras optimizer, e.g. keras.optimizers.Adam(2.0)
    jit_compile -- compile the step with XLA (tf.function(jit_compile=True))
    fixed_style_grams -- compute the style image's Gram matrices once, not at every step (same cost
                         up to float rounding, ~10% faster step on a CPU); False evaluates
                         compute_style_cost exactly as the course writes it

    Returns:
    train_step -- tf.function(generated_image: tf.Variable (1, n_H, n_W, 3)) -> (J, J_content, J_style),
                  the costs of the image *before* the update it applies
    """
    a_C = tf.constant(a_C)
    a_S = {name: tf.constant(a_S[name]) for name, _ in style_layers}
    if fixed_style_grams:
        style_cost = _fixed_style_cost(a_S, style_layers)
    else:
        def style_cost(a_G):
            return compute_style_cost(a_S, a_G, style_layers)

    @tf.function(jit_compile=jit_compile)
    def train_step(generated_image):
        with tf.GradientTape() as tape:
            a_G = model(generated_image)
            J_content = compute_content_cost(a_C, a_G[content_layer])
            J_style = style_cost(a_G)
            J = total_cost(J_content, J_style, alpha=alpha, beta=beta)
        grad = tape.gradient(J, generated_image)
        optimizer.apply_gradients([(grad, generated_image)])
        return J, J_content, J_style

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
             output_dir=CONFIG.OUTPUT_DIR, save_every=20, report_every=20,
             progress=True, verbose=True):
    """Run the course's optimisation loop.

    Arguments:
    content_image, style_image -- normalised images (1, n_H, n_W, 3), same size
    num_iterations -- Adam steps (course: 200)
    model -- activations model from load_vgg_model(); None loads VGG19 with the layers needed
    input_image -- initial G (normalised); None uses generate_noise_image(content_image, noise_ratio, seed)
    output_dir -- where '<i>.png' is written every save_every iterations and 'generated_image.png' at
                  the end; None writes nothing
    report_every -- costs are recorded (and printed if verbose) every this many iterations

    Returns:
    NSTResult with the final image, the cost history and the saved paths.
    Ctrl-C or a non-finite cost stops the loop early; the last good image is kept and saved.
    """
    import keras
    from tqdm.auto import tqdm

    content_image = np.asarray(content_image, np.float32)
    style_image = np.asarray(style_image, np.float32)
    for name, image in (("content_image", content_image), ("style_image", style_image)):
        if image.ndim != 4 or image.shape[0] != 1 or image.shape[-1] != 3:
            raise ValueError(f"{name} must be a normalised image of shape (1, n_H, n_W, 3), got "
                             f"{image.shape}. Use reshape_and_normalize_image(load_image(path)).")
    if content_image.shape != style_image.shape:
        raise ValueError(
            f"content_image is {content_image.shape[2]}x{content_image.shape[1]} but style_image is "
            f"{style_image.shape[2]}x{style_image.shape[1]} (width x height); load both with the same "
            "size, e.g. load_image(path, size=(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT)).")
    if output_dir is not None:
        output_dir = ensure_output_dir(output_dir)  # fail now, not after minutes of optimisation
    if model is None:
        from .vgg import load_vgg_model
        model = load_vgg_model(layers=[content_layer] + [name for name, _ in style_layers])

    a_C = model(content_image)[content_layer]
    a_S = model(style_image)
    if input_image is None:
        input_image = generate_noise_image(content_image, noise_ratio, seed)
    generated_image = tf.Variable(np.asarray(input_image, np.float32))
    optimizer = keras.optimizers.Adam(learning_rate)
    train_step = make_train_step(model, a_C, a_S, optimizer, alpha, beta, content_layer, style_layers)

    result = NSTResult(image=generated_image.numpy())
    current = result.image  # the image the next train_step evaluates

    def save(name, image):
        if output_dir is not None:
            result.saved.append(save_image(Path(output_dir) / name, image))

    run = capped_iterations(num_iterations)
    if run < num_iterations and verbose:
        print(f"{MAX_ITERATIONS_ENV} is set: running {run} of {num_iterations} iterations.")
    start = time.perf_counter()
    bar = tqdm(range(run), disable=not progress, desc="NST", unit="it")
    try:
        for i in bar:
            J, J_content, J_style = (float(v) for v in train_step(generated_image))
            if not all(math.isfinite(v) for v in (J, J_content, J_style)):
                result.stopped = (f"cost became non-finite at iteration {i} (J={J}); stopped and kept "
                                  "the last good image. Try a smaller learning_rate.")
                break
            result.image = current  # its costs are finite: the last good image so far
            if i % report_every == 0:
                result.history.append({"iteration": i, "J": J, "J_content": J_content,
                                       "J_style": J_style, "seconds": time.perf_counter() - start})
                if verbose:
                    bar.write(f"Iteration {i} :\ntotal cost = {J:.6g}\n"
                              f"content cost = {J_content:.6g}\nstyle cost = {J_style:.6g}")
            current = generated_image.numpy()
            if save_every and i % save_every == 0:
                save(f"{i}.png", current)  # as the course: the image after step i
        else:
            result.image = current
    except KeyboardInterrupt:
        result.stopped = "interrupted (Ctrl-C); kept the last good image."
    finally:
        bar.close()
    if result.stopped and verbose:
        print("Stopped early:", result.stopped)
    save("generated_image.png", result.image)
    return result
