"""Write docs/api/layers.md: one mkdocstrings block per public layer of ``loom.layers``, grouped by module.

Run from the repository root after adding layers: ``python scripts/gen_docs_pages.py``. A test checks that
the page lists every public layer, so a new layer cannot miss the docs.
"""

from __future__ import annotations

import inspect
import os
import sys

TITLES = {"activation": "Activations", "bidirectional": "Recurrent", "convolutional": "Convolution",
          "dense": "Core", "dropout": "Regularization", "embedding": "Core", "gru": "Recurrent",
          "input_layer": "Core", "input_spec": "Core", "lambda_layer": "Core", "layer": "Core", "lstm": "Recurrent",
          "masking": "Core", "merging": "Merging", "noise": "Regularization", "normalization": "Normalization",
          "pooling": "Pooling", "reshaping": "Reshaping", "rnn_base": "Recurrent", "separable": "Convolution",
          "simple_rnn": "Recurrent", "spatial": "Reshaping", "time_distributed": "Recurrent",
          "torch_module": "Core"}


def public_layers() -> dict[str, list[str]]:
    """``{section title: [exported class names]}``, aliases (``Convolution2D``...) left out."""
    sys.path.insert(0, os.getcwd())
    import loom.layers
    sections: dict[str, list[str]] = {}
    for name in sorted(dir(loom.layers)):
        obj = getattr(loom.layers, name)
        if not inspect.isclass(obj) or name.startswith("_") or obj.__name__ != name:
            continue
        if not obj.__module__.startswith("loom.layers"):
            continue
        module = obj.__module__.split(".")[-1]
        sections.setdefault(TITLES.get(module, module.replace("_", " ").title()), []).append(name)
    return dict(sorted(sections.items()))


def render(sections: dict[str, list[str]]) -> str:
    lines = ["# Layers", "", "Every layer is a `torch.nn.Module` with Keras 3's arguments, shapes and weights.", ""]
    for title, names in sections.items():
        lines += [f"## {title}", ""]
        for name in names:
            lines += [f"::: loom.layers.{name}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(os.path.join("docs", "api", "layers.md"), "w", encoding="utf-8") as f:
        f.write(render(public_layers()))
