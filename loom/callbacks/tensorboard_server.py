"""Start a real TensorBoard server on the logs the :class:`~loom.callbacks.TensorBoard` callback wrote.

``loom board LOGDIR [--port P]`` calls :func:`serve`. The server listens on 127.0.0.1 only.

Example:
    >>> url = start_board("logs", port=0)  # doctest: +SKIP
    >>> url  # doctest: +SKIP
    'http://127.0.0.1:45123/'
"""

from __future__ import annotations

import os
import socket
import time

from loom.errors import ConfigError

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_board(logdir: str | os.PathLike, port: int = 6006) -> str:
    """Start TensorBoard on ``logdir`` in a background thread of this process; return its address.

    Args:
        logdir: the directory holding the runs (``train/``, ``validation/``...).
        port: the port on 127.0.0.1 (default 6006; 0 picks a free one).

    Raises:
        ConfigError: ``logdir`` is not a directory, or the port cannot be used.
    """
    logdir = os.fspath(logdir)
    if not os.path.isdir(logdir):
        raise ConfigError(f"loom board: {logdir!r} is not a directory. Pass the log_dir of your TensorBoard "
                          f"callback (it holds train/ and validation/).")
    from tensorboard import program
    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", logdir, "--host", HOST, "--port", str(port or free_port()),
                          "--load_fast", "false"])
    try:
        return board.launch()
    except Exception as e:  # noqa: BLE001 - TensorBoard raises its own error types for a busy port
        raise ConfigError(f"loom board: cannot start TensorBoard on {HOST}:{port}: {e}. Try another --port.") from e


def serve(logdir: str | os.PathLike, port: int = 6006) -> int:
    """Run TensorBoard until interrupted (Ctrl-C); prints its address. Returns an exit code."""
    url = start_board(logdir, port)
    print(f"TensorBoard {url} (logs: {os.path.abspath(os.fspath(logdir))}); press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
