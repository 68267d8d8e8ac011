import sys

import h5py
import numpy as np
import pytest

import loom
from loom import layers
from loom.applications import keras_weights, resnet
from loom.applications.keras_weights import (PretrainedFileNotFoundError, PretrainedWeights, load_keras_weights,
                                             read_legacy_h5, resolve_pretrained)
from loom.errors import ModelFileError
from tests.applications.helpers import assert_close, images, keras_predict, randomize_batchnorm
from tests.keras_oracle import keras


def _small_loom_model(top: bool = True):
    inputs = loom.Input((8, 8, 3))
    x = loom.applications.blocks.conv2d_bn(inputs, 4, 3, 3)
    x = layers.SeparableConv2D(6, 3, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    if top:
        x = layers.Dense(5)(x)
    return loom.Model(inputs, x)


def _small_keras_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization(scale=False)(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.SeparableConv2D(6, 3, use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(5)(x))


def write_keras2_h5(path, layer_weights, full_model=False, chunks=1):
    """A Keras 2 HDF5 weights file: ``layer_weights`` is ``[(layer name, [(weight name, array)])]``; layer
    names and dataset paths as Keras 2 wrote them (``conv2d_1/conv2d_1/kernel:0``)."""
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if full_model else f
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.2.4"
        names = np.array([name.encode() for name, _ in layer_weights])
        for i, part in enumerate(np.array_split(names, chunks)):
            root.attrs["layer_names" if chunks == 1 else f"layer_names{i}"] = part
        for name, weights in layer_weights:
            group = root.create_group(name)
            paths = [f"{name}/{w}:0" for w, _ in weights]
            group.attrs["weight_names"] = np.array([p.encode() for p in paths]) if paths else np.array([])
            for p, (_, value) in zip(paths, weights):
                group.create_dataset(p, data=value)


def _keras2_layout(model, offset=1):
    """The weights of ``model``'s layers under Keras 2 style names (``conv2d_1``: counted from 1)."""
    out = []
    for layer in model.layers:
        base = loom.backend.snake_case(type(layer).__name__)
        names = ["kernel", "bias"] if isinstance(layer, layers.Dense) else [f"w{i}" for i in range(9)]
        out.append((f"{base}_{offset}_{layer.name}", list(zip(names, layer.get_weights()))))
    return out


@pytest.mark.slow
def test_legacy_keras2_file_loads_into_an_application(tmp_path):
    keras.utils.clear_session()
    keras_model = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=5)
    randomize_batchnorm(keras_model)
    layer_weights = []
    for layer in keras_model.layers:  # Keras 2 names: counted from 1, so they do not match today's names
        weight_names = [v.path.split("/")[-1] for v in layer.weights]
        layer_weights.append((f"old_{layer.name}", list(zip(weight_names, layer.get_weights()))))
    path = tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    write_keras2_h5(path, layer_weights)
    model = resnet.ResNet50(weights=path, input_shape=(32, 32, 3), classes=5)
    x = images(32)
    assert_close(model(x), keras_predict(keras_model, x))


def test_keras_own_legacy_writer_and_full_model_layout(tmp_path):
    from keras.src.legacy.saving import legacy_h5_format
    keras.utils.clear_session()
    keras_model = _small_keras_model()
    randomize_batchnorm(keras_model)
    path = tmp_path / "keras_legacy.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f.create_group("model_weights"), keras_model)
    model = _small_loom_model()
    load_keras_weights(model, path)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    assert_close(model(x), keras_predict(keras_model, x), tol=1e-5)


@pytest.mark.parametrize("full_model,chunks", [(False, 1), (True, 3)])
def test_legacy_file_round_trip_by_layer_order(tmp_path, full_model, chunks):
    source = _small_loom_model()
    path = tmp_path / "w.h5"
    write_keras2_h5(path, _keras2_layout(source), full_model=full_model, chunks=chunks)
    assert [len(w) for _, w in read_legacy_h5(str(path))] == [1, 3, 2, 4, 2]  # layers with weights only
    target = _small_loom_model()
    load_keras_weights(target, path)
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_legacy_file_for_another_architecture_is_refused(tmp_path):
    path = tmp_path / "w.h5"
    write_keras2_h5(path, _keras2_layout(_small_loom_model(top=True)))
    with pytest.raises(ModelFileError, match="same include_top"):
        load_keras_weights(_small_loom_model(top=False), path)


def test_legacy_shape_mismatch_changes_nothing_unless_skipped(tmp_path):
    layout = _keras2_layout(_small_loom_model())
    name, weights = layout[-1]
    layout[-1] = (name, [(w, np.zeros((7, 5), "float32") if w == "kernel" else v) for w, v in weights])
    path = tmp_path / "w.h5"
    write_keras2_h5(path, layout)
    target = _small_loom_model()
    before = target.get_weights()
    with pytest.raises(ModelFileError, match=r"'dense.*/kernel:0' has shape \(7, 5\)"):
        load_keras_weights(target, path)
    for a, b in zip(before, target.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="skipped"):
        load_keras_weights(target, path, skip_mismatch=True)
    np.testing.assert_array_equal(target.get_weights()[0], layout[1][1][0][1])  # the conv kernel loaded
    np.testing.assert_array_equal(target.get_weights()[-2], before[-2])  # the Dense kernel kept


def test_keras3_weights_file_keras_archive_and_unreadable_files(tmp_path):
    keras.utils.clear_session()
    keras_model = _small_keras_model()
    randomize_batchnorm(keras_model)
    path = tmp_path / "small.weights.h5"
    keras_model.save_weights(path)
    model = _small_loom_model()
    load_keras_weights(model, path)
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype("float32")
    assert_close(model(x), keras_predict(keras_model, x), tol=1e-5)
    archive = tmp_path / "small.keras"
    keras_model.save(archive)
    model = _small_loom_model()
    load_keras_weights(model, archive)
    assert_close(model(x), keras_predict(keras_model, x), tol=1e-5)
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(ModelFileError):
        load_keras_weights(model, broken)
    with pytest.raises(ModelFileError):
        load_keras_weights(model, tmp_path / "missing.h5")


def test_missing_h5py_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "w.h5"
    write_keras2_h5(path, _keras2_layout(_small_loom_model()))
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match="pip install h5py"):
        load_keras_weights(_small_loom_model(), path)


def test_imagenet_weights_explain_how_to_provide_the_file(empty_keras_cache):
    with pytest.raises(PretrainedFileNotFoundError) as info:
        resnet.ResNet50()  # weights='imagenet' is the default; fails before building anything
    message = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" in message
    assert "weights=" in message
    with pytest.raises(PretrainedFileNotFoundError, match="_notop.h5"):
        loom.applications.Xception(include_top=False)


def test_resolve_pretrained_checks_keras_checksum(tmp_path, monkeypatch):
    import hashlib
    monkeypatch.setattr(keras_weights, "keras_cache_dirs", lambda: [str(tmp_path / "a"), str(tmp_path)])
    (tmp_path / "net_notop.h5").write_bytes(b"weights")
    good = PretrainedWeights("net", "net.h5", "net_notop.h5", "0" * 32, hashlib.md5(b"weights").hexdigest())
    assert resolve_pretrained(good, include_top=False) == str(tmp_path / "net_notop.h5")
    bad = PretrainedWeights("net", "net.h5", "net_notop.h5", "0" * 32, "1" * 32)
    with pytest.raises(ModelFileError, match="checksum"):
        resolve_pretrained(bad, include_top=False)


def test_keras_cache_dirs_follow_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_weights.keras_cache_dirs()[0] == str(tmp_path / "models")


_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"


@pytest.mark.parametrize("name,kwargs,local,url", [
    ("VGG16", {}, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", f"{_BASE}vgg16/"),
    ("ResNet50V2", {}, "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5", f"{_BASE}resnet/"),
    ("DenseNet121", {}, "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", f"{_BASE}densenet/"),
    ("InceptionResNetV2", {}, "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
     f"{_BASE}inception_resnet_v2/"),
    ("MobileNet", {"input_shape": (192, 192, 3), "alpha": 0.75}, "mobilenet_7_5_192_tf_no_top.h5",
     f"{_BASE}mobilenet/"),
    ("MobileNetV2", {"input_shape": (96, 96, 3)}, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5",
     f"{_BASE}mobilenet_v2/"),
    ("MobileNetV3Large", {"input_shape": (224, 224, 3)}, "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
     f"{_BASE}mobilenet_v3/"),
    ("EfficientNetB0", {}, "efficientnetb0_notop.h5", "https://storage.googleapis.com/keras-applications/"),
    ("EfficientNetV2S", {}, "efficientnetv2-s_notop.h5", f"{_BASE}efficientnet_v2/"),
    ("ConvNeXtTiny", {}, "convnext_tiny_notop.h5", f"{_BASE}convnext/"),
    ("NASNetMobile", {}, "nasnet_mobile_no_top.h5", f"{_BASE}nasnet/NASNet-mobile-no-top.h5"),
])
def test_every_family_says_which_imagenet_file_to_fetch(empty_keras_cache, name, kwargs, local, url):
    with pytest.raises(PretrainedFileNotFoundError) as info:  # raised before anything is built
        getattr(loom.applications, name)(include_top=False, **kwargs)
    message = str(info.value)
    assert local in message and url in message and "weights='path/to/" in message


def test_resolve_pretrained_checks_sha256_and_skips_missing_checksums(empty_keras_cache, tmp_path):
    import hashlib
    (tmp_path / "net_notop.h5").write_bytes(b"weights")
    sha = hashlib.sha256(b"weights").hexdigest()
    assert resolve_pretrained(PretrainedWeights("net", "t.h5", "net_notop.h5", None, sha), False).endswith("notop.h5")
    with pytest.raises(ModelFileError, match="checksum"):
        resolve_pretrained(PretrainedWeights("net", "t.h5", "net_notop.h5", None, "0" * 64), False)
    assert resolve_pretrained(PretrainedWeights("net", "t.h5", "net_notop.h5", None, None), False)
