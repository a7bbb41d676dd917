"""stop_file_sensor tick time with 10,000 objects in the inbox prefix (gcp-storage-emulator, in-process).

Figures: a steady-state tick (every object already handled: list + compare), a tick with 50 new files among
10,000 (download, parse, request), and, as the reference in the same process, dagster-gcp's get_gcs_keys
listing of the same prefix (what a naive sensor would call every tick).
Run: .venv/bin/python benchmarks/gcs_sensor_tick.py [objects]
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    try:
        return run(count)
    finally:
        server.stop()


def run(count: int) -> int:
    import dagster as dg
    from dagster_gcp import GCSResource
    from dagster_gcp.gcs.sensor import get_gcs_keys
    from google.cloud import storage

    from sgroute_assets.definitions import defs
    from sgroute_assets.stop_intake.stop_file_sensor import SensorCursor
    from sgroute_resources import migrations
    from sgroute_resources.app_database import AppDatabase
    from sgroute_resources.gcs_stop_file_store import GCSStopFileStore

    client = storage.Client(project="bench")
    bucket = client.create_bucket("sgroute-bench")
    body = b"stop_ref,lat,lon\nA1,1.30,103.85\n"
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: bucket.blob(f"incoming/file_{i:05d}.csv").upload_from_string(body), range(count)))
    print(f"uploaded {count:,} objects in {time.perf_counter() - started:.1f} s")

    db_path = tempfile.mktemp(suffix=".db")
    url = f"sqlite:///{db_path}"
    migrations.upgrade(url)
    store = GCSStopFileStore(gcs=GCSResource(project="bench"), bucket="sgroute-bench")
    app_db = AppDatabase(url=url)
    sensor = defs.resolve_sensor_def("stop_file_sensor")

    def tick(instance, cursor):
        with dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            cursor=cursor,
            resources={"stop_file_store": store, "app_db": app_db},
            definitions=defs,
        ) as ctx:
            t0 = time.perf_counter()
            result = sensor.evaluate_tick(ctx)
            return result, time.perf_counter() - t0

    # Steady state: a cursor that has seen every object (as after the first full pass).
    seen = SensorCursor(
        {
            b.name[len("incoming/") :]: {"stamp": str(b.generation), "version": str(b.generation)}
            for b in client.list_blobs(bucket, prefix="incoming/")
        }
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("stop_files", [f"file_{i:05d}.csv" for i in range(count)])
        result, steady = tick(instance, seen.dump())
        assert result.run_requests == []
        cursor_kb = len(result.cursor) / 1024
        for i in range(50):
            bucket.blob(f"incoming/new_{i:03d}.csv").upload_from_string(body)
        result, with_new = tick(instance, result.cursor)
        assert len(result.run_requests) == 50
        cold_result, cold = tick(instance, None)

    t0 = time.perf_counter()
    keys = get_gcs_keys("sgroute-bench", prefix="incoming/", gcs_session=client)
    reference = time.perf_counter() - t0
    print(f"objects in prefix:                      {len(keys):,}")
    print(f"steady-state tick (nothing new):        {steady:.2f} s  (cursor {cursor_kb:.0f} kB compressed)")
    print(f"tick with 50 new files among them:      {with_new:.2f} s")
    print(f"first tick on an empty cursor (cap 50): {cold:.2f} s, {len(cold_result.run_requests)} runs requested")
    print(
        f"reference get_gcs_keys full listing:    {reference:.2f} s  -> steady tick / listing = "
        f"{steady / reference:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
