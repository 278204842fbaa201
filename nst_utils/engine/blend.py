"""The blend weights of several style images: how much each one's Gram matrices count in the style
targets (objective.py) and in the spectrum start (start.py). Checked before any work (options.decide).
"""
import numpy as np


def blend_weights(style_weights, n_styles):
    """Weights as a float64 array summing to 1; None means equal weights."""
    if style_weights is None:
        return np.full(n_styles, 1.0 / n_styles)
    w = np.asarray(style_weights, np.float64).ravel()
    if w.size != n_styles:
        raise ValueError(f"got {w.size} style weights for {n_styles} style images; give one weight "
                         "per style image.")
    if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"style weights must be non-negative and not all zero, got {list(w)}")
    return w / w.sum()
