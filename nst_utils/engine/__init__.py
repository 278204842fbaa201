"""The engine behind the course: stylise, the course's run (train.model_nn) with options beyond the
course, on the network with faster convolutions. It builds on the course's modules; they never
import it.

- pipeline.py: stylise, one pass down the modules below: checks, stage plan, colour, then per stage
  its images, style targets and start, optimised last.
- options.py: CourseSettings (the course's knobs) and EngineOptions (the options beyond it), each
  value checked there when made; decide: all of a run's choices, before any work; PRESETS.
- network.py: vgg.load_vgg_model / build_vgg with fast.conv's convolution (by device).
- optimize.py: the engine's loop, Adam or L-BFGS: kept image, Ctrl-C/SIGTERM/non-finite stops;
  history.py: what outlives the stages (cost history, printed costs, saved images).
- traced.py: J(G) and dJ/dG, the one tape of both optimisers, traced once per network and size and
  reused across runs; threads.py: one BLAS thread while SciPy's L-BFGS-B runs.
- start.py: the first stage's start; "spectrum": the content with the style's colours and spectrum.
- blend.py: the blend weights of several style images.
- objective.py: the one Gram matrix (gram), fixed Gram targets (optionally size-normalised), and
  make_cost_with_targets: the course's J(G) (train.make_cost_function) with them and total variation.
- color.py, resize.py, regularizers.py: YIQ colour, resizing, total variation (nst_utils/measures.py
  holds the numbers that say what an option did).

``from nst_utils.engine import stylise`` loads TensorFlow on first use only (PEP 562), so that the
command line's parser can read options.py without it.
"""


def __getattr__(name):
    if name != "stylise":
        raise AttributeError(f"module 'nst_utils.engine' has no attribute {name!r}")
    from ..tensorflow_start import start_tensorflow

    start_tensorflow()
    from .pipeline import stylise

    return stylise
