"""Resizing normalised images, for style scale and multi-resolution optimisation."""
import numpy as np
import tensorflow as tf

from ..images import MIN_RESIZED_SIDE


def resize_image(image, size):
    """Resize a normalised image (1, n_H, n_W, 3) to size = (width, height): np.float32 (1, height,
    width, 3), the input itself if it has that size. Lanczos is linear with weights summing to 1, so
    this equals resizing the picture and normalising it again (up to clipping)."""
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
    """Size (width, height) of image (1, n_H, n_W, 3) resized, aspect kept, so that its longer side
    is scale (stylise's style_scale, e.g. 0.5) times reference's."""
    h, w = np.shape(image)[1:3]
    ref_h, ref_w = np.shape(reference)[1:3]
    factor = scale * max(ref_h, ref_w) / max(h, w)
    return max(1, round(w * factor)), max(1, round(h * factor))


def stage_images(content_image, style_images, start_image, size, style_scale):
    """(content, [style, ...], start or None), np.float32, of one stage of size (width, height),
    resized from the images (1, n_H, n_W, 3) at full size. start_image: the previous stage's result,
    an init image or None; style_scale: None (each style at size, the course) or scaled_size's."""
    content = resize_image(content_image, size)
    if style_scale is None:
        styles = [resize_image(s, size) for s in style_images]
    else:
        styles = [resize_image(s, scaled_size(s, content, style_scale)) for s in style_images]
    return content, styles, None if start_image is None else resize_image(start_image, size)
