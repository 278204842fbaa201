"""Numbers that say what an option of the engine did to a result: used by notebooks/Extensions.ipynb
and scripts/make_gallery.py (the tests compute their own, independently, in NumPy).

Images are normalised images (1, n_H, n_W, 3), RGB minus CONFIG.MEANS; each measure looks at the
8-bit picture a learner would save (to_picture), in pixel units [0, 255].
"""
import numpy as np

from .config import STYLE_LAYERS
from .engine.color import rgb_to_yiq
from .engine.objective import normalized_gram
from .engine.regularizers import total_variation
from .images import to_picture


def picture_total_variation(image):
    """regularizers.total_variation of the 8-bit picture: mean squared neighbour difference, pixel^2."""
    return float(total_variation(to_picture(image)[None].astype("float32")))


def chroma_distance(image, content):
    """Mean |I, Q of the picture - I, Q of the content's picture| (YIQ chroma), pixel units.

    0 means the content's colours are kept exactly (colour preservation)."""
    return float(np.abs(rgb_to_yiq(to_picture(image))[..., 1:] - rgb_to_yiq(to_picture(content))[..., 1:]).mean())


def texture_fineness(image):
    """Mean squared luminance gradient / luminance variance: grows as 1/length^2 when the texture's
    elements (brush strokes) shrink to that length. Dimensionless."""
    y = rgb_to_yiq(to_picture(image).astype(float))[..., 0]
    return float((np.sum(np.diff(y, axis=0) ** 2) + np.sum(np.diff(y, axis=1) ** 2)) / y.size / y.var())


def style_distance_share(model, image, style_1, style_2, style_layers=STYLE_LAYERS):
    """d1 / (d1 + d2), dk = sum_l lambda_l ||Gn(image) - Gn(style_k)||^2 with Gn = normalized_gram.

    0: the image has style_1's Gram statistics, 1: style_2's, 0.5: halfway (blended styles)."""
    acts = model(image)
    targets = [model(style) for style in (style_1, style_2)]
    d1, d2 = (sum(coeff * float(np.sum((normalized_gram(acts[name]) - normalized_gram(t[name])) ** 2))
                  for name, coeff in style_layers) for t in targets)
    return d1 / (d1 + d2)
