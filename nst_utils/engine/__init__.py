"""The engine behind the course's model_nn: its options beyond the course and the optimisation loop.

- options.py: Settings (the course's knobs) and Options (tv_weight, optimizer, init, preserve_color,
  style_weights, style_scale, sizes, preset), checked when made; PRESETS ("quick").
- pipeline.py: colour preservation, multi-resolution stages, the start image, the style targets.
- optimize.py: the one loop, Adam or L-BFGS: progress bar, kept image, Ctrl-C/SIGTERM/non-finite stops.
- traced.py: L-BFGS's J(G) and dJ/dG, traced once per network and size and reused across runs;
  threads.py: one BLAS thread while SciPy's L-BFGS-B runs.
- start.py: the "spectrum" start image (the content with the style's colours and Fourier spectrum).
- objective.py: one Gram matrix, one layer style cost (optionally size-normalised), Gram targets.
- color.py, resize.py, regularizers.py, measures.py: YIQ colour, resizing, total variation, and the
  numbers that say what an option did.

The engine imports the course's modules; they do not import it when loaded (train.py hands over
to it inside make_cost_function and model_nn).
"""
