"""Small matplotlib helpers to show pictures and normalised images inline."""
import numpy as np

from .images import to_picture


def _as_picture(image):
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image[0] if image.ndim == 4 else image
    return to_picture(image)


def show(image, title=None, ax=None):
    """Show one picture (uint8, (n_H, n_W, 3)) or normalised image ((1, n_H, n_W, 3) float)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    ax.imshow(_as_picture(image))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_grid(images, titles=None, ncols=5, size=3.0):
    """Show images in a grid with ncols columns; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    images = list(images)
    titles = list(titles) if titles is not None else [None] * len(images)
    nrows = max(1, -(-len(images) // ncols))
    ncols = min(ncols, max(1, len(images)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * 0.8 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image, title in zip(axes.flat, images, titles):
        show(image, title, ax=ax)
    fig.tight_layout()
    return fig


def jpeg(picture, caption=None):
    """An IPython JPEG image of a picture or a normalised image, its caption as the alt text."""
    import io

    from IPython.display import Image
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.fromarray(_as_picture(picture)).save(buffer, format="JPEG", quality=85)
    return Image(data=buffer.getvalue(), format="jpeg", alt=caption)
