"""The bucket as the inbox: stop files under gs://bucket/<inbox_prefix>, exports and quarantine beside them.

Its own module (the folder store and what both share stay in stop_file_store.py) because objects cannot be
renamed as a set: publishing, quarantine and listing work by generations and prefixes instead. No
``from __future__ import annotations``: Dagster's resource fields (ResourceDependency) are read at run time.
"""

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from dagster import ResourceDependency
from dagster._utils.cached_method import cached_method
from dagster_gcp import GCSResource
from google.api_core.exceptions import NotFound, PreconditionFailed

from sgroute_resources.stop_file_store import (
    EXPORT_INDEX,
    MANIFEST,
    REVISION_PREFIX,
    IgnoredCallback,
    StopFileNotFound,
    StopFileStore,
    StoredFile,
    quarantined_name,
    skipped_inbox_name,
)

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
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

    def export_objects(self, partition_key: str) -> list[tuple[str, Callable[[], None]]]:
        bucket = self._bucket()
        prefix = f"{self.exports_prefix}{partition_key}/"
        blobs = [b for b in bucket.client.list_blobs(bucket, prefix=prefix) if b.name.startswith(prefix)]
        return [(f"gs://{self.bucket}/{b.name}", b.delete) for b in blobs]  # the emulator ignores some filters

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

    def iter_files(
        self, start_after: str | None = None, on_ignored: IgnoredCallback | None = None
    ) -> Iterator[StoredFile]:
        """One listing with delimiter '/': sub-folders come back as prefixes (one entry each, never their
        objects), reported to ``on_ignored`` once the pages that hold them are read."""
        prefix = self.inbox_prefix
        offset = prefix + start_after if start_after else None
        blobs = self._bucket().client.list_blobs(
            self._bucket(), prefix=prefix, start_offset=offset, page_size=self.page_size, delimiter="/"
        )
        reported: set[str] = set()
        for page in blobs.pages:
            for blob in page:
                rel = blob.name[len(prefix) :]
                # Filter in Python too: the emulator ignores start_offset; a "folder" placeholder is no file.
                if not rel or rel.endswith("/") or "/" in rel:
                    continue
                if start_after is not None and rel <= start_after:
                    continue
                skipped = skipped_inbox_name(rel)
                if skipped:  # as the folder inbox does: a hidden upload or an editor's lock file is no stop file
                    if on_ignored:
                        on_ignored(rel, skipped)
                    continue
                yield self._entry(blob)
            if on_ignored:
                for folder in sorted(set(page.prefixes) - reported):
                    reported.add(folder)
                    rel = folder[len(prefix) :]
                    on_ignored(rel, f"a sub-folder: only objects directly under {prefix} are stop files")

    def stat(self, name: str) -> StoredFile | None:
        blob = self._bucket().get_blob(self.inbox_prefix + name)
        return self._entry(blob) if blob is not None else None

    def read(self, name: str, generation: str | None = None) -> bytes:
        blob = self._bucket().blob(self.inbox_prefix + name, generation=int(generation) if generation else None)
        try:
            return blob.download_as_bytes()
        except NotFound:
            what = f"generation {generation} of '{name}'" if generation else f"'{name}'"
            raise StopFileNotFound(f"{what} is no longer in {self.describe()}") from None

    def quarantine(self, name: str, report: dict, expected: StoredFile | None = None) -> str | None:
        """Copy to ``quarantine/<stem>.<generation><suffix>``, report beside it, then delete the inbox object.

        The generation preconditions (``if_generation_match``) make sure a newer upload under the same name is
        neither copied nor deleted.
        """
        bucket = self._bucket()
        current = expected if expected is not None else self.stat(name)
        if current is None or current.generation is None:
            return None
        source = bucket.blob(self.inbox_prefix + name)
        target_name = self.quarantine_prefix + quarantined_name(name, current.generation)
        report = {
            **report,
            "quarantined_at": dt.datetime.now(dt.UTC).isoformat(),
            "quarantined_as": f"gs://{self.bucket}/{target_name}",
        }
        try:
            bucket.copy_blob(
                source, bucket, target_name, source_generation=int(current.generation), if_generation_match=0
            )
        except PreconditionFailed:
            pass  # this generation was quarantined before (a retried run): the copy is already there
        except NotFound:
            return None  # replaced or deleted since it was listed
        bucket.blob(target_name + ".report.json").upload_from_string(
            json.dumps(report, indent=2, default=str), content_type="application/json"
        )
        try:
            # Only after the copy exists: the file itself is never lost; only this generation is deleted.
            bucket.blob(self.inbox_prefix + name).delete(if_generation_match=int(current.generation))
        except (NotFound, PreconditionFailed):
            return None
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
        written = {}
        for name, data in files.items():
            # A revision's own copy (rev-02/...) lives beside the plan prefixes and is never cleaned with them.
            where = prefix if name.startswith(REVISION_PREFIX) else base
            content_type = CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
            bucket.blob(where + name).upload_from_string(data, content_type=content_type)
            written[name] = f"gs://{self.bucket}/{where}{name}"
        revisions = sorted(
            {
                b.name[len(prefix) :].split("/")[0]
                for b in bucket.client.list_blobs(bucket, prefix=prefix + REVISION_PREFIX)
                if b.name.startswith(prefix + REVISION_PREFIX)
            }
        )
        pointer = {
            **manifest,
            "files": sorted(files),
            "revisions": revisions,
            "location": f"gs://{self.bucket}/{base}",
        }
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

    def published_plans(self) -> list[tuple[dict, str]]:
        """The partition manifests (``exports/<partition>/manifest.json``, not the copies inside plan prefixes)."""
        bucket = self._bucket()
        out = []
        for blob in bucket.client.list_blobs(bucket, prefix=self.exports_prefix):
            rel = blob.name[len(self.exports_prefix) :]
            partition, _, leaf = rel.partition("/")
            if leaf != MANIFEST:
                continue
            try:
                manifest = json.loads(blob.download_as_bytes())
            except (ValueError, NotFound):
                continue
            location = str(manifest.get("location") or "")
            base = location.removeprefix(f"gs://{self.bucket}/{self.exports_prefix}")
            out.append((manifest, quote(base) if base != location else quote(partition) + "/"))
        return sorted(out, key=lambda m: m[1])

    def write_export_index(self, html: bytes) -> str:
        name = f"{self.exports_prefix}{EXPORT_INDEX}"
        self._bucket().blob(name).upload_from_string(html, content_type=CONTENT_TYPES[".html"])
        return f"gs://{self.bucket}/{name}"

    def browser_url(self, uri: str) -> str | None:
        """The console's authenticated object link: opens for anyone with read access to the bucket."""
        if not uri.startswith("gs://"):
            return None
        return "https://storage.cloud.google.com/" + quote(uri.removeprefix("gs://"))
