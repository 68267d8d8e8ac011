"""Building blocks of modern convnets, as functions on symbolic tensors: the patterns of *Deep Learning with
Python* (inception modules, residual connections, batch normalization, depthwise separable convolutions)
and the pieces Keras's applications are made of.

Every block creates fresh layers and calls them in the same order as Keras's application code, with the
same layer names, so a model built from them lines up layer by layer with its Keras twin (``get_weights``
order and Keras weight files).

* :func:`conv2d_bn`: Conv2D (no bias) -> BatchNormalization (no scale) -> ReLU, as in Keras's InceptionV3.
* :func:`conv_bn`: Conv2D or SeparableConv2D -> BatchNormalization -> optional activation.
* :func:`bn_act`: BatchNormalization -> optional activation (the pre-activation of ResNetV2 and DenseNet).
* :func:`inception_module`: parallel conv2d_bn towers (plus a pooling branch) concatenated on channels.
* :func:`residual_block`: a basic or bottleneck residual block with an identity or 1x1-projection shortcut.
* :func:`separable_conv_block`: Xception's block: [ReLU -> SeparableConv2D -> BN] x n, max pooling, and a
  residual connection.

Example:
    >>> import loom
    >>> inputs = loom.Input((32, 32, 3))
    >>> x = conv_bn(inputs, 32, 3, strides=2, name="stem")
    >>> x = residual_block(x, 64, name="res1")
    >>> x = separable_conv_block(x, 128, name="sep1")
    >>> x = inception_module(x, [[(32, 1, 1)], [(16, 1, 1), (32, 3, 3)]], pool="avg", pool_filters=16)
    >>> x.shape
    (None, 8, 8, 80)
"""

from __future__ import annotations

from typing import Any, Sequence

from loom import layers
from loom.errors import ConfigError

__all__ = ["conv2d_bn", "conv_bn", "bn_act", "inception_module", "residual_block", "separable_conv_block"]

_SHORTCUTS = ("auto", "identity", "projection")


def _joined(name: str | None, suffix: str) -> str | None:
    return None if name is None else f"{name}_{suffix}"


def conv2d_bn(x: Any, filters: int, num_row: int, num_col: int, padding: str = "same",
              strides: Any = (1, 1), name: str | None = None) -> Any:
    """Conv2D without bias -> BatchNormalization without scale -> ReLU: Keras InceptionV3's ``conv2d_bn``.

    Args:
        x: the input (channels_last).
        filters: output channels.
        num_row: kernel height.
        num_col: kernel width.
        padding: ``'same'`` (default) or ``'valid'``.
        strides: default ``(1, 1)``.
        name: names the layers ``name_conv``, ``name_bn`` and ``name`` (default ``None``: automatic names).

    Example:
        >>> import loom
        >>> conv2d_bn(loom.Input((9, 9, 3)), 8, 3, 3, strides=(2, 2), padding="valid").shape
        (None, 4, 4, 8)
    """
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=_joined(name, "conv"))(x)
    x = layers.BatchNormalization(axis=3, scale=False, name=_joined(name, "bn"))(x)
    return layers.Activation("relu", name=name)(x)


def conv_bn(x: Any, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "same",
            activation: str | None = "relu", use_bias: bool = False, separable: bool = False,
            epsilon: float = 1e-3, name: str | None = None) -> Any:
    """Convolution -> BatchNormalization -> activation, the unit of modern convnets.

    Args:
        x: the input (channels_last).
        filters: output channels.
        kernel_size: an int or a pair.
        strides: default 1.
        padding: ``'same'`` (default) or ``'valid'``.
        activation: applied after the normalization; ``None`` for none (default ``'relu'``).
        use_bias: give the convolution a bias; the normalization's ``beta`` makes it redundant
            (default ``False``).
        separable: use a ``SeparableConv2D`` instead of a ``Conv2D`` (default ``False``).
        epsilon: the normalization's epsilon (default 1e-3, Keras's default; ResNet uses 1.001e-5).
        name: names the layers ``name_conv``, ``name_bn``, ``name_<activation>`` (default ``None``:
            automatic names).

    Example:
        >>> import loom
        >>> conv_bn(loom.Input((8, 8, 3)), 16, 3, separable=True).shape
        (None, 8, 8, 16)
    """
    conv = layers.SeparableConv2D if separable else layers.Conv2D
    x = conv(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
             name=_joined(name, "conv"))(x)
    return bn_act(x, activation, epsilon=epsilon, name=name)


def bn_act(x: Any, activation: str | None = "relu", epsilon: float = 1e-3, name: str | None = None) -> Any:
    """BatchNormalization -> activation: the end of :func:`conv_bn`, and on its own the pre-activation of
    ResNetV2 and DenseNet.

    Args:
        x: the input (channels_last).
        activation: applied after the normalization; ``None`` for none (default ``'relu'``).
        epsilon: the normalization's epsilon (default 1e-3).
        name: names the layers ``name_bn`` and ``name_<activation>`` (default ``None``: automatic names).

    Example:
        >>> import loom
        >>> x = bn_act(loom.Input((4, 4, 8)), epsilon=1.001e-5, name="conv1")
        >>> x.node.layer.name, x.shape
        ('conv1_relu', (None, 4, 4, 8))
    """
    x = layers.BatchNormalization(axis=3, epsilon=epsilon, name=_joined(name, "bn"))(x)
    if activation is None:
        return x
    act_name = activation if isinstance(activation, str) else "act"
    return layers.Activation(activation, name=_joined(name, act_name))(x)


def inception_module(x: Any, towers: Sequence[Sequence[tuple]], pool: str | None = "avg",
                     pool_filters: int | None = None, pool_strides: int = 1, name: str | None = None) -> Any:
    """Parallel towers of :func:`conv2d_bn` plus a pooling branch, concatenated on the channel axis.

    Args:
        x: the input (channels_last).
        towers: one list per tower of :func:`conv2d_bn` argument tuples (the arguments after ``x``:
            ``(filters, num_row, num_col[, padding[, strides]])``), applied in sequence.
        pool: the pooling branch: ``'avg'``, ``'max'`` or ``None`` for none (default ``'avg'``). Pooling
            is 3x3; with ``pool_strides`` 1 it is ``'same'``-padded, else ``'valid'``.
        pool_filters: a 1x1 :func:`conv2d_bn` with that many filters after the pooling (default ``None``:
            the pooled input as it is).
        pool_strides: the pooling stride (default 1).
        name: the name of the concatenation layer (default ``None``: automatic).

    Returns:
        The concatenated towers, pooling branch last.

    Example:
        >>> import loom
        >>> x = loom.Input((17, 17, 8))
        >>> inception_module(x, [[(16, 3, 3, "valid", (2, 2))], [(8, 1, 1), (8, 3, 3, "valid", 2)]],
        ...                  pool="max", pool_strides=2).shape
        (None, 8, 8, 32)
    """
    if pool not in ("avg", "max", None):
        raise ConfigError(f"inception_module: pool must be 'avg', 'max' or None, got {pool!r}.")
    if not towers and pool is None:
        raise ConfigError("inception_module needs at least one tower or a pooling branch.")
    branches = []
    for tower in towers:
        if not tower:
            raise ConfigError("inception_module: every tower needs at least one conv2d_bn argument tuple.")
        branch = x
        for spec in tower:
            branch = conv2d_bn(branch, *spec)
        branches.append(branch)
    if pool is not None:
        pooling = layers.AveragePooling2D if pool == "avg" else layers.MaxPooling2D
        padding = "same" if pool_strides == 1 else "valid"
        branch = pooling((3, 3), strides=(pool_strides, pool_strides), padding=padding)(x)
        if pool_filters is not None:
            branch = conv2d_bn(branch, pool_filters, 1, 1)
        branches.append(branch)
    if len(branches) == 1:
        return branches[0]
    return layers.concatenate(branches, axis=3, name=name)


def residual_block(x: Any, filters: int, kernel_size: Any = 3, strides: int = 1, shortcut: str = "auto",
                   bottleneck: bool = False, separable: bool = False, use_bias: bool = False,
                   epsilon: float = 1e-3, name: str | None = None) -> Any:
    """A residual block (He et al., 2015, https://arxiv.org/abs/1512.03385): ``relu(F(x) + shortcut(x))``.

    ``F`` is conv-BN-ReLU then conv-BN (basic block), or with ``bottleneck=True`` the 1x1 -> kxk -> 1x1
    bottleneck of ResNet50 with ``4 * filters`` output channels; the stride sits on the first convolution.
    With ``bottleneck=True, use_bias=True, epsilon=1.001e-5`` this is exactly Keras's ResNet v1 block
    (same layers, same order, same names).

    Args:
        x: the input (channels_last).
        filters: channels of the block (of the bottleneck's narrow part with ``bottleneck``).
        kernel_size: the middle convolution's kernel (default 3).
        strides: the stride of the first convolution and of a projection shortcut (default 1).
        shortcut: ``'identity'``, ``'projection'`` (1x1 convolution + BN) or ``'auto'``: a projection
            only when the stride or the channel count changes (default ``'auto'``).
        bottleneck: use the 1x1 -> kxk -> 1x1 bottleneck (default ``False``).
        separable: ``SeparableConv2D`` for the block's kxk convolutions (default ``False``).
        use_bias: biases in the convolutions (default ``False``).
        epsilon: the normalizations' epsilon (default 1e-3).
        name: the block's name; layers are ``name_0_conv`` / ``name_0_bn`` (shortcut), ``name_1_conv``,
            ``name_1_bn``, ``name_1_relu``..., ``name_add``, ``name_out`` (default ``None``: automatic).

    Example:
        >>> import loom
        >>> x = loom.Input((16, 16, 64))
        >>> residual_block(x, 64).shape
        (None, 16, 16, 64)
        >>> residual_block(x, 32, strides=2, bottleneck=True).shape
        (None, 8, 8, 128)
    """
    if shortcut not in _SHORTCUTS:
        raise ConfigError(f"residual_block: shortcut must be one of {list(_SHORTCUTS)}, got {shortcut!r}.")
    out_channels = 4 * filters if bottleneck else filters
    if shortcut == "auto":
        shortcut = "identity" if strides == 1 and x.shape[-1] == out_channels else "projection"
    elif shortcut == "identity" and (strides != 1 or x.shape[-1] != out_channels):
        raise ConfigError(f"residual_block '{name}': an identity shortcut needs strides 1 and {out_channels} "
                          f"input channels, got strides {strides} and input shape {x.shape}; use "
                          f"shortcut='projection' or 'auto'.")
    if shortcut == "projection":
        residual = conv_bn(x, out_channels, 1, strides=strides, activation=None, use_bias=use_bias,
                           epsilon=epsilon, name=_joined(name, "0"))
    else:
        residual = x
    if bottleneck:
        x = conv_bn(x, filters, 1, strides=strides, use_bias=use_bias, epsilon=epsilon, name=_joined(name, "1"))
        x = conv_bn(x, filters, kernel_size, use_bias=use_bias, separable=separable, epsilon=epsilon,
                    name=_joined(name, "2"))
        x = conv_bn(x, out_channels, 1, activation=None, use_bias=use_bias, epsilon=epsilon,
                    name=_joined(name, "3"))
    else:
        x = conv_bn(x, filters, kernel_size, strides=strides, use_bias=use_bias, separable=separable,
                    epsilon=epsilon, name=_joined(name, "1"))
        x = conv_bn(x, filters, kernel_size, activation=None, use_bias=use_bias, separable=separable,
                    epsilon=epsilon, name=_joined(name, "2"))
    x = layers.Add(name=_joined(name, "add"))([residual, x])
    return layers.Activation("relu", name=_joined(name, "out"))(x)


def separable_conv_block(x: Any, filters: int | Sequence[int], kernel_size: Any = 3, pool: bool = True,
                         residual: str | None = "projection", activation_first: bool = True,
                         epsilon: float = 1e-3, name: str | None = None) -> Any:
    """Xception's block (Chollet, 2017, https://arxiv.org/abs/1610.02357): depthwise separable
    convolutions with batch normalization, then max pooling, plus a residual connection.

    The main path is ``[ReLU ->] SeparableConv2D -> BN`` once per entry of ``filters`` (the first ReLU
    only with ``activation_first``), then, with ``pool``, a 3x3 max pooling of stride 2. The residual is
    added at the end: a 1x1 ``Conv2D`` (stride 2 with ``pool``) + BN, or the input itself.

    Args:
        x: the input (channels_last).
        filters: output channels; a list gives one value per separable convolution (an int means two
            convolutions).
        kernel_size: the separable kernels (default 3).
        pool: end with ``MaxPooling2D(3, strides=2, padding='same')`` (default ``True``).
        residual: ``'projection'``, ``'identity'`` or ``None`` for no residual (default ``'projection'``).
        activation_first: start with a ReLU (default ``True``; ``False`` when the input is activated).
        epsilon: the normalizations' epsilon (default 1e-3).
        name: Keras's Xception names: ``name_sepconv1_act``, ``name_sepconv1``, ``name_sepconv1_bn``...,
            ``name_pool`` (default ``None``: automatic; the residual's layers are always automatic).

    Example:
        >>> import loom
        >>> x = loom.Input((16, 16, 32))
        >>> separable_conv_block(x, 64, name="block2").shape
        (None, 8, 8, 64)
        >>> separable_conv_block(x, [32, 32, 32], pool=False, residual="identity").shape
        (None, 16, 16, 32)
    """
    sizes = [filters, filters] if isinstance(filters, int) else list(filters)
    if not sizes:
        raise ConfigError("separable_conv_block: filters must be an int or a non-empty list of ints.")
    if residual not in ("projection", "identity", None):
        raise ConfigError(f"separable_conv_block: residual must be 'projection', 'identity' or None, "
                          f"got {residual!r}.")
    if residual == "identity" and (pool or x.shape[-1] != sizes[-1]):
        raise ConfigError(f"separable_conv_block '{name}': an identity residual needs pool=False and "
                          f"{sizes[-1]} input channels, got pool={pool} and input shape {x.shape}; use "
                          f"residual='projection'.")
    shortcut = x
    if residual == "projection":
        shortcut = layers.Conv2D(sizes[-1], (1, 1), strides=(2, 2) if pool else (1, 1), padding="same",
                                 use_bias=False)(x)
        shortcut = layers.BatchNormalization(axis=3, epsilon=epsilon)(shortcut)
    for i, size in enumerate(sizes, 1):
        prefix = _joined(name, f"sepconv{i}")
        if i > 1 or activation_first:
            x = layers.Activation("relu", name=_joined(prefix, "act"))(x)
        x = layers.SeparableConv2D(size, kernel_size, padding="same", use_bias=False, name=prefix)(x)
        x = layers.BatchNormalization(axis=3, epsilon=epsilon, name=_joined(prefix, "bn"))(x)
    if pool:
        x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=_joined(name, "pool"))(x)
    if residual is None:
        return x
    return layers.add([x, shortcut])
