"""Drawing and plotting images with their labels, boxes and masks, as ``keras.visualization``.

Example:
    >>> import numpy as np, loom
    >>> images = np.zeros((1, 4, 4, 3), "uint8")
    >>> masks = np.array([[[1, 1, 0, 0]] * 4])[..., None]
    >>> loom.visualization.draw_segmentation_masks(images, masks, num_classes=2).shape
    (1, 4, 4, 3)
"""

from loom.visualization.draw import draw_bounding_boxes, draw_segmentation_masks
from loom.visualization.gallery import plot_bounding_box_gallery, plot_image_gallery, plot_segmentation_mask_gallery

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery", "plot_image_gallery",
           "plot_segmentation_mask_gallery"]
