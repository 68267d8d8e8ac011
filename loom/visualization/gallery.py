"""Galleries of images (with labels, boxes or masks) in a matplotlib figure, as ``keras.visualization``'s.

Each function draws a grid of ``rows`` x ``cols`` images and saves it to ``path`` or shows it.

Example:
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "gallery.png")
    >>> plot_image_gallery(np.zeros((4, 8, 8, 3), "uint8"), path=path)
    >>> os.path.getsize(path) > 0
    True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from loom import config
from loom.errors import ConfigError, InputError
from loom.visualization.draw import _numpy, draw_bounding_boxes, draw_segmentation_masks

__all__ = ["plot_bounding_box_gallery", "plot_image_gallery", "plot_segmentation_mask_gallery"]


def _rescaled(images: np.ndarray, value_range: tuple) -> np.ndarray:
    low, high = value_range
    return np.clip((images.astype("float32") - low) / max(high - low, 1e-12) * 255, 0, 255)


def plot_image_gallery(images: Any, y_true: Any = None, y_pred: Any = None, label_map: dict | None = None,
                       rows: int | None = None, cols: int | None = None, value_range: tuple = (0, 255),
                       scale: float = 2, path: Any = None, show: bool | None = None, transparent: bool = True,
                       dpi: int = 60, legend_handles: list | None = None, data_format: str | None = None) -> None:
    """Plot ``images`` in a grid, titled with ``label_map`` names of ``y_true`` / ``y_pred``; save to ``path``
    or show (default: show when no ``path``).

    Raises:
        ConfigError: both ``path`` and ``show``, or labels without ``label_map``. InputError: not a 4-D batch.
    """
    import matplotlib
    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    if path is not None and show:
        raise ConfigError("plot_image_gallery: pass either `path` or `show=True`, not both.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ConfigError("plot_image_gallery: `label_map` is required with `y_true` or `y_pred`.")
    images = _numpy(images)
    if images.ndim != 4:
        raise InputError(f"plot_image_gallery: expected a batch of images (4-D); got shape {images.shape}.")
    if (data_format or config.image_data_format()) == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    batch = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch)))
    cols = cols or max(int(math.ceil(batch / rows)), 1)
    images = _rescaled(images[:rows * cols], value_range).astype("uint8")
    fig, axes = plt.subplots(rows, cols, figsize=(cols * scale, rows * scale), squeeze=False, frameon=False)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    truth = None if y_true is None else _numpy(y_true)
    pred = None if y_pred is None else _numpy(y_pred)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        image = images[index]
        axis.imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
        title = [f"{kind}: {label_map[int(labels[index])]}" for kind, labels in (("Label", truth), ("Pred", pred))
                 if labels is not None]
        if title:
            axis.set_title("\n".join(title), fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, transparent=transparent, dpi=dpi)
    elif show is None or show:
        plt.show()
    plt.close(fig)


def plot_bounding_box_gallery(images: Any, bounding_box_format: str, y_true: dict | None = None,
                              y_pred: dict | None = None, value_range: tuple = (0, 255),
                              true_color: tuple = (0, 188, 212), pred_color: tuple = (255, 235, 59),
                              line_thickness: int = 2, font_scale: float = 1.0, text_thickness: int | None = None,
                              class_mapping: dict | None = None, ground_truth_mapping: dict | None = None,
                              prediction_mapping: dict | None = None, legend: bool = False,
                              legend_handles: list | None = None, rows: int | None = None, cols: int | None = None,
                              data_format: str | None = None, **kwargs: Any) -> None:
    """Plot ``images`` with their true boxes (``true_color``) and predicted boxes (``pred_color``);
    ``kwargs`` go to :func:`plot_image_gallery` (``path``, ``show``, ``scale``...)."""
    images = _rescaled(_numpy(images), value_range).astype("uint8")
    for boxes, color, mapping in ((y_true, true_color, ground_truth_mapping or class_mapping),
                                  (y_pred, pred_color, prediction_mapping or class_mapping)):
        if boxes is not None:
            images = draw_bounding_boxes(images, boxes, bounding_box_format, class_mapping=mapping, color=color,
                                         line_thickness=line_thickness, font_scale=font_scale,
                                         text_thickness=text_thickness, data_format="channels_last")
    if legend and legend_handles is None:
        from matplotlib.patches import Patch
        legend_handles = [Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    plot_image_gallery(images, rows=rows, cols=cols, legend_handles=legend_handles, data_format="channels_last",
                       **kwargs)


def plot_segmentation_mask_gallery(images: Any, num_classes: int, value_range: tuple = (0, 255), y_true: Any = None,
                                   y_pred: Any = None, color_mapping: dict | None = None, blend: bool = True,
                                   alpha: float = 0.8, ignore_index: int = -1, data_format: str | None = None,
                                   **kwargs: Any) -> None:
    """Plot each image next to its true and predicted masks (one row per image); ``kwargs`` go to
    :func:`plot_image_gallery`."""
    images = _rescaled(_numpy(images), value_range).astype("uint8")
    if (data_format or config.image_data_format()) == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    panels = [images]
    for masks in (y_true, y_pred):
        if masks is not None:
            panels.append(draw_segmentation_masks(images, masks, num_classes=num_classes, color_mapping=color_mapping,
                                                  alpha=alpha, blend=blend, ignore_index=ignore_index,
                                                  data_format="channels_last"))
    grid = np.stack(panels, axis=1).reshape((-1,) + images.shape[1:])
    plot_image_gallery(grid, rows=len(images), cols=len(panels), data_format="channels_last", **kwargs)
