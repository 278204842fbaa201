"""Worker process: time the package's train_step (TensorFlow) for one configuration ("variant").

Usage (from the repository root): python -m benchmarks.tf_step OUT.json INPUTS.npz VARIANT_JSON WARMUP STEPS

VARIANT_JSON keys (all optional):
  name          label in the report
  intra, inter  TensorFlow intra-/inter-op thread pool sizes (0: TensorFlow's default, one per core)
  full_network  true: keep all 16 convs of VGG19 instead of cutting after conv5_1 as model_nn does
  course_step   true: the course's train.make_train_step (the style image's Gram matrices recomputed
                every step) instead of the step stylise runs (engine.optimize.adam_step)
  train_step    extra keyword arguments for the course's step (e.g. {"jit_compile": true})
  build_vgg     extra keyword arguments for engine.network.build_fast_vgg (e.g. {"winograd": false})
  device        "cpu" (default) or "gpu": build and run the step on /GPU:0 (an error if TensorFlow sees
                no GPU); on a GPU build_vgg leaves the CPU fast paths out by itself
  choice        values for nst_utils.fast.choice's constants (e.g. {"LARGE_TILE_MIN_PIXELS": 1e12}:
                no F(6x6, 3x3) tiles), set before the network is built

The result also holds baseline_rss_mb: the peak RSS right after importing TensorFlow and running one
tiny op, before anything of the step exists, so that peak_rss_mb - baseline_rss_mb is the step's
working memory.
"""
import json
import sys
import time

from benchmarks import common


def main(argv):
    out, inputs_path, variant = argv[0], argv[1], json.loads(argv[2])
    warmup, steps = int(argv[3]), int(argv[4])
    t_start = time.perf_counter()

    import tensorflow as tf

    # Thread pools must be sized before TensorFlow runs its first op.
    tf.config.threading.set_intra_op_parallelism_threads(int(variant.get("intra", 0)))
    tf.config.threading.set_inter_op_parallelism_threads(int(variant.get("inter", 0)))
    float(tf.reduce_sum(tf.ones([4])))
    baseline_rss_mb = common.peak_rss_mb()
    device = variant.get("device", "cpu")
    if device == "gpu" and not tf.config.list_physical_devices("GPU"):
        raise SystemExit(common.NO_GPU.format(framework="TensorFlow"))
    import keras

    from nst_utils.engine.network import build_fast_vgg
    from nst_utils.engine.objective import make_cost_with_targets
    from nst_utils.engine.optimize import adam_step
    from nst_utils.engine.traced import make_value_and_gradient
    from nst_utils.train import make_train_step
    from nst_utils.fast import choice, native
    from nst_utils.vgg import VGG19_BLOCKS

    result = {"framework": "tensorflow", "version": tf.__version__, "variant": variant,
              "baseline_rss_mb": baseline_rss_mb, "device": device,
              "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                          "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}}
    extra = dict(variant.get("train_step", {}))
    build_extra = dict(variant.get("build_vgg", {}))
    for name, value in variant.get("choice", {}).items():
        if not hasattr(choice, name):
            raise SystemExit(f"nst_utils.fast.choice has no {name}")
        setattr(choice, name, value)
    data = common.load_inputs(inputs_path)
    style_names = [name for name, _ in common.STYLE_LAYERS]
    layers = None if variant.get("full_network") else [common.CONTENT_LAYER] + style_names
    with tf.device("/GPU:0" if device == "gpu" else "/CPU:0"):
        model = build_fast_vgg(common.standin_conv_weights(), VGG19_BLOCKS, "avg", layers, name="vgg19_standin",
                               **build_extra)
        result["conv_layers"] = sum(1 for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
        a_C = model(data["content"])[common.CONTENT_LAYER]
        generated = tf.Variable(data["init"])
        optimizer = keras.optimizers.Adam(common.LEARNING_RATE, epsilon=common.ADAM_EPSILON)
        if variant.get("course_step"):
            train_step = make_train_step(model, a_C, model(data["style"]), optimizer, common.ALPHA, common.BETA,
                                         common.CONTENT_LAYER, common.STYLE_LAYERS, **extra)
        else:  # the style activations are not kept (PyTorch's step keeps only their Gram matrices either)
            cost = make_cost_with_targets(model, a_C, model(data["style"]), common.ALPHA, common.BETA,
                                          common.CONTENT_LAYER, common.STYLE_LAYERS)
            train_step = adam_step(make_value_and_gradient(cost, generated.shape), optimizer)

        def step():
            return tuple(float(v) for v in train_step(generated))  # float() waits for the device

        result.update(common.measure(step, warmup, steps))
    # whether Winograd's transforms ran compiled (None: not tried, e.g. no Winograd layer)
    result["compiled_transforms"] = (native.ops() is not None) if native.tried() else None
    result["process_s"] = time.perf_counter() - t_start
    common.write_result(out, result)


if __name__ == "__main__":
    main(sys.argv[1:])
