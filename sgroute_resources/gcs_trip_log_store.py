"""Trip logs in a bucket prefix: the cloud half of trip_log_store.py, in its own module so the local
environment (and every run worker of `make dev`) never imports dagster-gcp."""

from dagster import ResourceDependency
from dagster_gcp import GCSResource

from sgroute_resources.stop_file_store import StopFileNotFound, StoredFile
from sgroute_resources.trip_log_store import TripLogStore, refuse_if_large


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
        blob = self._bucket().get_blob(self.prefix + name)
        if blob is None:
            raise StopFileNotFound(f"trip log '{name}' is no longer in {self.describe()}")
        refuse_if_large(name, int(blob.size or 0))
        # The generation read is the one whose size was checked, even if the file is replaced meanwhile.
        return blob.download_as_bytes(if_generation_match=blob.generation)
