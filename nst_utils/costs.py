"""The cost functions of neural style transfer (Gatys et al. 2015), as in the course.

All functions take and return ``tf`` tensors (float32), work eagerly and inside ``tf.function``.
Activations have shape (1, n_H, n_W, n_C): batch of one, height, width, channels.
"""
import tensorflow as tf

from .config import STYLE_LAYERS


def _check_same_shape(a, b, name_a, name_b, hint):
    if a.shape.is_fully_defined() and b.shape.is_fully_defined() and a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}; "
            f"they must be equal. {hint}"
        )


def _check_rank4(a, name):
    if a.shape.rank is not None and a.shape.rank != 4:
        raise ValueError(
            f"{name} must have shape (1, n_H, n_W, n_C), got {tuple(a.shape)}. "
            "Pass the activations of one image (a batch of one), e.g. a_C[-1] of a stacked tensor "
            "is wrong if that drops the batch axis."
        )


def compute_content_cost(a_C, a_G):
    """Content cost J_content(C, G) = sum((a_C - a_G)^2) / (4 n_H n_W n_C).

    Arguments:
    a_C -- hidden layer activations of the content image C, shape (1, n_H, n_W, n_C)
    a_G -- hidden layer activations of the generated image G, shape (1, n_H, n_W, n_C)

    Returns:
    J_content -- scalar float32 tensor
    """
    a_C = tf.convert_to_tensor(a_C, tf.float32)
    a_G = tf.convert_to_tensor(a_G, tf.float32)
    _check_rank4(a_C, "a_C")
    _check_rank4(a_G, "a_G")
    _check_same_shape(a_C, a_G, "a_C", "a_G", "C and G must be the same size.")
    _, n_H, n_W, n_C = tf.unstack(tf.shape(a_G))
    norm = 4.0 * tf.cast(n_H * n_W * n_C, tf.float32)
    return tf.reduce_sum(tf.square(a_C - a_G)) / norm


def gram_matrix(A):
    """Gram matrix GA = A A^T.

    Arguments:
    A -- matrix of shape (n_C, n_H*n_W): one row per channel (filter)

    Returns:
    GA -- Gram matrix of A, shape (n_C, n_C)
    """
    A = tf.convert_to_tensor(A, tf.float32)
    return tf.matmul(A, A, transpose_b=True)


def _unroll(a):
    """(1, n_H, n_W, n_C) -> (n_C, n_H*n_W). Reshape keeps channels last, so transpose after;
    a bare reshape to (n_C, n_H*n_W) would mix channels and pixels."""
    n_C = tf.shape(a)[-1]
    return tf.transpose(tf.reshape(a, [-1, n_C]))


def compute_layer_style_cost(a_S, a_G):
    """Style cost of one layer: sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2).

    Arguments:
    a_S -- hidden layer activations of the style image S, shape (1, n_H, n_W, n_C)
    a_G -- hidden layer activations of the generated image G, shape (1, n_H, n_W, n_C)

    Returns:
    J_style_layer -- scalar float32 tensor
    """
    a_S = tf.convert_to_tensor(a_S, tf.float32)
    a_G = tf.convert_to_tensor(a_G, tf.float32)
    _check_rank4(a_S, "a_S")
    _check_rank4(a_G, "a_G")
    _check_same_shape(
        a_S, a_G, "a_S", "a_G",
        "Resize the style image to the content image's size, e.g. "
        "load_image(path, size=(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT)).",
    )
    _, n_H, n_W, n_C = tf.unstack(tf.shape(a_G))
    GS = gram_matrix(_unroll(a_S))
    GG = gram_matrix(_unroll(a_G))
    n_C = tf.cast(n_C, tf.float32)
    n_HW = tf.cast(n_H * n_W, tf.float32)
    return tf.reduce_sum(tf.square(GS - GG)) / (4.0 * n_C**2 * n_HW**2)


def compute_style_cost(style_activations, generated_activations, style_layers=STYLE_LAYERS):
    """Overall style cost: sum over layers of lambda^[l] * J_style^[l](S, G).

    Arguments:
    style_activations -- dict layer name -> activations of S, each (1, n_H, n_W, n_C)
    generated_activations -- dict layer name -> activations of G, same shapes
    style_layers -- list of (layer name, coefficient lambda^[l]) pairs

    Returns:
    J_style -- scalar float32 tensor
    """
    J_style = tf.constant(0.0, tf.float32)
    for layer_name, coeff in style_layers:
        for acts, which in ((style_activations, "style_activations"),
                            (generated_activations, "generated_activations")):
            if layer_name not in acts:
                raise KeyError(
                    f"{which} has no layer {layer_name!r} (it has {sorted(acts)}). "
                    "Build the model with this layer, e.g. load_vgg_model(layers=...)."
                )
        J_style += coeff * compute_layer_style_cost(style_activations[layer_name],
                                                    generated_activations[layer_name])
    return J_style


def total_cost(J_content, J_style, alpha=10, beta=40):
    """Total cost J(G) = alpha * J_content(C, G) + beta * J_style(S, G).

    Arguments:
    J_content -- content cost (scalar)
    J_style -- style cost (scalar)
    alpha, beta -- weights of the content and style costs

    Returns:
    J -- scalar float32 tensor
    """
    J_content = tf.convert_to_tensor(J_content, tf.float32)
    J_style = tf.convert_to_tensor(J_style, tf.float32)
    return alpha * J_content + beta * J_style
