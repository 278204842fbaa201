"""The style cost's Gram matrix A^T A (engine/objective.py) as a compiled op where it can run, else
TensorFlow's matmul (same values up to float rounding). The op computes the upper triangle only with
the Winograd products' register-blocked kernel: 0.5-0.85 of the matmul's time for conv1_1 .. conv4_1
at 400x300 on a 2-core AVX2 EPYC. The gradient A (dG + dG^T) stays TensorFlow's.
a: (P, C) float32, activations unrolled to one row per position.
"""
import tensorflow as tf

from . import choice, native


def gram(a):
    """a^T a: (P, C) -> (C, C), by the compiled op if it can take a (channels a multiple of 32, not
    in an XLA graph, no GPU to run on instead). ValueError if a has an empty size (0 rows or channels)."""
    native.require_sizes("gram", a=a.shape)
    channels = a.shape[-1]
    compiled = (channels is not None and channels % 32 == 0 and not native.in_xla()
                and choice.cpu_fast_paths_default())
    ops = native.ops() if compiled else None
    return ops.nst_gram(a) if ops is not None else tf.matmul(a, a, transpose_a=True)
