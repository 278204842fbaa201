"""Command-line flags of the options beyond the course (python -m nst_utils ... --tv-weight ...)."""
from pathlib import Path

import numpy as np
import pytest

from nst_utils import load_image
from nst_utils.cli import build_parser, main

IMAGES = Path(__file__).resolve().parent.parent / "images"
BASE = [str(IMAGES / "chelsea.png"), str(IMAGES / "brushstrokes.png"), "--backbone", "vgg16-hed",
        "--size", "64x48", "--quiet", "--save-every", "0"]


def yiq(picture):
    m = np.array([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263],
                  [0.211456, -0.522591, 0.311135]])
    return np.asarray(picture, np.float64) @ m.T


def test_defaults_are_the_course():
    args = build_parser().parse_args([])
    assert (args.tv_weight, args.optimizer, args.init, args.preserve_color, args.extra_styles,
            args.style_weights, args.style_scale, args.multires) == (0.0, "adam", "noise", False, [],
                                                                     None, None, None)


def test_flags_parse():
    args = build_parser().parse_args(["--tv-weight", "100", "--optimizer", "lbfgs", "--init", "content",
                                      "--preserve-color", "--style", "b.png", "--style", "c.png",
                                      "--style-weights", "0.5,0.3,0.2", "--style-scale", "0.5",
                                      "--multires", "100x75,200x150"])
    assert args.tv_weight == 100 and args.optimizer == "lbfgs" and args.init == "content"
    assert args.preserve_color and args.extra_styles == ["b.png", "c.png"]
    assert args.style_weights == [0.5, 0.3, 0.2] and args.style_scale == 0.5
    assert args.multires == [(100, 75), (200, 150)]


def test_all_options_together_write_an_image(tmp_path, monkeypatch):
    monkeypatch.delenv("NST_MAX_ITERATIONS", raising=False)
    out = tmp_path / "out"
    code = main(BASE + ["-o", str(out), "--iterations", "2", "--size", "80x60", "--tv-weight", "10",
                        "--optimizer", "lbfgs", "--init", "content", "--style", str(IMAGES / "mosaic.png"),
                        "--style-weights", "0.7,0.3", "--style-scale", "0.75", "--multires", "40x30"])
    assert code == 0
    assert load_image(out / "generated_image.png").shape == (60, 80, 3)  # the last --multires stage is --size


def test_preserve_color_flag_keeps_the_content_chroma(tmp_path, monkeypatch):
    monkeypatch.delenv("NST_MAX_ITERATIONS", raising=False)
    assert main(BASE + ["-o", str(tmp_path), "--iterations", "10", "--optimizer", "lbfgs",
                        "--preserve-color", "--seed", "0"]) == 0
    out = load_image(tmp_path / "generated_image.png")
    content = load_image(IMAGES / "chelsea.png", size=(64, 48))
    d_chroma = np.abs(yiq(out)[..., 1:] - yiq(content)[..., 1:]).mean()
    d_luma = np.abs(yiq(out)[..., 0] - yiq(content)[..., 0]).mean()
    assert d_chroma < 1.0 and d_luma > 2.0, (d_chroma, d_luma)


def test_init_from_a_file(tmp_path):
    assert main(BASE + ["-o", str(tmp_path), "--iterations", "1", "--init",
                        str(IMAGES / "mosaic.png")]) == 0


@pytest.mark.parametrize("flags, message", [
    (["--style-weights", "1,2"], "got 2 style weights for 1 style images"),
    (["--init", "nowhere.png"], "No image at"),
    (["--style-weights", "1,-1", "--style", str(IMAGES / "mosaic.png")], "non-negative"),
    (["--tv-weight", "-1"], "--tv-weight -1: must be >= 0"),
])
def test_bad_option_values_give_a_clear_error(tmp_path, capsys, flags, message):
    assert main(BASE + ["-o", str(tmp_path), "--iterations", "1"] + flags) == 2
    assert message in capsys.readouterr().err


def test_malformed_flags_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--multires", "100by75"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--optimizer", "sgd"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--style-weights", "a,b"])
