"""Distributed data-parallel training: the same ``fit`` under ``torchrun`` (or :func:`launch`), on CPU and GPU.

A script calling ``model.fit(...)`` runs unchanged as ``torchrun --nproc_per_node=N script.py``. loom joins
the process group (gloo on CPU, nccl on CUDA; :mod:`.context`), trains through ``DistributedDataParallel``
(:mod:`.data_parallel`), gives each rank its share of every global batch (``batch_size`` is the global batch;
:mod:`.sharding`), and sums losses and metrics over ranks once per epoch so History and logs are global
(:mod:`.reduce`). A ``stop_training`` set on any rank is agreed by all every few steps and at epoch end
(:mod:`.stopping`); generators and Sequences are shared round-robin by batch (:mod:`.strided`). Only rank 0
prints, writes callback files and saves models; ``evaluate`` and ``predict`` return the full result on every
rank.

Example:
    >>> import loom
    >>> loom.distributed.world_size(), loom.distributed.is_rank_zero()
    (1, True)
"""

from loom.distributed.context import (ensure_initialized, is_distributed, is_rank_zero, local_rank, rank,
                                      shutdown, world_size)
from loom.distributed.data_parallel import sync_batchnorm
from loom.distributed.launch import free_port, launch

__all__ = ["ensure_initialized", "free_port", "is_distributed", "is_rank_zero", "launch", "local_rank", "rank",
           "shutdown", "sync_batchnorm", "world_size"]
