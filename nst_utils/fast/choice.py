"""Which of the fast paths run: the rule for Winograd per layer, and whether the CPU-only paths are
on at all. No TensorFlow import at module level, so that the benchmark's FLOP count (which follows
this rule) can use it in a process that has not loaded a framework.
"""

#: Output tile side (m) and input tile side (m + 3 - 1) of Winograd F(4x4, 3x3).
OUT_TILE = 4
IN_TILE = OUT_TILE + 2

#: Smallest channel count (input and output) for which build_vgg uses Winograd: every conv of VGG
#: but conv1_1, whose 3 input channels leave the transforms nothing to save. Measured on 2-core AMD
#: EPYC CPUs (AVX-512) at 400x300 with the compiled transforms: per layer, forward and input
#: gradient, 0.4-0.8 of the time of TensorFlow's direct convolution (oneDNN); conv1_2 (64 channels
#: on the largest image) gains least, 5-9 % of the whole step.
MIN_CHANNELS = 64
#: Smallest image (pixels per channel) for Winograd: each step transforms the kernel twice, a cost
#: that does not shrink with the image. A layer's forward and input gradient together, same
#: machine: at 19x25 pixels 0.75-0.96 of the direct convolution's time, at 10x13 1.15-1.8 times it.
MIN_PIXELS = 400


def use_winograd(in_channels, out_channels, pixels=None):
    """Whether a 3x3 conv with these channel counts (on an image of this many pixels, if given)
    is faster as Winograd (see MIN_CHANNELS and MIN_PIXELS)."""
    return min(in_channels, out_channels) >= MIN_CHANNELS and (pixels is None or pixels >= MIN_PIXELS)


def cpu_fast_paths_default():
    """Whether build_vgg uses the fast paths (fast input gradient, Winograd) when not told: on a
    CPU yes; not when TensorFlow sees a GPU, where cuDNN already picks Winograd or FFT convolutions
    and these CPU-shaped ops (and the compiled transforms, CPU only) would only be slower."""
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")
