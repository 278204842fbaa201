"""Which of the fast paths run: the rule for Winograd per layer, and whether the CPU-only paths are
on at all. No TensorFlow import at module level, so that the benchmark's FLOP count (which follows
this rule) can use it in a process that has not loaded a framework.
"""
import platform


#: The thresholds below were measured: docs/performance.md ("Where the fast paths apply").
#: Output tile side m of Winograd F(4x4, 3x3), the default tile (input tiles m + 3 - 1 = 6).
OUT_TILE = 4
#: The larger tile, F(6x6, 3x3): fewer multiply-adds, larger kernel transforms, twice the rounding error.
LARGE_TILE = 6
#: F(6x6, 3x3) only for layers with at most this many channels (in and out) on images of at least
#: this many pixels at the layer's depth (blocks 1-3 at 400x300).
LARGE_TILE_MAX_CHANNELS = 256
LARGE_TILE_MIN_PIXELS = 7000
#: Smallest channel count (input and output) for which build_vgg uses Winograd: every conv of VGG
#: but conv1_1, whose 3 input channels leave the transforms nothing to save.
MIN_CHANNELS = 64
#: Smallest image (pixels per channel) for Winograd: the kernel's transforms do not shrink with it.
MIN_PIXELS = 400
#: The compiled transforms run a layer as one op, bands of tiles at a time, where its kernel's
#: transform has at most this many values: the op reads it again for every band.
FUSED_MAX_KERNEL_TILE_VALUES = 2 ** 20
#: Without the compiled ops, Winograd layers run as TensorFlow's own ops where the CPU has AVX-512 and
#: as TensorFlow's direct convolution where it has not (faster there). None: by the CPU; True or
#: False overrides it (tests, benchmarks).
PLAIN_WINOGRAD = None


def cpu_flags():
    """The CPU's feature flags as /proc/cpuinfo lists them ('' where it does not)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line for line in f.read().splitlines() if line.startswith(("flags", "Features")))
    except (OSError, StopIteration):
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
