"""Post-training quantization, as Keras 3's ``model.quantize(mode)``.

1. Train a small text classifier (``Embedding`` -> ``EinsumDense`` -> ``Dense``) in float32.
2. Quantize copies of it: ``'int8'`` (int8 weights and per-row int8 inputs), ``'int4'`` (4-bit weights in
   blocks of 128 input rows with zero points), and int4 with one scale per output channel
   (``Int4QuantizationConfig(block_size=None)``); compare accuracy and weight bytes with the float model.
3. Fine-tune the int8 model: the quantized kernels are frozen, the biases train (gradients reach the inputs
   through the dequantized kernels, as in Keras).
4. Save the int8 model as a ``.keras`` archive: Keras's ``keras.models.load_model`` opens it, and loom loads
   quantized ``.keras`` files written by Keras.

``'float8'`` (float8 training with delayed scaling) works the same way for ``Dense`` and ``EinsumDense``.

Run: ``python examples/quantization.py --smoke``.
"""

import os
import tempfile
import warnings

import numpy as np

import loom
from _common import parse_args


def build_model(vocabulary: int, steps: int) -> loom.Model:
    tokens = loom.Input((steps,), dtype="int32")
    x = loom.layers.Embedding(vocabulary, 32)(tokens)
    x = loom.layers.EinsumDense("abc,cd->abd", output_shape=(steps, 32), bias_axes="d", activation="relu")(x)
    x = loom.layers.GlobalAveragePooling1D()(x)
    model = loom.Model(tokens, loom.layers.Dense(2, activation="softmax")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def weight_bytes(model: loom.Model) -> int:
    return sum(w.nbytes for w in model.get_weights())


def quantized_copy(model: loom.Model, mode: str | None, config=None) -> loom.Model:
    copy = loom.models.clone_model(model)
    copy.set_weights(model.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Layer GlobalAveragePooling1D does not have a `quantize` method"
        copy.quantize(mode, config=config)
    copy.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return copy


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    samples, steps, vocabulary, epochs = (256, 10, 100, 2) if args.smoke else (4096, 40, 2000, 8)
    loom.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocabulary, (samples, steps)).astype("int32")
    y = (x < vocabulary // 4).mean(axis=1) > 0.25  # "many small ids"
    y = y.astype("int32")

    model = build_model(vocabulary, steps)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    print(f"float32: accuracy {model.evaluate(x, y, verbose=0)[1]:.3f}, {weight_bytes(model)} weight bytes")

    variants = {"int8": ("int8", None), "int4 (blocks of 128)": ("int4", None),
                "int4 (per channel)": (None, loom.quantizers.Int4QuantizationConfig(block_size=None))}
    quantized = {}
    for name, (mode, config) in variants.items():
        quantized[name] = q = quantized_copy(model, mode, config)
        policies = sorted({l.dtype_policy.name for l in q.layers if l.quantization_mode})
        print(f"{name}: accuracy {q.evaluate(x, y, verbose=0)[1]:.3f}, {weight_bytes(q)} weight bytes, "
              f"policies {policies}")

    int8 = quantized["int8"]
    history = int8.fit(x, y, epochs=1, batch_size=32, verbose=0).history
    print(f"int8 fine-tuned (biases only): loss {history['loss'][-1]:.4f}, "
          f"{len(int8.trainable_weights)} trainable weights")

    with tempfile.TemporaryDirectory(prefix="loom-quantization-") as workdir:
        path = os.path.join(workdir, "int8.keras")
        int8.save(path)
        restored = loom.models.load_model(path)
        same = np.array_equal(restored.predict(x, verbose=0), int8.predict(x, verbose=0))
        print(f".keras round trip of the int8 model: identical predictions: {same}; "
              f"kernel dtype {restored.layers[-1].kernel.dtype}")


if __name__ == "__main__":
    main()
