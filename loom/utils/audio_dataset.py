"""``audio_dataset_from_directory``: a streaming dataset of WAV files (and labels) from a directory tree.

Same arguments, file order, labels and subsets as ``keras.utils.audio_dataset_from_directory``. WAV files
(PCM, 8/16/24/32-bit) are read with the standard library's :mod:`wave` one batch at a time into float32
``(batch, samples, channels)`` tensors scaled to [-1, 1), as ``tf.audio.decode_wav``. Without
``output_sequence_length`` a batch is zero-padded to its longest clip; with ``ragged=True`` a batch is a list
of ``(samples, channels)`` tensors.

Example:
    >>> import os, tempfile, wave
    >>> root = tempfile.mkdtemp()
    >>> for cls, n in (("no", 3), ("yes", 5)):
    ...     os.makedirs(os.path.join(root, cls))
    ...     with wave.open(os.path.join(root, cls, "0.wav"), "wb") as w:
    ...         w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(bytes(2 * n))
    >>> ds = audio_dataset_from_directory(root, shuffle=False, verbose=False)
    >>> x, y = next(iter(ds))
    >>> tuple(x.shape), y.tolist()
    ((2, 5, 1), [0, 1])
"""

from __future__ import annotations

import wave
from typing import Any, Sequence

import numpy as np
import torch

from loom.errors import ConfigError, InputError
from loom.utils import dataset_index
from loom.utils.file_dataset import FileDataset

ALLOWED_FORMATS = (".wav",)
_NAME = "audio_dataset_from_directory"


def audio_dataset_from_directory(
    directory: str, labels: Any = "inferred", label_mode: str | None = "int",
    class_names: Sequence[str] | None = None, batch_size: int | None = 32, sampling_rate: int | None = None,
    output_sequence_length: int | None = None, ragged: bool = False, shuffle: bool = True, seed: int | None = None,
    validation_split: float | None = None, subset: str | None = None, follow_links: bool = False,
    verbose: bool = True,
) -> FileDataset | list[FileDataset]:
    """Audio clips from the ``.wav`` files under ``directory`` as a streaming dataset.

    Args:
        directory: Root directory. With inferred labels, each subdirectory is a class (sorted by name).
        labels: ``"inferred"``, a list of integer labels (files in sorted path order), or ``None``. Defaults to
            `"inferred"`.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or ``None``. Defaults to `"int"`.
        class_names: With inferred labels, the subdirectories to use, in label order. Defaults to `None`.
        batch_size: Clips per batch; ``None`` yields single clips. Defaults to `32`.
        sampling_rate: Resample every clip to this rate (linear interpolation). Defaults to `None`: as stored.
        output_sequence_length: Cut or zero-pad every clip to this many samples. Defaults to `None`.
        ragged: Yield each batch as a list of clips of their own lengths. Defaults to `False`.
        shuffle: Shuffle the files (again after every pass). Defaults to `True`.
        seed: Seed of the shuffles. Defaults to `None`.
        validation_split: Fraction of the files kept for validation. Defaults to `None`.
        subset: ``"training"``, ``"validation"`` or ``"both"``. Defaults to `None`.
        follow_links: Follow symbolic links to subdirectories. Defaults to `False`.
        verbose: Print how many files were found. Defaults to `True`.

    Returns:
        A :class:`FileDataset` (``[train, validation]`` for ``subset="both"``).

    Raises:
        ConfigError: invalid arguments.
        InputError: no class folders, no ``.wav`` files, or a file that is not PCM WAV.
    """
    if ragged and output_sequence_length is not None:
        raise ConfigError(f"{_NAME}: cannot set both `ragged` and `output_sequence_length`.")
    if sampling_rate is not None and (not isinstance(sampling_rate, int) or sampling_rate <= 0):
        raise ConfigError(f"{_NAME}: `sampling_rate` must be a positive integer; got {sampling_rate!r}.")
    if output_sequence_length is not None and (not isinstance(output_sequence_length, int)
                                               or output_sequence_length <= 0):
        raise ConfigError(f"{_NAME}: `output_sequence_length` must be a positive integer; got "
                          f"{output_sequence_length!r}.")

    def load(batch_paths: list[str]) -> Any:
        clips = [_fit_length(read_wav(p, sampling_rate)[0], output_sequence_length) for p in batch_paths]
        return clips if ragged else _pad_stack(clips)

    return dataset_index.datasets_from_directory(
        directory, labels, label_mode, class_names, ALLOWED_FORMATS, load, batch_size=batch_size, shuffle=shuffle,
        seed=seed, validation_split=validation_split, subset=subset, follow_links=follow_links, verbose=verbose,
        what="audio files", caller=_NAME)


def read_wav(path: str, sampling_rate: int | None = None) -> tuple[torch.Tensor, int]:
    """A PCM WAV file as ``(float32 (samples, channels) in [-1, 1), sample rate)``, optionally resampled."""
    try:
        with wave.open(path, "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as e:
        raise InputError(f"{_NAME}: cannot read {path!r} as a PCM WAV file ({e}).") from e
    if width == 1:
        values = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8
        values = ints.astype(np.float32) / float(1 << 23)
    elif width in (2, 4):
        ints = np.frombuffer(raw, "<i2" if width == 2 else "<i4")
        values = ints.astype(np.float32) / float(1 << (8 * width - 1))
    else:
        raise InputError(f"{_NAME}: {path!r} has {8 * width}-bit samples; only 8, 16, 24 and 32-bit PCM are read.")
    clip = torch.from_numpy(values.reshape(-1, channels).copy())
    if sampling_rate is not None and sampling_rate != rate and clip.shape[0] > 1:
        length = max(1, round(clip.shape[0] * sampling_rate / rate))
        clip = torch.nn.functional.interpolate(clip.T[None], size=length, mode="linear", align_corners=False)[0].T
        rate = sampling_rate
    return clip.contiguous(), rate


def _fit_length(clip: torch.Tensor, length: int | None) -> torch.Tensor:
    if length is None or clip.shape[0] == length:
        return clip
    if clip.shape[0] > length:
        return clip[:length]
    return torch.nn.functional.pad(clip, (0, 0, 0, length - clip.shape[0]))


def _pad_stack(clips: list[torch.Tensor]) -> torch.Tensor:
    channels = {c.shape[1] for c in clips}
    if len(channels) > 1:
        raise InputError(f"{_NAME}: clips of one batch have different channel counts {sorted(channels)}.")
    longest = max(c.shape[0] for c in clips)
    return torch.stack([_fit_length(c, longest) for c in clips])
