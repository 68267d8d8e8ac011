"""Knowledge distillation (keras.distillation): a small student learns from a larger teacher.

The teacher, an MLP trained on scikit-learn's handwritten digits, is frozen; the Distiller trains a student a
tenth its size on the labels and on the teacher's softened outputs (LogitsDistillation), then the student is
used on its own."""

import numpy as np
from sklearn.datasets import load_digits

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
epochs = 2 if args.smoke else 30
x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")
x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]
keras.utils.set_random_seed(0)


def mlp(units, name):
    return keras.Sequential([keras.Input((64,)), layers.Dense(units, activation="relu"), layers.Dense(10)], name=name)


teacher = mlp(256, "teacher")
teacher.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
teacher.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
print("teacher:", teacher.evaluate(x_test, y_test, verbose=0, return_dict=True))

student = mlp(16, "student")
distiller = keras.distillation.Distiller(
    teacher=teacher, student=student,
    distillation_losses=keras.distillation.LogitsDistillation(temperature=3.0, loss=keras.losses.KLDivergence()),
    student_loss_weight=0.3)
distiller.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
history = distiller.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=2)
print("logged:", sorted(history.history))
student.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
print("student alone:", student.evaluate(x_test, y_test, verbose=0, return_dict=True),
      f"({student.count_params()} parameters, teacher {teacher.count_params()})")
