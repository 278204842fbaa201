"""How the command line sizes the images (the Python API's load_image(path, size) resizes exactly).

By default the content image is fitted inside the --size box (scaled up or down, aspect kept) and each
style image keeps its own aspect with its longer side --style-scale (default 1) times the content's
longer side; stylise compares Gram matrices normalised by their number of positions, so the sizes
need not match. ``--size WxH!`` resizes the content, and the style images unless --style-scale is
given, to exactly WxH, as the course does.

Sizes are (width, height) in pixels. Nothing here reads a file or imports TensorFlow.
"""
from dataclasses import dataclass
from pathlib import Path

from .images import MAX_SIDE, MIN_RESIZED_SIDE, MIN_SIDE, sides_in_range


class UsageError(ValueError):
    """A command-line value that cannot work; the message names the flag and the value given."""


class Size(tuple):
    """(width, height) from --size 'WxH', or 'WxH!' (exact is then True: no aspect kept)."""

    def __new__(cls, width, height, exact=False):
        size = super().__new__(cls, (int(width), int(height)))
        size.exact = exact
        return size

    def __str__(self):
        return f"{self[0]}x{self[1]}" + ("!" if self.exact else "")


def fmt(size):
    return f"{size[0]}x{size[1]}"


def fit(size, box):
    """size scaled (up or down) to fit inside box, aspect kept; the limiting side matches exactly."""
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def longer_side(size, length):
    """size scaled so that its longer side is length pixels, aspect kept."""
    scale = length / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _stages_error(stages, box):
    """The UsageError's message unless the --multires boxes grow (each side, one at least strictly)
    up to --size; None if they do."""
    given = ",".join(fmt(s) for s in stages)
    for small, large in zip(stages, list(stages[1:]) + [tuple(box)]):
        if small[0] > large[0] or small[1] > large[1] or tuple(small) == tuple(large):
            return (f"--multires {given} with --size {box}: the stages must be smaller than "
                    f"--size and increasing, e.g. --multires {fmt((box[0] // 2, box[1] // 2))}.")
    return None


@dataclass
class Plan:
    """The sizes a run uses: content, each style, the --multires stages, stylise's style_scale;
    files: [(path, (width, height)), ...] to load, the content first, then each style."""

    content: tuple
    styles: list
    stages: list = None
    style_scale: float = None
    line: str = ""
    files: list = None


def _range_error(size, what, path, original, flags, fix, low=MIN_SIDE):
    """(size, low, the UsageError's message if a side of size is outside [low, MAX_SIDE])."""
    return size, low, (f"{flags}: {what} '{path}' ({fmt(original)}) would be {fmt(size)} pixels; "
                       f"each side must be between {low} and {MAX_SIDE}. {fix}.")


def plan_sizes(box, content, styles, style_scale=None, stages=None):
    """The sizes of a run, after checking --size and --multires (a UsageError names the flag).
    box: Size from --size; content (path, (width, height) of the file); styles [(path, (w, h)), ...];
    style_scale, stages: --style-scale and the --multires boxes, or None."""
    stages_error = _stages_error(stages, box) if stages else None
    path, original = content
    size_flag = f"--size {box}"
    target = tuple(box) if box.exact else fit(original, box)
    checks = [_range_error(target, "content", path, original, size_flag,
                           "Change --size, or force it with --size WxH!")]
    scale = style_scale if style_scale is not None else (None if box.exact else 1.0)
    scale_flag = f"--style-scale {style_scale}" if style_scale is not None else size_flag
    style_sizes = [tuple(box) if scale is None else longer_side(s, scale * max(target)) for _, s in styles]
    checks += [_range_error(size, "style", p, s, scale_flag, "Change --style-scale (default 1), or --size")
               for (p, s), size in zip(styles, style_sizes)]
    if scale == 1.0 and style_scale is None and style_sizes == [target]:
        scale = None  # one style of the content's size: the course's own style cost
    stage_sizes = None
    if stages:
        flag = f"--multires {','.join(fmt(s) for s in stages)}"
        stage_sizes = [tuple(s) if box.exact else fit(original, s) for s in stages] + [target]
        checks += [_range_error(size, "content", path, original, flag, "Use larger stages", MIN_RESIZED_SIDE)
                   for size in stage_sizes[:-1]]
    plan = Plan(target, style_sizes, stage_sizes, scale)
    plan.line = describe(plan, box, content, styles, style_scale)
    plan.files = [(path, target)] + [(p, size) for (p, _), size in zip(styles, style_sizes)]
    # Checked last, in one pass (the sizes above are computed whatever the flags), in the order the
    # flags are read: --size, the --multires order, then each planned size: content, styles, stages.
    if not sides_in_range(box):
        raise UsageError(f"--size {box}: each side must be between {MIN_SIDE} and {MAX_SIDE} pixels (default 400x300).")
    if stages_error:
        raise UsageError(stages_error)
    for size, low, error in checks:
        if not sides_in_range(size, low):
            raise UsageError(error)
    return plan


def describe(plan, box, content, styles, style_scale):
    """The one line that says which sizes a run uses, and why."""
    how = (f"exact (--size {box})" if box.exact else f"fitted in --size {box}, aspect kept")
    parts = [f"content {Path(content[0]).name} {fmt(content[1])} -> {fmt(plan.content)} ({how})"]
    if style_scale is not None:
        rule = f"longer side {style_scale} x the content's, --style-scale"
    else:
        rule = "exact" if box.exact else "aspect kept, longer side as the content's"
    parts += [f"style {Path(p).name} {fmt(s)} -> {fmt(t)} ({rule})" for (p, s), t in zip(styles, plan.styles)]
    if plan.stages:
        parts.append("stages " + ", ".join(fmt(s) for s in plan.stages))
    return "Sizes: " + "; ".join(parts)
