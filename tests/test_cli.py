"""The command line: python -m nst_utils [CONTENT STYLE] [options]."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst_utils.cli import main


def test_help_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "nst_utils", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0
    for flag in ("--iterations", "--size", "--alpha", "--beta", "--lr", "--seed", "--backbone",
                 "--save-every", "-o"):
        assert flag in out.stdout


def test_example_images_by_default(standin_weights, tmp_path, no_iteration_cap, capsys):
    code = main(["--weights", standin_weights, "--iterations", "3", "--size", "64x48", "--seed", "1",
                 "-o", str(tmp_path), "--save-every", "1", "--quiet"])
    assert code == 0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["0.png", "1.png", "2.png",
                                                              "generated_image.png"]
    assert np.asarray(Image.open(tmp_path / "generated_image.png")).shape == (48, 64, 3)
    assert "Saved" in capsys.readouterr().out


def test_own_images_and_all_options(standin_weights, tmp_path, no_iteration_cap):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (90, 120, 3), np.uint8)).save(tmp_path / "c.jpg")
    Image.fromarray(rng.integers(0, 255, (50, 50, 3), np.uint8)).save(tmp_path / "s.png")
    code = main([str(tmp_path / "c.jpg"), str(tmp_path / "s.png"), "--weights", standin_weights,
                 "--iterations", "2", "--size", "48x40", "--alpha", "5", "--beta", "100", "--lr", "1.5",
                 "--seed", "3", "--noise-ratio", "0.2", "--save-every", "0", "-o", str(tmp_path / "o"),
                 "--quiet", "--backbone", "vgg19"])
    assert code == 0
    assert [p.name for p in (tmp_path / "o").glob("*.png")] == ["generated_image.png"]


def test_clear_errors_with_exit_status_2(standin_weights, tmp_path, capsys):
    assert main([str(tmp_path / "missing.jpg"), "s.png", "--weights", standin_weights]) == 2
    assert "No image at" in capsys.readouterr().err
    assert main(["--weights", str(tmp_path / "none.h5")]) == 2
    assert "vgg16-hed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--size", "big"])
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
