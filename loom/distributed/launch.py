"""``launch(fn, nprocs)``: a distributed run from Python (a notebook, a test) instead of ``torchrun``.

Starts ``nprocs`` processes on this machine with :mod:`torch.multiprocessing`, joins them in a ``gloo``
process group on a free localhost port (``nccl`` with ``backend='nccl'``, one GPU per process), and calls
``fn(*args)`` in each. Inside ``fn``, ``model.fit`` / ``evaluate`` / ``predict`` are distributed exactly as
under ``torchrun``. Return values are not sent back (write results to files from rank 0); an exception in any
process is raised again here.

The default start method is ``fork`` where the platform has it and CUDA is not yet initialized in this
process (so functions defined in a notebook work), else ``spawn`` (``fn`` must then be importable).

Example:
    >>> import loom
    >>> def hello():
    ...     print(loom.distributed.rank(), loom.distributed.world_size())
    >>> loom.distributed.launch(hello, nprocs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from typing import Any, Callable

import torch
import torch.distributed as dist

from loom.distributed import context
from loom.errors import ConfigError


def free_port() -> int:
    """A TCP port free on localhost right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(fn: Callable[..., Any], nprocs: int = 2, args: tuple = (), backend: str = "gloo",
           port: int | None = None, start_method: str | None = None) -> None:
    """Run ``fn(*args)`` in ``nprocs`` processes joined in one process group.

    Args:
        fn: the function each process runs (it calls ``fit`` etc. as usual).
        nprocs: number of processes (default 2).
        args: positional arguments for ``fn`` (default ``()``).
        backend: ``'gloo'`` (default, CPU) or ``'nccl'`` (one CUDA device per process).
        port: the rendezvous port on 127.0.0.1 (default ``None``: a free one).
        start_method: ``'fork'``, ``'spawn'`` or ``'forkserver'`` (default ``None``: see the module docstring).

    Raises:
        ConfigError: bad ``nprocs`` / ``backend`` / ``start_method``.
        torch.multiprocessing.ProcessRaisedException: ``fn`` raised in one of the processes.
    """
    if isinstance(nprocs, bool) or not isinstance(nprocs, int) or nprocs < 1:
        raise ConfigError(f"nprocs must be a positive integer; got {nprocs!r}.")
    if backend not in ("gloo", "nccl"):
        raise ConfigError(f"Unknown backend {backend!r}. Valid: ['gloo', 'nccl'].")
    methods = multiprocessing.get_all_start_methods()
    if start_method is None:
        start_method = "fork" if "fork" in methods and not torch.cuda.is_initialized() else "spawn"
    if start_method not in methods:
        raise ConfigError(f"Unknown start_method {start_method!r}. Valid here: {methods}.")
    port = port or free_port()
    torch.multiprocessing.start_processes(_worker, args=(fn, args, nprocs, port, backend), nprocs=nprocs,
                                          join=True, start_method=start_method)


def _worker(rank: int, fn: Callable[..., Any], args: tuple, nprocs: int, port: int, backend: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(nprocs), LOCAL_WORLD_SIZE=str(nprocs))
    if backend == "nccl":
        torch.cuda.set_device(rank % torch.cuda.device_count())
    dist.init_process_group(backend=backend, rank=rank, world_size=nprocs)
    try:
        fn(*args)
    finally:
        context._OWNED["group"] = True  # leave the group cleanly even though loom did not create it in fit
        context.shutdown()
