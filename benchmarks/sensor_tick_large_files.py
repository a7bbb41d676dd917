"""stop_file_sensor tick time with 200 files of 20 MB in the inbox: a local folder and the GCS emulator.

Issue 14 measured ticks that read every body (one 19.8 MB workbook 95 s, fifteen 20 MB CSVs 58.7 s, against
Dagster's 60 s limit). The sensor now lists and claims by name, size and generation/mtime only, so a tick should
not depend on what the files weigh; the target is under 5 s per tick. Figures per tick:
- "settling": every folder file just written, so all wait for SGROUTE_INBOX_MIN_AGE_S (listing only);
- "claim N": the ticks that claim the files (MAX_RUNS_PER_TICK per tick, keys assigned and stored);
- "steady": everything handled, a tick that finds nothing new.
Files hold real CSV bytes (not sparse), so a sensor that read them again would show it.

Run: .venv/bin/python benchmarks/sensor_tick_large_files.py [--files 200] [--mb 20] [--target local|gcs|both]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TARGET_S = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _body(mb: float) -> bytes:
    row = b"S00001,1 Fullerton Square,049178,1.2862,103.8533,2,10,09:00,12:00,+6591234567,Ms Tan\n"
    header = b"stop_ref,address,postal_code,lat,lon,demand,service_min,tw_start,tw_end,phone,contact_name\n"
    size = int(mb * 1024 * 1024)
    return header + row * ((size - len(header)) // len(row))


def _ticks(store, app_db, label: str) -> list[tuple[str, float, int]]:
    import dagster as dg

    from sgroute_assets.definitions import defs
    from sgroute_assets.stop_intake.stop_file_sensor import SensorCursor

    sensor = defs.resolve_sensor_def("stop_file_sensor")
    figures = []
    with dg.instance_for_test() as instance:

        def tick(cursor):
            with dg.build_sensor_context(
                instance=instance,
                instance_ref=instance.get_ref(),
                cursor=cursor,
                resources={"stop_file_store": store, "app_db": app_db},
                definitions=defs,
            ) as ctx:
                t0 = time.perf_counter()
                result = sensor.evaluate_tick(ctx)
                elapsed = time.perf_counter() - t0
            for request in result.dynamic_partitions_requests or []:
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            return result, elapsed

        cursor = None
        if label == "local":
            for path in Path(store.inbox).iterdir():
                os.utime(path)  # as if every copy had just finished: all of them still settling
            result, elapsed = tick(cursor)
            figures.append(("settling", elapsed, len(result.run_requests)))
            cursor = result.cursor
            past = time.time() - 60
            for path in Path(store.inbox).iterdir():
                os.utime(path, (past, past))  # copied a minute ago: settled
        claimed, n = 0, 0
        while True:
            result, elapsed = tick(cursor)
            cursor = result.cursor
            n += 1
            figures.append((f"claim {n}", elapsed, len(result.run_requests)))
            claimed += len(result.run_requests)
            if not result.run_requests and SensorCursor.load(cursor).resume_after is None:
                break
        result, elapsed = tick(cursor)
        figures.append(("steady", elapsed, len(result.run_requests)))
        figures.append(("claimed", 0.0, claimed))
    return figures


def _app_db():
    from sgroute_resources import migrations
    from sgroute_resources.app_database import AppDatabase

    url = f"sqlite:///{tempfile.mktemp(suffix='.db')}"
    migrations.upgrade(url)
    return AppDatabase(url=url)


def bench_local(files: int, mb: float) -> list[tuple[str, float, int]]:
    from sgroute_resources.stop_file_store import LocalStopFileStore

    body = _body(mb)
    with tempfile.TemporaryDirectory(prefix="sgroute-bench-") as root:
        inbox = Path(root) / "inbox"
        inbox.mkdir()
        t0 = time.perf_counter()
        for i in range(files):
            (inbox / f"route_{i:03d}.csv").write_bytes(body)
        print(f"local: wrote {files} x {len(body) / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
        os.environ.pop("SGROUTE_INBOX_MIN_AGE_S", None)  # the default minimum age
        store = LocalStopFileStore(
            inbox=str(inbox), exports_dir=str(Path(root) / "exports"), quarantine_dir=str(Path(root) / "q")
        )
        return _ticks(store, _app_db(), "local")


def bench_gcs(files: int, mb: float) -> list[tuple[str, float, int]]:
    from dagster_gcp import GCSResource
    from gcp_storage_emulator.server import create_server
    from google.cloud import storage

    from sgroute_resources.gcs_stop_file_store import GCSStopFileStore

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    try:
        client = storage.Client(project="bench")
        bucket = client.create_bucket("sgroute-bench-large")
        body = _body(mb)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: bucket.blob(f"incoming/route_{i:03d}.csv").upload_from_string(body), range(files)))
        print(f"gcs emulator: uploaded {files} x {len(body) / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
        store = GCSStopFileStore(gcs=GCSResource(project="bench"), bucket="sgroute-bench-large")
        return _ticks(store, _app_db(), "gcs")
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--target", choices=("local", "gcs", "both"), default="both")
    args = parser.parse_args()
    worst = 0.0
    for target, bench in (("local", bench_local), ("gcs", bench_gcs)):
        if args.target not in (target, "both"):
            continue
        figures = bench(args.files, args.mb)
        print(f"{target}: {args.files} files of {args.mb:g} MB")
        for label, seconds, runs in figures:
            if label == "claimed":
                print(f"  runs requested in total: {runs}")
            else:
                print(f"  tick {label:<9} {seconds:6.3f} s  {runs:3d} run requests")
                worst = max(worst, seconds)
    print(f"slowest tick {worst:.3f} s (target < {TARGET_S:g} s): {'OK' if worst < TARGET_S else 'TOO SLOW'}")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
