"""``keras.preprocessing``: dataset builders plus the Keras-2 module paths older code and books import.

* ``image_dataset_from_directory``, ``text_dataset_from_directory``, ``timeseries_dataset_from_array``
  (the same functions as in :mod:`loom.utils`).
* :mod:`loom.preprocessing.image`: ``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``,
  ``smart_resize``.
* :mod:`loom.preprocessing.sequence`: ``pad_sequences``.
* :mod:`loom.preprocessing.text`: the Keras-2 ``Tokenizer``, ``text_to_word_sequence``, ``one_hot``,
  ``hashing_trick`` (for new code prefer ``loom.layers.TextVectorization``).

Example:
    >>> from loom.preprocessing.sequence import pad_sequences
    >>> pad_sequences([[1, 2], [3]], maxlen=3).tolist()
    [[0, 1, 2], [0, 0, 3]]
"""

from loom.preprocessing import image, sequence, text
from loom.utils.image_dataset import image_dataset_from_directory
from loom.utils.text_dataset import text_dataset_from_directory
from loom.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["image", "image_dataset_from_directory", "sequence", "text", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
