"""MelSpectrogram and STFTSpectrogram: value-equal to Keras (STFT kernels copied through get/set_weights)."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("kwargs", [
    {"fft_length": 64, "sequence_stride": 32, "num_mel_bins": 10},
    {"fft_length": 128, "sequence_stride": 50, "sequence_length": 100, "window": "hamming", "sampling_rate": 8000,
     "num_mel_bins": 12, "min_freq": 100.0, "max_freq": 3000.0},
    {"fft_length": 64, "sequence_stride": 16, "num_mel_bins": 8, "power_to_db": False, "mag_exp": 1.0},
])
def test_mel_spectrogram(kwargs):
    signal = np.sin(np.linspace(0, 200, 2 * 400)).reshape(2, 400).astype("float32")
    signal += np.random.RandomState(0).normal(scale=0.1, size=signal.shape).astype("float32")
    frames = 1 + 400 // kwargs["sequence_stride"]
    rel = 1e-3 if kwargs.get("power_to_db", True) else 1e-4
    run_layer_test(loom.layers.MelSpectrogram, kwargs, input_data=signal,
                   expected_output_shape=(2, kwargs["num_mel_bins"], frames), keras_cls=keras.layers.MelSpectrogram,
                   run_training_check=False, atol=rel * 100, rtol=rel)


@pytest.mark.parametrize("kwargs", [
    {"frame_length": 32, "frame_step": 16},
    {"mode": "magnitude", "frame_length": 24, "fft_length": 32, "padding": "same", "expand_dims": True},
    {"mode": "psd", "frame_length": 16, "window": "hamming", "scaling": "spectrum"},
    {"mode": "stft", "frame_length": 16, "periodic": True},
    {"mode": "angle", "frame_length": 16},
    {"mode": "real", "frame_length": 16, "data_format": "channels_first"},
    {"mode": "imag", "frame_length": 16, "window": None, "scaling": None},
])
def test_stft_spectrogram(kwargs):
    shape = (2, 2, 96) if kwargs.get("data_format") == "channels_first" else (2, 96, 2)
    weights = 1 if kwargs.get("mode") in ("real", "imag") else 2
    run_layer_test(loom.layers.STFTSpectrogram, kwargs, input_shape=shape, keras_cls=keras.layers.STFTSpectrogram,
                   expected_num_trainable_weights=weights, atol=1e-4, rtol=1e-4)


def test_bad_arguments_and_inputs():
    with pytest.raises(ConfigError):
        loom.layers.MelSpectrogram(fft_length=64, sequence_length=128)
    with pytest.raises(ConfigError):
        loom.layers.STFTSpectrogram(mode="power")
    with pytest.raises(ConfigError):
        loom.layers.STFTSpectrogram(frame_length=16, frame_step=32)
    with pytest.raises(ShapeError):
        loom.layers.MelSpectrogram(fft_length=64, sequence_stride=32)(torch.zeros(2, 3, 100))
    with pytest.raises(ShapeError):
        loom.layers.STFTSpectrogram(frame_length=16)(torch.zeros(1, 64))
    assert loom.layers.STFTSpectrogram(frame_length=16)(torch.zeros(1, 64, 1, dtype=torch.int32)).dtype == torch.float32
