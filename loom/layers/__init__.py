"""loom layers: the Keras layer catalogue as ``torch.nn.Module``s.

Example:
    >>> import loom
    >>> loom.layers.Dense(4).name
    'dense'
"""

from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer
from loom.layers.input_layer import Input, InputLayer
from loom.layers.torch_module import TorchModuleWrapper
from loom.layers.dense import Dense

# --- core layers (helper: core-layers) ---
# --- end core layers ---

# --- convolution / pooling / reshaping 2D (helper: conv) ---
# --- end convolution ---

# --- normalization / noise (helper: norm) ---
# --- end normalization ---

# --- recurrent (helper: rnn) ---
# --- end recurrent ---
