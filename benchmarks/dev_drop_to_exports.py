"""Seconds from dropping an 11-stop file into the inbox to its published exports, under `dagster dev`.

What a planner waits for in `make dev`: the daemon's sensor tick, the run's launch, every step, the exports swap.
It starts `dagster dev` (webserver + daemon, the repo's workspace.yaml) on a throwaway DAGSTER_HOME, inbox,
exports folder and SQLite app database on 127.0.0.1, waits until the UI answers, drops the first 11 stops of a
demo file, and polls for manifest.json. Issue 11 asks for at most 25 s on this kind of machine.
Run: .venv/bin/python benchmarks/dev_drop_to_exports.py

Measured 2026-12-01 on the shared 2-core dev machine: 19.3 s with the default solver limit (17.5 s with
SGROUTE_SOLVER_TIME_LIMIT_S=2); `dagster dev` itself up in 6-8 s. Issue 11 measured 74 s (a process per step,
a 30 s sensor interval).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if predicate():
            return time.perf_counter() - started
        time.sleep(0.25)
    raise TimeoutError(f"{what} did not happen within {timeout} s")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="sgroute-devbench-"))
    home, inbox, exports = work / "home", work / "inbox", work / "exports"
    for folder in (home, inbox, exports):
        folder.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SGROUTE_INBOX": str(inbox),
        "SGROUTE_EXPORTS": str(exports),
        "SGROUTE_QUARANTINE": str(work / "quarantine"),
        "DATABASE_URL": f"sqlite:///{work / 'app.db'}",
    }
    subprocess.run([str(BIN / "sgroute"), "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    dev = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        boot = wait_for(lambda: answers(f"http://127.0.0.1:{port}/server_info"), 180, "the UI answering")
        time.sleep(5)  # let the daemon start its sensor loop, as a planner would open the UI first
        lines = (REPO / "data" / "demo" / "orchard_central_deliveries.csv").read_text().splitlines()[:12]
        name = "eleven_stops.csv"
        (work / name).write_text("\n".join(lines) + "\n")
        dropped_at = time.perf_counter()
        shutil.move(work / name, inbox / name)
        manifest = exports / name / "manifest.json"
        wait_for(manifest.is_file, 300, "the exports")
        took = time.perf_counter() - dropped_at
        plan = json.loads(manifest.read_text())
        print(f"dagster dev up in {boot:.1f} s")
        print(f"drop -> exports for 11 stops: {took:.1f} s (plan {plan['plan_id']}, {plan['served']} served)")
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
