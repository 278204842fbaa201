"""Faster equivalents of the course network's convolutions and of the style cost's Gram matrix, behind
the course: the engine plugs conv.conv_layer()'s class into vgg.build_vgg's ``conv`` argument
(engine/network.py); the course never imports this package. They give the course's activations and
gradients up to float rounding (tests/test_bench_equivalence.py, tests/test_winograd.py,
tests/test_fast_gram.py).

- winograd.py: 3x3 convolutions by Winograd F(4x4, 3x3) and F(6x6, 3x3).
- choice.py: which convolutions use which (no TensorFlow import).
- native.py: its tile transforms and products, and the style cost's Gram matrix, as compiled
  TensorFlow ops (compiled_ops.cc), built on first use; without them the plain path of choice.py
  runs (same values, slower) and status() says why. library_cache.py: the build and the private,
  checked cache (only this user's intact libraries are loaded).
- gram.py: the Gram matrix A^T A of the style cost (engine/objective.py), compiled where it can run.
- conv.py: Conv2D, a keras Conv2D whose input gradient is a forward convolution, optionally
  computed by Winograd; conv_layer, the class to plug in (by device, as choice.py decides).
"""
