"""Write the benchmark's input images to an .npz: the package's example content and style images at
the requested size, normalised as the course does, and the initial G (60% noise, seed 0).

Usage (from the repository root): python -m benchmarks.prepare_inputs OUT.npz WIDTH HEIGHT
"""
import sys

import numpy as np

from nst_utils.config import CONFIG
from nst_utils.images import generate_noise_image, load_image, reshape_and_normalize_image


def main(argv):
    out, width, height = argv[0], int(argv[1]), int(argv[2])
    content = reshape_and_normalize_image(load_image(CONFIG.CONTENT_IMAGE, size=(width, height)))
    style = reshape_and_normalize_image(load_image(CONFIG.STYLE_IMAGE, size=(width, height)))
    init = generate_noise_image(content, CONFIG.NOISE_RATIO, seed=0)
    np.savez(out, content=content, style=style, init=np.asarray(init, np.float32))


if __name__ == "__main__":
    main(sys.argv[1:])
