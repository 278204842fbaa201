"""The course's network with the engine's convolutions: vgg.build_vgg / vgg.load_vgg_model given
fast.conv's layer class (a forward convolution for the input gradient, Winograd tiles) where the
device gains from it. Same activations and gradients up to float rounding; a faster step on a CPU.
The command line and stylise load their network here; the course's own is vgg.load_vgg_model.
(feedforward/network.py is another network: the feed-forward transformation network.)
"""
from ..fast.conv import conv_layer
from ..vgg import build_vgg, load_vgg_model


def build_fast_vgg(conv_weights, blocks, pooling="avg", layers=None, bgr_offset=(0.0, 0.0, 0.0), name="vgg",
                   fast_input_gradient=None, winograd=None):
    """vgg.build_vgg (same arguments) with fast.conv.conv_layer(fast_input_gradient, winograd).

    fast_input_gradient -- compute the convs' gradient with respect to their input as a forward
                           convolution; False: TensorFlow's own gradient (keras.layers.Conv2D)
    winograd -- with fast_input_gradient, every conv but conv1_1 by Winograd (fast/winograd.py)
    None (the default of both): on a CPU, off when TensorFlow sees a GPU (fast/choice.py).
    """
    return build_vgg(conv_weights, blocks, pooling, layers, bgr_offset, name,
                     conv=conv_layer(fast_input_gradient, winograd))


def load_fast_vgg_model(path=None, pooling="avg", layers=None, backbone="vgg19", winograd=None,
                        fast_input_gradient=None):
    """vgg.load_vgg_model (same first arguments) with the engine's convolutions (see build_fast_vgg)."""
    return load_vgg_model(path, pooling, layers, backbone, conv=conv_layer(fast_input_gradient, winograd))
