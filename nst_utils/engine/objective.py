"""The engine's J(G): the course's (train.make_cost_function) against fixed Gram targets, plus total
variation. The one Gram matrix of the engine, the style targets, and their layer cost.

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

Activations are (1, n_H, n_W, n_C) float32; Gram matrices (n_C, n_C) float32.
"""
import functools

import numpy as np
import tensorflow as tf

from .. import train as course
from ..config import CONTENT_LAYER, STYLE_LAYERS
from ..costs import check_shapes, check_style_layers, gram_matrix
from ..fast import gram as compiled_gram
from .blend import blend_weights
from .regularizers import total_variation

_SIZE_HINT = "Resize the style image to the content image's size."


def gram(a, normalize=False):
    """The course's gram_matrix of activations a (1, n_H, n_W, n_C) unrolled to A (n_C, n_H n_W):
    (n_C, n_C) float32, channels kept apart.

    normalize -- divide by n_H n_W, the number of positions (size-independent statistics)

    With channels a multiple of 32 (every VGG layer) A A^T is fast.gram's, compiled where it can run,
    on the (n_H n_W, n_C) rows without a transpose. The gradient is one matmul, A^T (dG + dG^T),
    where TensorFlow's MatMul gradient would do two.
    """
    a = tf.convert_to_tensor(a, tf.float32)
    n_C = a.shape[-1] if a.shape[-1] is not None else tf.shape(a)[-1]  # static when known

    @tf.custom_gradient
    def product(rows):  # rows: (n_H n_W, n_C), A transposed
        compiled = a.shape[-1] is not None and a.shape[-1] % 32 == 0
        G = compiled_gram.gram(rows) if compiled else gram_matrix(tf.transpose(rows))
        return G, lambda dG: tf.matmul(rows, dG + tf.transpose(dG))

    G = product(tf.reshape(a, [-1, n_C]))
    if normalize:
        G /= tf.cast(tf.shape(a)[1] * tf.shape(a)[2], tf.float32)
    return G


#: Gn = A A^T / (n_H n_W) of activations (1, n_H, n_W, n_C) -> (n_C, n_C) float32: gram(a, normalize=True).
normalized_gram = functools.partial(gram, normalize=True)


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
    style_cost is the style side plugged into the course's J(G) (make_cost_with_targets).
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
    """GramTargets {layer name: sum_k w_k Gn(a_{S_k})} of normalised images (1, n_H, n_W, 3) of any
    sizes, model: image -> {layer name: activations}; style_weights (normalised to sum 1), None: equal."""
    grams = {}
    for weight, image in zip(blend_weights(style_weights, len(style_images)), style_images):
        acts = model(np.asarray(image, np.float32))
        for name, _ in style_layers:
            g = float(weight) * normalized_gram(acts[name])
            grams[name] = g if name not in grams else grams[name] + g
    return GramTargets({name: tf.constant(g) for name, g in grams.items()})


def make_cost_with_targets(model, a_C, targets, alpha=10, beta=40, content_layer=CONTENT_LAYER,
                           style_layers=STYLE_LAYERS, tv_weight=0.0):
    """The course's J(G) (train.make_cost_function, with targets.style_cost as its style cost) plus
    tv_weight * total_variation(G): the engine's one way into the course's cost.

    targets -- GramTargets, or the style activations {name: a_S} (GramTargets.of_style then)
    Returns cost: function(generated_image (1, n_H, n_W, 3)) -> (J, J_content, J_style).
    """
    if not isinstance(targets, GramTargets):
        targets = GramTargets.of_style(targets, style_layers)
    a_C = a_C if isinstance(a_C, tf.Variable) else tf.convert_to_tensor(a_C, tf.float32)
    cost = course.make_cost_function(model, a_C, lambda a_G: targets.style_cost(a_G, style_layers),
                                     alpha, beta, content_layer, style_layers)
    if not tv_weight:
        return cost

    def with_total_variation(generated_image):
        J, J_content, J_style = cost(generated_image)
        return J + tv_weight * total_variation(generated_image), J_content, J_style

    return with_total_variation
