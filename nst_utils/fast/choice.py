"""Which of the fast paths run: the rule for Winograd per layer, and whether the CPU-only paths are
on at all. No TensorFlow import at module level, so that the benchmark's FLOP count (which follows
this rule) can use it in a process that has not loaded a framework.
"""
import platform


#: Output tile side m of Winograd F(4x4, 3x3), the default tile (input tiles m + 3 - 1 = 6).
OUT_TILE = 4
#: The larger tile, F(6x6, 3x3): 1.78 instead of 2.25 multiply-adds per output and less traffic per
#: pixel in the tile transforms, but kernel transforms 7.1 instead of 4 times the kernel's size and
#: about twice the rounding error (2e-5 instead of 1e-5 of the largest output at 512 channels).
LARGE_TILE = 6
#: F(6x6, 3x3) only for layers with at most this many channels (in and out) on images of at least
#: this many pixels at the layer's depth. Measured per layer (forward and input gradient, compiled
#: transforms, 2-core AVX-512 EPYC) at 400x300 against F(4x4, 3x3): 0.82-0.85 of its time in blocks
#: 1-2, 0.93-0.94 in block 3 (75x100), 1.11-1.18 in block 4 (38x50, 256-512 channels), 1.5 at conv5_1.
LARGE_TILE_MAX_CHANNELS = 256
LARGE_TILE_MIN_PIXELS = 7000

#: Smallest channel count (input and output) for which build_vgg uses Winograd: every conv of VGG
#: but conv1_1, whose 3 input channels leave the transforms nothing to save. Measured on 2-core AMD
#: EPYC CPUs (AVX-512) at 400x300 with the compiled transforms: per layer, forward and input
#: gradient, 0.4-0.8 of the time of TensorFlow's direct convolution (oneDNN); conv1_2 (64 channels
#: on the largest image) gains least, 5-9 % of the whole step.
MIN_CHANNELS = 64
#: Smallest image (pixels per channel) for Winograd: each step transforms the kernel twice, a cost
#: that does not shrink with the image. A layer's forward and input gradient together, against the
#: direct convolution: on a 2-core AVX-512 EPYC, 0.75-0.96 of its time at 19x25 pixels and 1.15-1.8
#: times it at 10x13. On a 2-core AVX2 EPYC with less memory bandwidth it was 1.3-1.6 times it at
#: 19x25 (conv4_x at 200x150, conv5_1 at 400x300) until the kernel's transform was made 1.9 times
#: as fast and the input gradient stopped transposing the kernel (which the direct one still
#: does): then about equal per layer, and the whole step at 200x150 0.87 of its time with block 4
#: by Winograd. So the bar sits between 10x13 and 19x25.
MIN_PIXELS = 400


#: The compiled transforms run a layer as one op, bands of tiles at a time (no tensors of
#: transformed tiles and products, 20 times the layer's input with F(6x6, 3x3)), where its kernel's
#: transform has at most this many values: the op reads it again for every band. Measured at 400x300
#: on a 2-core AVX2 EPYC (forward convolution): conv1_2 0.37 of the time of the three ops, conv2_1
#: 0.73, conv2_2 (4.2 MB of transformed kernel) about 0.6-0.9 once the kernel's transform had been
#: made faster (the whole step 3 % faster and 60 MB smaller); block 3 (8-17 MB) 1.3-1.6, so not there.
FUSED_MAX_KERNEL_TILE_VALUES = 2 ** 20


#: Without the compiled ops (NST_NATIVE=0, no compiler, a failed build) Winograd's transforms and
#: products run as TensorFlow's own ops, which is faster than TensorFlow's direct convolutions on
#: one CPU and slower on another. The whole course step (stand-in VGG19, Adam, NST_NATIVE=0), paired
#: in one run (interleaved processes, 2 threads each, a machine shared with other jobs; CPU seconds
#: per step, median of 10 steps at 200x150 and 6 at 400x300; benchmarks.tf_step's worker, as
#: `python -m benchmarks.step_time --variants tf-tf-transforms,tf-plain-direct,tf-plain-keras
#: --skip-pytorch --skip-quality --skip-floor --size 200x150 --rounds 2 --steps 5` runs it):
#:   2-core AVX-512 EPYC, 200x150: Winograd in TensorFlow's ops 0.33, direct convolutions with the
#:   fast input gradient 0.47, plain Keras convolutions 0.47; 400x300: 1.11, 1.83 and 1.81 (the
#:   compiled ops: 0.77).
#:   2-core AVX2 EPYC (issue 26's report): Winograd in TensorFlow's ops 2.51 s/step, plain
#:   convolutions 1.87.
#: So Winograd in TensorFlow's ops where the CPU has AVX-512, the direct convolution where it has
#: not. None: by the CPU; True or False overrides it (tests, benchmarks).
PLAIN_WINOGRAD = None


def cpu_flags():
    """The CPU's feature flags as /proc/cpuinfo lists them ('' where it does not)."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        for line in lines:
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor() or ""


def plain_winograd():
    """Whether Winograd layers run Winograd in TensorFlow's ops when the compiled ops are off (else
    TensorFlow's direct convolution, with the fast input gradient): see PLAIN_WINOGRAD."""
    if PLAIN_WINOGRAD is not None:
        return PLAIN_WINOGRAD
    return "avx512f" in cpu_flags().split()


def plain_path_name():
    """What runs the convolutions when the compiled ops are off, for a status line."""
    return ("Winograd in TensorFlow's ops" if plain_winograd()
            else "TensorFlow's direct convolutions (faster than Winograd in its ops on this CPU)")


def use_winograd(in_channels, out_channels, pixels=None):
    """Whether a 3x3 conv with these channel counts (on an image of this many pixels, if given)
    is faster as Winograd (see MIN_CHANNELS and MIN_PIXELS)."""
    return min(in_channels, out_channels) >= MIN_CHANNELS and (pixels is None or pixels >= MIN_PIXELS)


def winograd_tile(in_channels, out_channels, pixels=None):
    """The output tile side for a 3x3 conv with these channel counts on an image of this many pixels:
    LARGE_TILE or OUT_TILE for Winograd, None for the direct convolution (see use_winograd)."""
    if not use_winograd(in_channels, out_channels, pixels):
        return None
    if (pixels is not None and pixels >= LARGE_TILE_MIN_PIXELS
            and max(in_channels, out_channels) <= LARGE_TILE_MAX_CHANNELS):
        return LARGE_TILE
    return OUT_TILE


def winograd_fused(tile, in_channels, out_channels):
    """Whether the compiled ops run a Winograd layer with these tiles as one op (see
    FUSED_MAX_KERNEL_TILE_VALUES)."""
    return (tile + 2) ** 2 * in_channels * out_channels <= FUSED_MAX_KERNEL_TILE_VALUES


def cpu_fast_paths_default():
    """Whether build_vgg uses the fast paths (fast input gradient, Winograd) when not told: on a
    CPU yes; not when TensorFlow sees a GPU, where cuDNN already picks Winograd or FFT convolutions
    and these CPU-shaped ops (and the compiled transforms, CPU only) would only be slower."""
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")
