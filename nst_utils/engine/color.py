"""Colour spaces for colour preservation (Gatys et al. 2016, "Preserving Color in Neural Artistic
Style Transfer", luminance-only transfer).

YIQ (NTSC) separates luminance Y from chroma I, Q. Style transfer is run on the luminance alone
(replicated to three channels, since VGG wants RGB); the result's Y is then recombined with the
content's I and Q, so the output keeps the content's colours exactly (up to clipping to [0, 255]).

All functions take arrays whose last axis is RGB (or YIQ), in pixel units [0, 255].
"""
import numpy as np

from ..config import CONFIG

#: RGB -> YIQ (NTSC 1953 coefficients). Rows: Y, I, Q.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.595716, -0.274453, -0.321263],
                       [0.211456, -0.522591, 0.311135]], dtype=np.float64)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def rgb_to_yiq(rgb):
    """(..., 3) RGB in [0, 255] -> (..., 3) YIQ (Y in [0, 255], I and Q in about [-152, 152]), float64."""
    return np.asarray(rgb, np.float64) @ RGB_TO_YIQ.T


def yiq_to_rgb(yiq):
    """Inverse of rgb_to_yiq; (..., 3) float64 RGB, not clipped."""
    return np.asarray(yiq, np.float64) @ YIQ_TO_RGB.T


def luminance(image):
    """Luminance Y of a normalised image (1, n_H, n_W, 3) -> (1, n_H, n_W) float64, pixel units [0, 255]."""
    return rgb_to_yiq(np.asarray(image, np.float64) + CONFIG.MEANS)[..., 0]


def luminance_image(image, match=None):
    """Grey version of a normalised image (1, n_H, n_W, 3): np.float32, normalised, R = G = B = Y.
    match: a normalised image whose luminance mean and spread Y is given (Gatys et al. 2016)."""
    y = luminance(image)
    if match is not None:
        y_ref = luminance(match)
        y = (y - y.mean()) / max(y.std(), 1e-6) * y_ref.std() + y_ref.mean()
    grey = np.repeat(y[..., np.newaxis], 3, axis=-1)
    return (grey - CONFIG.MEANS).astype(np.float32)


def transfer_chroma(luminance_from, chroma_from):
    """Y of luminance_from with the I, Q (colours) of chroma_from, both normalised (1, n_H, n_W, 3):
    np.float32 (1, n_H, n_W, 3), normalised, not clipped."""
    luminance_from = np.asarray(luminance_from, np.float64)
    chroma_from = np.asarray(chroma_from, np.float64)
    if luminance_from.shape != chroma_from.shape:
        raise ValueError(f"shapes differ: {luminance_from.shape} vs {chroma_from.shape}")
    yiq = rgb_to_yiq(chroma_from + CONFIG.MEANS)
    yiq[..., 0] = rgb_to_yiq(luminance_from + CONFIG.MEANS)[..., 0]
    return (yiq_to_rgb(yiq) - CONFIG.MEANS).astype(np.float32)


def network_views(content_image, style_images, init, preserve_color):
    """What the network sees: the images themselves, or with preserve_color their grey versions,
    each style's luminance matched to the content's: (content, [style, ...], init), init as given
    if a name ("noise", "content", "spectrum")."""
    if not preserve_color:
        return content_image, style_images, init
    styles = [luminance_image(s, match=content_image) for s in style_images]
    return luminance_image(content_image), styles, init if isinstance(init, str) else luminance_image(init)
