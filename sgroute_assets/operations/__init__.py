"""Operations of the code location: what keeps a deployment observable and its bucket from growing for ever.

- ``record_failed_runs``: a run-failure sensor writing every failed run (run, job, partition, step, plain
  reason) to the app table ``failed_runs`` and one JSON log line (Cloud Logging parses it into fields).
- ``retention_schedule``: each night, removes the exports and stored asset values of partitions older than
  SGROUTE_RETENTION_DAYS (default 90); app table history stays.
"""

from sgroute_assets.operations.failed_runs import plain_reason, record_failed_runs
from sgroute_assets.operations.retention import retention_job, retention_schedule

OPERATIONS_SENSORS = [record_failed_runs]
OPERATIONS_JOBS = [retention_job]
OPERATIONS_SCHEDULES = [retention_schedule]

__all__ = ["OPERATIONS_JOBS", "OPERATIONS_SCHEDULES", "OPERATIONS_SENSORS", "plain_reason"]
