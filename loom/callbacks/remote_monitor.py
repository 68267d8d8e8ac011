"""``RemoteMonitor``: post each epoch's logs to an HTTP server, as ``keras.callbacks.RemoteMonitor``.

At the end of every epoch the callback sends ``{"epoch": ..., <log name>: <value>, ...}`` to
``root + path`` with an HTTP POST: as a form field ``field`` holding the JSON text (default), or as a JSON
body (``send_as_json=True``). An unreachable server gives a warning, never stops training. It uses the
standard library's HTTP client (Keras needs ``requests``).

Example:
    >>> cb = RemoteMonitor(root="http://localhost:9000", send_as_json=True)
    >>> cb.root + cb.path
    'http://localhost:9000/publish/epoch/end/'
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from loom.callbacks.callback import Callback

__all__ = ["RemoteMonitor"]


class RemoteMonitor(Callback):
    """Send the logs of each epoch to a server (see the module docstring).

    Args:
        root: the server's root URL (default ``'http://localhost:9000'``).
        path: the path the events are posted to (default ``'/publish/epoch/end/'``).
        field: the form field holding the JSON text when not ``send_as_json`` (default ``'data'``).
        headers: extra HTTP headers (default ``None``).
        send_as_json: post a JSON body instead of a form (default ``False``).
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/", field: str = "data",
                 headers: dict | None = None, send_as_json: bool = False) -> None:
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "item") else value
        if self.send_as_json:
            body, kind = json.dumps(send).encode(), "application/json"
        else:
            body, kind = urllib.parse.urlencode({self.field: json.dumps(send)}).encode(), \
                "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.root + self.path, data=body, method="POST",
                                         headers={"Content-Type": kind, **(self.headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
