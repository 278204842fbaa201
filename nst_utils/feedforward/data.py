"""Training data: random crops of photographs we may redistribute.

Johnson et al. trained on 80,000 COCO photographs, which we cannot ship. A style network mostly
learns local texture, so random crops at random scales, flipped, of a dozen CC0 / public-domain
photographs are enough to train one style on a CPU (see images/README.md for the sources).

Crops are *pictures* until the end: uint8 (size, size, 3) RGB in [0, 255]; ``batches`` returns
normalised images (batch, size, size, 3) float32, RGB minus CONFIG.MEANS.
"""
from pathlib import Path

import numpy as np
from PIL import Image

from ..resources import images_folder
from ..images import load_image, reshape_and_normalize_image

#: scikit-image sample images that are CC0 or public domain (licences from skimage.data's
#: docstrings, listed in images/README.md). skimage's chelsea is images/chelsea.png: held out, so
#: that the cat the README and notebook show was never seen in training.
SKIMAGE_IMAGES = ("astronaut", "coffee", "rocket", "hubble_deep_field", "retina", "camera", "brick",
                  "grass", "gravel")

#: The repository's own images used for training (brushstrokes.png, the style, is not used as content).
REPO_IMAGES = ("mosaic.png",)


def skimage_pictures(names=SKIMAGE_IMAGES):
    """scikit-image sample images as RGB pictures (greyscale ones repeated on 3 channels)."""
    try:
        import skimage.data
    except ImportError:
        raise ImportError("training on scikit-image's sample photographs needs scikit-image: "
                          "pip install -r requirements-train.txt") from None
    pictures = []
    for name in names:
        img = np.asarray(getattr(skimage.data, name)())
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=-1)
        pictures.append(np.ascontiguousarray(img[..., :3]).astype(np.uint8))
    return pictures


def repo_pictures(names=REPO_IMAGES, folder=None):
    """Pictures from the repository's images/ folder (or another folder)."""
    folder = Path(folder) if folder is not None else images_folder()
    return [load_image(folder / name) for name in names]


def random_crop(picture, size, rng, min_scale=0.5, max_scale=1.0):
    """A random square crop of picture (uint8 (n_H, n_W, 3)) resized to uint8 (size, size, 3), flipped
    left-right half the time; its side a random share in [min_scale, max_scale] of the shorter side,
    so the network sees details at several scales. rng: np.random.Generator."""
    n_H, n_W = picture.shape[:2]
    side = int(round(min(n_H, n_W) * rng.uniform(min_scale, max_scale)))
    side = max(min(side, n_H, n_W), 1)
    top = int(rng.integers(0, n_H - side + 1))
    left = int(rng.integers(0, n_W - side + 1))
    crop = np.asarray(Image.fromarray(picture[top:top + side, left:left + side]).resize((size, size), Image.BILINEAR))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def batches(pictures, size, batch_size=1, seed=0):
    """Endless generator of normalised batches (batch_size, size, size, 3) float32 of random crops.

    size must be a multiple of 4 (the network's two stride-2 convolutions).
    """
    if size % 4:
        raise ValueError(f"crop size must be a multiple of 4, got {size}")
    if not pictures:
        raise ValueError("no training pictures")
    rng = np.random.default_rng(seed)
    while True:
        crops = [random_crop(pictures[int(rng.integers(len(pictures)))], size, rng)
                 for _ in range(batch_size)]
        yield np.concatenate([reshape_and_normalize_image(c) for c in crops], axis=0)
