"""Where stop files arrive and where a partition's exports go.

The sensor and the assets only talk to this interface, so the local inbox of the embedded default and a
bucket in production are interchangeable resources.
"""

import hashlib
import json
import os
import shutil
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path

from dagster import ConfigurableResource

from sgroute_assets.domain.partition_keys import partition_key_for
from sgroute_assets.domain.stop_file_reader import suffix_of


@dataclass(frozen=True)
class StoredFile:
    """A listing entry; ``stamp`` changes whenever the object may have changed (mtime+size, generation)."""

    name: str
    size: int
    stamp: str
    uri: str
    generation: str | None = None  # object generation in a bucket; None for local files

    @property
    def partition_key(self) -> str:
        return partition_key_for(self.name)

    @property
    def supported(self) -> bool:
        return bool(suffix_of(self.name))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class StopFileNotFound(LookupError):
    pass


class StopFileStore(ConfigurableResource):
    """Abstract store; subclasses say where the files physically live."""

    @abstractmethod
    def list_files(self) -> list[StoredFile]: ...

    @abstractmethod
    def read(self, name: str) -> bytes: ...

    @abstractmethod
    def quarantine(self, name: str, report: dict) -> str:
        """Move a file that cannot become a partition aside, with a JSON report; return its new URI."""

    @abstractmethod
    def write_export(self, partition_key: str, relative_path: str, data: bytes) -> str: ...

    def find(self, partition_key: str) -> StoredFile:
        """The stop file behind a partition (keys are derived from names, so look them up the same way)."""
        matches = [f for f in self.list_files() if f.supported and f.partition_key == partition_key]
        if not matches:
            raise StopFileNotFound(f"no stop file for partition '{partition_key}' in {self.describe()}")
        if len(matches) > 1:
            names = ", ".join(sorted(f.name for f in matches))
            raise StopFileNotFound(f"partition '{partition_key}' matches several files ({names}); rename one")
        return matches[0]

    @abstractmethod
    def describe(self) -> str: ...


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


class LocalStopFileStore(StopFileStore):
    """A folder inbox: the embedded default, and what `make demo` drops its files into."""

    inbox: str
    exports_dir: str
    quarantine_dir: str

    def _inbox(self) -> Path:
        return Path(self.inbox)

    def describe(self) -> str:
        return f"inbox folder {self.inbox}"

    def list_files(self) -> list[StoredFile]:
        root = self._inbox()
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
        return (self._inbox() / name).read_bytes()

    def quarantine(self, name: str, report: dict) -> str:
        target_dir = Path(self.quarantine_dir)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / name
        shutil.move(str(self._inbox() / name), target)
        (target_dir / f"{name}.report.json").write_text(json.dumps(report, indent=2, default=str))
        return target.resolve().as_uri()

    def write_export(self, partition_key: str, relative_path: str, data: bytes) -> str:
        target = Path(self.exports_dir) / partition_key / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # readers never see half a file; a re-run overwrites in place
        return str(target.resolve())
