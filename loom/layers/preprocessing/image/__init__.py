"""Keras's image preprocessing and augmentation layers on torch (channels_last by default).

Example:
    >>> import torch, loom
    >>> aug = loom.Sequential([loom.layers.RandomFlip("horizontal", seed=0), loom.layers.RandomRotation(0.1, seed=0)])
    >>> aug(torch.rand(2, 8, 8, 3), training=True).shape
    torch.Size([2, 8, 8, 3])
"""

from loom.layers.preprocessing.image.base import BaseImagePreprocessingLayer
from loom.layers.preprocessing.image.resizing import CenterCrop, Rescaling, Resizing
from loom.layers.preprocessing.image.flip_crop import RandomCrop, RandomFlip
from loom.layers.preprocessing.image.geometric import (RandomElasticTransform, RandomPerspective, RandomRotation,
                                                       RandomShear, RandomTranslation, RandomZoom)
from loom.layers.preprocessing.image.color import (RandomBrightness, RandomColorDegeneration, RandomColorJitter,
                                                   RandomContrast, RandomGrayscale, RandomHue, RandomInvert,
                                                   RandomPosterization, RandomSaturation, RandomSharpness,
                                                   Solarization)
from loom.layers.preprocessing.image.histogram import (AutoContrast, ContrastLimitedAdaptiveHistogramEqualization,
                                                       Equalization)
from loom.layers.preprocessing.image.mixing import CutMix, MixUp, RandomErasing, RandomGaussianBlur
from loom.layers.preprocessing.image.bounding_boxes import MaxNumBoundingBoxes
from loom.layers.preprocessing.image.policies import AugMix, RandAugment

__all__ = ["AugMix", "RandAugment", "AutoContrast", "BaseImagePreprocessingLayer", "CenterCrop", "ContrastLimitedAdaptiveHistogramEqualization",
           "CutMix", "Equalization", "MaxNumBoundingBoxes", "MixUp", "RandomErasing", "RandomGaussianBlur", "RandomBrightness", "RandomColorDegeneration",
           "RandomColorJitter", "RandomContrast", "RandomCrop", "RandomElasticTransform", "RandomFlip",
           "RandomGrayscale", "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization",
           "RandomRotation", "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation",
           "RandomZoom", "Rescaling", "Resizing", "Solarization"]
