import numpy as np
import pytest

import loom
from loom.callbacks import LambdaCallback
from loom.errors import ConfigError


def test_runs_the_given_functions_at_their_hooks():
    events = []
    cb = LambdaCallback(on_train_begin=lambda logs: events.append("train_begin"),
                        on_epoch_begin=lambda epoch, logs: events.append(("epoch_begin", epoch)),
                        on_train_batch_end=lambda batch, logs: events.append(("batch", batch, "loss" in logs)),
                        on_epoch_end=lambda epoch, logs: events.append(("epoch_end", epoch, sorted(logs))),
                        on_test_end=lambda logs: events.append("test_end"),
                        on_train_end=lambda logs: events.append("train_end"))
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=2, epochs=1, validation_split=0.5, verbose=0,
              callbacks=[cb])
    assert events == ["train_begin", ("epoch_begin", 0), ("batch", 0, True), "test_end",
                      ("epoch_end", 0, ["loss", "val_loss"]), "train_end"]


def test_batch_alias_and_bad_hooks():
    seen = []
    cb = LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    cb.on_train_batch_end(3, {})
    assert seen == [3]
    with pytest.raises(ConfigError, match="Valid hooks"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(ConfigError, match="callable"):
        LambdaCallback(on_epoch_end=3)
