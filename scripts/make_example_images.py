"""Make the example images in images/ (see images/README.md for sources and licences).

    python scripts/make_example_images.py

* chelsea.png: the scikit-image sample photo "chelsea" (CC0, Stefan van der Walt), centre-cropped to
  400x300. Needs scikit-image installed (its wheel bundles the photo).
* brushstrokes.png, mosaic.png: style images drawn by this script (CC0, made by our own code).

    python scripts/make_example_images.py --figure output/generated_image.png

* nst_example.jpg: the assignment's opening figure, content + style -> generated, from a generated
  image made by ``python -m nst_utils --backbone vgg16-hed --iterations 200 --seed 1`` (the course's
  optimisation at 400x300 on the example images; CC0, made by our own code).
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent.parent / "images"
W, H = 400, 300


def chelsea():
    from skimage import data

    photo = data.chelsea()  # (300, 451, 3)
    left = (photo.shape[1] - W) // 2
    return Image.fromarray(photo[:H, left:left + W])


def brushstrokes(seed=0):
    """Short thick strokes following a swirling flow field, in night-sky blues and yellows."""
    rng = np.random.default_rng(seed)
    palette = np.array([[22, 38, 94], [35, 72, 156], [64, 120, 190], [120, 170, 210],
                        [236, 200, 70], [250, 232, 140], [24, 60, 60], [245, 245, 230]])
    probs = np.array([0.22, 0.22, 0.16, 0.1, 0.12, 0.06, 0.08, 0.04])
    img = Image.new("RGB", (W, H), (30, 50, 110))
    draw = ImageDraw.Draw(img)
    centres = rng.uniform([0, 0], [W, H], (5, 2))
    for _ in range(9000):
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        # angle: sum of swirls around a few centres
        d = np.array([x, y]) - centres
        r2 = (d ** 2).sum(1) + 400.0
        vx = (-d[:, 1] / r2 * 3000).sum() + 1.0
        vy = (d[:, 0] / r2 * 3000).sum()
        angle = np.arctan2(vy, vx)
        length = rng.uniform(8, 22)
        colour = palette[rng.choice(len(palette), p=probs)] + rng.integers(-18, 19, 3)
        end = (x + length * np.cos(angle), y + length * np.sin(angle))
        draw.line([(x, y), end], fill=tuple(int(c) for c in np.clip(colour, 0, 255)),
                  width=int(rng.integers(3, 7)))
    return img.filter(ImageFilter.SMOOTH)


def mosaic(seed=1):
    """Irregular terracotta and ochre tiles with dark grout (a Voronoi diagram)."""
    rng = np.random.default_rng(seed)
    palette = np.array([[178, 84, 52], [204, 140, 60], [226, 190, 120], [120, 130, 70],
                        [150, 60, 40], [235, 220, 190]])
    seeds = rng.uniform([0, 0], [W, H], (260, 2))
    yy, xx = np.mgrid[0:H, 0:W]
    pts = np.stack([xx, yy], -1).reshape(-1, 1, 2).astype(np.float32)
    dist = ((pts - seeds[None].astype(np.float32)) ** 2).sum(-1)
    order = np.argsort(dist, axis=1)[:, :2]
    nearest = order[:, 0]
    d1 = np.sqrt(np.take_along_axis(dist, order[:, :1], 1))[:, 0]
    d2 = np.sqrt(np.take_along_axis(dist, order[:, 1:2], 1))[:, 0]
    colours = palette[rng.integers(0, len(palette), len(seeds))] + rng.integers(-20, 21, (len(seeds), 3))
    rgb = colours[nearest].astype(np.float32)
    rgb[(d2 - d1) < 2.5] = [45, 35, 30]
    rgb += rng.normal(0, 6, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8).reshape(H, W, 3))


def nst_figure(generated):
    """C + S -> G side by side at 400x300 each, with the operators between them."""
    panels = [Image.open(OUT / "chelsea.png").convert("RGB"), "+",
              Image.open(OUT / "brushstrokes.png").convert("RGB"), "=",
              Image.open(generated).convert("RGB").resize((W, H), Image.LANCZOS)]
    captions = ["content C", None, "style S", None, "generated G"]
    gap, top = 60, 34
    fig = Image.new("RGB", (3 * W + 2 * gap, H + top), "white")
    draw = ImageDraw.Draw(fig)
    x = 0
    for panel, caption in zip(panels, captions):
        if isinstance(panel, str):
            _text(draw, (x + gap // 2, top + H // 2), panel, 40)
            x += gap
            continue
        fig.paste(panel, (x, top))
        _text(draw, (x + W // 2, top // 2), caption, 22)
        x += W
    return fig


def _text(draw, centre, text, size):
    from PIL import ImageFont

    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one size
        font = ImageFont.load_default()
    draw.text(centre, text, fill="black", font=font, anchor="mm")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figure", metavar="GENERATED",
                        help="only write nst_example.png, from this generated image")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.figure:
        nst_figure(args.figure).save(OUT / "nst_example.jpg", quality=88)
    else:
        chelsea().save(OUT / "chelsea.png")
        brushstrokes().save(OUT / "brushstrokes.png")
        mosaic().save(OUT / "mosaic.png")
    print("wrote", *sorted(p.name for p in OUT.glob("*.[pj][np]g")))
