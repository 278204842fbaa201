"""A start image for the optimisation that already has the style's low-level statistics: init="spectrum".

From the noisy content image, J(G) is dominated by the style cost of the shallow layers, whose Gram
matrices are mostly statistics of the image's colours and power spectrum. So start from an image
with the content's layout and the style's colours, spectrum and histograms:

1. recolour C: an affine map of its RGB values that gives them the style's mean and covariance
   (x -> Sigma_S^(1/2) Sigma_C^(-1/2) (x - mu_C) + mu_S);
2. in the style's principal colour axes, keep each channel's Fourier *phase* from the recoloured C
   (where the edges and shapes are) and take its Fourier *amplitude* from S (how much texture at
   each frequency and orientation; translation-invariant, so none of S's layout comes along);
3. give each of those channels the style's histogram, rank for rank (the lowest value takes the
   style's lowest, and so on), as Heeger & Bergen's texture synthesis (1995) alternates with 2.

All steps are global: a few FFTs and sorts. With several style images, their colour moments, power
spectra and histograms are blended with the style weights (as the Gram targets are). A style image
of another size is mirrored or cropped to the content's size first, which keeps its texture's scale.

Images are normalised images, np.float32 (1, n_H, n_W, 3), RGB minus CONFIG.MEANS; the statistics
are computed in float64.
"""
import numpy as np

from ..images import generate_noise_image

#: Floor of the covariance eigenvalues (squared pixel units), for grey or flat images.
EIGENVALUE_FLOOR = 1e-3


def _matrix_power(cov, power):
    """cov^power for a symmetric positive semi-definite 3x3 matrix (eigenvalues floored)."""
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.maximum(values, EIGENVALUE_FLOOR) ** power) @ vectors.T


def _fit(image, height, width):
    """(height, width, 3) float64: image mirrored outwards (if smaller) and centre-cropped (if larger)."""
    h, w = image.shape[:2]
    image = np.pad(image, ((0, max(0, height - h)), (0, max(0, width - w)), (0, 0)), mode="symmetric")
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return image[top:top + height, left:left + width]


def _moments(pixels):
    return pixels.mean(axis=0), np.cov(pixels, rowvar=False)


def _match_histogram(values, samples, weights):
    """values (n,) replaced rank for rank by the quantiles of the weighted mixture of samples."""
    pooled = np.concatenate(samples)
    mass = np.concatenate([np.full(len(s), w / len(s)) for w, s in zip(weights, samples)])
    order = np.argsort(pooled, kind="stable")
    cumulative = np.cumsum(mass[order]) - mass[order] / 2  # mid-point of each sample's mass
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = (np.arange(len(values)) + 0.5) / len(values)
    return np.interp(ranks, cumulative, pooled[order])  # weights sum to 1: ranks and masses agree


def spectrum_start(content_image, style_images, style_weights):
    """The content's layout (1, n_H, n_W, 3) with the style's colours and amplitude spectrum (this
    module's doc): np.float32 (1, n_H, n_W, 3), normalised, not clipped. style_images: (1, h, w, 3),
    any sizes; style_weights: one per style image, summing to 1."""
    content = np.asarray(content_image, np.float64)[0]
    height, width = content.shape[:2]
    styles = [_fit(np.asarray(s, np.float64)[0], height, width) for s in style_images]
    moments = [_moments(s.reshape(-1, 3)) for s in styles]
    mean_s = sum(w * m for w, (m, _) in zip(style_weights, moments))
    cov_s = sum(w * (c + np.outer(m, m)) for w, (m, c) in zip(style_weights, moments)) - np.outer(mean_s, mean_s)
    mean_c, cov_c = _moments(content.reshape(-1, 3))
    recolour = _matrix_power(cov_s, 0.5) @ _matrix_power(cov_c, -0.5)
    axes = np.linalg.eigh(cov_s)[1]  # the style's principal colour axes
    # Step 1 and the change to the style's colour axes in one linear map of the centred content.
    phase = np.angle(np.fft.rfft2((content - mean_c) @ (axes.T @ recolour).T, axes=(0, 1)))
    power = sum(w * np.abs(np.fft.rfft2((s - m) @ axes, axes=(0, 1))) ** 2
                for w, s, (m, _) in zip(style_weights, styles, moments))
    channels = np.fft.irfft2(np.sqrt(power) * np.exp(1j * phase), s=(height, width), axes=(0, 1))
    for c in range(3):  # step 3, in the style's colour axes (centred on the blended mean)
        samples = [((s - mean_s) @ axes[:, c]).ravel() for s in styles]
        matched = _match_histogram(channels[..., c].ravel(), samples, style_weights)
        channels[..., c] = matched.reshape(height, width)
    return (channels @ axes.T + mean_s)[np.newaxis].astype(np.float32)


def first_start(init, content_image, style_images, style_weights, noise_ratio, seed):
    """The first stage's start image, made at its size from init ("noise", "content" or "spectrum";
    an init image is resized instead, resize.stage_images).

    Arguments:
    content_image, style_images, style_weights -- as spectrum_start's
    noise_ratio, seed -- generate_noise_image's (the course's "noise")

    Returns:
    image -- np.float32 (1, n_H, n_W, 3), normalised
    """
    if init == "spectrum":
        return spectrum_start(content_image, style_images, style_weights)
    if init == "content":
        return content_image.copy()
    return generate_noise_image(content_image, noise_ratio, seed)  # the course's start
