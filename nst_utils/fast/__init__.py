"""Faster equivalents of the course network's convolutions and of the style cost's Gram matrix, behind
the course (engine/network.py plugs conv.conv_layer()'s class into vgg.build_vgg's ``conv``; the
course never imports this package). Same activations and gradients up to float rounding.

- winograd.py: 3x3 convolutions by Winograd F(4x4, 3x3) and F(6x6, 3x3); choice.py: which use which.
- native.py: the compiled ops (compiled_ops.cc), built and probed by build.py, kept by
  library_cache.py; without them the plain path runs and status() says why.
- gram.py: the style cost's Gram matrix A^T A; conv.py: Conv2D and conv_layer, the class to plug in.
"""
