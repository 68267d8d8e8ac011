"""Moving a model between loom and Keras, and exporting it for serving.

1. Train a small model in loom and save it as a Keras 3 archive (``model.save("m.keras")``): the file is what
   Keras writes, so ``keras.models.load_model("m.keras")`` opens it (with Keras installed).
2. Load it back with ``loom.models.load_model``: architecture, weights, compile state and optimizer state, so
   ``fit`` continues where it stopped. A ``.keras`` file written by Keras loads the same way.
3. Export it: ``format="onnx"`` (run with onnxruntime) and ``format="torch"`` (a ``torch.export`` program that
   needs neither loom nor Keras).
4. ``keras.ops`` called on the model's inputs (``ops.image.resize``, ``rgb_to_grayscale``...) are saved as the
   operations Keras records for them, so such a model moves to Keras too.

The same moves on the command line: ``loom convert m.keras m.loom``, ``loom convert old_model.h5 m.keras``.

Run: ``python examples/keras_files.py --smoke``.
"""

import os
import tempfile

import numpy as np
import torch

import loom
from _common import parse_args


def build_model(vocabulary: int, steps: int) -> loom.Model:
    tokens = loom.Input((steps,), dtype="int32", name="tokens")
    x = loom.layers.Embedding(vocabulary, 16, mask_zero=True)(tokens)
    x = loom.layers.Bidirectional(loom.layers.LSTM(8))(x)
    out = loom.layers.Dense(1, activation="sigmoid", name="positive")(x)
    model = loom.Model(tokens, out)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    samples, steps, vocabulary = (64, 12, 50) if args.smoke else (2048, 40, 1000)
    loom.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, vocabulary, (samples, steps)).astype("int32")
    y = (x[:, :3].mean(axis=1) > vocabulary / 2).astype("float32")[:, None]

    model = build_model(vocabulary, steps)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    with tempfile.TemporaryDirectory(prefix="loom-keras-files-") as workdir:
        move_and_export(model, x, y, workdir)
        ops_in_the_graph(workdir)


def move_and_export(model: loom.Model, x: np.ndarray, y: np.ndarray, workdir: str) -> None:

    path = os.path.join(workdir, "sentiment.keras")
    model.save(path)  # a Keras 3 archive: config.json + model.weights.h5 (+ optimizer state)
    restored = loom.models.load_model(path)
    same = np.allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    print(f".keras round trip: identical predictions: {same}; optimizer step {restored.optimizer.iterations}")
    history = restored.fit(x, y, epochs=1, batch_size=16, verbose=0).history
    print(f"training continues from the file: loss {history['loss'][-1]:.4f}")

    onnx_path = os.path.join(workdir, "sentiment.onnx")
    model.export(onnx_path, format="onnx")
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime is not installed: the ONNX file is written but not run here")
    else:
        session = onnxruntime.InferenceSession(onnx_path)
        got = session.run(None, {session.get_inputs()[0].name: x[:5]})[0]
        print(f"ONNX (onnxruntime) equals predict: {np.allclose(got, model.predict(x[:5], verbose=0), atol=1e-5)}")

    program_path = os.path.join(workdir, "sentiment.pt2")
    model.export(program_path, format="torch")
    program = torch.export.load(program_path).module()  # plain torch from here on
    got = program(torch.from_numpy(x[:5]))[0].detach().numpy()
    print(f"torch.export program equals predict: {np.allclose(got, model.predict(x[:5], verbose=0), atol=1e-5)}")


def ops_in_the_graph(workdir: str) -> None:
    images = loom.Input((16, 16, 3), name="images")
    gray = loom.ops.image.rgb_to_grayscale(loom.ops.image.resize(images, (8, 8)))
    scores = loom.layers.Dense(2)(loom.layers.Flatten()(gray))
    model = loom.Model(images, scores)
    path = os.path.join(workdir, "grayscale.keras")
    model.save(path)
    restored = loom.models.load_model(path)
    batch = np.random.default_rng(1).random((4, 16, 16, 3)).astype("float32")
    same = np.array_equal(restored.predict(batch, verbose=0), model.predict(batch, verbose=0))
    recorded = [type(layer).__name__ for layer in restored.layers[1:3]]
    print(f"ops on inputs saved as Keras's operations {recorded}: identical predictions after loading: {same}")


if __name__ == "__main__":
    main()
