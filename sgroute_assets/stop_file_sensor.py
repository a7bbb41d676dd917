"""Starts a partition run for every new or changed stop file in the store.

The cursor remembers, per file name, the listing stamp and content hash last handled. A tick therefore
reads only files whose stamp changed, a touched-but-identical file does not re-run, and a changed file
re-runs its partition (the run key carries the content hash; Dagster remembers run keys forever).
"""

import json

import dagster as dg

from sgroute_assets.domain.stop_file_reader import StopFileError, read_stop_file
from sgroute_assets.jobs import route_planning_job
from sgroute_assets.partitions import stop_files
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.partition_records import upsert_stop_file
from sgroute_resources.stop_file_store import StopFileStore, StoredFile, content_hash

CURSOR_VERSION = 1
MAX_RUNS_PER_TICK = 50


def load_cursor(raw: str | None) -> dict[str, dict[str, str]]:
    if not raw:
        return {}
    try:
        state = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        return {}
    files = state.get("files", {})
    return files if isinstance(files, dict) else {}


def dump_cursor(files: dict[str, dict[str, str]]) -> str:
    return json.dumps({"v": CURSOR_VERSION, "files": files}, sort_keys=True, separators=(",", ":"))


@dg.sensor(
    job=route_planning_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a stop_files partition per new stop file and requests its run.",
)
def stop_file_sensor(
    context: dg.SensorEvaluationContext, stop_file_store: StopFileStore, app_db: AppDatabase
) -> dg.SensorResult:
    seen = load_cursor(context.cursor)
    listing = stop_file_store.list_files()
    present = {f.name for f in listing}
    # Forget deleted files so the cursor stays as small as the store; a re-drop is new work again.
    state = {name: entry for name, entry in seen.items() if name in present}
    existing = set(context.instance.get_dynamic_partitions(stop_files.name))

    run_requests: list[dg.RunRequest] = []
    new_keys: list[str] = []
    claimed: dict[str, str] = {}
    received: list[tuple[str, StoredFile, str]] = []
    for stored in listing:
        if len(run_requests) >= MAX_RUNS_PER_TICK:
            break  # the rest stay out of the cursor and are picked up next tick
        previous = state.get(stored.name)
        if previous and previous.get("stamp") == stored.stamp:
            continue
        if not stored.supported:
            where = stop_file_store.quarantine(
                stored.name, {"file": stored.name, "problem": "unsupported file type: upload a .csv or .xlsx file"}
            )
            context.log.warning(f"quarantined {stored.name}: unsupported file type ({where})")
            continue
        data = stop_file_store.read(stored.name)
        digest = content_hash(data)
        if previous and previous.get("hash") == digest:
            state[stored.name] = {"stamp": stored.stamp, "hash": digest}
            continue
        try:
            read_stop_file(stored.name, data)
        except StopFileError as exc:
            where = stop_file_store.quarantine(stored.name, {"file": stored.name, "problem": exc.message})
            context.log.warning(f"quarantined {stored.name}: {exc.message} ({where})")
            continue
        key = stored.partition_key
        if claimed.get(key, stored.name) != stored.name:
            context.log.error(f"{stored.name} and {claimed[key]} both map to partition {key}; rename one")
            continue
        claimed[key] = stored.name
        if key not in existing:
            new_keys.append(key)
            existing.add(key)
        run_requests.append(
            dg.RunRequest(
                partition_key=key,
                run_key=f"{key}:{digest}",
                tags={"sgroute/source": stored.uri, "sgroute/content_hash": digest},
            )
        )
        state[stored.name] = {"stamp": stored.stamp, "hash": digest}
        received.append((key, stored, digest))

    if received:
        # Where each partition came from, for the UI's run tags and for the database alike.
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
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[stop_files.build_add_request(new_keys)] if new_keys else [],
        cursor=dump_cursor(state),
    )
