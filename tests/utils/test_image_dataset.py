import os

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from loom.utils import image_dataset_from_directory
from tests.utils._files import write_images


def _batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_shapes_dtypes_labels_and_order_without_shuffle(tmp_path):
    root = write_images(str(tmp_path))
    ds = image_dataset_from_directory(root, image_size=(4, 5), batch_size=4, shuffle=False, verbose=False)
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 2
    (x0, y0), (x1, y1) = _batches(ds)
    assert x0.shape == (4, 4, 5, 3) and x0.dtype == np.float32 and y0.dtype == np.int32
    assert y0.tolist() + y1.tolist() == [0, 0, 0, 1, 1, 1]
    assert [os.path.relpath(p, root) for p in ds.file_paths][:2] == [os.path.join("cats", "0.png"),
                                                                    os.path.join("cats", "1.png")]


@pytest.mark.parametrize("label_mode, shape, dtype", [("categorical", (6, 2), torch.float32),
                                                     ("binary", (6, 1), torch.float32)])
def test_label_modes(tmp_path, label_mode, shape, dtype):
    ds = image_dataset_from_directory(write_images(str(tmp_path)), label_mode=label_mode, image_size=(6, 8),
                                      batch_size=6, shuffle=False, verbose=False)
    _, y = next(iter(ds))
    assert tuple(y.shape) == shape and y.dtype == dtype
    assert y.argmax(-1).tolist() == [0, 0, 0, 1, 1, 1] if label_mode == "categorical" else y[:, 0].tolist() == [0] * 3 + [1] * 3


def test_same_size_keeps_pixels_and_grayscale(tmp_path):
    root = write_images(str(tmp_path), per_class=1)
    ds = image_dataset_from_directory(root, image_size=(6, 8), shuffle=False, verbose=False)
    x, _ = next(iter(ds))
    expected = np.asarray(loom.utils.load_img(os.path.join(root, "cats", "0.png")), dtype="float32")
    np.testing.assert_array_equal(x[0].numpy(), expected)
    gray = image_dataset_from_directory(root, color_mode="grayscale", image_size=(6, 8), labels=None,
                                        shuffle=False, verbose=False)
    assert tuple(next(iter(gray)).shape) == (2, 6, 8, 1)


def test_validation_split_both_disjoint_and_seeded_shuffle(tmp_path):
    root = write_images(str(tmp_path), per_class=5)
    train, val = image_dataset_from_directory(root, image_size=(6, 8), validation_split=0.2, subset="both", seed=3,
                                              verbose=False)
    assert len(train.file_paths) == 8 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    again = image_dataset_from_directory(root, image_size=(6, 8), validation_split=0.2, subset="validation",
                                         seed=3, verbose=False)
    assert again.file_paths == val.file_paths


def test_list_labels_and_class_names_subset(tmp_path):
    root = write_images(str(tmp_path), classes=("a", "b", "c"), per_class=1)
    ds = image_dataset_from_directory(root, labels=[2, 0, 1], image_size=(6, 8), shuffle=False, verbose=False)
    assert next(iter(ds))[1].tolist() == [2, 0, 1] and ds.class_names == ["0", "1", "2"]
    ds = image_dataset_from_directory(root, class_names=["c", "a"], image_size=(6, 8), shuffle=False, verbose=False)
    assert ds.class_names == ["c", "a"] and next(iter(ds))[1].tolist() == [0, 1]


def test_streams_files_per_batch(tmp_path):
    root = write_images(str(tmp_path))
    ds = image_dataset_from_directory(root, image_size=(6, 8), batch_size=2, shuffle=False, verbose=False)
    os.remove(ds.file_paths[-1])  # only the last batch reads it
    assert ds[0][0].shape[0] == 2
    with pytest.raises(InputError, match="cannot decode"):
        ds[2]


def test_unbatched_single_images(tmp_path):
    ds = image_dataset_from_directory(write_images(str(tmp_path)), image_size=(3, 4), batch_size=None,
                                      shuffle=False, verbose=False)
    x, y = ds[4]
    assert len(ds) == 6 and tuple(x.shape) == (3, 4, 3) and int(y) == 1


def test_jpeg_and_crop_to_aspect_ratio(tmp_path):
    root = write_images(str(tmp_path), ext="jpg", per_class=1, sizes=[(8, 16), (8, 16)])
    ds = image_dataset_from_directory(root, image_size=(4, 4), crop_to_aspect_ratio=True, verbose=False)
    assert tuple(next(iter(ds))[0].shape) == (2, 4, 4, 3)


def test_fit_end_to_end(tmp_path):
    root = write_images(str(tmp_path))
    ds = image_dataset_from_directory(root, image_size=(6, 8), batch_size=2, seed=1, verbose=False)
    train, val = image_dataset_from_directory(root, image_size=(6, 8), batch_size=2, seed=1, validation_split=0.34,
                                              subset="both", verbose=False)
    model = loom.Sequential([loom.Input((6, 8, 3)), loom.layers.Flatten(), loom.layers.Dense(2)])
    model.compile("adam", loom.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict(ds, verbose=0).shape == (6, 2)
    assert np.isfinite(model.evaluate(ds, verbose=0))


def test_errors(tmp_path):
    mixed = write_images(str(tmp_path / "mixed"), sizes=[(6, 8), (5, 5), (6, 8), (6, 8), (6, 8), (6, 8)])
    ds = image_dataset_from_directory(mixed, image_size=None, shuffle=False, verbose=False)
    with pytest.raises(InputError, match="different sizes.*image_size"):
        ds[0]
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "x.png").write_bytes(b"")
    with pytest.raises(InputError, match="no subdirectories"):
        image_dataset_from_directory(str(flat), verbose=False)
    with pytest.raises(InputError, match="does not exist"):
        image_dataset_from_directory(str(tmp_path / "missing"), verbose=False)
    with pytest.raises(ConfigError, match="seed"):
        image_dataset_from_directory(mixed, validation_split=0.2, subset="training", verbose=False)
    with pytest.raises(ConfigError, match="color_mode"):
        image_dataset_from_directory(mixed, color_mode="cmyk", verbose=False)
    with pytest.raises(ConfigError, match="binary"):
        image_dataset_from_directory(write_images(str(tmp_path / "three"), classes="abc", per_class=1),
                                     label_mode="binary", verbose=False)
    with pytest.raises(InputError, match="len\\(labels\\)"):
        image_dataset_from_directory(mixed, labels=[0, 1], verbose=False)


def test_matches_keras_with_tensorflow(tmp_path):
    pytest.importorskip("tensorflow")
    from tests.keras_oracle import keras
    root = write_images(str(tmp_path), sizes=[(6, 8), (9, 7), (12, 12), (5, 10), (8, 8), (7, 9)])
    kwargs = dict(image_size=(4, 6), batch_size=4, shuffle=False, label_mode="categorical", verbose=False)
    ours = _batches(image_dataset_from_directory(root, **kwargs))
    theirs = [(x.numpy(), y.numpy()) for x, y in keras.utils.image_dataset_from_directory(root, **kwargs)]
    for (ox, oy), (tx, ty) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(ox, tx, atol=1e-3)
        np.testing.assert_array_equal(oy, ty)
    train = image_dataset_from_directory(root, validation_split=0.5, subset="training", seed=7, verbose=False)
    keras_train = keras.utils.image_dataset_from_directory(root, validation_split=0.5, subset="training", seed=7,
                                                           verbose=False)
    assert sorted(train.file_paths) == sorted(keras_train.file_paths)


def test_tf_data_style_map_prefetch_and_take(tmp_path):
    """Keras programs write ``ds.map(fn, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)`` and ``ds.take(1)``."""
    ds = image_dataset_from_directory(write_images(str(tmp_path)), image_size=(6, 8), batch_size=2,
                                      shuffle=False, verbose=False)
    autotune = -1  # tf.data.AUTOTUNE
    doubled = ds.map(lambda x, y: (x * 2, y), num_parallel_calls=autotune, deterministic=True).prefetch(autotune)
    np.testing.assert_array_equal(doubled[0][0].numpy(), 2 * ds[0][0].numpy())
    assert len(doubled) == len(ds) == 3
    first = doubled.take(1)
    assert len(first) == 1 and len(list(first)) == 1 and len(doubled) == 3
    assert len(ds.take(5)) == 3 and len(ds.take(-1)) == 3 and len(ds.take(2).take(-1)) == 2
    assert len(ds.take(2).take(1)) == 1


@pytest.mark.parametrize("image_size", [(8, 8), (6, 12), (12, 5)])
def test_pad_to_aspect_ratio_resizes_then_pads_like_keras(tmp_path, image_size):
    """Keras (format="tf") resizes keeping the aspect ratio, then pads: tf.image.resize_with_pad."""
    from PIL import Image
    from tests.keras_oracle import keras

    rng = np.random.default_rng(0)
    for i, shape in enumerate([(14, 20, 3), (20, 9, 3), (7, 7, 3)]):
        os.makedirs(tmp_path / "c", exist_ok=True)
        Image.fromarray((rng.random(shape) * 255).astype("uint8")).save(tmp_path / "c" / f"{i}.png")
    got, want = (np.concatenate([np.asarray(x) for x, _ in lib.utils.image_dataset_from_directory(
        str(tmp_path), image_size=image_size, pad_to_aspect_ratio=True, shuffle=False, verbose=False)])
        for lib in (loom, keras))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
