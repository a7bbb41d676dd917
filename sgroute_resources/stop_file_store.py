"""Where stop files arrive and where a partition's exports go.

The sensor and the assets only talk to this interface, so the local inbox of the embedded default and a
bucket in production are interchangeable resources (hooli-data-eng-pipelines' per-environment file system).
"""

import hashlib
import json
import os
import shutil
import time
import uuid
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster import ConfigurableResource, ResourceDependency
from dagster._utils.cached_method import cached_method
from dagster_gcp import GCSResource

from sgroute_assets.domain.partition_keys import partition_key_for
from sgroute_assets.domain.stop_file_reader import suffix_of


@dataclass(frozen=True)
class StoredFile:
    """A listing entry; ``stamp`` changes whenever the object may have changed (mtime+size, generation)."""

    name: str  # relative to the inbox (folder or bucket prefix)
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


# A partition's exports are published as a whole: manifest.json names the plan (id, data version) and every file.
MANIFEST = "manifest.json"
# Written by validated_stops before a plan exists; carried into each newly published folder.
CARRIED_EXPORTS = ("validation_report.json", "validation_issues.csv")


def only_match(files: Iterable[StoredFile], partition_key: str, where: str, what: str = "stop file") -> StoredFile:
    """The one file whose name maps to ``partition_key``; keys come from names, so two names may collide."""
    matches = [f for f in files if f.partition_key == partition_key]
    if not matches:
        raise StopFileNotFound(f"no {what} for partition '{partition_key}' in {where}")
    if len(matches) > 1:
        names = ", ".join(sorted(f.name for f in matches))
        raise StopFileNotFound(f"partition '{partition_key}' matches several {what}s ({names}); rename one")
    return matches[0]


class StopFileStore(ConfigurableResource):
    """Abstract store; subclasses say where the files physically live."""

    @abstractmethod
    def iter_files(self, start_after: str | None = None) -> Iterator[StoredFile]:
        """Files in name order, strictly after ``start_after``; lazy, so a caller can stop early."""

    @abstractmethod
    def stat(self, name: str) -> StoredFile | None: ...

    @abstractmethod
    def read(self, name: str) -> bytes: ...

    @abstractmethod
    def quarantine(self, name: str, report: dict) -> str:
        """Move a file that cannot become a partition aside, with a JSON report; return its new URI."""

    @abstractmethod
    def write_export(self, partition_key: str, relative_path: str, data: bytes) -> str: ...

    @abstractmethod
    def publish_exports(self, partition_key: str, files: dict[str, bytes], manifest: dict) -> dict[str, str]:
        """Write a plan's exports to a fresh location and swap them in whole; return name -> URI.

        No file of an earlier plan survives (a re-plan with fewer vehicles leaves no old driver sheet), and a
        crash while writing leaves the previous exports as they were.
        """

    @abstractmethod
    def read_export_manifest(self, partition_key: str) -> dict | None:
        """The manifest of the exports currently published for a partition, None if there are none."""

    def browser_url(self, uri: str) -> str | None:
        """A link a browser opens for an export URI, None when there is nowhere to serve it from."""
        return None

    @abstractmethod
    def describe(self) -> str: ...

    def list_files(self) -> list[StoredFile]:
        return list(self.iter_files())

    def find(self, partition_key: str, name_hint: str | None = None) -> StoredFile:
        """The stop file behind a partition; the sensor's run tag names it, otherwise search by key."""
        if name_hint:
            hinted = self.stat(name_hint)
            if hinted is not None and hinted.partition_key == partition_key:
                return hinted
        return only_match((f for f in self.iter_files() if f.supported), partition_key, self.describe())


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


class LocalStopFileStore(StopFileStore):
    """A folder inbox: the embedded default, and what `make demo` drops its files into."""

    inbox: str
    exports_dir: str
    quarantine_dir: str
    # Where `make dev` serves exports_dir read-only (SGROUTE_EXPORTS_URL), so metadata links open in a browser.
    exports_url: str = ""

    def _inbox(self) -> Path:
        return Path(self.inbox)

    def describe(self) -> str:
        return f"inbox folder {self.inbox}"

    def _entry(self, path: Path) -> StoredFile:
        st = path.stat()
        return StoredFile(
            name=path.name, size=st.st_size, stamp=f"{st.st_mtime_ns}:{st.st_size}", uri=path.resolve().as_uri()
        )

    def iter_files(self, start_after: str | None = None) -> Iterator[StoredFile]:
        root = self._inbox()
        if not root.is_dir():
            return
        names = sorted(e.name for e in os.scandir(root) if e.is_file() and not e.name.startswith((".", "~$")))
        for name in names:
            if start_after is None or name > start_after:
                path = root / name
                if path.exists():
                    yield self._entry(path)

    def stat(self, name: str) -> StoredFile | None:
        path = self._inbox() / name
        return self._entry(path) if path.is_file() else None

    def read(self, name: str) -> bytes:
        return (self._inbox() / name).read_bytes()

    def quarantine(self, name: str, report: dict) -> str:
        target_dir = Path(self.quarantine_dir)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / name
        (target_dir / f"{name}.report.json").write_text(json.dumps(report, indent=2, default=str))
        shutil.move(str(self._inbox() / name), target)
        return target.resolve().as_uri()

    def write_export(self, partition_key: str, relative_path: str, data: bytes) -> str:
        target = Path(self.exports_dir) / partition_key / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # readers never see half a file; a re-run overwrites in place
        return str(target.resolve())

    def publish_exports(self, partition_key: str, files: dict[str, bytes], manifest: dict) -> dict[str, str]:
        """Everything is written to a staging folder first, then the folder is renamed into place.

        The old folder is moved aside and the new one renamed in (two renames on one file system, no copy), so
        `exports/<partition>/` only ever holds one plan's complete set of files.
        """
        root = Path(self.exports_dir)
        target = root / partition_key
        staging_root = root / ".staging"
        staging_root.mkdir(parents=True, exist_ok=True)
        self._clear_abandoned(staging_root, partition_key)
        token = uuid.uuid4().hex[:10]
        staging = staging_root / f"{partition_key}.{token}"
        try:
            for name, data in files.items():
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            for name in CARRIED_EXPORTS:
                if name not in files and (target / name).is_file():
                    shutil.copy2(target / name, staging / name)
            listed = sorted({*files, *(n for n in CARRIED_EXPORTS if (staging / n).is_file())})
            (staging / MANIFEST).write_text(json.dumps({**manifest, "files": listed}, indent=1, default=str))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        retired = staging_root / f"{partition_key}.{token}.old"
        if target.exists():
            os.rename(target, retired)
        os.rename(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
        return {name: str((target / name).resolve()) for name in [*files, MANIFEST]}

    @staticmethod
    def _clear_abandoned(staging_root: Path, partition_key: str, min_age_s: float = 600) -> None:
        """Staging folders a crashed run left behind (old enough not to belong to a run in flight)."""
        now = time.time()
        for leftover in staging_root.glob(f"{partition_key}.*"):
            try:
                if now - leftover.stat().st_mtime > min_age_s:
                    shutil.rmtree(leftover, ignore_errors=True)
            except FileNotFoundError:
                continue

    def read_export_manifest(self, partition_key: str) -> dict | None:
        path = Path(self.exports_dir) / partition_key / MANIFEST
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def browser_url(self, uri: str) -> str | None:
        if not self.exports_url:
            return None
        try:
            relative = Path(uri).resolve().relative_to(Path(self.exports_dir).resolve())
        except ValueError:
            return None
        from urllib.parse import quote

        return self.exports_url.rstrip("/") + "/" + quote(relative.as_posix())


CONTENT_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".pdf": "application/pdf",
    ".png": "image/png",
}


class GCSStopFileStore(StopFileStore):
    """Stop files under gs://bucket/<inbox_prefix>; exports and quarantine under their own prefixes."""

    gcs: ResourceDependency[GCSResource]
    bucket: str
    inbox_prefix: str = "incoming/"
    exports_prefix: str = "exports/"
    quarantine_prefix: str = "quarantine/"
    page_size: int = 1000

    @cached_method
    def _bucket(self):
        return self.gcs.get_client().bucket(self.bucket)

    def describe(self) -> str:
        return f"gs://{self.bucket}/{self.inbox_prefix}"

    def _entry(self, blob) -> StoredFile:
        name = blob.name[len(self.inbox_prefix) :]
        return StoredFile(
            name=name,
            size=int(blob.size or 0),
            stamp=str(blob.generation),
            uri=f"gs://{self.bucket}/{blob.name}",
            generation=str(blob.generation),
        )

    def iter_files(self, start_after: str | None = None) -> Iterator[StoredFile]:
        prefix = self.inbox_prefix
        offset = prefix + start_after if start_after else None
        blobs = self._bucket().client.list_blobs(
            self._bucket(), prefix=prefix, start_offset=offset, page_size=self.page_size
        )
        for blob in blobs:
            rel = blob.name[len(prefix) :]
            # Filter in Python too: the emulator ignores start_offset, and "folders" are not stop files.
            if not rel or rel.endswith("/") or "/" in rel:
                continue
            if start_after is not None and rel <= start_after:
                continue
            yield self._entry(blob)

    def stat(self, name: str) -> StoredFile | None:
        blob = self._bucket().get_blob(self.inbox_prefix + name)
        return self._entry(blob) if blob is not None else None

    def read(self, name: str) -> bytes:
        return self._bucket().blob(self.inbox_prefix + name).download_as_bytes()

    def quarantine(self, name: str, report: dict) -> str:
        source = self._bucket().blob(self.inbox_prefix + name)
        target_name = self.quarantine_prefix + name
        self._bucket().blob(target_name + ".report.json").upload_from_string(
            json.dumps(report, indent=2, default=str), content_type="application/json"
        )
        self._bucket().copy_blob(source, self._bucket(), target_name)
        source.delete()  # only after the copy exists: the file itself is never lost
        return f"gs://{self.bucket}/{target_name}"

    def write_export(self, partition_key: str, relative_path: str, data: bytes) -> str:
        name = f"{self.exports_prefix}{partition_key}/{relative_path}"
        content_type = CONTENT_TYPES.get(Path(relative_path).suffix.lower(), "application/octet-stream")
        self._bucket().blob(name).upload_from_string(data, content_type=content_type)
        return f"gs://{self.bucket}/{name}"

    def publish_exports(self, partition_key: str, files: dict[str, bytes], manifest: dict) -> dict[str, str]:
        """Objects cannot be renamed as a set, so each publish gets its own prefix and one object switches.

        The files go to `exports/<partition>/plans/<plan id>-<token>/`; then `exports/<partition>/manifest.json`
        (one object write, atomic) points at that prefix; only then are older plan prefixes deleted. A crash
        before the switch leaves the previous manifest pointing at the previous, complete set.
        """
        prefix = f"{self.exports_prefix}{partition_key}/"
        version = f"{manifest.get('plan_id') or 'plan'}-{uuid.uuid4().hex[:8]}"
        base = f"{prefix}plans/{version}/"
        bucket = self._bucket()
        for name, data in files.items():
            content_type = CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
            bucket.blob(base + name).upload_from_string(data, content_type=content_type)
        written = {name: f"gs://{self.bucket}/{base}{name}" for name in files}
        pointer = {**manifest, "files": sorted(files), "location": f"gs://{self.bucket}/{base}"}
        body = json.dumps(pointer, indent=1, default=str)
        bucket.blob(base + MANIFEST).upload_from_string(body, content_type="application/json")
        bucket.blob(prefix + MANIFEST).upload_from_string(body, content_type="application/json")
        for blob in bucket.client.list_blobs(bucket, prefix=prefix + "plans/"):
            if not blob.name.startswith(base):
                blob.delete()
        written[MANIFEST] = f"gs://{self.bucket}/{prefix}{MANIFEST}"
        return written

    def read_export_manifest(self, partition_key: str) -> dict | None:
        blob = self._bucket().get_blob(f"{self.exports_prefix}{partition_key}/{MANIFEST}")
        if blob is None:
            return None
        try:
            return json.loads(blob.download_as_bytes())
        except ValueError:
            return None

    def browser_url(self, uri: str) -> str | None:
        """The console's authenticated object link: opens for anyone with read access to the bucket."""
        if not uri.startswith("gs://"):
            return None
        from urllib.parse import quote

        return "https://storage.cloud.google.com/" + quote(uri.removeprefix("gs://"))
