"""Image I/O: the course's conventions and every kind of awkward file a learner may bring."""
import io

import numpy as np
import pytest
from PIL import Image

from nst_utils import (CONFIG, ImageError, OutputDirError, generate_noise_image, load_image,
                       reshape_and_normalize_image, save_image, to_picture)


def _gradient(width=64, height=48):
    """An RGB test picture whose pixels differ in every channel and position."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) % 256], -1).astype(np.uint8)


def test_example_images_have_the_course_size():
    for path in (CONFIG.CONTENT_IMAGE, CONFIG.STYLE_IMAGE):
        picture = load_image(path)
        assert picture.shape == (CONFIG.IMAGE_HEIGHT, CONFIG.IMAGE_WIDTH, 3)
        assert picture.dtype == np.uint8


def test_reshape_and_normalize_subtracts_rgb_means():
    picture = _gradient()
    image = reshape_and_normalize_image(picture)
    assert image.shape == (1, 48, 64, 3) and image.dtype == np.float32
    np.testing.assert_allclose(image[0, 5, 7], picture[5, 7] - np.array([123.68, 116.779, 103.939]),
                               rtol=1e-6)
    np.testing.assert_array_equal(to_picture(image), picture)


def test_noise_image_blends_uniform_noise_as_the_course():
    content = reshape_and_normalize_image(_gradient())
    g = generate_noise_image(content, noise_ratio=0.6, seed=3)
    noise = (g - 0.4 * content) / 0.6
    assert g.shape == content.shape and g.dtype == np.float32
    assert noise.min() >= -20 - 1e-3 and noise.max() <= 20 + 1e-3
    assert noise.std() == pytest.approx(40 / np.sqrt(12), rel=0.05)  # std of U(-20, 20)
    np.testing.assert_array_equal(g, generate_noise_image(content, 0.6, seed=3))
    assert not np.array_equal(g, generate_noise_image(content, 0.6, seed=4))
    np.testing.assert_allclose(generate_noise_image(content, 0.0, seed=3), content)


def test_save_image_unnormalises_clips_and_rounds(tmp_path):
    picture = _gradient()
    image = reshape_and_normalize_image(picture)
    image[0, 0, 0] = [500.0, -500.0, 0.4 - 103.939 + 0.2]  # out of range -> clipped
    path = save_image(tmp_path / "sub" / "out.png", image)
    saved = np.asarray(Image.open(path))
    assert saved.dtype == np.uint8 and saved.shape == picture.shape
    np.testing.assert_array_equal(saved[0, 0], [255, 0, 1])
    np.testing.assert_array_equal(saved[1:], picture[1:])


def test_resize_to_size(tmp_path):
    Image.fromarray(_gradient(120, 90)).save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png", size=(400, 300)).shape == (300, 400, 3)


# ---- bad or awkward inputs -----------------------------------------------------------------------

def test_missing_path_says_where_to_put_the_image(tmp_path):
    with pytest.raises(FileNotFoundError, match="No image at .*images/ folder"):
        load_image(tmp_path / "nope.jpg")


def test_non_image_file(tmp_path):
    (tmp_path / "notes.jpg").write_text("this is not a picture")
    with pytest.raises(ImageError, match="not an image file.*JPEG or PNG"):
        load_image(tmp_path / "notes.jpg")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(_gradient(200, 150)).save(buf, "JPEG", quality=95)
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(tmp_path / "cut.jpg")


def test_grayscale_becomes_rgb(tmp_path):
    grey = _gradient()[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    picture = load_image(tmp_path / "g.png")
    assert picture.shape == (48, 64, 3)
    for c in range(3):
        np.testing.assert_array_equal(picture[..., c], grey)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :32, 3] = 255  # left half opaque red-ish, right half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    picture = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(picture[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(picture[0, 63], [255, 255, 255])


def test_palette_png(tmp_path):
    original = _gradient()
    Image.fromarray(original).quantize(colors=64).save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    picture = load_image(tmp_path / "p.png")
    assert picture.shape == original.shape
    assert np.abs(picture.astype(int) - original).mean() < 12


def test_palette_png_with_transparency(tmp_path):
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    img.paste(1, (0, 0, 20, 40))
    img.save(tmp_path / "t.png", transparency=0)
    picture = load_image(tmp_path / "t.png")
    np.testing.assert_array_equal(picture[0, 0], [10, 200, 30])
    np.testing.assert_array_equal(picture[0, 39], [255, 255, 255])


def test_16bit_png_is_rescaled_not_clipped(tmp_path):
    values = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    picture = load_image(tmp_path / "deep.png")
    expected = np.round(values / 65535 * 255).astype(np.uint8)
    np.testing.assert_array_equal(picture[..., 1], expected)
    assert picture.max() == 255 and picture.min() == 0 and len(np.unique(picture)) > 200


def test_cmyk_jpeg(tmp_path):
    original = _gradient()
    Image.fromarray(original).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    picture = load_image(tmp_path / "c.jpg")
    assert picture.shape == original.shape
    assert np.abs(picture.astype(int) - original).mean() < 8


def test_exif_rotated_jpeg_is_upright(tmp_path):
    original = _gradient(64, 48)  # landscape
    stored = Image.fromarray(original).transpose(Image.Transpose.ROTATE_90)  # stored turned 90 degrees counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: a viewer rotates it 90 degrees clockwise
    stored.save(tmp_path / "r.jpg", exif=exif, quality=95)
    assert Image.open(tmp_path / "r.jpg").size == (48, 64)
    picture = load_image(tmp_path / "r.jpg")
    assert picture.shape == (48, 64, 3)
    assert np.abs(picture.astype(int) - original).mean() < 8


def test_too_small_image(tmp_path):
    Image.fromarray(_gradient(40, 20)).save(tmp_path / "s.png")
    with pytest.raises(ImageError, match="at least 32 pixels"):
        load_image(tmp_path / "s.png")


def test_too_large_image_unless_resized(tmp_path):
    Image.new("RGB", (4100, 40), (10, 20, 30)).save(tmp_path / "l.png")
    with pytest.raises(ImageError, match="too slow.*size="):
        load_image(tmp_path / "l.png")
    assert load_image(tmp_path / "l.png", size=(400, 300)).shape == (300, 400, 3)


def test_wrong_picture_shape_for_normalising():
    with pytest.raises(ValueError, match="load_image"):
        reshape_and_normalize_image(np.zeros((48, 64)))


def test_output_directory_not_writable(tmp_path):
    (tmp_path / "file").write_text("")
    image = reshape_and_normalize_image(_gradient())
    with pytest.raises(OutputDirError, match="Choose another output"):
        save_image(tmp_path / "file" / "out.png", image)


def test_decompression_bomb_is_an_image_error_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64x48 = 3072 pixels > 2 x 100: refused
    Image.fromarray(_gradient(64, 48)).save(tmp_path / "b.png")
    with pytest.raises(ImageError, match="'.*b.png' is too large to open safely"):
        load_image(tmp_path / "b.png", size=(64, 48))


def test_image_size_reads_the_header_with_exif_rotation(tmp_path):
    from nst_utils.images import image_size

    stored = Image.fromarray(_gradient(64, 48)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "r.jpg", exif=exif)
    assert image_size(tmp_path / "r.jpg") == (64, 48) == load_image(tmp_path / "r.jpg").shape[1::-1]


def test_size_errors_blame_the_size_asked_for(tmp_path):
    Image.fromarray(_gradient(96, 72)).save(tmp_path / "c.png")
    with pytest.raises(ImageError, match=r"size=\(10, 10\); each side must be at least 32") as err:
        load_image(tmp_path / "c.png", size=(10, 10))
    assert "is 10x10" not in str(err.value)


def test_plotting_shows_pictures_and_normalised_images_alike():
    """show_grid lays out pictures (uint8) and normalised images (float, batch axis) the same way,
    and jpeg encodes what the loop shows inline."""
    import matplotlib

    matplotlib.use("Agg")
    from nst_utils.plotting import jpeg, show_grid

    picture = np.zeros((12, 16, 3), np.uint8)
    picture[:, :8] = (200, 30, 30)
    normalised = reshape_and_normalize_image(picture)
    fig = show_grid([picture, normalised, picture], ["a", "b", "c"], ncols=2)
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 3 and [ax.get_title() for ax in axes] == ["a", "b", "c"]
    np.testing.assert_array_equal(axes[0].images[0].get_array(), axes[1].images[0].get_array())
    decoded = np.asarray(Image.open(io.BytesIO(jpeg(normalised, "x").data)))
    assert decoded.shape == (12, 16, 3) and abs(int(decoded[6, 2, 0]) - 200) < 8
