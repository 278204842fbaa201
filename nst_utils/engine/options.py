"""What a run of stylise is asked to do: the course's settings and the options beyond the course,
each checked when made (the one place a value is checked; the command line makes them to check its
flags). No TensorFlow import: the command line reads these before it loads TensorFlow.
"""
from dataclasses import dataclass

import numpy as np

from ..config import CONFIG, CONTENT_LAYER, STYLE_LAYERS
from ..images import check_image
from .blend import blend_weights

INITS = ("noise", "content", "spectrum")
OPTIMIZERS = ("adam", "lbfgs")

#: Named bundles of options (stylise's preset, the command line's --quick); "quick" reaches the
#: course's final cost in 8-16 evaluations (docs/performance.md, "Time to quality").
PRESETS = {"quick": {"optimizer": "lbfgs", "init": "spectrum", "lbfgs_step": 1.0}}
#: Evaluations a "quick" run needs for about the course's final cost (the command line's default).
QUICK_ITERATIONS = 20


class OptionError(ValueError):
    """A value an option cannot take: "NAME VALUE: rule", NAME stylise's keyword, or in spelled(flag)
    the command line's flag for it."""

    def __init__(self, values, rule):
        self.values, self.rule = values, rule  # {name: value}
        super().__init__(self.spelled(str))

    def spelled(self, flag):
        return " ".join(f"{flag(name)} {value:g}" for name, value in self.values.items()) + f": {self.rule}"


def _require(ok, rule, **values):
    if not ok:
        raise OptionError(values, rule)


def _finite(**numbers):
    for name, value in numbers.items():
        _require(value is None or np.isfinite(value), "must be a finite number", **{name: value})


@dataclass(frozen=True)
class CourseSettings:
    """The course's knobs (defaults: the course's). Layers are VGG layer names; learning_rate is
    Adam's; save_every and report_every count iterations (0: never)."""

    alpha: float = 10
    beta: float = 40
    learning_rate: float = 2.0
    noise_ratio: float = CONFIG.NOISE_RATIO
    seed: int = None
    content_layer: str = CONTENT_LAYER
    style_layers: tuple = tuple(STYLE_LAYERS)
    output_dir: str = CONFIG.OUTPUT_DIR
    save_every: int = 20
    report_every: int = 20
    progress: bool = True
    verbose: bool = True

    def __post_init__(self):
        _finite(learning_rate=self.learning_rate, alpha=self.alpha, beta=self.beta,
                noise_ratio=self.noise_ratio)
        _require(self.learning_rate > 0, "the learning rate must be positive, e.g. 2.0 (the course's)",
                 learning_rate=self.learning_rate)
        _require(self.save_every >= 0, "must be 0 (save only the final image) or a positive number of "
                 "iterations", save_every=self.save_every)
        _require(min(self.alpha, self.beta) >= 0 and self.alpha + self.beta > 0, "the weights must be >= 0 "
                 "and not both 0 (the cost would be 0 and the start image returned unchanged)",
                 alpha=self.alpha, beta=self.beta)
        _require(0 <= self.noise_ratio <= 1, "must be between 0 and 1", noise_ratio=self.noise_ratio)


@dataclass(frozen=True)
class EngineOptions:
    """The options beyond the course, each off by default (see pipeline.stylise for their meaning).

    init -- "noise" (the course), "content", "spectrum" or a normalised image (1, n_H, n_W, 3)
    sizes -- None (one stage at the content's size) or [(width, height), ...] stages
    lbfgs_step -- None (SciPy's first step) or the root-mean-square pixel change of L-BFGS's first
                  trial step (optimize.run_lbfgs); not a stylise keyword, set by a preset
    preset -- None or a name in PRESETS: its options replace those left at their defaults (an
              option given another value keeps it); preset then records which preset was applied
    """

    tv_weight: float = 0.0
    optimizer: str = "adam"
    init: object = "noise"
    preserve_color: bool = False
    style_weights: object = None
    style_scale: float = None
    sizes: object = None
    lbfgs_step: float = None
    preset: str = None

    def __post_init__(self):
        if self.preset is not None:
            self._apply_preset()
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if isinstance(self.init, str):
            if self.init not in INITS:
                raise ValueError(f"init must be one of {INITS} or a normalised image, got {self.init!r}")
        else:
            object.__setattr__(self, "init", check_image("init", self.init))
        _finite(tv_weight=self.tv_weight, style_scale=self.style_scale)
        _require(self.tv_weight >= 0, "must be >= 0", tv_weight=self.tv_weight)
        _require(self.style_scale is None or self.style_scale > 0, "must be positive, e.g. 0.5 or 2",
                 style_scale=self.style_scale)
        if self.sizes is not None:
            sizes = [tuple(int(v) for v in size) for size in self.sizes]
            if not sizes or any(len(size) != 2 for size in sizes):
                raise ValueError(f"sizes must be a non-empty list of (width, height) pairs, got {sizes}")
            object.__setattr__(self, "sizes", sizes)
        if self.lbfgs_step is not None and not (np.isfinite(self.lbfgs_step) and self.lbfgs_step > 0):
            raise ValueError(f"lbfgs_step must be a positive number or None, got {self.lbfgs_step}")

    def _apply_preset(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {tuple(PRESETS)} or None, got {self.preset!r}")
        for name, value in PRESETS[self.preset].items():
            current = getattr(self, name)  # the preset's options default to strings or None
            default = self.__dataclass_fields__[name].default
            if (current is None or isinstance(current, str)) and current == default:
                object.__setattr__(self, name, value)

    @classmethod
    def with_input_image(cls, input_image, **options):
        """stylise's input_image (model_nn's name) is the init image under its course name; not both."""
        if input_image is None:
            return cls(**options)
        if not (isinstance(options.get("init", "noise"), str) and options.get("init", "noise") == "noise"):
            raise ValueError("give either input_image or init, not both")
        return cls(**{**options, "init": input_image})

    def stages(self, content_image, num_iterations):
        """[((width, height), iterations), ...]: the optimisation stages in order, checked; one at the
        content's size by default."""
        sizes = self.sizes or [(content_image.shape[2], content_image.shape[1])]  # never an empty list
        return list(zip(sizes, self.stage_iterations(num_iterations)))

    def stage_iterations(self, num_iterations):
        n_stages = 1 if self.sizes is None else len(self.sizes)
        counts = [int(n) for n in np.ravel(num_iterations)]
        for n in counts:
            _require(n >= 1, "must be at least 1", num_iterations=n)
        if np.ndim(num_iterations) == 0:
            return counts * n_stages
        if len(counts) != n_stages:
            raise ValueError(f"num_iterations has {len(counts)} counts for {n_stages} sizes; give one per "
                             "size, or a single number used for every size.")
        return counts


def decide(input_image, options, settings, content_image, n_styles, num_iterations):
    """Everything stylise decides before any work, checked: (EngineOptions(**options) with input_image
    as its init, CourseSettings(**settings), the blend weights (n_styles,) summing to 1, the stages
    [((width, height), iterations), ...] for the checked content image (1, n_H, n_W, 3))."""
    chosen = EngineOptions.with_input_image(input_image, **options)
    stages = chosen.stages(content_image, num_iterations)
    return chosen, CourseSettings(**settings), blend_weights(chosen.style_weights, n_styles), stages
