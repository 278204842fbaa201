"""Worker process: time the equivalent PyTorch step (CPU), written from scratch like the package's.

Usage (from the repository root): python -m benchmarks.torch_step OUT.json INPUTS.npz VARIANT_JSON WARMUP STEPS

Same network and problem as the TensorFlow step: VGG19 convs (same stand-in weights, kernels moved
from TensorFlow's (kh, kw, in, out) to PyTorch's (out, in, kh, kw)), ReLU, 2x2 average pooling whose
windows at an odd border cover only the pixels that exist (TensorFlow 'same' pooling = PyTorch
ceil_mode=True, which divides by the pixels inside the image), RGB->BGR flip inside the network,
cut after conv5_1; content cost on conv4_2, style cost on conv1_1..conv5_1 (0.2 each), J = 10 J_content
+ 40 J_style, Adam with lr 2.0 and Keras's epsilon 1e-7 on the pixels of G.

VARIANT_JSON keys: name; threads (torch.set_num_threads); channels_last (bool, NHWC memory layout);
device ("cpu" or "gpu": CUDA, an error if PyTorch sees none). baseline_rss_mb as in tf_step.py.
"""
import json
import sys
import time

import numpy as np

from benchmarks import common


def build_features(conv_weights, deepest="conv5_1", blocks=common.VGG19_BLOCKS):
    """[(module, course name or None)] in order; the name marks the ReLU output of a conv layer."""
    import torch

    modules = []
    for b, n in enumerate(blocks, 1):
        if b > 1:
            modules.append((torch.nn.AvgPool2d(2, stride=2, ceil_mode=True), None))
        for i in range(1, n + 1):
            name = f"conv{b}_{i}"
            kernel, bias = conv_weights[name]
            conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
                conv.bias.copy_(torch.from_numpy(bias))
            conv.requires_grad_(False)  # frozen: no gradient with respect to the weights
            modules += [(conv, None), (torch.nn.ReLU(), name)]
            if name == deepest:
                return modules
    raise ValueError(deepest)


def main(argv):
    out, inputs_path, variant = argv[0], argv[1], json.loads(argv[2])
    warmup, steps = int(argv[3]), int(argv[4])
    t_start = time.perf_counter()

    import torch

    torch.set_num_threads(int(variant.get("threads", 2)))
    float(torch.ones(4).sum())
    baseline_rss_mb = common.peak_rss_mb()
    device = variant.get("device", "cpu")
    if device == "gpu" and not torch.cuda.is_available():
        raise SystemExit(common.NO_GPU.format(framework="PyTorch"))
    target = torch.device("cuda" if device == "gpu" else "cpu")
    memory_format = torch.channels_last if variant.get("channels_last") else torch.contiguous_format
    modules = build_features(common.standin_conv_weights())
    for module, _ in modules:
        module.to(device=target, memory_format=memory_format)
    wanted = {common.CONTENT_LAYER} | {name for name, _ in common.STYLE_LAYERS}

    def features(image_nhwc):
        # (1, H, W, 3) RGB -> (1, 3, H, W) BGR, as the Keras model flips inside the network.
        x = torch.flip(image_nhwc.permute(0, 3, 1, 2), dims=[1]).contiguous(memory_format=memory_format)
        acts = {}
        for module, name in modules:
            x = module(x)
            if name in wanted:
                acts[name] = x
        return acts

    def gram(a):
        # (1, n_C, n_H, n_W) -> (n_C, n_H*n_W): channels are already the leading axis in NCHW.
        A = a.reshape(a.shape[1], -1)
        return A @ A.T

    data = {key: torch.from_numpy(value.copy()).to(target) for key, value in common.load_inputs(inputs_path).items()}
    with torch.no_grad():
        a_C = features(data["content"])[common.CONTENT_LAYER]
        G_S = {name: gram(a) for name, a in features(data["style"]).items()}

    generated = data["init"].requires_grad_(True)
    optimizer = torch.optim.Adam([generated], lr=common.LEARNING_RATE, eps=common.ADAM_EPSILON)

    def step():
        optimizer.zero_grad(set_to_none=True)
        a_G = features(generated)
        a = a_G[common.CONTENT_LAYER]
        _, n_C, n_H, n_W = a.shape
        J_content = torch.sum((a_C - a) ** 2) / (4 * n_C * n_H * n_W)
        J_style = 0.0
        for name, coeff in common.STYLE_LAYERS:
            a = a_G[name]
            _, n_C, n_H, n_W = a.shape
            J_style = J_style + coeff * torch.sum((G_S[name] - gram(a)) ** 2) / (4 * n_C**2 * (n_H * n_W) ** 2)
        J = common.ALPHA * J_content + common.BETA * J_style
        J.backward()
        optimizer.step()
        return J.item(), J_content.item(), J_style.item()

    # .item() in step() waits for the device, so the timings are complete on a GPU too
    result = {"framework": "pytorch", "version": torch.__version__, "variant": variant,
              "baseline_rss_mb": baseline_rss_mb, "device": device,
              "threads": {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}}
    result.update(common.measure(step, warmup, steps))
    result["process_s"] = time.perf_counter() - t_start
    common.write_result(out, result)


if __name__ == "__main__":
    main(sys.argv[1:])
