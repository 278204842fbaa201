"""Image priors added to the cost J(G): total variation (Mahendran & Vedaldi 2015; used by Johnson's
neural-style as ``-tv_weight``) penalises differences between neighbouring pixels, which removes
the high-frequency noise that optimising pixels directly tends to leave."""
import tensorflow as tf


def total_variation(image):
    """Squared total variation, averaged per value so that its size does not depend on the image size.

    TV(G) = [ sum_{i,j,c} (G[i+1,j,c] - G[i,j,c])^2 + sum_{i,j,c} (G[i,j+1,c] - G[i,j,c])^2 ] / (n_H n_W n_C)

    Arguments:
    image -- normalised image (1, n_H, n_W, 3), pixel units (the means cancel in the differences)

    Returns:
    tv -- scalar float32 tensor, in squared pixel units (images/chelsea.png at 400x300: 178;
          the course's initial noise adds about 2x its variance, ~100)
    """
    image = tf.convert_to_tensor(image, tf.float32)
    if image.shape.rank is not None and image.shape.rank != 4:
        raise ValueError(f"image must have shape (1, n_H, n_W, 3), got {tuple(image.shape)}")
    d_h = image[:, 1:, :, :] - image[:, :-1, :, :]
    d_w = image[:, :, 1:, :] - image[:, :, :-1, :]
    n = tf.cast(tf.reduce_prod(tf.shape(image)[1:]), tf.float32)
    return (tf.reduce_sum(tf.square(d_h)) + tf.reduce_sum(tf.square(d_w))) / n
