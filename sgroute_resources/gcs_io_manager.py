"""dagster-gcp's pickle IO manager, with a missing bucket reported as such.

GCSPickleIOManager asserts ``bucket.exists()`` and fails with a bare "Invariant failed" (see
shared/notes/dagster.md, trip-up 5); operators need to know which bucket and what to fix.
"""

from dagster import DagsterInvariantViolationError
from dagster._utils.cached_method import cached_method
from dagster_gcp.gcs.io_manager import GCSPickleIOManager, PickledObjectGCSIOManager
from google.api_core import exceptions as gcs_errors


class MissingBucketError(DagsterInvariantViolationError):
    pass


class CheckedGCSPickleIOManager(GCSPickleIOManager):
    @property
    @cached_method
    def _internal_io_manager(self) -> PickledObjectGCSIOManager:
        client = self.gcs.get_client()
        try:
            exists = client.bucket(self.gcs_bucket).exists()
        except gcs_errors.Forbidden:
            raise MissingBucketError(
                f"cannot check GCS bucket '{self.gcs_bucket}' for asset storage: the service account needs "
                "storage.buckets.get on it (roles/storage.objectAdmin alone does not grant it)"
            ) from None
        if not exists:
            raise MissingBucketError(
                f"GCS bucket '{self.gcs_bucket}' for asset storage does not exist: create it "
                f"(gcloud storage buckets create gs://{self.gcs_bucket}) or set SGROUTE_BUCKET"
            )
        return PickledObjectGCSIOManager(bucket=self.gcs_bucket, client=client, prefix=self.gcs_prefix)
