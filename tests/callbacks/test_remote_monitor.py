"""RemoteMonitor posts each epoch's logs to a real local HTTP server, as Keras's does."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

import loom


@pytest.fixture()
def server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append((self.path, self.headers["Content-Type"], self.rfile.read(length).decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()


def _fit(callback):
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0, callbacks=[callback]).history


@pytest.mark.parametrize("as_json", [False, True])
def test_posts_every_epoch(server, as_json):
    root, received = server
    history = _fit(loom.callbacks.RemoteMonitor(root=root, path="/events/", field="payload", send_as_json=as_json))
    assert [r[0] for r in received] == ["/events/", "/events/"]
    for epoch, (_, kind, body) in enumerate(received):
        sent = json.loads(body) if as_json else json.loads(urllib.parse.parse_qs(body)["payload"][0])
        assert kind.startswith("application/json" if as_json else "application/x-www-form-urlencoded")
        assert sent["epoch"] == epoch
        assert sent["loss"] == pytest.approx(history["loss"][epoch]) and "mae" in sent


def test_unreachable_server_only_warns():
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        history = _fit(loom.callbacks.RemoteMonitor(root="http://127.0.0.1:9"))
    assert len(history["loss"]) == 2
