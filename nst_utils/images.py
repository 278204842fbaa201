"""Image I/O in the course's conventions.

Two representations are used throughout:

* a *picture*: ``np.uint8`` array of shape (n_H, n_W, 3), RGB, pixel values in [0, 255];
* a *normalised image*: ``np.float32`` array of shape (1, n_H, n_W, 3), RGB, the ImageNet means
  ``CONFIG.MEANS`` subtracted (values roughly in [-124, 152]). This is what the network sees.
"""
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .config import CONFIG
from .resources import IMAGES, example_image

#: VGG halves the resolution four times before conv5; below this the deep layers are ~1 pixel.
MIN_SIDE = 32
#: Smallest side of an image resized inside an optimisation (a multi-resolution stage, a scaled
#: style image): smaller than MIN_SIDE, for a first coarse stage, but deep layers still have a pixel.
MIN_RESIZED_SIDE = 16
#: Larger images make a single optimisation step take minutes on a CPU and may exhaust memory.
MAX_SIDE = 4000


class ImageError(ValueError):
    """An image file that exists but cannot be used (corrupt, wrong size, ...)."""


class OutputDirError(OSError):
    """The output directory cannot be created or written to."""


def _to_rgb(img):
    """Any Pillow mode -> 8-bit RGB, keeping what each mode means."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16/32-bit greyscale: Pillow's convert("RGB") clips to 255 instead of rescaling.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent pixels have arbitrary colour; show them over white as viewers do.
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")


def _locate(path):
    """path if it exists; for a relative one not found, the same name in images/ of the current folder
    (a notebook's), then the course's example picture of that name; else FileNotFoundError naming
    the folders searched."""
    if path.exists() or path.is_absolute():
        candidates = []
    else:
        candidates = [Path("images") / path, Path("images") / path.name]
        if path.name in IMAGES and path.name != "README.md":
            candidates.append(Path(example_image(path.name)))
    found = next((p for p in [path, *candidates] if p.exists()), None)
    if found is not None:
        return found
    where = (f"in {path.parent.resolve()}" if path.is_absolute() else
             f"beside the notebook in {Path.cwd()} nor in its images/ folder {Path.cwd() / 'images'}")
    raise FileNotFoundError(
        f"No image at '{path}': looked {where}. Check the file name, or put your picture in the images/ "
        f"folder beside the notebook and pass its name, e.g. load_image('my_photo.jpg').")


@contextmanager
def _opened(path):
    """Open an image file with Pillow inside the block; its problems become errors that say what to do
    (Pillow refuses "decompression bombs", files of more than 2 * Image.MAX_IMAGE_PIXELS pixels)."""
    path = _locate(Path(path))
    if path.is_dir():
        raise ImageError(f"'{path}' is a folder, not an image file. Pass the path of a .jpg or .png file.")
    try:
        with Image.open(path) as img:
            yield img
    except UnidentifiedImageError:
        raise ImageError(f"'{path}' is not an image file that Pillow can read. Use a JPEG or PNG image.") from None
    except Image.DecompressionBombError as err:
        raise ImageError(f"'{path}' is too large to open safely ({err}). Shrink it with an image editor first, "
                         f"e.g. to {MAX_SIDE} pixels or less on each side.") from None
    except (OSError, SyntaxError) as err:
        raise ImageError(f"'{path}' could not be decoded ({err}); the file is probably truncated or corrupt. "
                         "Download or export it again.") from None


def image_size(path):
    """(width, height) in pixels of an image file as load_image reads it (EXIF rotation applied),
    from the file's header only: no pixels are decoded."""
    with _opened(path) as img:
        width, height = img.size
        if img.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8):  # turned by 90 degrees
            width, height = height, width
    return width, height


def sides_in_range(size, low=MIN_SIDE):
    """Whether each side of size (width, height) is in [low, MAX_SIDE] pixels: the one rule for the
    sides of an image, which load_image and the command line's sizes (sizing.py) both apply."""
    return min(size) >= low and max(size) <= MAX_SIDE


def _check_sides(path, picture_size, size):
    """ImageError unless each side of the picture is in [MIN_SIDE, MAX_SIDE]; blames size if given."""
    width, height = picture_size
    if sides_in_range(picture_size):
        return
    what = f"size={tuple(size)}" if size is not None else f"'{path}' is {width}x{height} pixels"
    if min(width, height) < MIN_SIDE:
        fix = "Pass a larger size" if size is not None else "Use a larger image or pass size=(400, 300)"
        raise ImageError(f"{what}; each side must be at least {MIN_SIDE} pixels for VGG's deeper "
                         f"layers. {fix}.")
    if max(width, height) > MAX_SIDE:
        raise ImageError(f"{what}; sides above {MAX_SIDE} pixels are too slow to optimise on a "
                         f"CPU. Pass size=(width, height), e.g. size=(400, 300).")


def load_image(path, size=None):
    """Read an image file as an RGB picture.

    Handles greyscale, palette, RGBA (composited on white), 16-bit, CMYK and EXIF-rotated files.

    Arguments:
    path -- path to a JPEG/PNG/... file
    size -- optional (width, height) in pixels to resize to exactly, as the course does, e.g.
            (CONFIG.IMAGE_WIDTH, CONFIG.IMAGE_HEIGHT); None keeps the file's size

    Returns:
    picture -- np.uint8 array of shape (height, width, 3), RGB, values in [0, 255]
    """
    with _opened(path) as img:
        img.load()
        img = _to_rgb(ImageOps.exif_transpose(img))
    if size is not None:
        width, height = (int(s) for s in size)
        if min(width, height) < 1:
            raise ValueError(f"size must be (width, height) with positive values, got {size}")
        if img.size != (width, height):
            img = img.resize((width, height), Image.LANCZOS)
    _check_sides(path, img.size, size)
    return np.asarray(img, dtype=np.uint8).copy()


def reshape_and_normalize_image(image):
    """Picture (n_H, n_W, 3) in [0, 255] -> normalised image, np.float32 (1, n_H, n_W, 3), RGB minus
    CONFIG.MEANS."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[-1] != CONFIG.COLOR_CHANNELS:
        raise ValueError(f"Expected a picture of shape (n_H, n_W, 3), got {image.shape}. "
                         "Load it with load_image(path), which converts any image to RGB.")
    return image[np.newaxis] - CONFIG.MEANS


def check_image(name, image):
    """image as np.float32 (1, n_H, n_W, 3), or a ValueError that says how to make one (the one check
    of a normalised image's shape: model_nn, the engine and the command line call it)."""
    image = np.asarray(image, np.float32)
    if image.ndim != 4 or image.shape[0] != 1 or image.shape[-1] != CONFIG.COLOR_CHANNELS:
        raise ValueError(f"{name} must be a normalised image of shape (1, n_H, n_W, 3), got "
                         f"{image.shape}. Use reshape_and_normalize_image(load_image(path)).")
    return image


def generate_noise_image(content_image, noise_ratio=CONFIG.NOISE_RATIO, seed=None):
    """The course's initial image: uniform noise in [-20, 20] blended with the content image.

    G0 = noise * noise_ratio + content_image * (1 - noise_ratio)

    Arguments:
    content_image -- normalised image, shape (1, n_H, n_W, 3)
    noise_ratio -- share of noise, in [0, 1]
    seed -- seed of the noise; the same seed gives the same image

    Returns:
    input_image -- np.float32 array of shape (1, n_H, n_W, 3), normalised
    """
    content_image = check_image("content_image", content_image)
    if not 0.0 <= noise_ratio <= 1.0:
        raise ValueError(f"noise_ratio must be in [0, 1], got {noise_ratio}")
    rng = np.random.default_rng(seed)
    noise = rng.uniform(-20, 20, content_image.shape).astype(np.float32)
    return (noise * noise_ratio + content_image * (1 - noise_ratio)).astype(np.float32)


def to_picture(image):
    """Normalised image (1, n_H, n_W, 3) -> picture (n_H, n_W, 3) uint8: add means, clip to [0, 255]."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        image = image[np.newaxis]
    image = image + CONFIG.MEANS
    return np.clip(np.round(image[0]), 0, 255).astype(np.uint8)


def ensure_output_dir(output_dir):
    """Create ``output_dir`` if needed and check that a file can be written there."""
    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".nst_write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OutputDirError(f"Cannot write images to '{output_dir}' ({err.strerror or err}). "
                             "Choose another output directory (output_dir=... or -o DIR).") from None
    return output_dir


def save_image(path, image):
    """Save a normalised image (1, n_H, n_W, 3) as an 8-bit RGB file (format from the extension):
    adds CONFIG.MEANS, clips to [0, 255], rounds to uint8."""
    path = Path(path)
    ensure_output_dir(path.parent if str(path.parent) else ".")
    try:
        Image.fromarray(to_picture(image), mode="RGB").save(path)
    except OSError as err:
        raise OutputDirError(f"Cannot write '{path}' ({err}). Choose another output path.") from None
    return path
