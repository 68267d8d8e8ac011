"""``keras.preprocessing.image``: image file and array helpers (see :mod:`loom.utils.image_utils`).

Example:
    >>> import numpy as np
    >>> img_to_array(array_to_img(np.zeros((2, 2, 3)))).shape
    (2, 2, 3)
"""

from loom.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]
