"""Exporting models for serving, as ``keras.export``: :class:`ExportArchive`.

Example:
    >>> import loom
    >>> loom.export.ExportArchive(format="torch").format
    'torch'
"""

from loom.export.export_archive import ExportArchive

__all__ = ["ExportArchive"]
