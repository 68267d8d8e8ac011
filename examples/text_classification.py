"""Text classification: TextVectorization + Embedding + LSTM on a small generated review corpus.

The vectorizer learns its vocabulary with ``adapt`` and turns raw strings into padded token ids in the data
pipeline (torch has no string tensors, so strings stay outside the model); the model then trains on the ids.
At the end the adapted vectorizer and the trained model are saved and restored, and classify new raw reviews,
also chained in a ``Pipeline`` that takes raw strings.
"""

import json
import os
import tempfile

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

POSITIVE = ["great", "wonderful", "loved", "excellent", "superb", "delightful", "brilliant", "enjoyable"]
NEGATIVE = ["awful", "boring", "hated", "terrible", "dull", "painful", "weak", "disappointing"]
FILLER = ["the", "movie", "plot", "acting", "was", "really", "quite", "and", "story", "film", "very", "cast"]


def make_reviews(n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """``n`` short reviews: filler words plus sentiment words, labelled 1 (positive) or 0 (negative)."""
    texts, labels = [], rng.integers(0, 2, n)
    for label in labels:
        words = list(rng.choice(FILLER, rng.integers(4, 9)))
        mood = POSITIVE if label else NEGATIVE
        for _ in range(rng.integers(1, 3)):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(mood)))
        text = " ".join(words).capitalize() + rng.choice([".", "!", "..."])
        texts.append(text)
    return texts, labels.astype("float32")


def main() -> None:
    args = parse_args(__doc__)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n_train, epochs = (256, 2) if args.smoke else (2000, 4)
    train_texts, train_labels = make_reviews(n_train, rng)
    test_texts, test_labels = make_reviews(n_train // 4, rng)

    vectorizer = layers.TextVectorization(max_tokens=64, output_sequence_length=12)
    vectorizer.adapt(train_texts)
    print("vocabulary:", vectorizer.get_vocabulary()[:10], "...")
    x_train, x_test = vectorizer(train_texts), vectorizer(test_texts)

    model = keras.Sequential([
        keras.Input((12,), dtype="int64"),
        layers.Embedding(vectorizer.vocabulary_size(), 16, mask_zero=True),
        layers.LSTM(16),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, train_labels, epochs=epochs, batch_size=32, verbose=2)
    loss, accuracy = model.evaluate(x_test, test_labels, verbose=0)
    print(f"test accuracy: {accuracy:.3f}")

    folder = tempfile.mkdtemp()
    model.save(os.path.join(folder, "classifier.loom"))
    with open(os.path.join(folder, "vectorizer.json"), "w", encoding="utf-8") as f:
        json.dump(vectorizer.get_config(), f)  # the config carries the adapted vocabulary
    with open(os.path.join(folder, "vectorizer.json"), encoding="utf-8") as f:
        restored_vectorizer = layers.TextVectorization.from_config(json.load(f))
    restored_model = keras.models.load_model(os.path.join(folder, "classifier.loom"))
    reviews = ["A wonderful film, loved the cast!", "Boring and painful story."]
    scores = restored_model.predict(restored_vectorizer(reviews), verbose=0)[:, 0]
    for review, score in zip(reviews, scores):
        print(f"{score:.2f}  {review}")
    assert restored_vectorizer.get_vocabulary() == vectorizer.get_vocabulary()

    end_to_end = layers.Pipeline([restored_vectorizer, restored_model])  # raw strings in, scores out
    np.testing.assert_allclose(end_to_end(reviews).detach().numpy()[:, 0], scores, rtol=1e-5, atol=1e-6)
    if not args.smoke:
        assert accuracy > 0.9, accuracy


if __name__ == "__main__":
    main()
