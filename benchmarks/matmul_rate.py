"""Worker process: this CPU's sustained float32 matrix-multiply rate in TensorFlow, for the arithmetic
floor of the step (benchmarks/step_time.py: the step's necessary FLOPs at this rate).

Usage (from the repository root): python -m benchmarks.matmul_rate OUT.json THREADS [SECONDS]

Two shapes: a large square product (2048^3, the best case for a matmul library) and one of the
Winograd products of the course's step (36 batched (475 x 256) @ (256 x 256), conv3_x at 400x300).
Each is repeated for about SECONDS (default 3) after a warm-up; the median rate is reported.
"""
import json
import statistics
import sys
import time

from benchmarks import common


def rate(fn, flop, seconds):
    fn(), fn()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"gflops_per_s": flop / statistics.median(times) / 1e9, "repeats": len(times)}


def main(argv):
    out, threads = argv[0], int(argv[1])
    seconds = float(argv[2]) if len(argv) > 2 else 3.0
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    square = [tf.random.normal([2048, 2048]) for _ in range(2)]
    batched = [tf.random.normal([36, 475, 256]), tf.random.normal([36, 256, 256])]
    # a scalar out of the product, so that fetching the result costs nothing
    product = tf.function(lambda a, b: tf.matmul(a, b)[..., 0, 0])
    result = {"framework": "tensorflow", "version": tf.__version__, "threads": threads,
              "square_2048": rate(lambda: product(*square).numpy(), 2 * 2048**3, seconds),
              "winograd_conv3": rate(lambda: product(*batched).numpy(), 2 * 36 * 475 * 256 * 256, seconds)}
    result["gflops_per_s"] = result["square_2048"]["gflops_per_s"]
    common.write_result(out, result)


if __name__ == "__main__":
    main(sys.argv[1:])
