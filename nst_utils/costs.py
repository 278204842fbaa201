"""The cost functions of neural style transfer (Gatys et al. 2015), as in the course.

All functions take and return ``tf`` tensors (float32), work eagerly and inside ``tf.function``.
Activations have shape (1, n_H, n_W, n_C): batch of one, height, width, channels.

The graded exercises of the assignment notebook are these functions, copied verbatim: the code
between ``### START CODE HERE ###`` and ``### END CODE HERE ###`` is what learners write
(tests/test_notebooks.py keeps notebook and package equal).
"""
import tensorflow as tf

from .config import STYLE_LAYERS


def check_activations(a, b, name_a, name_b, hint):
    """Convert two activations to float32 tensors; raise a clear error unless both are
    (1, n_H, n_W, n_C) of the same shape (where the shapes are known)."""
    a = tf.convert_to_tensor(a, tf.float32)
    b = tf.convert_to_tensor(b, tf.float32)
    check_shapes(a.shape, b.shape, name_a, name_b, hint)
    return a, b


def check_shapes(shape_a, shape_b, name_a, name_b, hint):
    """check_activations on the activations' shapes (tf.TensorShape) alone."""
    for shape, name in ((shape_a, name_a), (shape_b, name_b)):
        if shape.rank is not None and shape.rank != 4:
            raise ValueError(
                f"{name} must have shape (1, n_H, n_W, n_C), got {tuple(shape)}. Pass the "
                "activations of one image (a batch of one), as returned by the model for a layer."
            )
    if shape_a.is_fully_defined() and shape_b.is_fully_defined() and shape_a != shape_b:
        raise ValueError(
            f"{name_a} has shape {tuple(shape_a)} but {name_b} has shape {tuple(shape_b)}; "
            f"they must be equal. {hint}"
        )


def compute_content_cost(a_C, a_G):
    """Content cost J_content(C, G) = sum((a_C - a_G)^2) / (4 n_H n_W n_C).

    Arguments:
    a_C -- hidden layer activations of the content image C, shape (1, n_H, n_W, n_C)
    a_G -- hidden layer activations of the generated image G, shape (1, n_H, n_W, n_C)

    Returns:
    J_content -- scalar float32 tensor
    """
    a_C, a_G = check_activations(a_C, a_G, "a_C", "a_G", "C and G must be the same size.")
    ### START CODE HERE ###
    # Retrieve the dimensions from a_G
    _, n_H, n_W, n_C = tf.unstack(tf.shape(a_G))
    # Compute the cost: equation (1); the sizes are integers, so cast them to float32
    J_content = tf.reduce_sum(tf.square(a_C - a_G)) / (4.0 * tf.cast(n_H * n_W * n_C, tf.float32))
    ### END CODE HERE ###
    return J_content


def gram_matrix(A):
    """Gram matrix GA = A A^T.

    Arguments:
    A -- matrix of shape (n_C, n_H*n_W): one row per channel (filter)

    Returns:
    GA -- Gram matrix of A, shape (n_C, n_C)
    """
    A = tf.convert_to_tensor(A, tf.float32)
    ### START CODE HERE ###
    # The product of A with its transpose
    GA = tf.matmul(A, tf.transpose(A))
    ### END CODE HERE ###
    return GA


def compute_layer_style_cost(a_S, a_G):
    """Style cost of one layer: sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2).

    Arguments:
    a_S -- hidden layer activations of the style image S, shape (1, n_H, n_W, n_C)
    a_G -- hidden layer activations of the generated image G, shape (1, n_H, n_W, n_C)
    (G_S and G_G are the Gram matrices of a_S and a_G unrolled to (n_C, n_H*n_W): shape (n_C, n_C))

    Returns:
    J_style_layer -- scalar float32 tensor
    """
    a_S, a_G = check_activations(
        a_S, a_G, "a_S", "a_G",
        "Resize the style image to the content image's size, e.g. "
        "load_image(path, size=(CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT)).",
    )
    ### START CODE HERE ###
    # Retrieve the dimensions from a_G
    _, n_H, n_W, n_C = tf.unstack(tf.shape(a_G))
    # Unroll a_S and a_G to (n_C, n_H*n_W): reshape to (n_H*n_W, n_C), then transpose.
    # (A bare reshape to (n_C, n_H*n_W) would mix channels and pixels.)
    a_S = tf.transpose(tf.reshape(a_S, [n_H * n_W, n_C]))
    a_G = tf.transpose(tf.reshape(a_G, [n_H * n_W, n_C]))
    # Compute the Gram matrices of S and G
    GS = gram_matrix(a_S)
    GG = gram_matrix(a_G)
    # Compute the cost: equation (2), in float32
    n_C = tf.cast(n_C, tf.float32)
    n_HW = tf.cast(n_H * n_W, tf.float32)
    J_style_layer = tf.reduce_sum(tf.square(GS - GG)) / (4.0 * n_C**2 * n_HW**2)
    ### END CODE HERE ###
    return J_style_layer


def check_style_layers(style_activations, generated_activations, style_layers):
    """Raise a clear error if a style layer is missing from either dict of activations."""
    for layer_name, _ in style_layers:
        for acts, which in ((style_activations, "style_activations"),
                            (generated_activations, "generated_activations")):
            if layer_name not in acts:
                raise KeyError(
                    f"{which} has no layer {layer_name!r} (it has {sorted(acts)}). "
                    "Build the model with this layer, e.g. load_vgg_model(layers=...)."
                )


def compute_style_cost(style_activations, generated_activations, style_layers=STYLE_LAYERS):
    """Overall style cost: sum over layers of lambda^[l] * J_style^[l](S, G).

    Arguments:
    style_activations -- dict layer name -> activations of S, each (1, n_H, n_W, n_C)
    generated_activations -- dict layer name -> activations of G, same shapes
    style_layers -- list of (layer name, coefficient lambda^[l]) pairs

    Returns:
    J_style -- scalar float32 tensor
    """
    check_style_layers(style_activations, generated_activations, style_layers)
    J_style = tf.constant(0.0, tf.float32)
    for layer_name, coeff in style_layers:
        ### START CODE HERE ###
        # The style cost of this layer, from the activations of S and G at layer_name
        J_style_layer = compute_layer_style_cost(style_activations[layer_name],
                                                 generated_activations[layer_name])
        # Add coeff * J_style_layer to the overall style cost
        J_style += coeff * J_style_layer
        ### END CODE HERE ###
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
    ### START CODE HERE ###
    # Equation (4): the weighted sum of the two costs
    J = alpha * J_content + beta * J_style
    ### END CODE HERE ###
    return J
