"""J(G) and dJ/dG as a TensorFlow function traced once per network and image size: the one tape of
the engine, from which both optimisers (optimize.py: Adam's update, L-BFGS's search) take their steps.

Tracing a forward and backward pass through VGG costs several evaluations' time. The targets a_C
and the style Gram matrices are variables the function reads, so a run assigns its targets and
reuses the function an earlier run traced with the same network, image size, layers and weights.
Functions are kept per network (forgotten with it), the MAX_PER_MODEL most recently used ones.
"""
import weakref
from collections import OrderedDict

import numpy as np
import tensorflow as tf

from .objective import GramTargets, make_cost_with_targets

MAX_PER_MODEL = 8
_FUNCTIONS = weakref.WeakKeyDictionary()  # model -> OrderedDict(key -> TracedCost)


class TracedCost:
    """value_and_gradient(image) -> (J, J_content, J_style, dJ/dimage) with assignable targets."""

    def __init__(self, model, a_C, targets, shape, settings, tv_weight):
        self.a_C = tf.Variable(a_C, trainable=False)
        self.grams = {name: tf.Variable(g, trainable=False) for name, g in targets.grams.items()}
        style = GramTargets(self.grams, targets.normalized)
        network = weakref.ref(model)  # the function must not keep the network (the cache's key) alive
        cost = make_cost_with_targets(lambda image: network()(image), self.a_C, style, settings.alpha,
                                      settings.beta, settings.content_layer, settings.style_layers, tv_weight)

        self.value_and_gradient = make_value_and_gradient(cost, shape)

    def assign(self, a_C, targets):
        self.a_C.assign(a_C)
        for name, g in targets.grams.items():
            self.grams[name].assign(g)


def make_value_and_gradient(cost_function, shape):
    """tf.function image -> (J, J_content, J_style, dJ/dimage) for images of shape (1, n_H, n_W, 3);
    cost_function: image -> (J, J_content, J_style), e.g. objective.make_cost_with_targets's."""
    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
    def value_and_gradient(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            J, J_content, J_style = cost_function(image)
        return J, J_content, J_style, tape.gradient(J, image)

    # One per network, size and settings, on purpose: TensorFlow would warn of retracing.
    value_and_gradient._omit_frequent_tracing_warning = True
    return value_and_gradient


def forget():
    """Drop every kept function: the next run traces its own, as a first run in a new process does."""
    _FUNCTIONS.clear()


def value_and_gradient_for(model, stage, settings, tv_weight):
    """make_value_and_gradient's function of this stage's cost, with its targets a_C and GramTargets
    (pipeline.Stage), image size and settings: one traced before for the same network and key,
    its targets assigned, or a new one (see this module's doc)."""
    a_C = tf.convert_to_tensor(stage.a_C, tf.float32)
    targets = stage.targets
    shape = tuple(np.shape(stage.start_image))
    key = (shape, settings.alpha, settings.beta, settings.content_layer,
           tuple(tuple(layer) for layer in settings.style_layers), float(tv_weight), targets.normalized,
           tuple(a_C.shape), tuple((name, tuple(g.shape)) for name, g in sorted(targets.grams.items())))
    functions = _FUNCTIONS.setdefault(model, OrderedDict())
    traced = functions.pop(key, None)
    if traced is None:
        traced = TracedCost(model, a_C, targets, shape, settings, tv_weight)
    else:
        traced.assign(a_C, targets)
    functions[key] = traced  # most recently used last
    while len(functions) > MAX_PER_MODEL:
        functions.popitem(last=False)
    return traced.value_and_gradient
