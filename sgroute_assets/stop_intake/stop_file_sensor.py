"""Starts a partition run for every new or changed stop file in the store.

The cursor remembers, per file name, the version last handled (the object generation in a bucket, the
content hash in a folder) plus where the last tick stopped listing. So:
- a repeated tick or a restart with the stored cursor requests nothing new;
- a deleted file is simply no longer listed (and is pruned from the cursor) - nothing is re-processed,
  unlike a single "last key" cursor whose key vanished;
- a re-upload (new generation) or a changed file re-runs its partition: the run key carries the version,
  and Dagster remembers run keys forever;
- each tick lists a bounded number of objects and requests a bounded number of runs, resuming where it
  stopped, so a tick stays far below Dagster's 60 s limit however many files the prefix holds.
Nothing depends on wall-clock time.
"""

import base64
import bisect
import json
import zlib

import dagster as dg

from sgroute_assets.domain.stop_file_reader import MAX_FILE_BYTES, StopFileError, read_stop_file
from sgroute_assets.domain.stop_overrides import sidecar_kind, stop_file_names_for
from sgroute_assets.partition_run_requests import PartitionRunRequests
from sgroute_assets.partitions import stop_files
from sgroute_assets.route_planning.jobs import route_planning_job
from sgroute_assets.stop_intake.assets import SOURCE_NAME_TAG
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.partition_records import upsert_stop_file
from sgroute_resources.stop_file_store import StopFileStore, StoredFile, content_hash

CURSOR_VERSION = 2
MAX_RUNS_PER_TICK = 50
MAX_OBJECTS_PER_TICK = 20_000


class SensorCursor:
    """{name: {"stamp", "version"}} for every handled file, and the name the last tick stopped after."""

    def __init__(self, files: dict[str, dict[str, str]] | None = None, resume_after: str | None = None):
        self.files = files or {}
        self.resume_after = resume_after

    @classmethod
    def load(cls, raw: str | None) -> "SensorCursor":
        if not raw:
            return cls()
        try:
            if raw.startswith("z:"):
                raw = zlib.decompress(base64.b64decode(raw[2:])).decode()
            state = json.loads(raw)
        except (ValueError, zlib.error):
            return cls()
        if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
            return cls()
        return cls(state.get("files") or {}, state.get("resume_after"))

    def dump(self) -> str:
        text = json.dumps(
            {"v": CURSOR_VERSION, "files": self.files, "resume_after": self.resume_after},
            sort_keys=True,
            separators=(",", ":"),
        )
        if len(text) < 4096:
            return text
        # Thousands of similar object names compress ~10x; cursors live in the instance database.
        return "z:" + base64.b64encode(zlib.compress(text.encode(), 9)).decode()

    def start_pass(self) -> None:
        """Prepare to walk the remembered names alongside a name-ordered listing (one sort per tick)."""
        self._names = sorted(self.files)
        self._next = bisect.bisect_right(self._names, self.resume_after) if self.resume_after else 0

    def prune_until(self, listed: str | None) -> None:
        """Forget remembered names the listing skipped before ``listed`` (None = the end): they were deleted."""
        while self._next < len(self._names) and (listed is None or self._names[self._next] < listed):
            self.files.pop(self._names[self._next], None)
            self._next += 1
        if listed is not None and self._next < len(self._names) and self._names[self._next] == listed:
            self._next += 1


def _quarantine(context, store: StopFileStore, stored: StoredFile, problem: str) -> None:
    report = {
        "file": stored.name,
        "source": stored.uri,
        "generation": stored.generation,
        "size": stored.size,
        "problem": problem,
    }
    where = store.quarantine(stored.name, report)
    context.log.warning(f"quarantined {stored.name}: {problem} ({where})")


def _sidecar_rerun(
    store: StopFileStore, cursor: SensorCursor, overrides: StoredFile, runs: PartitionRunRequests, kind: str
) -> None:
    """Re-run the stop file a sidecar (overrides, fleet, sequence) belongs to, if that file was handled and has
    no run this tick."""
    for name in stop_file_names_for(overrides.name):
        handled = cursor.files.get(name)
        target = store.stat(name) if handled else None
        if target is None:
            continue
        key = target.partition_key
        if runs.claimed_by(key) is not None:
            return  # its stop file already runs this tick, and reads the overrides when it does
        runs.claim(key, overrides.name)
        change = overrides.generation or content_hash(store.read(overrides.name))
        version = handled["version"]
        runs.request(
            key,
            run_key=f"{key}:{version}:{kind}:{change}",
            tags={
                "sgroute/source": target.uri,
                SOURCE_NAME_TAG: target.name,
                "sgroute/version": version,
                f"sgroute/{kind}": overrides.name,
            },
        )
        return


@dg.sensor(
    job=route_planning_job,
    minimum_interval_seconds=10,  # a dropped file starts its run within seconds in `make dev`
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a stop_files partition per new stop file and requests its run.",
)
def stop_file_sensor(
    context: dg.SensorEvaluationContext, stop_file_store: StopFileStore, app_db: AppDatabase
) -> dg.SensorResult:
    cursor = SensorCursor.load(context.cursor)
    runs = PartitionRunRequests(context, stop_files)

    received: list[tuple[str, StoredFile, str]] = []
    previous_name = cursor.resume_after
    cursor.start_pass()
    listed = 0
    finished_scan = True
    for stored in stop_file_store.iter_files(start_after=cursor.resume_after):
        if len(runs) >= MAX_RUNS_PER_TICK or listed >= MAX_OBJECTS_PER_TICK:
            finished_scan = False
            break
        listed += 1
        cursor.prune_until(stored.name)
        previous_name = stored.name
        seen = cursor.files.get(stored.name)
        if seen and seen.get("stamp") == stored.stamp:
            continue
        kind = sidecar_kind(stored.name)
        if kind is not None:
            # A planner's pins, fleet or visit order for a stop file: never a partition of its own, but a change
            # re-plans its file.
            _sidecar_rerun(stop_file_store, cursor, stored, runs, kind)
            cursor.files[stored.name] = {"stamp": stored.stamp, "version": stored.generation or stored.stamp}
            continue
        if not stored.supported:
            _quarantine(context, stop_file_store, stored, "unsupported file type: upload a .csv or .xlsx file")
            continue
        if stored.size > MAX_FILE_BYTES:
            _quarantine(
                context, stop_file_store, stored, f"file is {stored.size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
            )
            continue
        data = stop_file_store.read(stored.name)
        digest = content_hash(data)
        # A bucket re-upload is a new generation and re-runs even with the same bytes; a folder file only
        # re-runs when its bytes change (touching it is not a new version).
        version = stored.generation or digest
        if seen and seen.get("version") == version:
            cursor.files[stored.name] = {"stamp": stored.stamp, "version": version}
            continue
        try:
            read_stop_file(stored.name, data)
        except StopFileError as exc:
            _quarantine(context, stop_file_store, stored, exc.message)
            continue
        key = stored.partition_key
        if not runs.claim(key, stored.name):
            continue
        runs.request(
            key,
            run_key=f"{key}:{version}",
            tags={
                "sgroute/source": stored.uri,
                SOURCE_NAME_TAG: stored.name,
                "sgroute/version": version,
                "sgroute/content_hash": digest,
            },
        )
        cursor.files[stored.name] = {"stamp": stored.stamp, "version": version}
        received.append((key, stored, digest))

    if finished_scan:
        cursor.prune_until(None)
        cursor.resume_after = None  # next tick starts a fresh pass from the beginning
    else:
        cursor.resume_after = previous_name

    if received:
        # Where each partition came from, for the database as for the run tags.
        with app_db.session() as session:
            for key, stored, digest in received:
                upsert_stop_file(
                    session,
                    key,
                    file_name=stored.name,
                    source_uri=stored.uri,
                    content_hash=digest,
                    generation=stored.generation,
                    status="received",
                )
    return runs.result(cursor.dump())
