"""The style side of the cost J(G), beyond the course: one Gram matrix, one layer style cost, and the
style targets (fixed Gram matrices of one or several style images, of any size).

The course's layer cost (costs.compute_layer_style_cost) needs a_S and a_G of equal shapes and
recomputes the style image's Gram matrix at every step. Here the style image's Gram matrices are
computed once (they are constants of the optimisation), and normalising each Gram matrix by its own
number of positions removes the need for equal sizes:

    Gn(A) = A A^T / (n_H n_W)                           A: (n_C, n_H n_W), unrolled activations
    J_style^[l](S, G) = sum_ij (Gn(a_S) - Gn(a_G))_ij^2 / (4 n_C^2)

With equal sizes this IS the course's formula sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2).

Several style images S_1..S_K with weights w_k (normalised to sum to 1) give the target
T = sum_k w_k Gn(a_{S_k}). Because the cost is quadratic, ||T - Gn(a_G)||^2 differs from
sum_k w_k ||Gn(a_{S_k}) - Gn(a_G)||^2 only by a constant, so both have the same gradient:
blending the targets is the same optimisation as weighting the per-style costs.

make_cost_function and make_train_step here are the course's (train.py) with the engine's style
targets and total variation: the same J(G), one copy of it.

Activations are (1, n_H, n_W, n_C) float32; Gram matrices (n_C, n_C) float32.
"""
import numpy as np
import tensorflow as tf

from .. import train as course
from ..config import CONTENT_LAYER, STYLE_LAYERS
from ..costs import check_shapes, check_style_layers, compute_style_cost
from ..fast import gram as fast_gram
from .blend import blend_weights
from .regularizers import total_variation

_SIZE_HINT = "Resize the style image to the content image's size."


@tf.custom_gradient
def gram_of_unrolled(A):
    """A^T A for A of shape (n_H*n_W, n_C): gram_matrix of the course's unrolled (n_C, n_H*n_W)
    activations without materialising the transpose, with a one-matmul gradient A (dG + dG^T)
    where TensorFlow's generic MatMul gradient would do two. On a CPU A^T A is a compiled op
    (fast/gram.py)."""
    def grad(dG):
        return tf.matmul(A, dG + tf.transpose(dG))
    return fast_gram.gram(A), grad


def gram(a, normalize=False):
    """Gram matrix of activations a (1, n_H, n_W, n_C) -> (n_C, n_C) float32; channels stay apart.

    normalize -- divide by n_H n_W, the number of positions (size-independent statistics)
    """
    a = tf.convert_to_tensor(a, tf.float32)
    n_C = a.shape[-1] if a.shape[-1] is not None else tf.shape(a)[-1]  # static when known
    G = gram_of_unrolled(tf.reshape(a, [-1, n_C]))
    if normalize:
        G /= tf.cast(tf.shape(a)[1] * tf.shape(a)[2], tf.float32)
    return G


def normalized_gram(a):
    """Gn = A A^T / (n_H n_W) of activations a (1, n_H, n_W, n_C) -> (n_C, n_C) float32."""
    return gram(a, normalize=True)


def compute_layer_style_cost_from_gram(target, a_G, normalize=True):
    """Style cost of one layer against a fixed target Gram matrix (n_C, n_C).

    normalize=True: target is normalised (Gn), J = sum((target - Gn(a_G))^2) / (4 n_C^2), any size.
    normalize=False: target is the course's Gram matrix of a style image of a_G's size,
    J = sum((target - G(a_G))^2) / (4 n_C^2 (n_H n_W)^2), the course's formula.
    """
    a_G = tf.convert_to_tensor(a_G, tf.float32)
    n_C = tf.cast(tf.shape(a_G)[-1], tf.float32)
    scale = 4.0 * n_C**2
    if not normalize:
        scale *= tf.cast(tf.shape(a_G)[1] * tf.shape(a_G)[2], tf.float32) ** 2
    diff = tf.convert_to_tensor(target, tf.float32) - gram(a_G, normalize)
    return tf.reduce_sum(tf.square(diff)) / scale


class GramTargets:
    """Fixed style targets: {style layer name: Gram matrix (n_C, n_C), float32}.

    normalized -- True: Gn matrices, G may have any size (several styles, style scale); False: the
                  course's Gram matrices of one style image, whose activations' shapes are kept to
                  check that G has its size (not the activations: 60 MB at 400x300)
    Pass it as a_S to make_train_step / make_cost_function instead of the style activations.
    """

    def __init__(self, grams, normalized=True, shapes=None):
        self.grams, self.normalized, self.shapes = dict(grams), normalized, shapes

    @classmethod
    def of_style(cls, a_S, style_layers=STYLE_LAYERS):
        """The course's (unnormalised) Gram targets of one style image's activations {name: a_S}."""
        a_S = {name: tf.convert_to_tensor(a_S[name], tf.float32) for name, _ in style_layers}
        return cls({name: gram(a) for name, a in a_S.items()}, normalized=False,
                   shapes={name: a.shape for name, a in a_S.items()})

    def __getitem__(self, name):
        return self.grams[name]

    def __contains__(self, name):
        return name in self.grams

    def style_cost(self, generated_activations, style_layers=STYLE_LAYERS):
        """sum over layers of lambda^[l] * compute_layer_style_cost_from_gram(self[l], a_G[l])."""
        if self.shapes is not None:
            check_style_layers(self.shapes, generated_activations, style_layers)
        J_style = tf.constant(0.0, tf.float32)
        for name, coeff in style_layers:
            if name not in self:
                raise KeyError(f"no style target for layer {name!r} (have {sorted(self.grams)}); build "
                               "the targets with the same style_layers.")
            a_G = tf.convert_to_tensor(generated_activations[name], tf.float32)
            if self.shapes is not None:
                check_shapes(self.shapes[name], a_G.shape, "a_S", "a_G", _SIZE_HINT)
            J_style += coeff * compute_layer_style_cost_from_gram(self[name], a_G, self.normalized)
        return J_style


def gram_targets(model, style_images, style_weights=None, style_layers=STYLE_LAYERS):
    """Blended normalised Gram targets of one or more style images (any sizes).

    Arguments:
    model -- activations model, image -> {layer name: activations}
    style_images -- list of normalised images (1, n_H, n_W, 3); sizes may differ
    style_weights -- one non-negative weight per image (normalised to sum 1); None: equal

    Returns:
    GramTargets {layer name: sum_k w_k Gn(a_{S_k})}
    """
    return _blended_grams(model, style_images, blend_weights(style_weights, len(style_images)), style_layers)


def _blended_grams(model, style_images, weights, style_layers):
    """gram_targets with weights already blended (blend_weights: float64, summing to 1)."""
    grams = {}
    for weight, image in zip(weights, style_images):
        acts = model(np.asarray(image, np.float32))
        for name, _ in style_layers:
            g = float(weight) * normalized_gram(acts[name])
            grams[name] = g if name not in grams else grams[name] + g
    return GramTargets({name: tf.constant(g) for name, g in grams.items()})


def style_targets(model, style_images, weights, style_layers, normalized):
    """The style targets of one stage: blended normalised Gram matrices (several styles, or styles of
    other sizes: normalized), else the course's Gram matrices of the one style image.

    weights -- blend_weights of the style images (float64, summing to 1)
    """
    if normalized:
        # divided by their sum once more, as gram_targets does: the targets stay bit for bit the same
        return _blended_grams(model, style_images, weights / weights.sum(), style_layers)
    # the course's Gram targets, made here so that the style activations are not kept
    return GramTargets.of_style(model(style_images[0]), style_layers)


def fixed_style_cost(a_S, style_layers):
    """compute_style_cost(a_S, a_G, style_layers) as a function of a_G alone, with the style image's
    Gram matrices, constants of the optimisation, computed once here instead of at every step."""
    targets = GramTargets.of_style(a_S, style_layers)
    return lambda a_G: targets.style_cost(a_G, style_layers)


def style_cost_function(a_S, style_layers, fixed_style_grams=True):
    """a_G -> J_style for the style activations {name: a_S} (the course) or GramTargets.

    fixed_style_grams -- with activations: compute the style image's Gram matrices once (same cost
                         up to float rounding, faster); False evaluates compute_style_cost exactly
                         as the course writes it
    """
    if isinstance(a_S, GramTargets):
        return lambda a_G: a_S.style_cost(a_G, style_layers)
    if fixed_style_grams:
        return fixed_style_cost(a_S, style_layers)
    a_S = {name: tf.constant(a_S[name]) for name, _ in style_layers}
    return lambda a_G: compute_style_cost(a_S, a_G, style_layers)


def make_cost_function(model, a_C, a_S, alpha=10, beta=40, content_layer=CONTENT_LAYER,
                       style_layers=STYLE_LAYERS, tv_weight=0.0, fixed_style_grams=True):
    """The course's J(G) (train.make_cost_function) with the engine's options.

    a_S -- {style layer name: activations of the style image} (the course), or GramTargets
           (several style images, or a style image of another size)
    tv_weight -- weight of total_variation(G) added to J; 0 (the course) leaves it out
    fixed_style_grams -- see style_cost_function

    Returns:
    cost -- function(generated_image (1, n_H, n_W, 3)) -> (J, J_content, J_style)
    """
    a_C = a_C if isinstance(a_C, tf.Variable) else tf.constant(a_C)
    cost = course.make_cost_function(model, a_C, style_cost_function(a_S, style_layers, fixed_style_grams),
                                     alpha, beta, content_layer, style_layers)
    if not tv_weight:
        return cost

    def with_total_variation(generated_image):
        J, J_content, J_style = cost(generated_image)
        return J + tv_weight * total_variation(generated_image), J_content, J_style

    return with_total_variation


def make_train_step(model, a_C, a_S, optimizer, alpha=10, beta=40, content_layer=CONTENT_LAYER,
                    style_layers=STYLE_LAYERS, jit_compile=False, *, tv_weight=0.0, fixed_style_grams=True):
    """The course's train_step (train.make_train_step) on make_cost_function's J(G)."""
    cost = make_cost_function(model, a_C, a_S, alpha, beta, content_layer, style_layers, tv_weight,
                              fixed_style_grams)
    return course.make_train_step(model, a_C, a_S, optimizer, alpha, beta, content_layer, style_layers,
                                  jit_compile, cost=cost)
