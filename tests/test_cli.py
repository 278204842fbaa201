"""The command line: python -m nst_utils [CONTENT STYLE] [options]."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import as_from_a_terminal
from nst_utils import load_image
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


# ---- anyone's pictures, flags that mean what they say, bad input refused cleanly ----------------------

from nst_utils.cli import build_parser, chosen_images, exit_status  # noqa: E402
from nst_utils.config import CONFIG  # noqa: E402
from nst_utils.sizing import Size, plan_sizes  # noqa: E402


def _picture(path, width, height, seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), np.uint8)).save(path)
    return str(path)


def write_png_bomb(path, side=30000):
    """A valid 1-bit PNG of side x side pixels (900 million at 30000): about 110 kB on disk."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row, packer = bytes(1 + (side + 7) // 8), zlib.compressobj(6)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) +
                     chunk(b"IEND", b""))
    return str(path)


def test_sizes_keep_the_aspect_by_default():
    """The issue's 517x389 content and 333x701 portrait style, default --size 400x300."""
    plan = plan_sizes(Size(400, 300), ("A.png", (517, 389)), [("B.png", (333, 701))])
    assert plan.content == (399, 300) and plan.styles == [(190, 399)] and plan.style_scale == 1.0
    assert "517x389 -> 399x300" in plan.line and "333x701 -> 190x399" in plan.line
    same = plan_sizes(Size(400, 300), ("A.png", (800, 600)), [("B.png", (400, 300))])
    assert same.content == same.styles[0] == (400, 300) and same.style_scale is None  # the course's cost


def test_exact_size_with_a_bang_is_the_course():
    args = build_parser().parse_args(["--size", "400x300!"])
    assert args.size == (400, 300) and args.size.exact
    plan = plan_sizes(args.size, ("A.png", (517, 389)), [("B.png", (333, 701))])
    assert plan.content == plan.styles[0] == (400, 300) and plan.style_scale is None
    assert "exact" in plan.line


def test_a_run_keeps_the_aspect_and_says_the_sizes(standin_weights, tmp_path, no_iteration_cap, capsys):
    content, style = _picture(tmp_path / "A.png", 517, 389), _picture(tmp_path / "B.png", 333, 701)
    assert main([content, style, "--weights", standin_weights, "--size", "128x96", "--iterations", "1",
                 "--save-every", "0", "-o", str(tmp_path / "o")]) == 0
    assert load_image(tmp_path / "o" / "generated_image.png").shape == (96, 128, 3)
    out = capsys.readouterr().out
    assert out.count("Sizes:") == 1 and "517x389 -> 128x96" in out and "333x701 -> 61x128" in out


def test_exact_size_run(standin_weights, tmp_path, no_iteration_cap):
    content, style = _picture(tmp_path / "A.png", 517, 389), _picture(tmp_path / "B.png", 333, 701)
    assert main([content, style, "--weights", standin_weights, "--size", "80x40!", "--iterations", "1",
                 "--save-every", "0", "-o", str(tmp_path), "--quiet"]) == 0
    assert load_image(tmp_path / "generated_image.png").shape == (40, 80, 3)


def test_style_flag_replaces_the_example_style():
    args = build_parser().parse_args(["A.png", "--style", "B.png"])
    assert chosen_images(args) == ("A.png", ["B.png"])
    args = build_parser().parse_args(["A.png", "S.png", "--style", "B.png"])
    assert chosen_images(args) == ("A.png", ["S.png", "B.png"])
    assert chosen_images(build_parser().parse_args([])) == (CONFIG.CONTENT_IMAGE, [CONFIG.STYLE_IMAGE])


def test_one_image_without_a_style_is_an_error(capsys):
    assert main(["A.png"]) == 2
    err = capsys.readouterr().err
    assert "no style image for 'A.png'" in err and "--style" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("flags, message", [
    (["--lr", "-1"], "--lr -1: the learning rate must be positive"),
    (["--lr", "0"], "--lr 0: "),
    (["--lr", "nan"], "--lr nan: must be a finite number"),
    (["--save-every", "-2"], "--save-every -2: must be 0"),
    (["--alpha", "0", "--beta", "0"], "--alpha 0 --beta 0: the weights must be >= 0 and not both 0"),
    (["--alpha", "-1"], "--alpha -1 --beta 40"),
    (["--multires", "128x96", "--size", "64x48"], "--multires 128x96 with --size 64x48"),
    (["--multires", "48x36,40x30", "--size", "64x48"], "--multires 48x36,40x30 with --size 64x48"),
    (["--multires", "64x48", "--size", "64x48"], "must be smaller than --size and increasing"),
    (["--size", "10x10"], "--size 10x10: each side must be between 32 and 4000 pixels"),
    (["--size", "5000x5000"], "--size 5000x5000: each side must be between 32 and 4000 pixels"),
    (["--noise-ratio", "1.5"], "--noise-ratio 1.5: must be between 0 and 1"),
    (["--style-scale", "0"], "--style-scale 0: must be positive"),
])
def test_every_value_is_checked_before_any_work(tmp_path, capsys, flags, message):
    content = _picture(tmp_path / "content96.png", 96, 72)
    assert main([content, content, "-o", str(tmp_path / "o")] + flags) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1, err
    assert "content96.png' is" not in err and not (tmp_path / "o").exists()


def test_size_errors_from_the_pictures_name_the_flag(tmp_path, capsys):
    content, style = _picture(tmp_path / "wide.png", 400, 20), _picture(tmp_path / "s.png", 40, 40)
    assert main([content, style]) == 2
    assert "--size 400x300: content" in capsys.readouterr().err
    assert main([style, style, "--size", "64x48", "--style-scale", "0.3"]) == 2
    assert "--style-scale 0.3: style" in capsys.readouterr().err


def test_a_large_style_is_resized_with_style_scale(standin_weights, tmp_path, no_iteration_cap, capsys):
    Image.new("RGB", (6000, 4000), (30, 90, 200)).save(tmp_path / "big.png")
    content = _picture(tmp_path / "c.png", 96, 72)
    assert main([content, str(tmp_path / "big.png"), "--weights", standin_weights, "--size", "128x96",
                 "--style-scale", "0.5", "--iterations", "1", "-o", str(tmp_path / "o"),
                 "--save-every", "0"]) == 0
    assert "6000x4000 -> 64x43" in capsys.readouterr().out


def test_a_decompression_bomb_is_a_clear_error(tmp_path, capsys):
    bomb = write_png_bomb(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 200_000
    assert main([bomb, bomb]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: '{bomb}' is too large to open safely") and len(err.splitlines()) == 1


def _run_until_first_costs(args, send):
    """Start python -m nst_utils ARGS, send a signal after its first cost report; (status, output)."""
    import os
    import signal

    env = {k: v for k, v in os.environ.items() if k != "NST_MAX_ITERATIONS"}
    env["PYTHONUNBUFFERED"] = "1"

    proc = subprocess.Popen([sys.executable, "-m", "nst_utils"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, preexec_fn=as_from_a_terminal)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Iteration 0"):
            proc.send_signal(getattr(signal, send))
            break
    out, err = proc.communicate(timeout=120)
    return proc.returncode, "".join(lines) + out, err


@pytest.mark.parametrize("optimizer, send, status", [("adam", "SIGTERM", 143), ("lbfgs", "SIGTERM", 143),
                                                     ("adam", "SIGINT", 130)])
@pytest.mark.slow
def test_sigterm_and_ctrl_c_keep_the_last_good_image(standin_weights, tmp_path, optimizer, send, status):
    content = _picture(tmp_path / "c.png", 64, 48)
    code, out, err = _run_until_first_costs(
        [content, content, "--weights", standin_weights, "--size", "64x48", "--iterations", "1000",
         "--save-every", "0", "--optimizer", optimizer, "-o", str(tmp_path / "o")], send)
    assert code == status, err
    assert (tmp_path / "o" / "generated_image.png").is_file() and "Saved" in out
    how = "SIGTERM" if send == "SIGTERM" else "Ctrl-C"
    assert f"stopped early: interrupted ({how}); kept the last good image." in err
    assert "Traceback" not in err


def test_exit_status_of_stopped_runs():
    assert exit_status(None) == 0
    assert exit_status("interrupted (SIGTERM); kept the last good image.") == 143
    assert exit_status("interrupted (Ctrl-C); kept the last good image.") == 130
    assert exit_status("cost became non-finite at iteration 3 (J=inf); ...") == 1


def test_lbfgs_non_finite_cost_hint_is_not_about_a_learning_rate(standin_weights, tmp_path,
                                                                no_iteration_cap, capsys):
    content = _picture(tmp_path / "c.png", 64, 48)
    assert main([content, content, "--weights", standin_weights, "--size", "64x48", "--iterations", "3",
                 "--optimizer", "lbfgs", "--alpha", "1e38", "-o", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "non-finite" in err and "learning_rate" not in err and "alpha, beta" in err
    assert (tmp_path / "generated_image.png").is_file()


def test_weights_that_are_not_vgg19_get_a_one_line_warning(standin_weights, tmp_path, no_iteration_cap,
                                                          monkeypatch, capsys):
    """A copy of the tests' stand-in weights is what a user's wrong file would be: not the genuine
    one (the session ignores the warning for the stand-in's own path only)."""
    import shutil

    other = str(shutil.copy(standin_weights, tmp_path / "other.h5"))
    content = _picture(tmp_path / "c.png", 64, 48)
    run = [content, content, "--size", "64x48", "--iterations", "1", "-o", str(tmp_path), "--quiet"]
    assert main(run + ["--weights", other]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: the weights file") and "253f8cb515780f3b799900260a226db6" in err
    assert len(err.splitlines()) == 1
    monkeypatch.setenv("NST_VGG19_WEIGHTS", other)
    import nst_utils.weights as weights

    with pytest.warns(weights.WeightsWarning, match="from NST_VGG19_WEIGHTS"):
        weights.find_vgg19_weights()


def test_help_is_quick_and_without_tensorflow():
    import time

    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "nst_utils", "--help"],
                          capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0 and "WxH[!]" in proc.stdout and "| tensorflow" not in proc.stderr
    assert seconds < 1.0, seconds


def test_the_command_line_runs_the_engine_on_the_fast_convolutions(standin_weights, tmp_path, monkeypatch):
    """The course's network is plain Keras; the command line plugs the engine's convolution into it
    (on this CPU: fast.conv.Conv2D with Winograd) and runs stylise, not the course's model_nn."""
    import nst_utils.train
    from nst_utils.engine import pipeline
    from nst_utils.fast.conv import Conv2D as FastConv2D

    seen = []
    real = pipeline.stylise
    monkeypatch.setattr(pipeline, "stylise", lambda *a, **k: seen.append(k["model"]) or real(*a, **k))
    monkeypatch.setattr(nst_utils.train, "model_nn", lambda *a, **k: pytest.fail("the course's loop ran"))
    assert main(["--weights", standin_weights, "--size", "64x48", "--iterations", "1", "-o", str(tmp_path),
                 "--quiet"]) == 0
    (model,) = seen
    convs = [layer for layer in model.layers if "conv" in layer.name]
    assert convs and all(isinstance(layer, FastConv2D) for layer in convs)
    assert any(layer.winograd for layer in convs)


# ---- where the run writes, checked before any work; Ctrl-C at start-up ----------------------------

from nst_utils.outputs import output_problem  # noqa: E402


def _quick_refusal(args):
    """python -X importtime -m nst_utils ARGS: (status, stderr lines without the import times, seconds,
    whether TensorFlow was imported)."""
    import time

    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "nst_utils", *args], capture_output=True,
                          text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("import time:")]
    return proc.returncode, lines, time.perf_counter() - start, "| tensorflow" in proc.stderr


@pytest.mark.parametrize("case, message", [
    ("image_is_a_folder", "generated_image.png' is a folder where the run writes a file"),
    ("progress_image_is_a_folder", "40.png' is a folder where the run writes a file"),
    ("folder_is_a_file", "is a file, not a folder"),
    ("feedforward_image_is_a_folder", "generated_image.png' is a folder"),
])
def test_outputs_are_checked_before_any_work(tmp_path, case, message):
    out = tmp_path / "out"
    extra = ["--fast"] if case.startswith("feedforward") else []
    if case == "folder_is_a_file":
        out.write_text("a file")
        out = out / "sub"
    else:
        (out / ("40.png" if case.startswith("progress") else "generated_image.png")).mkdir(parents=True)
    status, err, seconds, tensorflow = _quick_refusal(["-o", str(out), *extra])
    assert status == 2 and len(err) == 1 and message in err[0], err
    assert err[0].startswith(f"error: -o {out}: ") and not tensorflow and seconds < 5, (seconds, tensorflow)


def test_outputs_that_are_fine_pass(tmp_path):
    args = build_parser().parse_args(["-o", str(tmp_path / "new" / "folder"), "--iterations", "30"])
    assert output_problem(args) == "" and not (tmp_path / "new").exists()  # looks, creates nothing
    (tmp_path / "new" / "folder" / "40.png").mkdir(parents=True)  # past the last iteration
    (tmp_path / "new" / "folder" / "3.png").mkdir()  # not a multiple of --save-every
    assert output_problem(args) == ""
    args.save_every = 1
    assert "3.png' is a folder" in output_problem(args)
    args.save_every = 0  # only the last image
    assert output_problem(args) == ""
    assert "40.png' is a folder" in output_problem(build_parser().parse_args(["-o", str(tmp_path / "new" / "folder")]))


def _read_only_runner(folder):
    """A command prefix that runs its command with folder mounted read-only (bubblewrap), or None."""
    import shutil

    if shutil.which("bwrap") is None:
        return None
    prefix = ["bwrap", "--bind", "/", "/", "--ro-bind", str(folder), str(folder), "--dev", "/dev", "--proc", "/proc",
              "--"]
    probe = subprocess.run([*prefix, "sh", "-c", f"touch '{folder}/x'"], capture_output=True, timeout=30)
    return prefix if probe.returncode != 0 and b"Read-only" in probe.stderr else None


def test_a_read_only_output_folder_is_refused_at_once(tmp_path):
    # As root (CI), chmod 555 stops nothing and os.access says yes: a read-only mount is the real case.
    folder = tmp_path / "ro"
    folder.mkdir()
    prefix = _read_only_runner(folder)
    if prefix is None:
        import os

        if os.geteuid() == 0:
            pytest.skip("a read-only folder for root needs bubblewrap")
        folder.chmod(0o555)
        prefix = []
    import time

    start = time.perf_counter()
    proc = subprocess.run([*prefix, sys.executable, "-m", "nst_utils", "-o", str(folder / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert f"cannot write in '{folder}'" in proc.stderr and time.perf_counter() - start < 5
    if prefix:
        assert "Read-only file system" in proc.stderr


def test_ctrl_c_at_start_up_is_one_line_and_keeps_the_image(tmp_path):
    import os
    import signal

    (tmp_path / "out").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "out" / "generated_image.png")  # an earlier run's image
    env = {k: v for k, v in os.environ.items() if k != "NST_MAX_ITERATIONS"}
    proc = subprocess.Popen([sys.executable, "-m", "nst_utils", "-o", str(tmp_path / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**env, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=as_from_a_terminal)
    assert proc.stdout.readline().startswith("Sizes:")  # then TensorFlow loads
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.splitlines() == ["interrupted (Ctrl-C); images already written are kept."], err
    assert (tmp_path / "out" / "generated_image.png").is_file()
