"""Where uploaded trip logs (actual drive times) arrive: a local ``actuals`` folder or a bucket prefix.

Read-only on purpose: a trip log stays where it was dropped (it is the evidence behind the observations
loaded from it); the sensor's cursor and the run keys make sure each version of a file is loaded once.
Listing reads no body (the sensor must stay fast whatever lands here), and a file over
SGROUTE_TRIP_LOG_MAX_BYTES is never read whole: trip logs are loaded in one piece, so their size is bounded.
"""

import os
from abc import abstractmethod
from pathlib import Path

from dagster import ConfigurableResource

from sgroute_resources.stop_file_store import StopFileNotFound, StoredFile, only_match

TRIP_LOG_SUFFIXES = (".csv",)
DEFAULT_MAX_BYTES = 100 * 1024 * 1024  # ~1 M rows of a seven-column trip log


class TripLogTooLarge(ValueError):
    """A trip log over the size limit: refused before its body is read."""


def max_trip_log_bytes() -> int:
    """SGROUTE_TRIP_LOG_MAX_BYTES, default 100 MiB."""
    value = os.environ.get("SGROUTE_TRIP_LOG_MAX_BYTES", "").strip()
    return int(value) if value else DEFAULT_MAX_BYTES


def refuse_if_large(name: str, size: int) -> None:
    limit = max_trip_log_bytes()
    if size > limit:
        raise TripLogTooLarge(
            f"trip log {name}: {size:,} bytes is over the limit of {limit:,} (SGROUTE_TRIP_LOG_MAX_BYTES); "
            "split it into smaller files"
        )


def is_trip_log(name: str) -> bool:
    return name.lower().endswith(TRIP_LOG_SUFFIXES) and not name.startswith((".", "~$"))


class TripLogStore(ConfigurableResource):
    @abstractmethod
    def list_files(self) -> list[StoredFile]: ...

    @abstractmethod
    def read(self, name: str) -> bytes:
        """The file's bytes; TripLogTooLarge past the size limit, before reading."""

    @abstractmethod
    def describe(self) -> str: ...

    def find(self, partition_key: str, file_name: str | None = None) -> StoredFile:
        """The file behind a partition: ``file_name`` when the stored key mapping names it, else by cleaned name
        (partitions made before keys were stored)."""
        files = self.list_files()
        if file_name is not None:
            for stored in files:
                if stored.name == file_name:
                    return stored
            raise StopFileNotFound(
                f"trip log '{file_name}' of partition '{partition_key}' is no longer in {self.describe()}"
            )
        return only_match(files, partition_key, self.describe(), what="trip log")


class LocalTripLogStore(TripLogStore):
    """A folder (``SGROUTE_ACTUALS``, default ``data/actuals``) on the embedded default."""

    folder: str

    def describe(self) -> str:
        return f"actuals folder {self.folder}"

    def list_files(self) -> list[StoredFile]:
        root = Path(self.folder)
        if not root.is_dir():
            return []
        out = []
        for entry in sorted(os.scandir(root), key=lambda e: e.name):
            if not entry.is_file() or entry.name.startswith((".", "~$")):
                continue
            st = entry.stat()
            out.append(
                StoredFile(
                    name=entry.name,
                    size=st.st_size,
                    stamp=f"{st.st_mtime_ns}:{st.st_size}",
                    uri=Path(entry.path).resolve().as_uri(),
                )
            )
        return out

    def read(self, name: str) -> bytes:
        path = Path(self.folder) / name
        refuse_if_large(name, path.stat().st_size)
        return path.read_bytes()
