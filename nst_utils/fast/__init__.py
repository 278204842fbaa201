"""Faster equivalents of the course network's convolutions, behind the course: vgg.build_vgg opts
into them (``fast_input_gradient``, ``winograd``); they give the course's activations and gradients
up to float rounding (tests/test_bench_equivalence.py, tests/test_winograd.py).

- winograd.py: 3x3 convolutions by Winograd F(4x4, 3x3) and F(6x6, 3x3).
- choice.py: which convolutions use which (no TensorFlow import).
- native.py: its tile transforms and products as compiled TensorFlow ops (winograd_transforms.cc),
  built with g++ on first use; without a compiler winograd.py uses TensorFlow's ops (same values,
  slower).
- conv.py: Conv2D, a keras Conv2D whose input gradient is a forward convolution, optionally
  computed by Winograd.
"""
