"""The `sgroute` console script as a planner runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
SGROUTE = Path(sys.executable).with_name("sgroute")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SGROUTE), *args], capture_output=True, text=True, timeout=120)


def test_validate_json_reports_every_row():
    proc = run("validate", str(DEMO / "east_west_tight_windows.csv"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["file"] == "east_west_tight_windows.csv"
    assert out["invalid_count"] == 2 and out["valid_count"] == len(out["rows"]) - 2
    bad = {r["row"]: r for r in out["rows"] if not r["valid"]}
    assert bad[26]["errors"] == [{"column": "demand", "message": "demand -2 must not be negative"}]
    assert bad[26]["stop_ref"] and bad[26]["stop"] is None
    # A foreign phone is a warning: the stop stays valid and keeps the number.
    warned = {r["row"]: r for r in out["rows"] if r["warnings"]}
    assert warned[9]["valid"] and warned[9]["warnings"] == [
        {"column": "phone", "message": "phone '+44 20 7946 0958' is not a Singapore number (GB)"}
    ]
    assert warned[9]["stop"]["phone"] == "+442079460958"
    good = next(r for r in out["rows"] if r["valid"])
    assert set(good["stop"]) >= {"stop_ref", "postal_code", "lat", "lon", "phone", "tw_start", "tw_end", "demand"}
    assert all(len(r["stop"]["postal_code"]) == 6 for r in out["rows"] if r["valid"] and r["stop"]["postal_code"])


def test_validate_table_output(tmp_path):
    proc = run("validate", str(DEMO / "east_west_tight_windows.csv"))
    assert proc.returncode == 0
    assert "2 invalid rows, 2 warnings" in proc.stdout and "INVALID" in proc.stdout and "WARNING" in proc.stdout


def test_unreadable_file_exits_2(tmp_path):
    bad = tmp_path / "stops.xlsx"
    bad.write_bytes(b"not a workbook")
    proc = run("validate", str(bad), "--json")
    assert proc.returncode == 2 and "not a readable Excel" in proc.stderr
    assert run("validate", str(tmp_path / "missing.csv")).returncode == 2


def test_plan_json_on_a_demo_file_and_replan_with_other_settings(tmp_path):
    """`sgroute plan` goes through the sensor, partition and job on a DAGSTER_HOME; a second run re-plans."""
    import os

    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "SGROUTE_INBOX": str(tmp_path / "inbox"),
        "SGROUTE_EXPORTS": str(tmp_path / "exports"),
        "SGROUTE_QUARANTINE": str(tmp_path / "quarantine"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
    }
    name = "east_west_tight_windows.csv"

    def plan(*args: str) -> dict:
        proc = subprocess.run(
            [str(SGROUTE), "plan", str(DEMO / name), "--time-limit", "1", "--json", *args],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout)

    out = plan()
    assert list(out) == [
        "partition", "plan_date", "rows", "served", "dropped", "invalid", "not_located", "vehicles_used",
        "exports_dir", "exports", "eta_source", "verification",
    ]  # fmt: skip
    assert out["eta_source"] == "model" and out["verification"] is None  # no OneMap: the model's ETAs, said so
    assert out["partition"] == name and out["rows"] == 35 and out["invalid"] == 2
    assert out["served"] + out["dropped"] + out["invalid"] + out["not_located"] == out["rows"]
    assert out["exports_dir"] == str((tmp_path / "exports" / name).resolve())
    assert {"planner.csv", "unplanned_stops.csv", "driver_pack.pdf", "route_map.html", "manifest.json"} <= set(
        out["exports"]
    )
    assert (tmp_path / "inbox" / name).is_file()

    again = plan("--vehicles", "1", "--capacity", "200")
    assert again["partition"] == name and again["vehicles_used"] == 1
    assert [f for f in again["exports"] if f.startswith("drivers/")] == ["drivers/V01.csv"]
