import os
import wave

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from loom.utils import audio_dataset_from_directory
from loom.utils.audio_dataset import read_wav
from tests.utils._files import write_wavs


def test_padded_batches_values_and_labels(tmp_path):
    root = write_wavs(str(tmp_path))
    ds = audio_dataset_from_directory(root, batch_size=3, shuffle=False, verbose=False)
    x, y = ds[0]
    assert tuple(x.shape) == (3, 30, 1) and x.dtype == torch.float32 and y.tolist() == [0, 0, 0]
    with wave.open(os.path.join(root, "no", "0.wav")) as w:
        raw = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    np.testing.assert_array_equal(x[0, :20, 0].numpy(), raw / 32768.0)
    assert float(x[0, 20:].abs().sum()) == 0.0


def test_output_sequence_length_ragged_and_resampling(tmp_path):
    root = write_wavs(str(tmp_path))
    fixed = audio_dataset_from_directory(root, output_sequence_length=22, shuffle=False, verbose=False)
    assert tuple(fixed[0][0].shape) == (6, 22, 1)
    ragged = audio_dataset_from_directory(root, ragged=True, shuffle=False, verbose=False)
    assert [len(c) for c in ragged[0][0]] == [20, 25, 30, 20, 25, 30]
    clip, rate = read_wav(os.path.join(root, "no", "0.wav"), sampling_rate=16000)
    assert rate == 16000 and tuple(clip.shape) == (40, 1)


def test_fit_end_to_end(tmp_path):
    ds = audio_dataset_from_directory(write_wavs(str(tmp_path)), output_sequence_length=24, batch_size=2, seed=0,
                                      verbose=False)
    model = loom.Sequential([loom.Input((24, 1)), loom.layers.Flatten(), loom.layers.Dense(2)])
    model.compile("adam", loom.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len(model.fit(ds, epochs=2, verbose=0).history["loss"]) == 2


def test_errors(tmp_path):
    root = write_wavs(str(tmp_path))
    with pytest.raises(ConfigError, match="ragged"):
        audio_dataset_from_directory(root, ragged=True, output_sequence_length=3, verbose=False)
    with open(os.path.join(root, "no", "bad.wav"), "wb") as f:
        f.write(b"not a wav")
    ds = audio_dataset_from_directory(root, shuffle=False, batch_size=1, verbose=False)
    with pytest.raises(InputError, match="PCM WAV"):
        [ds[i] for i in range(len(ds))]


def test_matches_keras_with_tensorflow(tmp_path):
    pytest.importorskip("tensorflow")
    from tests.keras_oracle import keras
    root = write_wavs(str(tmp_path))
    kwargs = dict(batch_size=4, shuffle=False, verbose=False)
    ours = [(x.numpy(), y.numpy()) for x, y in audio_dataset_from_directory(root, **kwargs)]
    theirs = [(x.numpy(), y.numpy()) for x, y in keras.utils.audio_dataset_from_directory(root, **kwargs)]
    for (ox, oy), (tx, ty) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(ox, tx, atol=1e-6)
        np.testing.assert_array_equal(oy, ty)
