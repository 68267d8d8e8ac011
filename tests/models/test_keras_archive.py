"""Keras 3 ``.keras`` archives both ways, with Keras 3 (torch backend) as the oracle.

Keras saves → loom loads → same predictions and the same ``fit`` losses from there; loom saves → Keras
loads → same predictions. Every layer of the saving catalogue makes the trip loom → Keras → loom.
"""

import warnings

import numpy as np
import pytest

import loom
from tests.keras_oracle import keras
from tests.models.test_saving_every_layer import CATALOGUE, _sample
from tests.tolerance import assert_allclose_scaled


def _rng_data(shapes, seed=0, int_high=None):
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        if int_high:
            out.append(rng.integers(0, int_high, shape).astype("int32"))
        else:
            out.append(rng.normal(size=shape).astype("float32"))
    return out


def _as_list(y):
    return y if isinstance(y, list) else [y]


def _same_predictions(a, b, x, rel=1e-5):
    for u, v in zip(_as_list(a.predict(x, verbose=0)), _as_list(b.predict(x, verbose=0))):
        assert_allclose_scaled(np.asarray(u), np.asarray(v), rel=rel)


def _dag(L):
    a = L.Input((8, 8, 3), name="image")
    b = L.Input((4,), name="meta")
    x = L.layers.Conv2D(6, 3, activation="relu", kernel_regularizer="l2")(a)
    x = L.layers.BatchNormalization()(x)
    x = L.layers.SeparableConv2D(6, 3, padding="same")(x)
    s = L.layers.Conv2D(6, 1)(x)
    x = L.layers.add([x, s])
    x = L.layers.MaxPooling2D(2)(x)
    x = L.layers.GlobalAveragePooling2D()(x)
    y = L.layers.Dense(4, activation="tanh")(b)
    z = L.layers.concatenate([x, y])
    out1 = L.layers.Dense(1, name="score")(z)
    out2 = L.layers.Dense(3, activation="softmax", name="label")(z)
    model = L.Model([a, b], [out1, out2])
    model.compile(optimizer=L.optimizers.Adam(1e-2), loss=["mse", "categorical_crossentropy"],
                  metrics=[["mae"], ["accuracy"]])
    return model


def _dag_data():
    x = _rng_data([(6, 8, 8, 3), (6, 4)])
    y = [_rng_data([(6, 1)], seed=1)[0], np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2]]]
    return x, y


def _text(L):
    tokens = L.Input((7,), dtype="int32")
    x = L.layers.Embedding(30, 8, mask_zero=True)(tokens)
    x = L.layers.Bidirectional(L.layers.LSTM(5, return_sequences=True))(x)
    x = L.layers.GRU(4)(x)
    out = L.layers.Dense(1, activation="sigmoid")(x)
    model = L.Model(tokens, out)
    model.compile(optimizer=L.optimizers.RMSprop(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _text_data():
    x = _rng_data([(6, 7)], int_high=30)[0]
    x[:, 5:] = 0
    return x, np.array([[0], [1], [1], [0], [1], [0]], dtype="float32")


def _nested(L):
    inner = L.Sequential([L.Input((5,)), L.layers.Dense(4, activation="relu"), L.layers.Dense(3)], name="inner")
    x = L.Input((5,))
    block_in = L.Input((3,))
    block = L.Model(block_in, L.layers.Dense(2)(block_in), name="block")
    out = block(inner(x))
    model = L.Model(x, L.layers.Dense(1)(out))
    model.compile(optimizer=L.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    return model


def _nested_data():
    x, y = _rng_data([(6, 5), (6, 1)])
    return x, y


CASES = {"dag": (_dag, _dag_data), "text": (_text, _text_data), "nested": (_nested, _nested_data)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_saves_loom_loads_and_trains_on(case, tmp_path):
    build, data = CASES[case]
    keras.utils.set_random_seed(0)
    k_model = build(keras)
    x, y = data()
    k_model.fit(x, y, epochs=1, batch_size=3, verbose=0, shuffle=False)  # optimizer state to carry over
    k_model.save(str(tmp_path / "k.keras"))

    l_model = loom.models.load_model(tmp_path / "k.keras")
    _same_predictions(l_model, k_model, x)
    assert l_model.optimizer.iterations == int(k_model.optimizer.iterations)
    l_hist = l_model.fit(x, y, epochs=2, batch_size=3, verbose=0, shuffle=False).history
    k_hist = keras.models.load_model(str(tmp_path / "k.keras")).fit(
        x, y, epochs=2, batch_size=3, verbose=0, shuffle=False).history
    for key in k_hist:
        assert_allclose_scaled(l_hist[key], k_hist[key], rel=1e-4, err_msg=key)


@pytest.mark.parametrize("case", sorted(CASES))
def test_loom_saves_keras_loads(case, tmp_path):
    build, data = CASES[case]
    loom.utils.set_random_seed(0)
    l_model = build(loom)
    x, y = data()
    l_model.fit(x, y, epochs=1, batch_size=3, verbose=0, shuffle=False)
    l_model.save(tmp_path / "l.keras")
    k_model = keras.models.load_model(str(tmp_path / "l.keras"))
    _same_predictions(l_model, k_model, x)
    assert int(k_model.optimizer.iterations) == l_model.optimizer.iterations
    l_hist = l_model.fit(x, y, epochs=1, batch_size=3, verbose=0, shuffle=False).history
    k_hist = k_model.fit(x, y, epochs=1, batch_size=3, verbose=0, shuffle=False).history
    assert_allclose_scaled(l_hist["loss"], k_hist["loss"], rel=1e-4)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_layer_loom_to_keras_to_loom(name, tmp_path):
    make, shape, dtype = CATALOGUE[name]
    loom.utils.set_random_seed(0)
    x = loom.Input(shape, dtype=dtype)
    y = make()(x)
    model = loom.Model(x, y[0] if isinstance(y, list) else y)
    data = _sample(shape, dtype)
    model.save(tmp_path / "l.keras")
    k_model = keras.models.load_model(str(tmp_path / "l.keras"))
    _same_predictions(model, k_model, data)
    k_model.save(str(tmp_path / "k.keras"))
    back = loom.models.load_model(tmp_path / "k.keras")
    _same_predictions(back, k_model, data)
    assert [type(layer).__name__ for layer in back.layers] == [type(layer).__name__ for layer in model.layers]


def test_sequential_round_trip_and_default_suffix(tmp_path):
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2, activation="relu"), loom.layers.Dense(1)])
    x = _rng_data([(4, 3)])[0]
    model.save(tmp_path / "s.keras")
    k_model = keras.models.load_model(str(tmp_path / "s.keras"))
    assert type(k_model).__name__ == "Sequential"
    _same_predictions(model, k_model, x)
    model.save(tmp_path / "s.other")  # other suffixes stay .loom files
    import zipfile
    assert sorted(zipfile.ZipFile(tmp_path / "s.other").namelist()) == ["config.json", "model.safetensors"]
    assert isinstance(loom.models.load_model(tmp_path / "s.keras"), loom.Sequential)


def test_model_checkpoint_writes_keras_archives(tmp_path):
    model = _nested(loom)
    x, y = _nested_data()
    path = tmp_path / "best.keras"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[loom.callbacks.ModelCheckpoint(str(path))])
    k_model = keras.models.load_model(str(path))
    _same_predictions(model, k_model, x)


@keras.saving.register_keras_serializable(package="kfiles")
class KScale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@loom.saving.register_loom_serializable(package="kfiles")
class LScale(loom.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="kfiles_unmapped")
class KUnmapped(KScale):
    pass


def test_custom_classes_resolve_by_registration_or_custom_objects(tmp_path):
    x = keras.Input((3,))
    k_model = keras.Model(x, KUnmapped(3.0)(keras.layers.Dense(2)(x)))
    k_model.save(str(tmp_path / "k.keras"))
    with pytest.raises(loom.errors.UnsafeLoadError, match="KUnmapped"):
        loom.models.load_model(tmp_path / "k.keras")
    l_model = loom.models.load_model(tmp_path / "k.keras", custom_objects={"KUnmapped": LScale})
    data = _rng_data([(2, 3)])[0]
    _same_predictions(l_model, k_model, data)


class LPlain(loom.layers.Layer):
    """Not registered: Keras programs pass such classes back as custom_objects={"Name": cls}."""

    def call(self, x):
        return 3 * x


class KPlain(keras.layers.Layer):
    def call(self, x):
        return 3 * x


def test_unregistered_custom_classes_move_both_ways_by_bare_name(tmp_path):
    data = _rng_data([(2, 3)])[0]
    x = loom.Input((3,))
    l_model = loom.Model(x, LPlain(name="plain")(loom.layers.Dense(2)(x)))
    l_model.save(tmp_path / "l.keras")
    k_back = keras.models.load_model(str(tmp_path / "l.keras"), custom_objects={"LPlain": KPlain})
    assert isinstance(k_back.layers[-1], KPlain)
    _same_predictions(k_back, l_model, data)
    l_back = loom.models.load_model(tmp_path / "l.keras", safe_mode=False)  # imported from the module in the file
    assert type(l_back.layers[-1]) is LPlain

    k_input = keras.Input((3,))
    k_model = keras.Model(k_input, KPlain(name="plain")(keras.layers.Dense(2)(k_input)))
    k_model.save(str(tmp_path / "k.keras"))
    with pytest.raises(loom.errors.ModelFileError, match="not a loom layer"):
        loom.models.load_model(tmp_path / "k.keras", safe_mode=False)  # found in its module, but a Keras class
    _same_predictions(loom.models.load_model(tmp_path / "k.keras", custom_objects={"KPlain": LPlain}), k_model, data)


def test_lambda_refused_in_safe_mode(tmp_path):
    x = keras.Input((3,))
    keras.Model(x, keras.layers.Lambda(lambda t: t * 2)(x)).save(str(tmp_path / "lam.keras"))
    with pytest.raises(loom.errors.UnsafeLoadError, match="Lambda"):
        loom.models.load_model(tmp_path / "lam.keras")


@pytest.mark.slow
@pytest.mark.parametrize("app, shape", [("ResNet50", (32, 32, 3)), ("Xception", (71, 71, 3)),
                                        ("InceptionV3", (75, 75, 3))])
def test_applications_both_ways(app, shape, tmp_path):
    keras.utils.set_random_seed(0)
    k_model = getattr(keras.applications, app)(weights=None, input_shape=shape, classes=5)
    k_model.save(str(tmp_path / "k.keras"))
    x = _rng_data([(2,) + shape])[0]
    l_model = loom.models.load_model(tmp_path / "k.keras")
    _same_predictions(l_model, k_model, x, rel=1e-4)
    l_model.save(tmp_path / "l.keras")
    _same_predictions(keras.models.load_model(str(tmp_path / "l.keras")), l_model, x, rel=1e-4)


def _dense_model(L, optimizer, loss, metrics):
    x = L.Input((5,))
    h = L.layers.Dense(4, activation="elu", kernel_initializer=L.initializers.HeNormal(seed=1),
                       bias_initializer=L.initializers.Constant(0.1),
                       kernel_regularizer=L.regularizers.L1L2(l1=1e-3, l2=1e-2),
                       kernel_constraint=L.constraints.MaxNorm(2.0), activity_regularizer="l1")(x)
    h = L.layers.LayerNormalization(gamma_constraint=L.constraints.NonNeg())(h)
    out = L.layers.Dense(1, activation="sigmoid", bias_regularizer=L.regularizers.L2(0.05))(h)
    model = L.Model(x, out)
    model.compile(optimizer=optimizer(L), loss=loss(L), metrics=metrics(L))
    return model


OPTIMIZERS = {
    "sgd_nesterov": lambda L: L.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
    "rmsprop_centered": lambda L: L.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adam_amsgrad": lambda L: L.optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda L: L.optimizers.AdamW(0.01, weight_decay=0.01),
    "adagrad": lambda L: L.optimizers.Adagrad(0.05),
    "adamax": lambda L: L.optimizers.Adamax(0.01),
    "nadam": lambda L: L.optimizers.Nadam(0.01),
    "adadelta": lambda L: L.optimizers.Adadelta(1.0),
    "adam_schedule": lambda L: L.optimizers.Adam(L.optimizers.schedules.ExponentialDecay(0.01, 2, 0.5)),
    "lion": lambda L: L.optimizers.Lion(0.001),
    "lamb": lambda L: L.optimizers.Lamb(0.01),
    "ftrl": lambda L: L.optimizers.Ftrl(0.05, l1_regularization_strength=0.01),
    "schedule_free_adamw": lambda L: L.optimizers.ScheduleFreeAdamW(0.01),
    "multi_optimizer": lambda L: L.optimizers.MultiOptimizer(L.optimizers.OptimizerMap(
        L.optimizers.Adam(0.01), {".*/bias": L.optimizers.Lion(0.001, use_ema=True)})),
    "adam_ema_accumulation": lambda L: L.optimizers.Adam(0.01, use_ema=True, gradient_accumulation_steps=3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_and_compile_objects_both_ways(name, tmp_path):
    def loss(L):
        return L.losses.BinaryCrossentropy(label_smoothing=0.1)

    def metrics(L):
        return [L.metrics.AUC(name="auc"), "accuracy", L.metrics.MeanSquaredError()]

    x, y = _rng_data([(8, 5)])[0], (np.arange(8) % 2).astype("float32")[:, None]
    keras.utils.set_random_seed(0)
    k_model = _dense_model(keras, OPTIMIZERS[name], loss, metrics)
    k_model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    k_model.save(str(tmp_path / "k.keras"))
    l_model = loom.models.load_model(tmp_path / "k.keras")
    _same_predictions(l_model, k_model, x)
    assert type(l_model.optimizer).__name__ == type(k_model.optimizer).__name__
    l_hist = l_model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False).history
    k_hist = keras.models.load_model(str(tmp_path / "k.keras")).fit(
        x, y, epochs=2, batch_size=4, verbose=0, shuffle=False).history
    for key in ("loss", "auc", "mean_squared_error"):
        assert_allclose_scaled(l_hist[key], k_hist[key], rel=1e-4, err_msg=key)

    l_model.save(tmp_path / "l.keras")
    back = keras.models.load_model(str(tmp_path / "l.keras"))
    _same_predictions(back, l_model, x)
    k_hist = back.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False).history
    l_hist = l_model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False).history
    assert_allclose_scaled(l_hist["loss"], k_hist["loss"], rel=1e-4)


def _shared_dict(L):
    left, right = L.Input((6, 3), name="left"), L.Input((6, 3), name="right")
    encoder = L.layers.LSTM(4, name="shared")
    merged = L.layers.concatenate([encoder(left), encoder(right)])
    return L.Model({"left": left, "right": right},
                   {"same": L.layers.Dense(1, activation="sigmoid", name="same")(merged),
                    "score": L.layers.Dense(2, name="score")(merged)})


def test_shared_layers_and_dict_io_both_ways(tmp_path):
    keras.utils.set_random_seed(0)
    k_model = _shared_dict(keras)
    k_model.save(str(tmp_path / "k.keras"))
    x = dict(zip(("left", "right"), _rng_data([(4, 6, 3), (4, 6, 3)])))
    l_model = loom.models.load_model(tmp_path / "k.keras")
    want, got = k_model.predict(x, verbose=0), l_model.predict(x, verbose=0)
    for key in want:
        assert_allclose_scaled(got[key], want[key], rel=1e-5)
    l_model.save(tmp_path / "l.keras")
    again = keras.models.load_model(str(tmp_path / "l.keras")).predict(x, verbose=0)
    for key in want:
        assert_allclose_scaled(again[key], want[key], rel=1e-5)


def test_keras_sequential_loads_as_sequential(tmp_path):
    keras.utils.set_random_seed(0)
    k_model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="relu"),
                                keras.layers.Dropout(0.5), keras.layers.Dense(2, activation="softmax")])
    k_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    k_model.save(str(tmp_path / "k.keras"))
    l_model = loom.models.load_model(tmp_path / "k.keras")
    assert isinstance(l_model, loom.Sequential)
    _same_predictions(l_model, k_model, _rng_data([(3, 6)])[0])


@loom.saving.register_loom_serializable(package="kfiles", name="KScale")
class LScaleAsKeras(LScale):
    """Registered under the Keras class's name: files move both ways without custom_objects."""


def test_custom_classes_registered_under_the_keras_name_move_both_ways(tmp_path):
    x = keras.Input((3,))
    k_model = keras.Model(x, KScale(3.0)(keras.layers.Dense(2)(x)))
    k_model.save(str(tmp_path / "k.keras"))
    l_model = loom.models.load_model(tmp_path / "k.keras")
    assert isinstance(l_model.layers[-1], LScaleAsKeras)
    data = _rng_data([(2, 3)])[0]
    _same_predictions(l_model, k_model, data)
    l_model.save(tmp_path / "l.keras")
    back = keras.models.load_model(str(tmp_path / "l.keras"))
    assert isinstance(back.layers[-1], KScale)
    _same_predictions(back, k_model, data)


def _subclassed_net(lib):
    @lib.saving.register_keras_serializable(package="ArchiveTest")
    class Net(lib.Model):
        def __init__(self, hidden=8, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.d1 = lib.layers.Dense(hidden, activation="relu")
            self.d2 = lib.layers.Dense(1)

        def call(self, inputs):
            return self.d2(self.d1(inputs))

        def get_config(self):
            config = super().get_config()
            config.update({"hidden": self.hidden})
            return config

    return Net


def test_subclassed_model_with_its_own_get_config_round_trips_and_crosses_to_keras(tmp_path):
    """super().get_config() gives Keras's base keys, from_config calls cls(**config), and the build_config
    (the input shape of the first call) creates the weights before they load, in both directions."""
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    nets = {lib: _subclassed_net(lib)(hidden=5, name="net") for lib in (keras, loom)}
    config = nets[loom].get_config()
    assert config["hidden"] == 5 and config["name"] == "net" and {"trainable", "dtype"} <= set(config)
    for lib, net in nets.items():
        net.compile(optimizer="adam", loss="mse")
        net.fit(x, x[:, :1], epochs=1, verbose=0)
        net.save(str(tmp_path / f"{lib.__name__}.keras"))
    for saver in (keras, loom):
        path = str(tmp_path / f"{saver.__name__}.keras")
        expected = nets[saver].predict(x, verbose=0)
        for loader in (keras, loom):
            loaded = loader.saving.load_model(path)
            assert type(loaded).__name__ == "Net" and loaded.hidden == 5
            assert_allclose_scaled(loaded.predict(x, verbose=0), expected, rel=1e-6)
    with pytest.raises(loom.errors.ConfigError, match="units"):
        _subclassed_net(loom).from_config({"hidden": 5, "units": 3})
def test_a_layer_called_on_a_tuple_is_written_as_keras_writes_it(tmp_path):
    """HashedCrossing((a, b)): Keras writes the tuple argument as a list (it cannot read loom's __tuple__ tag)."""
    a, b = loom.Input((1,), dtype="int64", name="a"), loom.Input((1,), dtype="int64", name="b")
    model = loom.Model([a, b], loom.layers.HashedCrossing(num_bins=8, output_mode="one_hot")((a, b)))
    model.save(tmp_path / "cross.keras")
    data = [np.array([[1], [2], [3]]), np.array([[4], [4], [0]])]
    expected = model.predict(data, verbose=0)
    np.testing.assert_array_equal(keras.saving.load_model(tmp_path / "cross.keras").predict(data, verbose=0), expected)
    np.testing.assert_array_equal(loom.saving.load_model(tmp_path / "cross.keras").predict(data, verbose=0), expected)


def _wrapping_dense(lib):
    class WrappingDense(lib.layers.Layer):
        """A custom layer whose ``**kwargs`` configure a layer it builds, not the base Layer (PixelCNN's way)."""

        def __init__(self, scale, name=None, **kwargs):
            super().__init__(name=name)
            self.scale, self.dense_kwargs = scale, kwargs
            self.dense = lib.layers.Dense(**kwargs)

        def call(self, x):
            return self.scale * self.dense(x)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale, **self.dense_kwargs}

    return WrappingDense


def test_custom_layer_handing_its_kwargs_to_an_inner_layer_loads_both_ways(tmp_path):
    data = _rng_data([(2, 3)])[0]
    models = {}
    for lib in (keras, loom):
        x = lib.Input((3,))
        models[lib] = lib.Model(x, _wrapping_dense(lib)(2.0, units=4, activation="relu", use_bias=False)(x))
    models[loom].set_weights(models[keras].get_weights())
    models[keras].save(str(tmp_path / "k.keras"))
    models[loom].save(tmp_path / "l.keras")
    l_back = loom.models.load_model(tmp_path / "k.keras", custom_objects={"WrappingDense": _wrapping_dense(loom)})
    assert l_back.layers[-1].dense.units == 4 and not l_back.layers[-1].dense.use_bias
    _same_predictions(l_back, models[keras], data)
    k_back = keras.models.load_model(str(tmp_path / "l.keras"),
                                     custom_objects={"WrappingDense": _wrapping_dense(keras)})
    _same_predictions(k_back, models[loom], data)


def scaled_sum(inputs):
    """A module-level function a saved Lambda refers to by name."""
    return 2.0 * inputs[0] + inputs[1]


def test_lambda_of_a_named_function_saved_by_loom_loads_in_keras_with_custom_objects(tmp_path):
    """Keras writes a Lambda's named function as ``{"class_name": "function", "config": name}`` and finds it in
    custom_objects; loom writes the same (with the function's real module, which loom imports with safe_mode=False)."""
    data = _rng_data([(2, 3), (2, 3)])
    a, b = loom.Input((3,)), loom.Input((3,))
    model = loom.Model([a, b], loom.layers.Lambda(scaled_sum, output_shape=(3,))([a, b]))
    model.save(tmp_path / "l.keras")
    k_back = keras.models.load_model(str(tmp_path / "l.keras"), custom_objects={"scaled_sum": scaled_sum})
    np.testing.assert_allclose(np.asarray(k_back.predict(data, verbose=0)), 2.0 * data[0] + data[1], rtol=1e-6)
    l_back = loom.models.load_model(tmp_path / "l.keras", safe_mode=False)
    assert l_back.layers[-1].function is scaled_sum


def test_keras_compile_config_with_a_custom_loss_function_uses_custom_objects(tmp_path):
    """Keras saves a loss function by name (``{"class_name": "function", "config": "contrastive_loss"}``); the
    function given in custom_objects compiles the loaded model (Keras's own loading does the same)."""
    def k_contrastive_loss(y_true, y_pred):
        return keras.ops.mean(y_true * keras.ops.square(y_pred))

    def contrastive_loss(y_true, y_pred):
        return loom.ops.mean(y_true * loom.ops.square(y_pred))

    k_contrastive_loss.__name__ = "contrastive_loss"
    x = keras.Input((3,))
    k_model = keras.Model(x, keras.layers.Dense(1)(x))
    k_model.compile(optimizer="sgd", loss=k_contrastive_loss)
    k_model.save(str(tmp_path / "k.keras"))
    data, y = _rng_data([(4, 3), (4, 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l_model = loom.models.load_model(tmp_path / "k.keras", custom_objects={"contrastive_loss": contrastive_loss})
    assert_allclose_scaled(l_model.evaluate(data, y, verbose=0), k_model.evaluate(data, y, verbose=0))
