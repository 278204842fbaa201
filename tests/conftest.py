import re
import signal

import numpy as np
import pytest

from standin_weights import write_notop_h5


@pytest.fixture(scope="session")
def standin_weights(tmp_path_factory, pytestconfig):
    """Path of stand-in VGG19 notop weights (seed 0), written once per session.

    Not the genuine file: loading it gives a WeightsWarning, which the tests that are about it
    expect (pytest.warns); the others ignore that one warning for that one file."""
    path = str(write_notop_h5(tmp_path_factory.mktemp("weights") / "standin_notop.h5", seed=0))
    pytestconfig.addinivalue_line("filterwarnings", f"ignore:the weights file '{re.escape(path)}':UserWarning")
    return path


@pytest.fixture(scope="session")
def vgg19_standin(standin_weights):
    from nst_utils import load_vgg_model
    from nst_utils.weights import WeightsWarning

    with pytest.warns(WeightsWarning, match="not the genuine VGG19 file"):  # it is a stand-in
        return load_vgg_model(standin_weights)


@pytest.fixture(scope="session")
def vgg16_hed():
    from nst_utils import CONTENT_LAYER, STYLE_LAYERS, load_vgg_model

    return load_vgg_model(backbone="vgg16-hed", layers=[CONTENT_LAYER] + [n for n, _ in STYLE_LAYERS])


@pytest.fixture
def small_images():
    """Content and style example images at 64x48, normalised (1, 48, 64, 3)."""
    from nst_utils import CONFIG, load_image, reshape_and_normalize_image

    size = (64, 48)
    return (reshape_and_normalize_image(load_image(CONFIG.CONTENT_IMAGE, size)),
            reshape_and_normalize_image(load_image(CONFIG.STYLE_IMAGE, size)))


@pytest.fixture
def no_iteration_cap(monkeypatch):
    monkeypatch.delenv("NST_MAX_ITERATIONS", raising=False)


def np_gram(a):
    """Independent NumPy Gram of activations (1, n_H, n_W, n_C) -> (n_C, n_C), float64."""
    a = np.asarray(a, np.float64)
    unrolled = a.reshape(-1, a.shape[-1]).T
    return unrolled @ unrolled.T


def as_from_a_terminal():
    """preexec_fn for a child that must take Ctrl-C as a terminal's program does. A test run started
    in the background by a shell without job control (`cmd &`) ignores SIGINT, and a child inherits
    that: Python then leaves Ctrl-C ignored. A terminal's Ctrl-C reaches a program that has SIGINT's
    default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
