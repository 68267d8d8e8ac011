"""Keras's audio preprocessing layers: ``MelSpectrogram`` and ``STFTSpectrogram``.

Example:
    >>> import torch, loom
    >>> loom.layers.MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8)(torch.randn(2, 256)).shape
    torch.Size([2, 8, 9])
"""

from loom.layers.preprocessing.audio.spectrogram import MelSpectrogram, STFTSpectrogram

__all__ = ["MelSpectrogram", "STFTSpectrogram"]
