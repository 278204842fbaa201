"""The course's configuration: image size, noise ratio, VGG means, layer choices and paths.

Values follow the original assignment ("Art Generation with Neural Style Transfer").
"""
from pathlib import Path

import numpy as np

#: Root of the repository (the folder that holds ``images/`` and ``pretrained_model/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: File name Keras uses for the VGG19 ImageNet weights without the classifier ("notop").
VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"
VGG19_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + VGG19_WEIGHTS_FILE
)


class CONFIG:
    """Course constants. Images are 400 px wide, 300 px high, RGB."""

    IMAGE_WIDTH = 400
    IMAGE_HEIGHT = 300
    COLOR_CHANNELS = 3
    NOISE_RATIO = 0.6
    #: ImageNet channel means in RGB order, shape (1, 1, 1, 3), pixel units [0, 255].
    MEANS = np.array([123.68, 116.779, 103.939], dtype=np.float32).reshape((1, 1, 1, 3))
    VGG_MODEL = str(REPO_ROOT / "pretrained_model" / VGG19_WEIGHTS_FILE)
    STYLE_IMAGE = str(REPO_ROOT / "images" / "brushstrokes.png")
    CONTENT_IMAGE = str(REPO_ROOT / "images" / "chelsea.png")
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
