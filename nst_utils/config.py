"""The course's configuration: image size, noise ratio, VGG means, layer choices and paths.

Values follow the original assignment ("Art Generation with Neural Style Transfer").
"""
from pathlib import Path

import numpy as np

from .resources import example_image

#: File name Keras uses for the VGG19 ImageNet weights without the classifier ("notop").
VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"
VGG19_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + VGG19_WEIGHTS_FILE
)


def local_weights_path(start=None):
    """Path of the VGG19 weights file in the nearest ``pretrained_model/`` folder that holds it, from
    the folder start (default: the current folder) up through its parents; if none does, the place
    to put it: ``pretrained_model/`` in the start folder.

    The current folder, not the package's: an installed package has no folder of the learner's. A
    notebook runs in its own folder, so the weights in a clone's ``pretrained_model/`` are found from
    ``notebooks/`` as from the top, and those in a course folder (python -m nst_utils.course DEST)
    from DEST and DEST/solution/."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pretrained_model" / VGG19_WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    return start / "pretrained_model" / VGG19_WEIGHTS_FILE


class CONFIG:
    """Course constants. Images are 400 px wide, 300 px high, RGB."""

    IMAGE_WIDTH = 400
    IMAGE_HEIGHT = 300
    COLOR_CHANNELS = 3
    NOISE_RATIO = 0.6
    #: ImageNet channel means in RGB order, shape (1, 1, 1, 3), pixel units [0, 255].
    MEANS = np.array([123.68, 116.779, 103.939], dtype=np.float32).reshape((1, 1, 1, 3))
    #: Where the VGG19 weights file is looked for before the Keras cache (local_weights_path), read
    #: once, when the package is imported: a notebook imports it in its first cell, in its folder.
    VGG_MODEL = str(local_weights_path())
    #: The example images, shipped with the package (nst_utils.resources): paths for load_image.
    STYLE_IMAGE = example_image("brushstrokes.png")
    CONTENT_IMAGE = example_image("chelsea.png")
    OUTPUT_DIR = "output/"


#: Content layer of the course (a middle layer: keeps arrangement, not exact pixels).
CONTENT_LAYER = "conv4_2"

#: Style layers and their weights lambda^[l] (sum to 1), as in the course.
STYLE_LAYERS = [
    ("conv1_1", 0.2),
    ("conv2_1", 0.2),
    ("conv3_1", 0.2),
    ("conv4_1", 0.2),
    ("conv5_1", 0.2),
]

#: Environment variable that caps every optimisation loop's iterations. Meant for CI and for
#: grading, where the notebooks' 200-iteration cells only need to run, not to converge.
MAX_ITERATIONS_ENV = "NST_MAX_ITERATIONS"


def capped_iterations(num_iterations):
    """num_iterations, or less if the NST_MAX_ITERATIONS environment variable asks for a cap."""
    import os

    cap = os.environ.get(MAX_ITERATIONS_ENV, "").strip()
    if not cap:
        return num_iterations
    try:
        cap = int(cap)
    except ValueError:
        raise ValueError(f"{MAX_ITERATIONS_ENV} must be a whole number, got {cap!r}") from None
    return min(num_iterations, max(cap, 1))
