"""The five benchmark models, written once against the Keras API (``lib`` is ``loom`` or ``keras``) and once as
plain ``torch.nn`` modules for the hand-written loop, plus random data for each.

Each :class:`Spec` says how to build the model in both worlds, its batch size, the data, and the loss. The
torch modules compute the same functions in torch's natural layout (channels first), with Keras's
initial settings where they change the speed (BatchNormalization momentum and epsilon).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

LAYERS_NEEDED = {
    "M1": ["Dense"],
    "M2": ["Embedding", "Conv1D", "MaxPooling1D", "GlobalMaxPooling1D", "Dense"],
    "M3": ["SeparableConv2D", "MaxPooling2D", "GlobalAveragePooling2D", "Dense"],
    "M4": ["Embedding", "LSTM", "Dense"],
    "M5": ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D", "GlobalAveragePooling2D", "Dense"],
}


@dataclass
class Spec:
    name: str
    title: str
    batch_size: int
    samples: int          # training samples per epoch (full run)
    quick_samples: int    # with --quick
    loss: str             # Keras loss name; the torch loop uses the same formula
    build: Callable       # build(lib) -> Keras-API model
    torch_build: Callable  # torch_build() -> nn.Module (inputs in the same order as x)
    make_data: Callable   # make_data(n, rng) -> (list of x arrays, y array)


# --------------------------------------------------------------------------------------------- M1 MLP
def m1(lib):
    inputs = lib.Input((64,))
    x = lib.layers.Dense(32, activation="relu")(inputs)
    x = lib.layers.Dense(32, activation="relu")(x)
    return lib.Model(inputs, lib.layers.Dense(10, activation="softmax")(x))


def m1_torch():
    import torch.nn as nn
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10),
                         nn.Softmax(-1))


def m1_data(n, rng):
    return [rng.random((n, 64), dtype=np.float32)], rng.integers(0, 10, n)


# -------------------------------------------------------------------------------------- M2 text convnet
def m2(lib):
    inputs = lib.Input((100,), dtype="int32")
    x = lib.layers.Embedding(2000, 128)(inputs)
    x = lib.layers.Conv1D(32, 7, activation="relu")(x)
    x = lib.layers.MaxPooling1D(5)(x)
    x = lib.layers.Conv1D(32, 7, activation="relu")(x)
    x = lib.layers.GlobalMaxPooling1D()(x)
    return lib.Model(inputs, lib.layers.Dense(1, activation="sigmoid")(x))


def m2_torch():
    import torch
    import torch.nn as nn

    class TextConv(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(2000, 128)
            self.conv1 = nn.Conv1d(128, 32, 7)
            self.conv2 = nn.Conv1d(32, 32, 7)
            self.out = nn.Linear(32, 1)

        def forward(self, tokens):
            x = self.embed(tokens).transpose(1, 2)
            x = torch.max_pool1d(torch.relu(self.conv1(x)), 5)
            x = torch.relu(self.conv2(x)).amax(-1)
            return torch.sigmoid(self.out(x))
    return TextConv()


def m2_data(n, rng):
    return [rng.integers(0, 2000, (n, 100)).astype("int32")], rng.integers(0, 2, (n, 1)).astype("float32")


# -------------------------------------------------------------------------- M3 separable convnet (book)
def m3(lib):
    sep = lib.layers.SeparableConv2D
    inputs = lib.Input((64, 64, 3))
    x = sep(32, 3, activation="relu")(inputs)
    x = sep(64, 3, activation="relu")(x)
    x = lib.layers.MaxPooling2D(2)(x)
    x = sep(64, 3, activation="relu")(x)
    x = sep(128, 3, activation="relu")(x)
    x = lib.layers.MaxPooling2D(2)(x)
    x = sep(64, 3, activation="relu")(x)
    x = sep(128, 3, activation="relu")(x)
    x = lib.layers.GlobalAveragePooling2D()(x)
    x = lib.layers.Dense(32, activation="relu")(x)
    return lib.Model(inputs, lib.layers.Dense(10, activation="softmax")(x))


def m3_torch():
    import torch
    import torch.nn as nn

    def sep(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cin, 3, groups=cin, bias=False), nn.Conv2d(cin, cout, 1), nn.ReLU())

    class SepNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(sep(3, 32), sep(32, 64), nn.MaxPool2d(2), sep(64, 64), sep(64, 128),
                                          nn.MaxPool2d(2), sep(128, 64), sep(64, 128))
            self.head = nn.Sequential(nn.Linear(128, 32), nn.ReLU(), nn.Linear(32, 10), nn.Softmax(-1))

        def forward(self, images):
            x = self.features(images.permute(0, 3, 1, 2))
            return self.head(x.mean((2, 3)))
    return SepNet()


def m3_data(n, rng):
    return [rng.random((n, 64, 64, 3), dtype=np.float32)], np.eye(10, dtype="float32")[rng.integers(0, 10, n)]


# ------------------------------------------------------------------------- M4 question answering (book)
def m4(lib):
    text = lib.Input((None,), dtype="int32", name="text")
    encoded_text = lib.layers.LSTM(32)(lib.layers.Embedding(10000, 64)(text))
    question = lib.Input((None,), dtype="int32", name="question")
    encoded_question = lib.layers.LSTM(16)(lib.layers.Embedding(10000, 32)(question))
    merged = lib.layers.concatenate([encoded_text, encoded_question], axis=-1)
    return lib.Model([text, question], lib.layers.Dense(500, activation="softmax")(merged))


def m4_torch():
    import torch
    import torch.nn as nn

    class QA(nn.Module):
        def __init__(self):
            super().__init__()
            self.text_embed, self.text_lstm = nn.Embedding(10000, 64), nn.LSTM(64, 32, batch_first=True)
            self.q_embed, self.q_lstm = nn.Embedding(10000, 32), nn.LSTM(32, 16, batch_first=True)
            self.out = nn.Linear(48, 500)

        def forward(self, text, question):
            t = self.text_lstm(self.text_embed(text))[1][0][0]
            q = self.q_lstm(self.q_embed(question))[1][0][0]
            return torch.softmax(self.out(torch.cat([t, q], -1)), -1)
    return QA()


def m4_data(n, rng):
    x = [rng.integers(1, 10000, (n, 100)).astype("int32"), rng.integers(1, 10000, (n, 100)).astype("int32")]
    return x, np.eye(500, dtype="float32")[rng.integers(0, 500, n)]


# ------------------------------------------------------------------------- M5 residual + batchnorm net
def _conv_bn(lib, x, filters, relu=True):
    x = lib.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = lib.layers.BatchNormalization()(x)
    return lib.layers.Activation("relu")(x) if relu else x


def m5(lib):
    inputs = lib.Input((32, 32, 3))
    x = _conv_bn(lib, inputs, 32)
    for _ in range(2):
        residual = x
        x = _conv_bn(lib, x, 32)
        x = _conv_bn(lib, x, 32, relu=False)
        x = lib.layers.Activation("relu")(lib.layers.add([x, residual]))
    x = lib.layers.MaxPooling2D(2)(x)
    x = lib.layers.GlobalAveragePooling2D()(x)
    return lib.Model(inputs, lib.layers.Dense(10, activation="softmax")(x))


def m5_torch():
    import torch
    import torch.nn as nn

    def conv_bn(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                             nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = conv_bn(3, 32)
            self.blocks = nn.ModuleList([nn.ModuleList([conv_bn(32, 32), conv_bn(32, 32)]) for _ in range(2)])
            self.out = nn.Linear(32, 10)

        def forward(self, images):
            x = torch.relu(self.stem(images.permute(0, 3, 1, 2)))
            for first, second in self.blocks:
                x = torch.relu(second(torch.relu(first(x))) + x)
            x = torch.max_pool2d(x, 2).mean((2, 3))
            return torch.softmax(self.out(x), -1)
    return ResNet()


def m5_data(n, rng):
    return [rng.random((n, 32, 32, 3), dtype=np.float32)], rng.integers(0, 10, n)


SPECS = {
    "M1": Spec("M1", "MLP 64-32-32-10", 128, 128 * 400, 128 * 40, "sparse_categorical_crossentropy", m1,
               m1_torch, m1_data),
    "M2": Spec("M2", "Embedding+Conv1D text", 128, 128 * 40, 128 * 4, "binary_crossentropy", m2, m2_torch,
               m2_data),
    "M3": Spec("M3", "SeparableConv2D 64x64", 32, 32 * 40, 32 * 4, "categorical_crossentropy", m3, m3_torch,
               m3_data),
    "M4": Spec("M4", "two-input QA (LSTM)", 128, 128 * 16, 128 * 2, "categorical_crossentropy", m4, m4_torch,
               m4_data),
    "M5": Spec("M5", "residual+BN 32x32", 64, 64 * 40, 64 * 4, "sparse_categorical_crossentropy", m5, m5_torch,
               m5_data),
}


def missing_layers(lib: Any, name: str) -> list[str]:
    """Layers ``name`` needs that ``lib.layers`` does not have (yet)."""
    return [layer for layer in LAYERS_NEEDED[name] if not hasattr(lib.layers, layer)]
