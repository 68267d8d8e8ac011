"""DLwP listings 7.1-7.2: a two-input question-answering model, fed by a list and by a dict of input names."""

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
text_vocabulary_size = 10000
question_vocabulary_size = 10000
answer_vocabulary_size = 500

text_input = keras.Input(shape=(None,), dtype="int32", name="text")
embedded_text = layers.Embedding(text_vocabulary_size, 64)(text_input)
encoded_text = layers.LSTM(32)(embedded_text)

question_input = keras.Input(shape=(None,), dtype="int32", name="question")
embedded_question = layers.Embedding(question_vocabulary_size, 32)(question_input)
encoded_question = layers.LSTM(16)(embedded_question)

concatenated = layers.concatenate([encoded_text, encoded_question], axis=-1)
answer = layers.Dense(answer_vocabulary_size, activation="softmax")(concatenated)

model = keras.Model([text_input, question_input], answer)
model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["acc"])
model.summary()

num_samples = 64 if args.smoke else 1000
max_length = 20 if args.smoke else 100
text = np.random.randint(1, text_vocabulary_size, size=(num_samples, max_length))
question = np.random.randint(1, question_vocabulary_size, size=(num_samples, max_length))
answers = keras.utils.to_categorical(np.random.randint(0, answer_vocabulary_size, num_samples),
                                     answer_vocabulary_size)

epochs = 1 if args.smoke else 10
history = model.fit([text, question], answers, epochs=epochs, batch_size=128, verbose=2)
history = model.fit({"text": text, "question": question}, answers, epochs=epochs, batch_size=128, verbose=2)
print("history keys:", sorted(history.history))
