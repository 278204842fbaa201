"""GPU ready: when TensorFlow sees a GPU, the engine's network (build_fast_vgg) leaves out the CPU-only fast paths (cuDNN picks
its own Winograd/FFT convolutions there). No GPU here: the device list is faked."""
import keras
import pytest
import tensorflow as tf

from nst_utils.fast import choice
from nst_utils.fast.conv import Conv2D as FastConv2D
from nst_utils.grading.standin import standin_conv_weights
from nst_utils.engine.network import build_fast_vgg as build_vgg  # the engine's network
from nst_utils.vgg import VGG16_BLOCKS, conv_layer_names, keras_layer_name

LAYERS = ["conv1_1", "conv2_1"]


@pytest.fixture(scope="module")
def weights():
    keras_weights = standin_conv_weights(seed=4, blocks=VGG16_BLOCKS)
    return {name: keras_weights[keras_layer_name(name)] for name in conv_layer_names(VGG16_BLOCKS)}


def fake_devices(monkeypatch, gpus):
    real = tf.config.list_physical_devices

    def listed(device_type=None):
        if device_type == "GPU":
            return [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(gpus)]
        return real(device_type)

    monkeypatch.setattr(tf.config, "list_physical_devices", listed)


def conv_types(model):
    return {type(layer) for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}


def test_with_a_gpu_the_convolutions_are_keras_own(monkeypatch, weights):
    fake_devices(monkeypatch, gpus=1)
    assert not choice.cpu_fast_paths_default()
    assert conv_types(build_vgg(weights, VGG16_BLOCKS, "avg", LAYERS)) == {keras.layers.Conv2D}
    # asked for explicitly, the fast paths are still there
    assert conv_types(build_vgg(weights, VGG16_BLOCKS, "avg", LAYERS, fast_input_gradient=True,
                                winograd=True)) == {FastConv2D}


def test_on_a_cpu_the_fast_paths_are_on(monkeypatch, weights):
    fake_devices(monkeypatch, gpus=0)
    assert choice.cpu_fast_paths_default()
    model = build_vgg(weights, VGG16_BLOCKS, "avg", LAYERS)
    assert conv_types(model) == {FastConv2D}
    assert all(layer.winograd for layer in model.layers if isinstance(layer, FastConv2D))
    assert conv_types(build_vgg(weights, VGG16_BLOCKS, "avg", LAYERS, winograd=False)) == {FastConv2D}
    assert conv_types(build_vgg(weights, VGG16_BLOCKS, "avg", LAYERS, fast_input_gradient=False)) == \
        {keras.layers.Conv2D}


@pytest.mark.slow
def test_benchmark_refuses_a_gpu_it_does_not_have(tmp_path):
    # --device gpu on a machine without one: a clear message, not a CPU timing under a GPU label.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "benchmarks.step_time", "--device", "gpu", "--size", "32x32",
                           "--steps", "1", "--variants", "tf-default", "--skip-quality", "--json",
                           str(tmp_path / "b.json")], capture_output=True, text=True, timeout=300, cwd=root)
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    assert "TensorFlow sees no GPU" in proc.stdout + proc.stderr
