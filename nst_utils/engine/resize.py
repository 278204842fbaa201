"""Resizing normalised images, for style scale and multi-resolution optimisation."""
import numpy as np
import tensorflow as tf

from ..images import MIN_RESIZED_SIDE


def resize_image(image, size):
    """Resize a normalised image (1, n_H, n_W, 3) to size = (width, height).

    Lanczos with antialiasing. The filter is linear with weights summing to 1, so resizing a
    normalised image equals resizing the picture and normalising it again (up to clipping).

    Returns:
    image -- np.float32 (1, height, width, 3); the input itself if it already has that size
    """
    image = np.asarray(image, np.float32)
    width, height = (int(s) for s in size)
    if min(width, height) < MIN_RESIZED_SIDE:
        raise ValueError(f"cannot resize to {width}x{height}: each side must be at least "
                         f"{MIN_RESIZED_SIDE} pixels for VGG's deeper layers. Use a larger size "
                         "or style_scale.")
    if image.shape[1:3] == (height, width):
        return image
    out = tf.image.resize(image, (height, width), method="lanczos3", antialias=True)
    return out.numpy().astype(np.float32)


def scaled_size(image, reference, scale):
    """Size (width, height) of image resized so that its longer side is scale times reference's.

    The aspect ratio of image is kept. With equal aspect ratios this is scale x reference's size.

    Arguments:
    image, reference -- normalised images (1, n_H, n_W, 3)
    scale -- positive float (stylise's style_scale, checked in options.py), e.g. 0.5 for a style
             image half as large as the content
    """
    h, w = np.shape(image)[1:3]
    ref_h, ref_w = np.shape(reference)[1:3]
    factor = scale * max(ref_h, ref_w) / max(h, w)
    return max(1, round(w * factor)), max(1, round(h * factor))


def stage_images(content_image, style_images, start_image, size, style_scale):
    """The images of one stage of size (width, height), resized from those at full size.

    Arguments:
    content_image, style_images -- normalised images (1, n_H, n_W, 3) as the network sees them
    start_image -- the previous stage's result or an init image, or None (made at this size)
    style_scale -- None: each style at size (the course); else scaled_size's scale

    Returns:
    (content, [style, ...], start or None) -- normalised images, np.float32
    """
    content = resize_image(content_image, size)
    if style_scale is None:
        styles = [resize_image(s, size) for s in style_images]
    else:
        styles = [resize_image(s, scaled_size(s, content, style_scale)) for s in style_images]
    return content, styles, None if start_image is None else resize_image(start_image, size)
