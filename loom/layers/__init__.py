"""loom layers: the Keras layer catalogue as ``torch.nn.Module``s.

Example:
    >>> import loom
    >>> loom.backend.clear_session()
    >>> loom.layers.Dense(4).name
    'dense'
"""

from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer
from loom.layers.input_layer import Input, InputLayer
from loom.layers.torch_module import TorchModuleWrapper
from loom.layers.dense import Dense


def serialize(layer):
    """A layer's Keras description (``{"module", "class_name", "config", "registered_name"}``, Keras's module
    names, so Keras reads it), as ``keras.layers.serialize``."""
    from loom.models.keras_config import to_keras
    from loom.serialization import serialize_keras_object
    return to_keras(serialize_keras_object(layer))


def deserialize(config, custom_objects=None):
    """The layer a :func:`serialize` description (or Keras's) stands for, as ``keras.layers.deserialize``."""
    from loom.serialization import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects)

from loom.layers.activation import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from loom.layers.dropout import Dropout
from loom.layers.embedding import Embedding
from loom.layers.lambda_layer import Lambda
from loom.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
                                 concatenate, dot, maximum, minimum, multiply, subtract)
from loom.layers.reshaping import Flatten, Permute, RepeatVector, Reshape

from loom.layers.convolutional import (Conv1D, Conv2D, Conv3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose,
                                      Convolution1D, Convolution2D, Convolution3D, Convolution1DTranspose,
                                      Convolution2DTranspose, Convolution3DTranspose)
from loom.layers.separable import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
                                   SeparableConvolution1D, SeparableConvolution2D)
from loom.layers.pooling import (MaxPooling1D, MaxPooling2D, MaxPooling3D, AveragePooling1D, AveragePooling2D,
                                 AveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
                                 GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
                                 MaxPool1D, MaxPool2D, MaxPool3D, AvgPool1D, AvgPool2D, AvgPool3D,
                                 GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D,
                                 GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D)
from loom.layers.spatial import (UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D, Cropping1D,
                                 Cropping2D)
from loom.layers.time_distributed import TimeDistributed

from loom.layers.normalization import BatchNormalization, GroupNormalization, LayerNormalization
from loom.layers.noise import (AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                               SpatialDropout3D)
from loom.layers.masking import Masking

from loom.layers.rnn_base import RecurrentLayer
from loom.layers.simple_rnn import SimpleRNN
from loom.layers.lstm import LSTM
from loom.layers.gru import GRU
from loom.layers.bidirectional import Bidirectional

# preprocessing: text and structured data
from loom.layers.preprocessing.category_encoding import CategoryEncoding
from loom.layers.preprocessing.discretization import Discretization
from loom.layers.preprocessing.hashed_crossing import HashedCrossing
from loom.layers.preprocessing.hashing import Hashing
from loom.layers.preprocessing.integer_lookup import IntegerLookup
from loom.layers.preprocessing.normalization import Normalization
from loom.layers.preprocessing.pipeline import Pipeline
from loom.layers.preprocessing.string_lookup import StringLookup
from loom.layers.preprocessing.text_vectorization import TextVectorization

# preprocessing: image and audio
from loom.layers.preprocessing.image import (CenterCrop, RandomBrightness, RandomColorDegeneration, RandomColorJitter,
                                             RandomContrast, RandomCrop, RandomElasticTransform, RandomFlip,
                                             RandomGrayscale, RandomHue, RandomInvert, RandomPerspective,
                                             RandomPosterization, RandomRotation, RandomSaturation, RandomSharpness,
                                             RandomShear, RandomTranslation, RandomZoom, Rescaling, Resizing,
                                             Solarization, AutoContrast, ContrastLimitedAdaptiveHistogramEqualization,
                                             Equalization, CutMix, MixUp, RandomErasing, RandomGaussianBlur,
                                             MaxNumBoundingBoxes, AugMix, RandAugment)
from loom.layers.preprocessing.audio import MelSpectrogram, STFTSpectrogram

from loom.layers.attention import (AdditiveAttention, Attention, GroupedQueryAttention, GroupQueryAttention,
                                   MultiHeadAttention)
from loom.layers.einsum_dense import EinsumDense
from loom.layers.identity import Identity
from loom.layers.activity_regularization import ActivityRegularization
from loom.layers.unit_normalization import UnitNormalization
from loom.layers.rms_normalization import RMSNormalization
from loom.layers.spectral_normalization import SpectralNormalization
from loom.layers.reversible_embedding import ReversibleEmbedding
from loom.layers.adaptive_pooling import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,
                                          AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D)
from loom.layers.spatial_3d import Cropping3D, UpSampling3D, ZeroPadding3D

from loom.layers.rnn_cell_base import AbstractRNNCell
from loom.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from loom.layers.stacked_rnn_cells import StackedRNNCells
from loom.layers.rnn import RNN
from loom.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from loom.layers.wrapper import Wrapper
