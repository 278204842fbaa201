"""The engine behind the course's model_nn: its options beyond the course and the optimisation loop.

- options.py: Settings (the course's knobs) and Options (tv_weight, optimizer, init, preserve_color,
  style_weights, style_scale, sizes), checked when made.
- pipeline.py: colour preservation, multi-resolution stages, the start image, the style targets.
- optimize.py: the one loop, Adam or L-BFGS: progress bar, kept image, Ctrl-C/SIGTERM/non-finite stops.
- objective.py: one Gram matrix, one layer style cost (optionally size-normalised), Gram targets.
- color.py, resize.py, regularizers.py, measures.py: YIQ colour, resizing, total variation, and the
  numbers that say what an option did.

The engine imports the course's modules; they do not import it when loaded (train.py hands over
to it inside make_cost_function and model_nn).
"""
