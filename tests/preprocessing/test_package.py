import numpy as np

import loom
from tests.keras_oracle import keras


def test_names_mirror_keras_preprocessing():
    for module, keras_module in ((loom.preprocessing, keras.preprocessing),
                                 (loom.preprocessing.image, keras.preprocessing.image),
                                 (loom.preprocessing.sequence, keras.preprocessing.sequence)):
        public = {n for n in dir(keras_module) if not n.startswith("_")}
        assert public <= set(dir(module)), public - set(dir(module))
    assert loom.preprocessing.image_dataset_from_directory is loom.utils.image_dataset_from_directory


def test_pad_sequences_matches_keras():
    seqs = [[1, 2, 3], [4], [5, 6]]
    np.testing.assert_array_equal(loom.preprocessing.sequence.pad_sequences(seqs, maxlen=2, padding="post"),
                                  keras.preprocessing.sequence.pad_sequences(seqs, maxlen=2, padding="post"))
