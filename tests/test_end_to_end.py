"""End to end on the only pretrained network available offline (vgg16-hed): the result is really
stylised, measured with numbers."""
import numpy as np
import pytest

from conftest import np_gram
from nst_utils import CONFIG, STYLE_LAYERS, load_image, model_nn, reshape_and_normalize_image
from nst_utils.cli import main

# a 200-iteration run and the command line: the full suite's, not the quick tier's
pytestmark = pytest.mark.slow


def gram_distance(acts_a, acts_b):
    """Mean over style layers of the relative Frobenius distance between normalised Gram matrices."""
    out = []
    for name, _ in STYLE_LAYERS:
        a, b = acts_a[name].numpy(), acts_b[name].numpy()
        ga, gb = np_gram(a) / a[0].size, np_gram(b) / b[0].size
        out.append(np.linalg.norm(ga - gb) / np.linalg.norm(gb))
    return float(np.mean(out))


@pytest.fixture(scope="module")
def run(vgg16_hed, tmp_path_factory):
    size = (128, 96)
    C = reshape_and_normalize_image(load_image(CONFIG.CONTENT_IMAGE, size))
    S = reshape_and_normalize_image(load_image(CONFIG.STYLE_IMAGE, size))
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("NST_MAX_ITERATIONS", raising=False)  # this test needs its 100 iterations
        result = model_nn(C, S, 100, model=vgg16_hed, seed=0,
                          output_dir=tmp_path_factory.mktemp("e2e"), report_every=10,
                          progress=False, verbose=False)
    return C, S, result


def test_style_cost_falls_by_a_large_factor(run):
    _, _, result = run
    first, last = result.history[0], result.history[-1]
    assert last["J_style"] < first["J_style"] / 20, (first, last)
    assert last["J"] < first["J"] / 10


def test_gram_statistics_move_to_the_style_image(run, vgg16_hed):
    C, S, result = run
    a_S, a_C, a_G = vgg16_hed(S), vgg16_hed(C), vgg16_hed(result.image)
    before = gram_distance(a_C, a_S)  # the content image is far from the style's statistics
    after = gram_distance(a_G, a_S)
    assert after < before / 3, (before, after)


def test_content_stays_recognisable(run):
    """The cat's layout survives: smoothed luminance of G correlates with C's, unlike S's.

    (vgg16-hed's conv4_2 content cost is no measure of this: its edge-tuned features give pure noise a
    lower content cost than the stylised result.)"""
    C, S, result = run
    lum = lambda x: (x[0] + CONFIG.MEANS[0]).mean(-1)
    blur = lambda y: y.reshape(24, 4, 32, 4).mean((1, 3))  # 96x128 -> 24x32 blocks
    corr = lambda a, b: float(np.corrcoef(blur(lum(a)).ravel(), blur(lum(b)).ravel())[0, 1])
    assert corr(result.image, C) > 0.6, corr(result.image, C)
    assert corr(result.image, C) > corr(S, C) + 0.5


def test_colours_move_toward_the_style(run):
    C, S, result = run
    mean_rgb = lambda x: (x[0] + CONFIG.MEANS[0]).reshape(-1, 3).mean(0)
    blue_minus_red = lambda x: mean_rgb(x)[2] - mean_rgb(x)[0]
    # the cat is brown (red > blue), the brush strokes are blue
    assert blue_minus_red(C) < 0 < blue_minus_red(S)
    assert blue_minus_red(result.image) > blue_minus_red(C) + 20


def test_cli_with_the_offline_backbone(tmp_path, monkeypatch):
    monkeypatch.delenv("NST_MAX_ITERATIONS", raising=False)
    assert main(["--backbone", "vgg16-hed", "--size", "64x48", "--iterations", "2", "-o", str(tmp_path),
                 "--quiet"]) == 0
    assert (tmp_path / "generated_image.png").exists()
