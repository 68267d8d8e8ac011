"""DLwP 7.1.6: models as layers: one Xception convolutional base shared by two camera inputs."""

import numpy as np

import loom as keras
from loom import applications, layers
from _common import parse_args

args = parse_args(__doc__)
size = 71 if args.smoke else 250

xception_base = applications.Xception(weights=None, include_top=False)
left_input = keras.Input(shape=(size, size, 3))
right_input = keras.Input(shape=(size, size, 3))
left_features = xception_base(left_input)
right_features = xception_base(right_input)
merged_features = layers.concatenate([left_features, right_features], axis=-1)
model = keras.Model([left_input, right_input], merged_features)
print("merged features:", model.output_shape, "parameters:", model.count_params())
out = model.predict([np.random.random((1, size, size, 3)), np.random.random((1, size, size, 3))], verbose=0)
print("output:", out.shape)
