"""What the demo steps share: the data, the quick/full sizes, the output directory and the results."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from loom.datasets import fashion_mnist


@dataclass
class DemoContext:
    """Fashion-MNIST scaled to [0, 1] plus settings. ``quick`` shrinks everything to run in seconds."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    quick: bool
    workdir: str
    results: dict = field(default_factory=dict)

    @classmethod
    def load(cls, quick: bool, data_dir: str | None, workdir: str) -> "DemoContext":
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(path=data_dir)
        if quick:
            x_train, y_train, x_test, y_test = x_train[:3000], y_train[:3000], x_test[:1000], y_test[:1000]
        print(f"Fashion-MNIST: {len(x_train)} training and {len(x_test)} test images of 28x28")
        return cls(x_train.astype("float32") / 255.0, y_train.astype("int64"),
                   x_test.astype("float32") / 255.0, y_test.astype("int64"), quick, workdir)

    def epochs(self, full: int) -> int:
        return 1 if self.quick else full
