"""Where uploaded trip logs (actual drive times) arrive: a local ``actuals`` folder or a bucket prefix.

Read-only on purpose: a trip log stays where it was dropped (it is the evidence behind the observations
loaded from it); the sensor's cursor and the run keys make sure each version of a file is loaded once.
"""

import os
from abc import abstractmethod
from pathlib import Path

from dagster import ConfigurableResource, ResourceDependency
from dagster_gcp import GCSResource

from sgroute_resources.stop_file_store import StoredFile, only_match

TRIP_LOG_SUFFIXES = (".csv",)


def is_trip_log(name: str) -> bool:
    return name.lower().endswith(TRIP_LOG_SUFFIXES) and not name.startswith((".", "~$"))


class TripLogStore(ConfigurableResource):
    @abstractmethod
    def list_files(self) -> list[StoredFile]: ...

    @abstractmethod
    def read(self, name: str) -> bytes: ...

    @abstractmethod
    def describe(self) -> str: ...

    def find(self, partition_key: str) -> StoredFile:
        return only_match(self.list_files(), partition_key, self.describe(), what="trip log")


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
        return (Path(self.folder) / name).read_bytes()


class GCSTripLogStore(TripLogStore):
    """Trip logs under gs://bucket/<prefix> (default ``actuals/``); sub-folders are not trip logs."""

    gcs: ResourceDependency[GCSResource]
    bucket: str
    prefix: str = "actuals/"

    def describe(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}"

    def _bucket(self):
        return self.gcs.get_client().bucket(self.bucket)

    def list_files(self) -> list[StoredFile]:
        bucket = self._bucket()
        out = []
        for blob in bucket.client.list_blobs(bucket, prefix=self.prefix):
            rel = blob.name[len(self.prefix) :]
            if not rel or "/" in rel:
                continue
            out.append(
                StoredFile(
                    name=rel,
                    size=int(blob.size or 0),
                    stamp=str(blob.generation),
                    uri=f"gs://{self.bucket}/{blob.name}",
                    generation=str(blob.generation),
                )
            )
        return sorted(out, key=lambda f: f.name)

    def read(self, name: str) -> bytes:
        return self._bucket().blob(self.prefix + name).download_as_bytes()
