"""The `sgroute` console script as a planner runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
SGROUTE = Path(sys.executable).with_name("sgroute")


def embedded_env(tmp_path: Path) -> dict[str, str]:
    """The embedded default on this test's folders: a DAGSTER_HOME, inbox, exports, quarantine and SQLite."""
    return {
        "DAGSTER_HOME": str(tmp_path / "home"),
        "SGROUTE_INBOX": str(tmp_path / "inbox"),
        "SGROUTE_EXPORTS": str(tmp_path / "exports"),
        "SGROUTE_QUARANTINE": str(tmp_path / "quarantine"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
    }


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

    env = {**os.environ, **embedded_env(tmp_path)}
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
        "exports_dir", "exports", "eta_source", "verification", "plan_id",
    ]  # fmt: skip
    assert out["plan_id"] and out["plan_id"] in (tmp_path / "exports" / name / "planner.csv").read_text()
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


def test_the_daemon_starts_from_what_the_cli_planned(tmp_path, monkeypatch):
    """`make demo` / `sgroute plan` then `make dev` on the same DAGSTER_HOME: the daemon's sensor does not plan the
    CLI's files again, and `sgroute plan` marks only its own file as handled (another inbox file still gets planned).
    """
    import os

    import dagster as dg
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.test_utils import InProcessTestWorkspaceLoadTarget, create_test_daemon_workspace_context
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from sensor_ticks import stop_file_tick

    from sgroute_assets.cli.sensor_state import CODE_LOCATION, SENSOR, daemon_cursor, stored_sensor_state
    from sgroute_resources.app_database import AppDatabase
    from sgroute_resources.stop_file_store import LocalStopFileStore

    env = embedded_env(tmp_path)
    (tmp_path / "home").mkdir()
    (tmp_path / "inbox").mkdir()
    lines = (DEMO / "orchard_central_deliveries.csv").read_text().splitlines()[:6]
    (tmp_path / "inbox" / "other.csv").write_text("\n".join(lines) + "\n")
    name = "east_west_tight_windows.csv"
    proc = subprocess.run(
        [str(SGROUTE), "plan", str(DEMO / name), "--time-limit", "1", "--json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["partition"] == name

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")
    with dg.DagsterInstance.get() as instance:
        # The state is where the daemon of `dagster dev -w workspace.yaml` looks for this sensor.
        origin = InProcessCodeLocationOrigin(
            loadable_target_origin=LoadableTargetOrigin(module_name="sgroute_assets.definitions"),
            location_name=CODE_LOCATION,
        )
        with create_test_daemon_workspace_context(InProcessTestWorkspaceLoadTarget(origin), instance) as workspace:
            location = workspace.create_request_context().get_code_location(CODE_LOCATION)
            remote_sensor = next(iter(location.get_repositories().values())).get_sensor(SENSOR)
        assert stored_sensor_state(instance).selector_id == remote_sensor.selector_id

        store = LocalStopFileStore(
            inbox=env["SGROUTE_INBOX"], exports_dir=env["SGROUTE_EXPORTS"], quarantine_dir=env["SGROUTE_QUARANTINE"]
        )
        result = stop_file_tick(instance, store, AppDatabase(url=env["DATABASE_URL"]), daemon_cursor(instance))
        assert [r.tags["sgroute/source_name"] for r in result.run_requests] == ["other.csv"]


def test_the_cli_names_the_code_location_of_the_workspace():
    import tomllib

    import yaml

    from sgroute_assets.cli.sensor_state import CODE_LOCATION

    repo = DEMO.parents[1]
    workspace = yaml.safe_load((repo / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["location_name"] == CODE_LOCATION
    dagster_table = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["dagster"]
    assert dagster_table["code_location_name"] == CODE_LOCATION


def test_make_dev_merges_the_dev_instance_settings_into_an_existing_dagster_yaml(tmp_path):
    """`sgroute db upgrade` writes a minimal dagster.yaml first; `make dev` must still get the one-run-per-
    partition limit and run monitoring, keeping what the file already set (issue 23)."""
    import yaml

    from sgroute_assets.cli.home import merge_instance_config

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\nrun_monitoring:\n  poll_interval_seconds: 5\n")
    merge_instance_config(home, Path(__file__).resolve().parents[1] / "deploy" / "dagster-dev.yaml")
    merged = yaml.safe_load((home / "dagster.yaml").read_text())
    (limit,) = merged["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limit["key"] == "dagster/partition" and limit["limit"] == 1
    assert merged["run_monitoring"] == {"enabled": True, "start_timeout_seconds": 300, "poll_interval_seconds": 5}
    assert merged["telemetry"] == {"enabled": True}  # the instance's own setting kept
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:  # Dagster accepts the merged file
        assert instance.run_monitoring_enabled


def test_replan_json_through_the_sensor_and_the_same_picture_twice_is_one_revision(tmp_path):
    """`sgroute replan` plans the morning first when needed, then re-plans from the progress file through the
    sensor's sidecar run; asked again with the same picture it reports the same revision."""
    import os

    env = {**os.environ, **embedded_env(tmp_path)}
    name = "orchard_central_deliveries.csv"
    progress = tmp_path / "van_news.csv"
    progress.write_text("vehicle,stop_ref,status,time\nVan 1,ORC-001,done,09:10\nVan 3,,off,10:00\n")

    def replan(*args: str) -> dict:
        proc = subprocess.run(
            [str(SGROUTE), "replan", str(DEMO / name), "--progress", str(progress), "--at", "10:30",
             "--time-limit", "1", "--json", *args],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout)

    out = replan()
    assert list(out)[:10] == [
        "partition", "revision", "as_of", "mode", "frozen", "kept_vehicle", "moved", "new_served", "dropped",
        "changes",
    ]  # fmt: skip
    assert {"plan_date", "rows", "served", "exports_dir", "exports", "plan_id"} <= set(out)
    assert out["revision"] == 2 and out["as_of"] == "10:30" and out["mode"] == "assign_new" and out["frozen"] == 1
    assert out["moved"] > 0  # Van 3 is off: its stops went to other vans
    assert out["served"] + out["dropped"] + out["invalid"] + out["not_located"] == out["rows"]
    assert Path(out["changes"]).name == "changes.csv" and Path(out["changes"]).is_file()
    assert (tmp_path / "inbox" / "orchard_central_deliveries.progress.csv").is_file()
    assert {"rev-01/planner.csv", "rev-02/planner.csv", "changes.csv"} <= set(out["exports"])
    again = replan()
    assert again["revision"] == 2 and again["plan_id"] == out["plan_id"]
    moved = replan("--mode", "resequence")
    assert moved["revision"] == 3 and moved["mode"] == "resequence" and moved["moved"] == 0
