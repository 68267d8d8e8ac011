"""``FeatureSpace``: one object that preprocesses a dict of structured-data columns into model-ready tensors.

Each named feature gets a preprocessor (normalization, discretization, vocabulary lookup, hashing...),
adapted together by :meth:`FeatureSpace.adapt`; categorical results are one-hot encoded, optional feature
crosses are hashed, and everything is concatenated into one float tensor (or returned as a dict). Keras's
names and rules; columns are NumPy arrays / lists (strings stay NumPy), results are torch tensors. loom's
symbolic graph carries no strings, so the feature space runs in the data pipeline, not inside a model:
``get_encoded_features()`` gives model inputs shaped like its output (Keras's training-model pattern), and
``get_inputs()`` raises a :class:`~loom.errors.GraphError` saying so.
"""

from __future__ import annotations

import builtins
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from loom.errors import ConfigError, GraphError, InputError
from loom.layers.input_layer import Input
from loom.layers.layer import Layer
from loom.layers.preprocessing.category_encoding import CategoryEncoding
from loom.layers.preprocessing.discretization import Discretization
from loom.layers.preprocessing.hashed_crossing import HashedCrossing
from loom.layers.preprocessing.hashing import Hashing
from loom.layers.preprocessing.index_lookup import IndexLookup
from loom.layers.preprocessing.integer_lookup import IntegerLookup
from loom.layers.preprocessing.normalization import Normalization
from loom.layers.preprocessing.string_lookup import StringLookup
from loom.saving import deserialize_loom_object, serialize_loom_object


class _Affine(Layer):
    """``x * scale + offset`` as float32 (the preprocessor of ``float_rescaled`` features)."""

    def __init__(self, scale: float = 1.0, offset: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32) * self.scale + self.offset

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Feature:
    """One feature: its input ``dtype``, its ``preprocessor`` layer and how its result is encoded
    (``'float'``, ``'int'`` or ``'one_hot'``)."""

    def __init__(self, dtype: str, preprocessor: Layer, output_mode: str):
        if output_mode not in ("int", "one_hot", "float"):
            raise ConfigError(f"Feature output_mode must be 'int', 'one_hot' or 'float'; got {output_mode!r}.")
        self.dtype, self.preprocessor, self.output_mode = dtype, preprocessor, output_mode

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "preprocessor": serialize_loom_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict) -> "Feature":
        return cls(config["dtype"], deserialize_loom_object(config["preprocessor"]), config["output_mode"])


class Cross:
    """A hashed cross of several features into ``crossing_dim`` bins."""

    def __init__(self, feature_names: Sequence[str], crossing_dim: int, output_mode: str = "one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ConfigError(f"Cross output_mode must be 'int' or 'one_hot'; got {output_mode!r}.")
        self.feature_names, self.crossing_dim, self.output_mode = tuple(feature_names), crossing_dim, output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict) -> "Cross":
        return cls(**config)


class FeatureSpace:
    """Preprocess and encode a dict of feature columns, as ``keras.utils.FeatureSpace``.

    Args:
        features: ``{name: Feature or type string}``; strings are ``'float'``, ``'float_rescaled'``,
            ``'float_normalized'``, ``'float_discretized'``, ``'integer_categorical'``, ``'integer_hashed'``,
            ``'string_categorical'``, ``'string_hashed'`` (required, not empty).
        output_mode: ``'concat'`` (one float tensor) or ``'dict'`` (default ``'concat'``).
        crosses: feature-name tuples (or :class:`Cross`) to hash together (default ``None``).
        crossing_dim: bins of each cross given as names (default ``32``).
        hashing_dim: bins of ``'*_hashed'`` features given as strings (default ``32``).
        num_discretization_bins: bins of ``'float_discretized'`` features given as strings (default ``32``).
        name: a name for the space (default ``None``).

    Example:
        >>> import numpy as np
        >>> from loom.utils import FeatureSpace
        >>> space = FeatureSpace({"age": "float_normalized", "city": "string_categorical"})
        >>> data = {"age": np.array([20.0, 40.0]), "city": np.array(["Paris", "Oslo"])}
        >>> space.adapt(data)
        >>> space(data).tolist()
        [[-1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]]
    """

    def __init__(self, features: dict, output_mode: str = "concat", crosses: Iterable | None = None,
                 crossing_dim: int = 32, hashing_dim: int = 32, num_discretization_bins: int = 32,
                 name: str | None = None):
        if not features:
            raise ConfigError("FeatureSpace: `features` must be a non-empty dict of name -> feature.")
        if output_mode not in ("concat", "dict"):
            raise ConfigError(f"FeatureSpace: output_mode must be 'concat' or 'dict'; got {output_mode!r}.")
        self.name = name or "feature_space"
        self.output_mode = output_mode
        self.crossing_dim, self.hashing_dim = crossing_dim, hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {n: self._standardize_feature(n, f) for n, f in features.items()}
        self.crosses = [self._standardize_cross(c) for c in crosses or []]
        self.preprocessors = {n: f.preprocessor for n, f in self.features.items()}
        self.crossers = {c.name: HashedCrossing(c.crossing_dim, name=c.name) for c in self.crosses}
        self.one_hot_encoders: dict[str, CategoryEncoding] = {}
        self._is_adapted = not self._adaptable()
        self.encoded_features: Any = None

    # ----------------------------------------------------------------------------------- feature makers
    @classmethod
    def cross(cls, feature_names: Sequence[str], crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: Layer, output_mode: str) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        return Feature("float32", _Affine(name=_pre(name)), "float")

    @classmethod
    def float_rescaled(cls, scale: builtins.float = 1.0, offset: builtins.float = 0.0,
                       name: str | None = None) -> Feature:
        return Feature("float32", _Affine(scale, offset, name=_pre(name)), "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        return Feature("float32", Normalization(axis=-1, name=_pre(name)), "float")

    @classmethod
    def float_discretized(cls, num_bins: int, bin_boundaries: Any = None, output_mode: str = "one_hot",
                          name: str | None = None) -> Feature:
        if bin_boundaries is not None:
            layer = Discretization(bin_boundaries=bin_boundaries, name=_pre(name))
            layer.num_bins = len(layer.bin_boundaries) + 1  # the one-hot width; adapt() is not needed
        else:
            layer = Discretization(num_bins=num_bins, name=_pre(name))
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                            output_mode: str = "one_hot", name: str | None = None) -> Feature:
        layer = IntegerLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices, name=_pre(name))
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                           output_mode: str = "one_hot", name: str | None = None) -> Feature:
        layer = StringLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices, name=_pre(name))
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        return Feature("string", Hashing(num_bins=num_bins, name=_pre(name)), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        return Feature("int32", Hashing(num_bins=num_bins, name=_pre(name)), output_mode)

    def _standardize_feature(self, name: str, feature: Any) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return Feature.from_config(feature.get("config", feature))
        makers = {"float": lambda: self.float(name), "float_rescaled": lambda: self.float_rescaled(name=name),
                  "float_normalized": lambda: self.float_normalized(name),
                  "float_discretized": lambda: self.float_discretized(self.num_discretization_bins, name=name),
                  "integer_categorical": lambda: self.integer_categorical(name=name),
                  "string_categorical": lambda: self.string_categorical(name=name),
                  "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
                  "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name)}
        if feature not in makers:
            raise ConfigError(f"FeatureSpace: feature '{name}' has an unknown type {feature!r}; use a Feature or "
                              f"one of {sorted(makers)}.")
        return makers[feature]()

    def _standardize_cross(self, cross: Any) -> Cross:
        if isinstance(cross, dict):
            cross = Cross.from_config(cross.get("config", cross))
        if not isinstance(cross, Cross):
            cross = Cross(tuple(cross), self.crossing_dim)
        unknown = [n for n in cross.feature_names if n not in self.features]
        if unknown:
            raise ConfigError(f"FeatureSpace: the cross {cross.feature_names} names unknown features {unknown}; "
                              f"known: {sorted(self.features)}.")
        return cross

    # ------------------------------------------------------------------------------------------- adapt
    def _adaptable(self) -> list[str]:
        names = []
        for name, layer in self.preprocessors.items():
            if isinstance(layer, Normalization) and layer.input_mean is None:
                names.append(name)
            elif isinstance(layer, Discretization) and layer.bin_boundaries is None:
                names.append(name)
            elif isinstance(layer, IndexLookup) and not layer._has_input_vocabulary:
                names.append(name)
        return names

    def adapt(self, dataset: Any) -> None:
        """Adapt every preprocessor that learns state, from a dict of columns or an iterable of dict batches.

        Raises:
            InputError: the data is not a dict (or iterable of dicts), or misses a feature.
        """
        batches = [dataset] if isinstance(dataset, dict) else dataset
        if not hasattr(batches, "__iter__"):
            raise InputError(f"FeatureSpace.adapt() takes a dict of arrays/lists or an iterable of such dicts; "
                             f"got {type(dataset).__name__}.")
        batches = list(batches)
        for name in self._adaptable():
            columns = []
            for batch in batches:
                if not isinstance(batch, dict) or name not in batch:
                    raise InputError(f"FeatureSpace.adapt(): every batch must be a dict holding feature '{name}'.")
                columns.append(_column(batch[name], self.features[name].dtype))
            self.preprocessors[name].adapt(iter(columns))
        self._is_adapted = True
        self.one_hot_encoders = {}
        self.encoded_features = None

    # ------------------------------------------------------------------------------------ model inputs
    def get_encoded_features(self) -> Any:
        """Symbolic model inputs shaped like this space's output: one ``Input`` for ``'concat'``, a dict of
        ``Input``s named after the features (and crosses) for ``'dict'``.

        As in Keras, build the training model on them and feed it ``feature_space(raw_data)``. The shapes and
        dtypes come from encoding a one-sample probe batch, so they follow the adapted vocabularies.

        Raises:
            InputError: the space is not adapted yet.
        """
        if not self._is_adapted:
            raise InputError("Call FeatureSpace.adapt(data) before get_encoded_features(): the encoded widths "
                             "depend on the adapted state.")
        if self.encoded_features is None:
            probe = {n: np.array([""], dtype=object) if f.dtype == "string" else np.zeros(1)
                     for n, f in self.features.items()}
            encoded = self(probe)
            if isinstance(encoded, torch.Tensor):
                self.encoded_features = Input(shape=tuple(encoded.shape[1:]), dtype=_dtype_name(encoded),
                                              name=f"{self.name}_encoded")
            else:
                self.encoded_features = {n: Input(shape=tuple(v.shape[1:]), dtype=_dtype_name(v), name=n)
                                         for n, v in encoded.items()}
        return self.encoded_features

    def get_inputs(self) -> dict:
        """Keras's raw-feature ``Input``s; not offered by loom (see the module docstring).

        Raises:
            GraphError: always; the message says how to use the space with a model instead.
        """
        raise GraphError("FeatureSpace.get_inputs() is not available in loom: its symbolic graph carries no "
                         "strings, so the feature space cannot run inside a model. Build the model on "
                         "feature_space.get_encoded_features() and call it on feature_space(raw_data) "
                         "(in the data pipeline and at inference).")

    # -------------------------------------------------------------------------------------------- call
    def __call__(self, data: dict) -> Any:
        if not isinstance(data, dict):
            raise InputError(f"A FeatureSpace is called with a dict of feature columns; got {type(data).__name__}.")
        if not self._is_adapted:
            raise InputError("Call FeatureSpace.adapt(data) before using it: some preprocessors learn their state.")
        missing = [n for n in self.features if n not in data]
        if missing:
            raise InputError(f"FeatureSpace: the data misses features {missing}; it has {sorted(data)}.")
        single = all(np.ndim(data[n]) == 0 for n in self.features)
        outputs = {n: self.preprocessors[n](_column(data[n], f.dtype)) for n, f in self.features.items()}
        crossed = {c.name: self.crossers[c.name]([outputs[n] for n in c.feature_names]) for c in self.crosses}
        merged = self._merge(outputs, crossed)
        if single:
            return merged[0] if isinstance(merged, torch.Tensor) else {k: v[0] for k, v in merged.items()}
        return merged

    def _merge(self, outputs: dict, crossed: dict) -> Any:
        specs = {**{n: self.features[n] for n in outputs}, **{c.name: c for c in self.crosses}}
        names = sorted(outputs) + sorted(crossed)
        values = {**outputs, **crossed}
        encoded = {}
        for name in names:
            value = values[name]
            if specs[name].output_mode == "one_hot":
                value = self._encoder(name, specs[name])(value)
            elif self.output_mode == "concat" and not value.is_floating_point():
                raise InputError(f"FeatureSpace: feature '{name}' is not encoded (dtype {value.dtype}), so it "
                                 f"cannot be concatenated; use output_mode='dict' or a 'one_hot' feature.")
            encoded[name] = value
        if self.output_mode == "dict":
            return encoded
        return torch.cat([encoded[n].to(torch.float32) for n in names], dim=-1)

    def _encoder(self, name: str, spec: Any) -> CategoryEncoding:
        if name not in self.one_hot_encoders:
            layer = self.preprocessors.get(name) or self.crossers[name]
            if isinstance(layer, IndexLookup):
                width = layer.vocabulary_size()
            elif isinstance(layer, (Discretization, Hashing, HashedCrossing)):
                width = layer.num_bins
            else:
                raise InputError(f"FeatureSpace: feature '{name}' has output_mode='one_hot' but its preprocessor "
                                 f"{type(layer).__name__} has no known output width; use output_mode='int'.")
            self.one_hot_encoders[name] = CategoryEncoding(num_tokens=width, output_mode="multi_hot")
        return self.one_hot_encoders[name]

    # ------------------------------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """Keras's keys; adapted state travels inside the preprocessors' configs (vocabularies, bin boundaries,
        and an adapted Normalization's statistics as its fixed ``mean`` / ``variance``), so
        ``FeatureSpace.from_config(space.get_config())`` encodes as ``space`` does without adapting again."""
        return {"features": {n: {"class_name": "Feature", "config": _feature_config(f, self._is_adapted)}
                             for n, f in self.features.items()},
                "output_mode": self.output_mode,
                "crosses": [{"class_name": "Cross", "config": c.get_config()} for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config: dict) -> "FeatureSpace":
        return cls(**config)


def _feature_config(feature: Feature, adapted: bool) -> dict:
    """``feature.get_config()``, with an adapted Normalization's statistics as its fixed mean and variance."""
    config = feature.get_config()
    layer = feature.preprocessor
    if adapted and isinstance(layer, Normalization) and layer.input_mean is None and layer.built:
        layer_config = dict(config["preprocessor"]["config"])
        layer_config["mean"] = layer.adapt_mean.detach().cpu().numpy().tolist()
        layer_config["variance"] = layer.adapt_variance.detach().cpu().numpy().tolist()
        config["preprocessor"] = {**config["preprocessor"], "config": layer_config}
    return config


def _pre(name: str | None) -> str | None:
    return None if name is None else f"{name}_preprocessor"


def _dtype_name(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _column(values: Any, dtype: str) -> Any:
    """One feature column as a ``(batch, 1)`` array (strings) or tensor (numbers); a scalar is a batch of one."""
    if dtype == "string":
        array = np.asarray(values, dtype=object)
    else:
        array = torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values)
        array = array.to(torch.float32) if dtype.startswith("float") else array.long()
    if array.ndim == 0:
        return array.reshape(1, 1)
    return array.reshape(-1, 1) if array.ndim == 1 else array
