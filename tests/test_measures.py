"""The measures the Extensions notebook and the gallery print (nst_utils/measures.py)."""
import numpy as np
import pytest

from nst_utils.config import CONFIG
from nst_utils.measures import chroma_distance, picture_total_variation, style_distance_share, texture_fineness


def normalised(picture):
    return (np.asarray(picture, np.float32) - CONFIG.MEANS[0])[None]


def stripes(period, size=(48, 64)):
    """Grey vertical stripes of the given period in pixels."""
    x = np.arange(size[1])
    row = np.where((x // (period // 2)) % 2 == 0, 60.0, 200.0)
    return normalised(np.repeat(np.tile(row, (size[0], 1))[..., None], 3, axis=2))


def test_chroma_distance_sees_colour_and_ignores_brightness():
    grey = np.full((8, 8, 3), 100.0)
    assert chroma_distance(normalised(grey + 50), normalised(grey)) == pytest.approx(0, abs=1e-9)
    red = grey.copy()
    red[..., 0] += 60
    assert chroma_distance(normalised(red), normalised(grey)) > 10


def test_texture_fineness_grows_as_the_elements_shrink():
    fine, coarse = texture_fineness(stripes(4)), texture_fineness(stripes(16))
    # same variance; one luminance jump per half period: 31 jumps per row against 7
    assert fine / coarse == pytest.approx(31 / 7, rel=1e-6)


def test_picture_total_variation_matches_the_definition():
    image = stripes(4)
    # 140-level jumps every 2 columns: 31 of the 63 horizontal differences per row, none vertical
    expected = 48 * 31 * 140.0 ** 2 * 3 / (48 * 64 * 3)
    assert picture_total_variation(image) == pytest.approx(expected, rel=1e-6)


def test_style_distance_share_is_0_at_style_1_and_1_at_style_2():
    def model(image):  # one "layer": the image itself, so the Gram is of the pixel channels
        return {"conv1_1": np.asarray(image, np.float32)}

    layers = [("conv1_1", 1.0)]
    s1, s2 = stripes(4), normalised(np.random.RandomState(0).uniform(0, 255, (48, 64, 3)))
    assert style_distance_share(model, s1, s1, s2, layers) == pytest.approx(0, abs=1e-9)
    assert style_distance_share(model, s2, s1, s2, layers) == pytest.approx(1, abs=1e-9)
