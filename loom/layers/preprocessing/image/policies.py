"""Augmentation policies built from the other layers: ``RandAugment`` (Cubuk et al., 2020) and ``AugMix``
(Hendrycks et al., 2020). Their transformations hold the sub-layers' transformations under the sub-layers'
names, as Keras's do.

Example:
    >>> import torch, loom
    >>> loom.layers.RandAugment(num_ops=2, factor=0.3, seed=0)(torch.rand(2, 8, 8, 3) * 255, training=True).shape
    torch.Size([2, 8, 8, 3])
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.layers.layer_args import positive_int_arg
from loom.layers.preprocessing.image.base import BaseImagePreprocessingLayer, factor_range, is_number
from loom.layers.preprocessing.image.color import (RandomBrightness, RandomColorDegeneration, RandomContrast,
                                                   RandomPosterization, RandomSharpness, Solarization)
from loom.layers.preprocessing.image.geometric import RandomRotation, RandomShear, RandomTranslation
from loom.layers.preprocessing.image.histogram import AutoContrast, Equalization
from loom.random import beta as random_beta, gamma as random_gamma

_GEOMETRIC = ("random_shear", "random_translation", "random_rotation")
_COLOR = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")
_POINT = ("random_posterization", "solarization", "auto_contrast", "equalization")


class _Policy(BaseImagePreprocessingLayer):
    """Builds the named sub-layers with one strength ``factor`` (as Keras's RandAugment and AugMix)."""

    _USE_BASE_FACTOR = False

    def _build_ops(self, names: tuple, value_range: Any, interpolation: str, seed: int | None,
                   data_format: str | None) -> None:
        f, fmt = self.factor, data_format
        makers = {
            "random_shear": lambda: RandomShear(f, f, interpolation=interpolation, seed=seed, data_format=fmt),
            "random_translation": lambda: RandomTranslation(f, f, interpolation=interpolation, seed=seed,
                                                            data_format=fmt),
            "random_rotation": lambda: RandomRotation(f, interpolation=interpolation, seed=seed, data_format=fmt),
            "random_brightness": lambda: RandomBrightness(f, value_range=value_range, seed=seed, data_format=fmt),
            "random_color_degeneration": lambda: RandomColorDegeneration(f, value_range=value_range, seed=seed,
                                                                         data_format=fmt),
            "random_contrast": lambda: RandomContrast(f, value_range=value_range, seed=seed, data_format=fmt),
            "random_sharpness": lambda: RandomSharpness(f, value_range=value_range, seed=seed, data_format=fmt),
            "random_posterization": lambda: RandomPosterization(max(1, int(8 * f[1])), value_range=value_range,
                                                                seed=seed, data_format=fmt),
            "solarization": lambda: Solarization(f, f, value_range=value_range, seed=seed, data_format=fmt),
            "auto_contrast": lambda: AutoContrast(value_range=value_range, data_format=fmt),
            "equalization": lambda: Equalization(value_range=value_range, data_format=fmt),
        }
        self._op_names = names
        for name in names:
            setattr(self, name, makers[name]())

    def _op_transformation(self, name: str, data: Any, rng: torch.Generator) -> Any:
        seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=rng))
        return getattr(self, name).get_random_transformation(data, training=True, seed=seed)

    def _apply_op(self, name: str, images: torch.Tensor, transformation: Any) -> torch.Tensor:
        return getattr(self, name).transform_images(images, transformation, training=True)


class RandAugment(_Policy):
    """Apply ``num_ops`` operations picked at random among eleven, all of strength ``factor`` (Cubuk et al., 2020).

    The operations are shear, translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast and equalization, each one of loom's layers built with this layer's
    factor range (``(0, f)`` for a number ``f``; posterization keeps ``[1, int(8 * upper))`` bits, at least 1).
    Each call (in training) picks ``num_ops`` of them with replacement, the same for the whole batch, and applies
    them in turn; each operation draws its own random parameters per image.

    Args:
        value_range: ``(min, max)`` of the images, passed to the colour and histogram operations (default
            ``(0, 255)``).
        num_ops: the number of operations applied per call, a positive int (default ``2``).
        factor: the strength: a number ``f`` in [0, 1] means ``[0, f]``, or a pair (default ``0.5``).
        interpolation: for the geometric operations, ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed of the layer's generator, also given to the operations (default ``None``: unseeded).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The augmented images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with ``'images'`` replaced (labels and masks unchanged).

    Raises:
        ConfigError: a ``num_ops`` that is not a positive int, a ``factor`` out of [0, 1], or an argument an
            operation refuses (``value_range``, ``interpolation``, ``data_format``); a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandAugment(num_ops=2, factor=0.3, seed=1)
        >>> x = torch.rand(2, 8, 8, 3, generator=torch.Generator().manual_seed(0)) * 255
        >>> layer(x, training=True).shape, bool(torch.equal(layer(x, training=False), x))  # inference
        (torch.Size([2, 8, 8, 3]), True)
    """

    _AUGMENT_LAYERS = _GEOMETRIC + ("random_brightness", "random_color_degeneration", "random_contrast",
                                    "random_sharpness") + _POINT

    def __init__(self, value_range: Any = (0, 255), num_ops: int = 2, factor: Any = 0.5,
                 interpolation: str = "bilinear", seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range
        self.num_ops = positive_int_arg(self, "num_ops", num_ops)
        self.factor = factor_range(self, factor, (0, 1))
        self.interpolation = interpolation
        self._build_ops(self._AUGMENT_LAYERS, value_range, interpolation, seed, data_format)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        rng = self._rng(seed)
        idxes = torch.randint(0, len(self._AUGMENT_LAYERS), (self.num_ops,), generator=rng)
        transforms = {name: self._op_transformation(name, data, rng) for name in self._AUGMENT_LAYERS}
        return {"transforms": transforms, "layer_idxes": idxes}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        transforms = transformation["transforms"]
        names = list(transforms)
        for idx in torch.as_tensor(transformation["layer_idxes"]).reshape(-1).tolist():
            images = self._apply_op(names[int(idx)], images, transforms[names[int(idx)]])
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "num_ops": self.num_ops,
                "factor": self.factor, "interpolation": self.interpolation, "seed": self.seed}


class AugMix(_Policy):
    """Mix several chains of random operations, then blend the mix with the original (Hendrycks et al., 2020).

    In training, each of ``num_chains`` chains applies up to ``chain_depth`` operations (each step picks one
    operation at random or is skipped): shear, translation, rotation, posterization, solarization, auto-contrast,
    equalization and, with ``all_ops``, brightness, colour degeneration, contrast and sharpness, each of strength
    ``factor``. The chains are summed with Dirichlet(``alpha``) weights and the result is
    ``w * x + (1 - w) * mix`` with ``w ~ Beta(alpha, alpha)``, clipped to ``value_range``. The chains and weights
    are drawn once per call (each operation still draws its parameters per image).

    Args:
        value_range: ``(min, max)`` of the images; results are clipped to it (default ``(0, 255)``).
        num_chains: the number of chains, a positive int (default ``3``).
        chain_depth: the maximum number of operations per chain, a positive int (default ``3``).
        factor: the operations' strength: a number ``f`` in [0, 1] means ``[0, f]``, or a pair (default ``0.3``).
        alpha: the parameter of the Dirichlet and Beta distributions, a positive number (default ``1.0``).
        all_ops: also use brightness, colour degeneration, contrast and sharpness (default ``True``).
        interpolation: for the geometric operations, ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed of the layer's generator, also given to the operations (default ``None``: unseeded).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The augmented images, within ``value_range``; the input unchanged outside training. Integer images come
            back in the layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels and
            masks unchanged).

    Raises:
        ConfigError: a ``num_chains`` or ``chain_depth`` that is not a positive int, a ``factor`` out of [0, 1], a
            non-positive ``alpha``, or an argument an operation refuses (``value_range``, ``interpolation``,
            ``data_format``); a dict input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> x = torch.rand(2, 8, 8, 3, generator=torch.Generator().manual_seed(0)) * 255
        >>> y = loom.layers.AugMix(seed=1)(x, training=True)
        >>> y.shape, bool(y.min() >= 0 and y.max() <= 255)
        (torch.Size([2, 8, 8, 3]), True)
    """

    def __init__(self, value_range: Any = (0, 255), num_chains: int = 3, chain_depth: int = 3, factor: Any = 0.3,
                 alpha: float = 1.0, all_ops: bool = True, interpolation: str = "bilinear", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range
        self.num_chains = positive_int_arg(self, "num_chains", num_chains)
        self.chain_depth = positive_int_arg(self, "chain_depth", chain_depth)
        self.factor = factor_range(self, factor, (0, 1))
        if not is_number(alpha) or alpha <= 0:
            raise ConfigError(f"AugMix '{self.name}': `alpha` must be a positive number, got {alpha!r}.")
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation
        names = _GEOMETRIC + _POINT + (_COLOR if all_ops else ())
        self._build_ops(names, value_range, interpolation, seed, data_format)

    def _seed(self, rng: torch.Generator) -> int:
        return int(torch.randint(0, 2 ** 31 - 1, (), generator=rng))

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        rng = self._rng(seed)
        gammas = random_gamma((self.num_chains,), self.alpha, seed=self._seed(rng))
        weight = random_beta((), self.alpha, self.alpha, seed=self._seed(rng))
        chains = []
        for _ in range(self.num_chains):
            steps = []
            for _ in range(self.chain_depth):
                pick = int(torch.randint(0, len(self._op_names) + 1, (), generator=rng))
                if pick < len(self._op_names):
                    name = self._op_names[pick]
                    steps.append({"layer_name": name, "transformation": self._op_transformation(name, data, rng)})
            chains.append(steps)
        return {"chain_mixing_weights": gammas / gammas.sum(), "weight_sample": weight, "chain_transforms": chains}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        weights = torch.as_tensor(transformation["chain_mixing_weights"]).to(images.device, images.dtype)
        weight = torch.as_tensor(transformation["weight_sample"]).to(images.device, images.dtype)
        mixed = torch.zeros_like(images)
        for index, chain in enumerate(transformation["chain_transforms"]):
            chained = images
            for step in chain:
                chained = self._apply_op(step["layer_name"], chained, step["transformation"])
            mixed = mixed + chained * weights[index]
        out = weight * images + (1 - weight) * mixed
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}
