"""Dagster's filesystem pickle IO manager, with each value written whole or not at all.

``PickledObjectFilesystemIOManager`` pickles straight into the asset's file: a step reading that file while
another run of the same partition is writing it (two runs at once, a re-run started beside a slow one) gets a
torn pickle and fails with ``EOFError`` or ``UnpicklingError`` (issue 14). Here the pickle goes to a temporary
file beside the target, is flushed to disk, and replaces the target with ``os.replace`` (atomic on POSIX and
Windows): a reader sees the previous value or the new one, never half of one, and a crash mid-write leaves
the previous value in place. The GCS IO manager needs none of this: an object upload becomes visible whole.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager


class AtomicPickledObjectFilesystemIOManager(PickledObjectFilesystemIOManager):
    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: Any) -> None:
        target = Path(os.fspath(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}.tmp")
        try:
            super().dump_to_path(context, obj, type(path)(temp))  # Dagster's pickling and its error messages
            fd = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)


class AtomicFilesystemIOManager(dg.FilesystemIOManager):
    """``FilesystemIOManager`` (same config, same paths, same files) whose writes are atomic."""

    def create_io_manager(self, context: dg.InitResourceContext) -> AtomicPickledObjectFilesystemIOManager:
        base_dir = self.base_dir or context.instance.storage_directory()  # type: ignore[union-attr]
        return AtomicPickledObjectFilesystemIOManager(base_dir=base_dir)
