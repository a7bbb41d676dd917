"""Peak memory and time of reading hostile stop files, each in its own process, against a normal 1,000-stop file.

Issue 24: a 20 MB CSV of one-character cells reached 8 GB and failed after 3 to 9 minutes without quarantine, and
so did a 1.3 MB workbook that expands to 1 M x 20 cells. The reader now refuses them from counts taken before
expanding (domain/stops/file_limits.py); the target is under ~1 GB for any refused file.

Run: .venv/bin/python benchmarks/refused_file_memory.py   (~1 min on 2 cores; say the machine's load with the
figures)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("SGROUTE_SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(REPO / "tests"))


def _files() -> dict[str, bytes]:
    import pandas as pd
    from fuzz_corpus import one_character_cells_csv, streamed_rows_workbook

    points = pd.read_csv(SHARED / "data" / "sg_points.csv").head(1000)
    normal = "stop_ref,lat,lon,demand\n" + "".join(
        f"S{i:04d},{lat:.5f},{lon:.5f},1\n" for i, (lat, lon) in enumerate(zip(points.lat, points.lon, strict=True))
    )
    return {
        "normal_1000_stops.csv": normal.encode(),
        "one_character_cells_20MB.csv": one_character_cells_csv(),
        "workbook_1M_rows_deflated.xlsx": streamed_rows_workbook(1_000_000, compress=True),
        "workbook_declares_1M_rows.xlsx": streamed_rows_workbook(1_000, compress=False, declared_rows=1_000_000),
        "workbook_150k_rows_streamed.xlsx": streamed_rows_workbook(150_000, compress=False),
    }


def _child(path: str) -> None:
    from sgroute_assets.domain.stops import StopFileError, validate_file

    data = Path(path).read_bytes()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        report = validate_file(Path(path).name, data)
        outcome = f"read: {len(report.rows):,} rows"
    except StopFileError as exc:
        outcome = f"refused: {exc.message}"
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(elapsed, 2), "peak_mib": round(peak, 1), "step_mib": round(peak - before, 1),
                      "outcome": outcome[:160]}))  # fmt: skip


def main() -> None:
    import tempfile

    print(f"load average before: {os.getloadavg()}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in _files().items():
            path = Path(tmp) / name
            path.write_bytes(data)
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
            )
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1]) | {"bytes": len(data)}
    base = results["normal_1000_stops.csv"]["peak_mib"]
    for name, r in results.items():
        print(f"{name:36s} {r['bytes']:>12,} B  {r['seconds']:6.2f} s  peak {r['peak_mib']:7.1f} MiB "
              f"(x{r['peak_mib'] / base:.2f} of the normal file)  {r['outcome']}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main()
