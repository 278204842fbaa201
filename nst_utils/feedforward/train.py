"""Training the transformation network with the perceptual loss of Johnson et al. 2016 (the course's
optimisation of one image's pixels is nst_utils/train.py), made of the package's own costs:

    J(x) = alpha J_content(x, f(x)) + beta J_style(S, f(x)) + tv_weight TV(f(x))

for a training crop x and the network's output f(x), with the course's layers (content conv4_2,
style conv1_1..conv5_1 at 0.2) on the same VGG as the optimisation. The style image S and the crops
differ in size, so J_style uses the engine's size-normalised Gram targets (engine.objective.gram_targets,
equal to the course's formula when the sizes match) in the course's J(G) (make_cost_with_targets);
S's Grams are computed once.
"""
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
import keras

from ..config import CONTENT_LAYER, STYLE_LAYERS, capped_iterations
from ..engine.network import load_fast_vgg_model
from ..engine.objective import gram_targets, make_cost_with_targets
from ..engine.optimize import Interruptible
from ..engine.regularizers import total_variation
from ..train import progress_bar
from .network import DEFAULT_CHANNELS, DEFAULT_RESIDUAL_BLOCKS, build_transform_net
from .weights import save_transform_net


class PerceptualLoss:
    """The training loss for one style image, on a VGG activations model.

    vgg returns CONTENT_LAYER and the style layers; style_image (1, n_H, n_W, 3), any size;
    tv_weight: weight of total_variation(f(x)) (squared pixel differences, per value)."""

    def __init__(self, vgg, style_image, alpha=10.0, beta=40.0, tv_weight=0.0,
                 content_layer=CONTENT_LAYER, style_layers=STYLE_LAYERS):
        self.vgg, self.alpha, self.beta, self.tv_weight = vgg, alpha, beta, tv_weight
        self.content_layer, self.style_layers = content_layer, style_layers
        # Constants of the whole training: computed once, not at every step.
        self.targets = gram_targets(vgg, [style_image], style_layers=style_layers)

    def __call__(self, content, stylised):
        """Mean over the batch of (J, J_content, J_style, TV); content: crops x (batch, H, W, 3), stylised: f(x)."""
        # The content's activations are targets: no gradient needed through them.
        a_C = tf.stop_gradient(self.vgg(content)[self.content_layer])
        a_G = self.vgg(stylised)
        batch = content.shape[0]
        sums = [tf.constant(0.0)] * 4
        # The course's J(G) takes one image (1, n_H, n_W, n_C) at a time; a_G is computed for the batch.
        for i in range(batch):
            a_G_i = {name: a[i:i + 1] for name, a in a_G.items()}
            cost = make_cost_with_targets(lambda image: a_G_i, a_C[i:i + 1], self.targets, self.alpha,
                                          self.beta, self.content_layer, self.style_layers)
            J, J_content, J_style = cost(stylised[i:i + 1])
            tv = total_variation(stylised[i:i + 1])
            J += self.tv_weight * tv
            sums = [s + v for s, v in zip(sums, (J, J_content, J_style, tv))]
        return tuple(s / batch for s in sums)


def make_step(net, loss, optimizer):
    """tf.function(content batch) -> (J, J_content, J_style, TV) before one Adam update of net."""
    @tf.function(reduce_retracing=True)
    def step(content):
        with tf.GradientTape() as tape:
            costs = loss(content, net(content, training=True))
        grads = tape.gradient(costs[0], net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return costs

    return step


@dataclass
class TrainResult:
    net: keras.Model
    history: list = field(default_factory=list)  # (step, seconds, J, J_content, J_style, TV)
    steps: int = 0
    seconds: float = 0.0
    stopped: str = ""  # "" (done), "time", "interrupted"
    checkpoints: int = 0


def _record(result, costs, start, bar, report_every):
    """Book one step's costs (J, J_content, J_style, TV) in result and on the progress bar."""
    J, J_content, J_style, tv = (float(v) for v in costs)
    result.steps += 1
    result.seconds = time.perf_counter() - start
    result.history.append((result.steps, result.seconds, J, J_content, J_style, tv))
    if not np.isfinite(J):
        raise FloatingPointError(f"the loss became {J} at step {result.steps}; lower the learning rate")
    bar.update(1)
    if result.steps % report_every == 0 or result.steps == 1:
        bar.set_postfix(J=f"{np.mean([h[2] for h in result.history[-report_every:]]):.4g}")


def train(style_image, batch_source, *, steps=None, minutes=None, learning_rate=1e-3, alpha=10.0,
          beta=40.0, tv_weight=0.0, backbone="vgg16-hed", vgg=None, net=None, seed=0,
          channels=DEFAULT_CHANNELS, residual_blocks=DEFAULT_RESIDUAL_BLOCKS, out=None,
          checkpoint_every=120.0, metadata=None, progress=True, report_every=50):
    """Train a transformation network for one style.

    Arguments:
    style_image -- normalised style image (1, n_H, n_W, 3)
    batch_source -- iterator of normalised crops (batch, size, size, 3), e.g. data.batches(...)
    steps, minutes -- stop after this many steps (or NST_MAX_ITERATIONS) and/or minutes (one required)
    backbone -- "vgg16-hed" (offline) or "vgg19" (the course's; needs its weights); ignored with vgg
    net -- a network to go on training (default: a new build_transform_net(channels, ...))
    out -- .npz path for checkpoints: written every checkpoint_every seconds and at the end,
           also on Ctrl-C / SIGTERM (which stop the training cleanly)
    metadata -- extra {key: str/number} stored in the checkpoint (e.g. the command line)

    Returns:
    TrainResult(net, history, steps, seconds, stopped, checkpoints)
    """
    if steps is None and minutes is None:
        raise ValueError("give steps or minutes (or both)")
    steps = None if steps is None else capped_iterations(steps)  # NST_MAX_ITERATIONS, as the course's loop
    if vgg is None:
        vgg = load_fast_vgg_model(backbone=backbone, layers=[CONTENT_LAYER] + [name for name, _ in STYLE_LAYERS])
    if net is None:
        net = build_transform_net(channels, residual_blocks, seed=seed)
    loss = PerceptualLoss(vgg, style_image, alpha, beta, tv_weight)
    step = make_step(net, loss, keras.optimizers.Adam(learning_rate))
    result = TrainResult(net)
    info = dict(metadata or {}, backbone=backbone, alpha=alpha, beta=beta, tv_weight=tv_weight,
                learning_rate=learning_rate, seed=seed)

    def checkpoint():
        if out is not None:
            save_transform_net(net, out, dict(info, steps=result.steps, seconds=round(result.seconds, 1)))
            result.checkpoints += 1

    bar = progress_bar(progress, total=steps, unit="step", dynamic_ncols=True)
    start = time.perf_counter()
    last_save = start
    # Ctrl-C and SIGTERM (e.g. `kill`, a CI time-out) stop cleanly: the last checkpoint is written.
    with Interruptible() as stop:
        try:
            while steps is None or result.steps < steps:
                if minutes is not None and time.perf_counter() - start >= 60.0 * minutes:
                    result.stopped = "time"
                    break
                _record(result, step(tf.constant(next(batch_source))), start, bar, report_every)
                if out is not None and time.perf_counter() - last_save >= checkpoint_every:
                    checkpoint()
                    last_save = time.perf_counter()
        finally:
            bar.close()
            result.seconds = time.perf_counter() - start
    if stop.how:
        result.stopped = "interrupted"
    # Not in `finally`: after an error (a non-finite loss) the previous checkpoint is the good one.
    checkpoint()
    return result
