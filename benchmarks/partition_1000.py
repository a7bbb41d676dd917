"""A 1,000-stop stop file planned end to end: wall time against the solver limit, peak memory of the whole run.

Issue 10: "a 1000-stop partition solves within its limit under 1.5 GB". The file is 1,000 real Singapore
points from shared/data/sg_points.csv (seeded sample, demands 1-3, 10-minute service, a third with a 2-hour
window), planned by ``sgroute plan`` - the sensor, the partition and route_planning_job of the embedded
default, as the daemon runs them - on a throwaway DAGSTER_HOME, inbox, exports folder and SQLite app database.
Memory is the resident size of the whole process tree (the CLI, and the solver's worker processes), sampled
every 0.2 s from /proc, so it is what the machine has to hold, not one process's share.
Run: .venv/bin/python benchmarks/partition_1000.py [STOPS] [TIME_LIMIT_S]   (default 1000 60)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
POINTS = REPO.parent / "shared" / "data" / "sg_points.csv"
BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss_mib(root: int) -> float:
    """Resident MiB of ``root`` and every descendant (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as f:
                rss[int(entry)] = int(f.read().split()[1]) * PAGE
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 2**20


def stop_file(path: Path, n: int, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    points = pd.read_csv(POINTS).sample(n=n, random_state=seed).reset_index(drop=True)
    rows = []
    for i, p in points.iterrows():
        start = int(rng.integers(8, 15)) if rng.random() < 1 / 3 else None
        rows.append(
            {
                "stop_ref": f"K{i + 1:04d}",
                "address": f"{p['dataset_source']} point {i + 1}",
                "lat": f"{p['lat']:.6f}",
                "lon": f"{p['lon']:.6f}",
                "demand": int(rng.integers(1, 4)),
                "service_time_min": 10,
                "tw_start": "" if start is None else f"{start:02d}:00",
                "tw_end": "" if start is None else f"{start + 2:02d}:00",
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    work = Path(tempfile.mkdtemp(prefix="sgroute-p1000-"))
    home = work / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SGROUTE_INBOX": str(work / "inbox"),
        "SGROUTE_EXPORTS": str(work / "exports"),
        "SGROUTE_QUARANTINE": str(work / "quarantine"),
        "DATABASE_URL": f"sqlite:///{work / 'app.db'}",
    }
    subprocess.run([str(BIN / "sgroute"), "db", "upgrade"], env=env, check=True, capture_output=True)
    path = work / f"stops_{n}.csv"
    stop_file(path, n)
    vehicles = max(10, n // 12)
    cmd = [str(BIN / "sgroute"), "plan", str(path), "--vehicles", str(vehicles), "--capacity", "40"]
    cmd += ["--time-limit", f"{limit:g}", "--json"]
    peak = [0.0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_mib(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        print(err[-3000:])
        return 1
    plan = json.loads(out)
    print(f"{n} stops, {vehicles} vehicles of capacity 40, solver limit {limit:g} s")
    print(f"served {plan['served']}, dropped {plan['dropped']}, vehicles used {plan['vehicles_used']}")
    print(
        f"sgroute plan wall {wall:.1f} s (sensor, every asset, exports); peak RSS of the process tree {peak[0]:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
