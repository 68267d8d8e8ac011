"""Writers of small real image / text / WAV directory trees for the data-utility tests."""

import os
import wave

import numpy as np
from PIL import Image


def write_images(root, sizes=None, classes=("cats", "dogs"), per_class=3, ext="png", seed=0):
    """``root/<class>/<i>.<ext>`` RGB images with random pixels; ``sizes[i]`` is (h, w) of file i (default 6x8)."""
    rng = np.random.RandomState(seed)
    k = 0
    for cls in classes:
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for i in range(per_class):
            h, w = sizes[k] if sizes else (6, 8)
            pixels = rng.randint(0, 256, size=(h, w, 3)).astype("uint8")
            Image.fromarray(pixels).save(os.path.join(root, cls, f"{i}.{ext}"))
            k += 1
    return root


def write_texts(root, classes=("neg", "pos"), per_class=3):
    for c, cls in enumerate(classes):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for i in range(per_class):
            with open(os.path.join(root, cls, f"{i}.txt"), "w", encoding="utf-8") as f:
                f.write(f"text {cls} number {i} " + "word " * (c + i))
    return root


def write_wavs(root, classes=("no", "yes"), per_class=3, rate=8000, seed=0):
    rng = np.random.RandomState(seed)
    for cls in classes:
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for i in range(per_class):
            samples = rng.randint(-30000, 30000, size=20 + 5 * i).astype("<i2")
            with wave.open(os.path.join(root, cls, f"{i}.wav"), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(samples.tobytes())
    return root
