"""Style targets as Gram matrices: several style images with blend weights, and style images
whose size differs from the generated image's (style scale).

The course's layer cost needs a_S and a_G of equal shapes. Normalising each Gram matrix by its
own number of positions removes that need:

    Gn(A) = A A^T / (n_H n_W)                           A: (n_C, n_H n_W), unrolled activations
    J_style^[l](S, G) = sum_ij (Gn(a_S) - Gn(a_G))_ij^2 / (4 n_C^2)

With equal sizes this IS the course's formula sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2).

Several style images S_1..S_K with weights w_k (normalised to sum to 1) give the target
T = sum_k w_k Gn(a_{S_k}). Because the cost is quadratic, ||T - Gn(a_G)||^2 differs from
sum_k w_k ||Gn(a_{S_k}) - Gn(a_G)||^2 only by a constant, so both have the same gradient:
blending the targets is the same optimisation as weighting the per-style costs.
"""
import numpy as np
import tensorflow as tf

from .config import STYLE_LAYERS
from .costs import check_activations, check_style_layers


class GramTargets(dict):
    """{style layer name: target normalised Gram matrix (n_C, n_C), float32}.

    Pass it as a_S to make_train_step / make_cost_function instead of the style activations.
    """


def normalized_gram(a):
    """Gn = A A^T / (n_H n_W) of activations a (1, n_H, n_W, n_C) -> (n_C, n_C) float32."""
    a = tf.convert_to_tensor(a, tf.float32)
    n_C = tf.shape(a)[-1]
    A = tf.transpose(tf.reshape(a, [-1, n_C]))  # (n_C, n_H*n_W); channels stay apart
    n_HW = tf.cast(tf.shape(A)[1], tf.float32)
    return tf.matmul(A, A, transpose_b=True) / n_HW


def blend_weights(style_weights, n_styles):
    """Weights as a float64 array summing to 1; None means equal weights."""
    if style_weights is None:
        return np.full(n_styles, 1.0 / n_styles)
    w = np.asarray(style_weights, np.float64).ravel()
    if w.size != n_styles:
        raise ValueError(f"got {w.size} style weights for {n_styles} style images; give one weight "
                         "per style image.")
    if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"style weights must be non-negative and not all zero, got {list(w)}")
    return w / w.sum()


def gram_targets(model, style_images, style_weights=None, style_layers=STYLE_LAYERS):
    """Blended normalised Gram targets of one or more style images (any sizes).

    Arguments:
    model -- activations model, image -> {layer name: activations}
    style_images -- list of normalised images (1, n_H, n_W, 3); sizes may differ
    style_weights -- one non-negative weight per image (normalised to sum 1); None: equal

    Returns:
    GramTargets {layer name: sum_k w_k Gn(a_{S_k})}
    """
    w = blend_weights(style_weights, len(style_images))
    targets = GramTargets()
    for weight, image in zip(w, style_images):
        acts = model(np.asarray(image, np.float32))
        for name, _ in style_layers:
            g = float(weight) * normalized_gram(acts[name])
            targets[name] = g if name not in targets else targets[name] + g
    return targets


def compute_layer_style_cost_from_gram(target, a_G):
    """J = sum((target - Gn(a_G))^2) / (4 n_C^2); target (n_C, n_C), a_G (1, n_H, n_W, n_C)."""
    GG = normalized_gram(a_G)
    n_C = tf.cast(tf.shape(GG)[0], tf.float32)
    return tf.reduce_sum(tf.square(tf.convert_to_tensor(target, tf.float32) - GG)) / (4.0 * n_C**2)


def compute_style_cost_from_grams(targets, generated_activations, style_layers=STYLE_LAYERS):
    """sum over layers of lambda^[l] * compute_layer_style_cost_from_gram(targets[l], a_G[l])."""
    J_style = tf.constant(0.0, tf.float32)
    for name, coeff in style_layers:
        if name not in targets:
            raise KeyError(f"no style target for layer {name!r} (have {sorted(targets)}); build the "
                           "targets with the same style_layers.")
        J_style += coeff * compute_layer_style_cost_from_gram(targets[name], generated_activations[name])
    return J_style


@tf.custom_gradient
def gram_of_unrolled(A):
    """A^T A for A of shape (n_H*n_W, n_C): gram_matrix of the course's unrolled (n_C, n_H*n_W)
    activations without materialising the transpose, with a one-matmul gradient A (dG + dG^T)
    where TensorFlow's generic MatMul gradient would do two."""
    def grad(dG):
        return tf.matmul(A, dG + tf.transpose(dG))
    return tf.matmul(A, A, transpose_a=True), grad


def fixed_style_cost(a_S, style_layers):
    """compute_style_cost(a_S, a_G, style_layers) as a function of a_G alone, with the style image's
    Gram matrices, constants of the optimisation, computed once here instead of at every step."""
    G_S = {name: gram_of_unrolled(tf.reshape(a_S[name], [-1, a_S[name].shape[-1]]))
           for name, _ in style_layers}

    def style_cost(a_G):
        check_style_layers(a_S, a_G, style_layers)
        J_style = tf.constant(0.0, tf.float32)
        for name, coeff in style_layers:
            _, a = check_activations(a_S[name], a_G[name], "a_S", "a_G",
                                     "Resize the style image to the content image's size.")
            n_C = a.shape[-1]
            n_HW = tf.cast(tf.shape(a)[1] * tf.shape(a)[2], tf.float32)
            G_G = gram_of_unrolled(tf.reshape(a, [-1, n_C]))
            J_style += coeff * tf.reduce_sum(tf.square(G_S[name] - G_G)) / (4.0 * n_C**2 * n_HW**2)
        return J_style

    return style_cost
