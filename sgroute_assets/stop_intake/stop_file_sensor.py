"""Starts a partition run for every new or changed stop file in the store, without reading any file.

A tick only lists: name, size, and the object generation (bucket) or mtime (folder). Reading, parsing and
quarantining an unreadable file happen in the run (the ``stops`` asset), so a tick takes the same time for
200 files of 20 MB as for 200 of 2 KB, far below Dagster's 60 s limit.

The cursor remembers, per file name, the version last handled (the object generation in a bucket, size and
mtime in a folder) plus where the last tick stopped listing. So:
- a repeated tick or a restart with the stored cursor requests nothing new;
- a deleted file is simply no longer listed (and is pruned from the cursor) - nothing is re-processed,
  unlike a single "last key" cursor whose key vanished;
- a re-upload (new generation) or a rewritten file re-runs its partition: the run key carries the version,
  and Dagster remembers run keys forever;
- a folder file still being copied is not taken: two looks at least SGROUTE_INBOX_MIN_AGE_S apart must see
  the same size and mtime (a stalled copy looks old on one look), the second within the same tick
  (inbox_settling.py); a bucket object is complete as soon as it is listed;
- each tick lists a bounded number of objects and requests a bounded number of runs, resuming where it
  stopped;
- partition keys come from the stored name -> key mapping (``partition_key_map``), so two names that clean to
  one key get two partitions, and a re-upload keeps its key;
- an inbox entry that is never a stop file (a sub-folder, a hidden file) is logged once, with the reason.
"""

import base64
import bisect
import json
import time
import zlib

import dagster as dg

from sgroute_assets.domain.stops import MAX_FILE_BYTES, sidecar_kind, stop_file_names_for
from sgroute_assets.partition_run_requests import PartitionRunRequests
from sgroute_assets.partitions import stop_files
from sgroute_assets.route_planning.jobs import route_planning_job
from sgroute_assets.stop_intake.assets import SOURCE_NAME_TAG
from sgroute_assets.stop_intake.claimed_file import VERSION_TAG
from sgroute_assets.stop_intake.inbox_settling import FIRST_LOOK, SETTLED, second_look, settled
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.partition_key_map import assign_keys
from sgroute_resources.partition_records import upsert_stop_file
from sgroute_resources.stop_file_store import StopFileStore, StoredFile

CURSOR_VERSION = 2
MAX_RUNS_PER_TICK = 50
MAX_OBJECTS_PER_TICK = 20_000
MAX_IGNORED_REMEMBERED = 1_000  # ignored entries logged once each; beyond this many, a count is logged instead


class SensorCursor:
    """{name: {"stamp", "version"}} for every handled file (plus "pending"/"since" while a folder file settles),
    the name the last tick stopped after, and the ignored entries already logged."""

    def __init__(
        self,
        files: dict[str, dict] | None = None,
        resume_after: str | None = None,
        ignored: dict[str, str] | None = None,
        ignored_this_pass: list[str] | None = None,
    ):
        self.files = files or {}
        self.resume_after = resume_after
        self.ignored = ignored or {}
        self.ignored_this_pass = set(ignored_this_pass or ())

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
        return cls(state.get("files") or {}, state.get("resume_after"), state.get("ignored"), state.get("ignored_pass"))

    def dump(self) -> str:
        state: dict = {"v": CURSOR_VERSION, "files": self.files, "resume_after": self.resume_after}
        if self.ignored:
            state["ignored"] = self.ignored
        if self.ignored_this_pass:
            state["ignored_pass"] = sorted(self.ignored_this_pass)
        text = json.dumps(state, sort_keys=True, separators=(",", ":"))
        if len(text) < 4096:
            return text
        # Thousands of similar object names compress ~10x; cursors live in the instance database.
        return "z:" + base64.b64encode(zlib.compress(text.encode(), 9)).decode()

    def note_ignored(self, context, name: str, reason: str) -> None:
        """Log an ignored inbox entry the first time it is seen (and again only if the reason changes)."""
        self.ignored_this_pass.add(name)
        if self.ignored.get(name) == reason:
            return
        if len(self.ignored) >= MAX_IGNORED_REMEMBERED:
            return  # end_pass logs how many more there are
        self.ignored[name] = reason
        context.log.info(f"ignoring inbox entry {name}: {reason}")

    def end_pass(self, context) -> None:
        """A full listing finished: forget ignored entries that are gone, so one coming back is logged again."""
        over = len(self.ignored_this_pass - set(self.ignored))
        if over:
            context.log.info(f"{over} more ignored inbox entries not listed one by one")
        self.ignored = {n: r for n, r in self.ignored.items() if n in self.ignored_this_pass}
        self.ignored_this_pass = set()

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


def version_run_key(partition_key: str, version: str) -> str:
    """The run key of a stop file version: the daemon launches one run per key, and `sgroute plan` tags its
    run with the same key so the daemon does not plan that version again (cli/partition_runs.py)."""
    return f"{partition_key}:{version}"


def _quarantine(context, store: StopFileStore, stored: StoredFile, problem: str) -> None:
    report = {
        "file": stored.name,
        "source": stored.uri,
        "generation": stored.generation,
        "size": stored.size,
        "problem": problem,
    }
    try:
        where = store.quarantine(stored.name, report, expected=stored)
    except Exception as exc:  # noqa: BLE001 - one entry that cannot be moved must not stop the inbox
        # Logged by class only (a storage error's text may carry a signed URL); retried on the next pass.
        context.log.error(f"could not quarantine {stored.name} ({type(exc).__name__}); the other files go on")
        return
    if where is not None:
        context.log.warning(f"quarantined {stored.name}: {problem} ({where})")


def _sidecar_rerun(
    context,
    store: StopFileStore,
    cursor: SensorCursor,
    sidecar: StoredFile,
    runs: PartitionRunRequests,
    kind: str,
    keys: dict[str, str],
) -> None:
    """Re-run the stop file a sidecar (overrides, fleet, sequence) belongs to, if that file was handled and has
    no run this tick. A sidecar whose stop file is not in the inbox is said once, with the names looked for: a
    stop file called ``x.overrides.csv`` would otherwise wait silently as a sidecar."""
    names = stop_file_names_for(sidecar.name)
    if not any(store.stat(name) is not None for name in names):
        cursor.note_ignored(
            context,
            sidecar.name,
            f"a {kind} sidecar, but its stop file ({' or '.join(names)}) is not in the inbox; it is read when the "
            "stop file arrives (rename it if it is a stop file of its own)",
        )
        return
    for name in names:
        handled = cursor.files.get(name) or {}
        target = store.stat(name) if handled.get("version") and name in keys else None
        if target is None:
            continue
        key = keys[name]
        if runs.claimed_by(key) is not None:
            return  # its stop file already runs this tick, and reads the sidecar when it does
        runs.claim(key, sidecar.name)
        version = handled["version"]
        runs.request(
            key,
            run_key=f"{key}:{version}:{kind}:{sidecar.version}",
            tags={
                "sgroute/source": target.uri,
                SOURCE_NAME_TAG: target.name,
                VERSION_TAG: version,
                f"sgroute/{kind}": sidecar.name,
            },
        )
        return


@dg.sensor(
    job=route_planning_job,
    # As often as the daemon allows (its sensor loop turns every 5 s): a dropped file is seen at the next turn
    # and, its second look taken in the same tick, claimed SGROUTE_INBOX_MIN_AGE_S later. A tick only lists
    # (0.04-0.16 s over 215 files of 20 MB).
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a stop_files partition per new stop file and requests its run (lists, never reads files).",
)
def stop_file_sensor(
    context: dg.SensorEvaluationContext, stop_file_store: StopFileStore, app_db: AppDatabase
) -> dg.SensorResult:
    now = time.time()
    cursor = SensorCursor.load(context.cursor)
    runs = PartitionRunRequests(context, stop_files)

    claims: list[StoredFile] = []
    sidecars: list[tuple[StoredFile, str]] = []
    previous_name = cursor.resume_after
    cursor.start_pass()
    listed = 0
    finished_scan = True
    listing = stop_file_store.iter_files(
        start_after=cursor.resume_after, on_ignored=lambda name, reason: cursor.note_ignored(context, name, reason)
    )
    waiting: list[StoredFile] = []  # first seen by this tick: looked at again before it ends

    def take(stored: StoredFile, seen: dict | None) -> None:
        kind = sidecar_kind(stored.name)
        if kind is not None:
            # A planner's pins, fleet or visit order for a stop file: never a partition of its own, but a change
            # re-plans its file.
            sidecars.append((stored, kind))
            return
        if not stored.supported:
            _quarantine(context, stop_file_store, stored, "unsupported file type: upload a .csv or .xlsx file")
            cursor.files.pop(stored.name, None)
            return
        if stored.size > MAX_FILE_BYTES:
            _quarantine(
                context, stop_file_store, stored, f"file is {stored.size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
            )
            cursor.files.pop(stored.name, None)
            return
        if seen and seen.get("version") == stored.version:
            cursor.files[stored.name] = {"stamp": stored.stamp, "version": stored.version}
            return
        claims.append(stored)

    for stored in listing:
        if len(claims) + len(sidecars) + len(waiting) >= MAX_RUNS_PER_TICK or listed >= MAX_OBJECTS_PER_TICK:
            finished_scan = False
            break
        listed += 1
        cursor.prune_until(stored.name)
        previous_name = stored.name
        seen = cursor.files.get(stored.name)
        if seen and seen.get("stamp") == stored.stamp:
            continue
        look = settled(context, stop_file_store, cursor.files, stored, now)
        if look is FIRST_LOOK:
            waiting.append(stored)
        if look is SETTLED:
            take(stored, seen)
    listing.close()
    for stored in second_look(stop_file_store, cursor.files, waiting, now):
        take(stored, cursor.files.get(stored.name))

    if finished_scan:
        cursor.prune_until(None)
        cursor.resume_after = None  # next tick starts a fresh pass from the beginning
        cursor.end_pass(context)
    else:
        cursor.resume_after = previous_name

    if claims or sidecars:
        targets = {
            name
            for sidecar, _ in sidecars
            for name in stop_file_names_for(sidecar.name)
            if (cursor.files.get(name) or {}).get("version")
        }
        with app_db.session() as session:
            # Keys for this tick's files in one transaction, stored before any run can ask for them.
            keys = assign_keys(session, [c.name for c in claims] + sorted(targets), legacy_keys=runs.existing)
            for stored in claims:
                key = keys[stored.name]
                if not runs.claim(key, stored.name):
                    continue
                runs.request(
                    key,
                    run_key=version_run_key(key, stored.version),
                    tags={
                        "sgroute/source": stored.uri,
                        SOURCE_NAME_TAG: stored.name,
                        VERSION_TAG: stored.version,
                        "sgroute/size": str(stored.size),
                    },
                )
                cursor.files[stored.name] = {"stamp": stored.stamp, "version": stored.version}
                # Where each partition came from, for the database as for the run tags; the run adds the hash.
                upsert_stop_file(
                    session,
                    key,
                    file_name=stored.name,
                    source_uri=stored.uri,
                    generation=stored.generation,
                    status="received",
                )
        for sidecar, kind in sidecars:
            _sidecar_rerun(context, stop_file_store, cursor, sidecar, runs, kind, keys)
            cursor.files[sidecar.name] = {"stamp": sidecar.stamp, "version": sidecar.version}
    return runs.result(cursor.dump())
